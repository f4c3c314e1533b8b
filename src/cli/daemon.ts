/**
 * `tailnet daemon`: the long-running node. It owns the state directory and serves the
 * LocalAPI on a Unix socket until SIGINT or SIGTERM.
 * @module
 */
import { resolve } from "node:path";
import { Logger } from "../engine/base/logger.ts";
import { UsageError } from "../engine/base/errors.ts";
import { jsonResponse, type LocalApiHandler, LocalApiServer } from "../localapi/server.ts";
import { TAILNET_VERSION } from "../version.ts";
import { type Command, parseFlags, parseIntFlag } from "./command.ts";
import { defaultStateDir } from "./paths.ts";

const DAEMON_FLAGS = {
  statedir: { type: "string" },
  state: { type: "string" },
  socket: { type: "string" },
  port: { type: "string" },
  "socks5-server": { type: "string" },
  "outbound-http-proxy-listen": { type: "string" },
  config: { type: "string" },
  verbose: { type: "string" },
} as const;

// Flags accepted for tailscaled compatibility whose feature is not built yet: refusing them
// is honest, silently ignoring them is not.
const NOT_BUILT_FLAGS = ["socks5-server", "outbound-http-proxy-listen", "config"] as const;

/** The `daemon` command. */
export const daemonCommand: Command = {
  name: "daemon",
  summary: "Run the tailnet node (the daemon) in the foreground",
  usage: `tailnet daemon [flags]

Runs the node in the foreground and serves the LocalAPI that the other commands use.

  --statedir DIR     where keys and prefs live (default ${defaultStateDir()})
  --state mem:       keep state in memory only
  --socket PATH      the LocalAPI socket (default: the global --socket)
  --port N           UDP port for WireGuard and disco (default 41641; 0 picks one)
  --socks5-server ADDR, --outbound-http-proxy-listen ADDR, --config FILE
                     accepted, not built yet: refused with an error
  --verbose N        log verbosity: 0, 1 or 2`,
  async run(args, ctx) {
    const { values } = parseFlags(args, DAEMON_FLAGS);
    const verbosity = values.verbose === undefined ? 0 : parseIntFlag("verbose", values.verbose);
    if (verbosity > 2) {
      throw new UsageError(`invalid value "${values.verbose}" for flag --verbose: want 0, 1 or 2`);
    }
    if (values.port !== undefined) {
      const port = parseIntFlag("port", values.port);
      if (port > 65535) {
        throw new UsageError(`invalid value "${values.port}" for flag --port: out of range`);
      }
    }
    for (const flag of NOT_BUILT_FLAGS) {
      if (values[flag] !== undefined) {
        throw new UsageError(`--${flag} is not built yet in this version of tailnet`);
      }
    }
    if (values.state !== undefined && values.state !== "mem:") {
      throw new UsageError(
        `invalid value "${values.state}" for flag --state: only "mem:" is supported; use --statedir`,
      );
    }
    const log = new Logger({ verbosity });
    const socketPath = resolve(values.socket ?? ctx.socketPath);
    const memoryOnly = values.state === "mem:";
    const stateDir = memoryOnly ? null : resolve(values.statedir ?? defaultStateDir());
    if (stateDir !== null) await Deno.mkdir(stateDir, { recursive: true, mode: 0o700 });

    const routes = new Map<string, LocalApiHandler>([
      ["status", () => jsonResponse({ Version: TAILNET_VERSION, BackendState: "NoState" })],
    ]);
    await using server = await LocalApiServer.listen({
      socketPath,
      routes,
      log: log.child("localapi"),
    });
    log.info(`tailnet ${TAILNET_VERSION} daemon running`);
    log.info(`state: ${stateDir ?? "in memory only (--state mem:)"}`);
    log.info(`LocalAPI socket: ${server.socketPath}`);
    log.info(`try: tailnet --socket ${server.socketPath} status`);

    const stop = Promise.withResolvers<string>();
    const onSignal = (name: string) => () => stop.resolve(name);
    const handlers: [Deno.Signal, () => void][] = [
      ["SIGINT", onSignal("SIGINT")],
      ["SIGTERM", onSignal("SIGTERM")],
    ];
    for (const [sig, h] of handlers) Deno.addSignalListener(sig, h);
    const why = await stop.promise;
    for (const [sig, h] of handlers) Deno.removeSignalListener(sig, h);
    log.info(`${why}: shutting down`);
    return 0;
  },
};
