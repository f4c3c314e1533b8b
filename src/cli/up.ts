/**
 * `tailnet up`: connect to a tailnet, logging in if needed (`tailscale up`'s flags, output and
 * exit codes). Prints the auth URL for an interactive login and waits until Running.
 * @module
 */
import { type Command, parseGoFlags } from "./command.ts";
import { runUp, UP_FLAGS_USAGE, UP_OTHER_FLAG_SPEC, UP_PREF_FLAG_SPEC } from "./_up_flow.ts";

/** The `up` command. */
export const upCommand: Command = {
  name: "up",
  summary: "Connect to a tailnet, logging in if needed",
  usage: `tailnet up [flags]

Connects this node to its tailnet: logs in (with an auth key, or by printing a URL to visit)
and waits until the node is Running.

${UP_FLAGS_USAGE}
  --force-reauth           log in again with a new node key
  --reset                  reset unspecified settings to their default values

Changing settings with 'up' requires mentioning every non-default flag again (or --reset),
as with 'tailscale up'.`,
  run(args, ctx) {
    const f = parseGoFlags(args, {
      ...UP_PREF_FLAG_SPEC,
      ...UP_OTHER_FLAG_SPEC,
      "force-reauth": { type: "bool" },
      reset: { type: "bool" },
    }, true);
    return runUp("up", f, ctx);
  },
};
