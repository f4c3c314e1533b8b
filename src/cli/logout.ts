/**
 * `tailnet logout`: disconnect and expire the node key; the next `up` registers again.
 * @module
 */
import { LocalApiClient } from "../localapi/client.ts";
import { type Command, parseGoFlags } from "./command.ts";

/** The `logout` command. */
export const logoutCommand: Command = {
  name: "logout",
  summary: "Disconnect from the tailnet and expire the current node key",
  usage: `tailnet logout

Brings the network down and invalidates the current node key, forcing a new login.`,
  async run(args, ctx) {
    const f = parseGoFlags(args, {}, true);
    if (f.positionals.length) {
      throw new Error(`too many non-flag arguments: ${JSON.stringify(f.positionals)}`);
    }
    await new LocalApiClient(ctx.socketPath).call("POST", "logout");
    return 0;
  },
};
