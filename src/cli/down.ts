/**
 * `tailnet down`: disconnect (WantRunning=false); the node stays logged in.
 * @module
 */
import { LocalApiClient } from "../localapi/client.ts";
import type { StatusJson } from "../ipn/status.ts";
import { type Command, parseGoFlags } from "./command.ts";

/** The `down` command. */
export const downCommand: Command = {
  name: "down",
  summary: "Disconnect from the tailnet",
  usage: `tailnet down

Disconnects this node; it stays logged in, and 'tailnet up' reconnects it.`,
  async run(args, ctx) {
    const f = parseGoFlags(args, {}, true);
    if (f.positionals.length) {
      throw new Error(`too many non-flag arguments: ${JSON.stringify(f.positionals)}`);
    }
    const client = new LocalApiClient(ctx.socketPath);
    let st: StatusJson;
    try {
      st = await client.json<StatusJson>("GET", "status");
    } catch (err) {
      throw new Error(
        `error fetching current status: ${err instanceof Error ? err.message : err}`,
      );
    }
    if (st.BackendState === "Stopped") {
      ctx.err("Tailscale was already stopped.");
      return 0;
    }
    await client.call("PATCH", "prefs", { WantRunning: false, WantRunningSet: true });
    return 0;
  },
};
