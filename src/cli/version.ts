/**
 * `tailnet version`: tailnet's version, then the Deno, V8 and TypeScript versions it runs on
 * and the commit it was built from, in the indented layout of `tailscale version`.
 * @module
 */
import { BUILD_COMMIT } from "../build_info.ts";
import { CAPABILITY_VERSION, TAILNET_VERSION } from "../version.ts";
import { type Command, parseFlags } from "./command.ts";

/** Lines of `tailnet version`. */
export function versionLines(): string[] {
  return [
    TAILNET_VERSION,
    `  commit: ${BUILD_COMMIT || "unknown (source checkout)"}`,
    `  capability version: ${CAPABILITY_VERSION}`,
    `  deno: ${Deno.version.deno}`,
    `  v8: ${Deno.version.v8}`,
    `  typescript: ${Deno.version.typescript}`,
  ];
}

/** The `version` command. */
export const versionCommand: Command = {
  name: "version",
  summary: "Print tailnet version",
  usage: "tailnet version [--json]\n\nPrints the version of tailnet and of the runtime it uses.",
  run(args, ctx) {
    const { values } = parseFlags(args, { json: { type: "boolean" } });
    if (values.json) {
      ctx.out(JSON.stringify(
        {
          majorMinorPatch: TAILNET_VERSION,
          short: TAILNET_VERSION,
          long: BUILD_COMMIT ? `${TAILNET_VERSION}-${BUILD_COMMIT}` : TAILNET_VERSION,
          gitCommit: BUILD_COMMIT,
          cap: CAPABILITY_VERSION,
          deno: Deno.version.deno,
          v8: Deno.version.v8,
          typescript: Deno.version.typescript,
        },
        null,
        "\t",
      ));
    } else {
      for (const line of versionLines()) ctx.out(line);
    }
    return Promise.resolve(0);
  },
};
