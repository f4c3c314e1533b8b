/**
 * `tailnet debug <prefs|derp-map|watch-ipn|netmap|metrics|reload-config|packet-filter-rules|
 * packet-filter-matches>` and `tailnet metrics print`: thin
 * LocalAPI clients that print what `tailscale debug …` and `tailscale metrics print` print
 * (JSON indented with tabs, Prometheus text as served), against tailnet's daemon or a real
 * tailscaled alike.
 * @module
 */
import { LocalApiClient } from "../localapi/client.ts";
import { UsageError } from "../engine/base/errors.ts";
import { type Command, type CommandContext, parseGoFlags, parseIntFlag } from "./command.ts";

/** `NotifyWatchOpt` bits `debug watch-ipn` asks for. */
const NOTIFY_INITIAL_STATE = 1 << 1;
const NOTIFY_INITIAL_PREFS = 1 << 2;
const NOTIFY_INITIAL_NETMAP = 1 << 3;
const NOTIFY_RATE_LIMIT = 1 << 8;

/** Prints `value` as Go's `json.MarshalIndent(v, "", "\t")` does. */
function printJson(ctx: CommandContext, value: unknown): void {
  ctx.out(JSON.stringify(value, null, "\t"));
}

/** Prints a text body without doubling its final newline. */
function printText(ctx: CommandContext, text: string): void {
  if (text !== "") ctx.out(text.replace(/\n$/, ""));
}

function noArgs(sub: string, args: string[]): void {
  const f = parseGoFlags(args, {}, true);
  if (f.positionals.length) {
    throw new UsageError(`debug ${sub}: unexpected argument: ${f.positionals[0]}`);
  }
}

const SUBCOMMANDS: Record<string, (args: string[], ctx: CommandContext) => Promise<number>> = {
  async prefs(args, ctx) {
    noArgs("prefs", args);
    printJson(ctx, await new LocalApiClient(ctx.socketPath).json<unknown>("GET", "prefs"));
    return 0;
  },
  async "derp-map"(args, ctx) {
    noArgs("derp-map", args);
    printJson(ctx, await new LocalApiClient(ctx.socketPath).json<unknown>("GET", "derpmap"));
    return 0;
  },
  async netmap(args, ctx) {
    noArgs("netmap", args);
    const client = new LocalApiClient(ctx.socketPath);
    printJson(ctx, await client.json<unknown>("POST", "debug?action=current-netmap"));
    return 0;
  },
  async "reload-config"(args, ctx) {
    noArgs("reload-config", args);
    const client = new LocalApiClient(ctx.socketPath);
    const r = await client.json<{ Reloaded: boolean; Err: string }>("POST", "reload-config");
    if (r.Err) throw new Error(r.Err);
    // tailscale's words and exit codes.
    ctx.out(r.Reloaded ? "config reloaded" : "config mode not in use");
    return r.Reloaded ? 0 : 1;
  },
  async "packet-filter-rules"(args, ctx) {
    noArgs("packet-filter-rules", args);
    const client = new LocalApiClient(ctx.socketPath);
    printJson(ctx, await client.json<unknown>("GET", "debug-packet-filter-rules"));
    return 0;
  },
  async "packet-filter-matches"(args, ctx) {
    noArgs("packet-filter-matches", args);
    const client = new LocalApiClient(ctx.socketPath);
    printJson(ctx, await client.json<unknown>("GET", "debug-packet-filter-matches"));
    return 0;
  },
  async metrics(args, ctx) {
    noArgs("metrics", args);
    printText(ctx, await new LocalApiClient(ctx.socketPath).call("GET", "metrics"));
    return 0;
  },
  async "watch-ipn"(args, ctx) {
    const f = parseGoFlags(args, {
      netmap: { type: "bool" },
      initial: { type: "bool" },
      "rate-limit": { type: "bool" },
      count: { type: "string" },
    });
    const count = parseIntFlag("count", (f.values.get("count") as string | undefined) ?? "0");
    let mask = 0;
    if (f.values.get("initial") === true) {
      mask |= NOTIFY_INITIAL_STATE | NOTIFY_INITIAL_PREFS | NOTIFY_INITIAL_NETMAP;
    }
    if (f.values.get("rate-limit") !== false) mask |= NOTIFY_RATE_LIMIT;
    const withNetmap = f.values.get("netmap") !== false;
    const stream = await new LocalApiClient(ctx.socketPath).openJsonLines(
      `watch-ipn-bus?mask=${mask}`,
    );
    ctx.err("Connected.");
    try {
      let seen = 0;
      for await (const n of stream) {
        const note = n as Record<string, unknown>;
        if (!withNetmap && "NetMap" in note) note.NetMap = null;
        printJson(ctx, note);
        if (count > 0 && ++seen >= count) break;
      }
    } finally {
      stream.close();
    }
    return 0;
  },
};

/** The `debug` command. */
export const debugCommand: Command = {
  name: "debug",
  summary: "Debug commands: prefs, derp-map, watch-ipn, netmap, metrics, reload-config, filter",
  usage: `tailnet debug <subcommand> [flags]

  prefs              print the daemon's prefs as JSON
  derp-map           print the DERP map in use
  watch-ipn          print the IPN bus's messages as they come
                       --initial       include the initial state, prefs and netmap
                       --netmap=false  leave the netmap out of each message
                       --rate-limit    rate limit netmap updates (default true)
                       --count N       exit after N messages (0: keep going)
  netmap             print the current network map as JSON
  metrics            print the daemon's metrics (Prometheus text)
  reload-config      re-read and apply the daemon's --config file
  packet-filter-rules    print the packet filter rules control sent (JSON)
  packet-filter-matches  print the packet filter as compiled and enforced (JSON)`,
  async run(args, ctx) {
    const [sub, ...rest] = args;
    if (sub === undefined) throw new UsageError("debug: missing subcommand");
    const run = SUBCOMMANDS[sub];
    if (run === undefined) throw new UsageError(`debug: unknown subcommand: ${sub}`);
    return await run(rest, ctx);
  },
};

/** The `metrics` command. */
export const metricsCommand: Command = {
  name: "metrics",
  summary: "Show the daemon's user metrics (Prometheus text)",
  usage: `tailnet metrics print

Prints the metrics tailscaled shows users (tailscaled_* names), in Prometheus text format.`,
  async run(args, ctx) {
    const [sub, ...rest] = args;
    if (sub !== "print") {
      throw new UsageError(
        sub === undefined
          ? "metrics: missing subcommand (print)"
          : `metrics: unknown subcommand: ${sub}`,
      );
    }
    noArgs("print", rest);
    printText(ctx, await new LocalApiClient(ctx.socketPath).call("GET", "usermetrics"));
    return 0;
  },
};
