/**
 * `tailnet ping <hostname-or-IP>`: pings a peer at the Tailscale layer and says which path
 * each reply took, as `tailscale ping` does: disco by default, `--tsmp` through WireGuard to
 * the peer's Tailscale stack, `--icmp` through WireGuard to its netstack. One line per reply:
 * `pong from NAME (IP) via DERP(region) in 12ms`.
 *
 * Exit codes as `tailscale ping`: 0 after a reply (or a direct path with --until-direct), 1 for
 * no reply at all, or for "direct connection not established" after `-c` pings with
 * `--until-direct` (the default).
 * @module
 */
import { LocalApiClient } from "../localapi/client.ts";
import type { StatusJson } from "../ipn/status.ts";
import type { PingResult } from "../engine/engine.ts";
import { PING_TIMEOUT_MS } from "../engine/ping/constants.ts";
import { type Command, parseDurationFlag, parseGoFlags, parseIntFlag } from "./command.ts";
import { findPeer } from "./ip.ts";

/** A ping result as the LocalAPI returns it (Go's `ipnstate.PingResult`). */
export type PingResultJson = PingResult;

/**
 * The `via` part of a pong line: the endpoint, `DERP(code)`, or the ping type.
 * @param pr the result
 * @param type the ping type asked for
 * @returns text
 */
export function pingVia(pr: PingResultJson, type: string): string {
  if (pr.DERPRegionID) return `DERP(${pr.DERPRegionCode})`;
  return pr.Endpoint || type;
}

/** The `ping` command. */
export const pingCommand: Command = {
  name: "ping",
  summary: "Ping a host at the Tailscale layer, see how it routed",
  usage: `tailnet ping [flags] <hostname-or-IP>

Pings a peer at the Tailscale layer and reports which path each reply took. By default it
stops after 10 pings or once a direct (non-DERP) path is established.

  -c N                  max number of pings to send (default 10; 0 means forever)
  --timeout DUR         timeout before giving up on a ping (default 5s)
  --until-direct        stop once a direct path is established (default true)
  --tsmp                TSMP ping: through WireGuard to the peer's Tailscale stack
  --icmp                ICMP ping: through WireGuard to the peer's network stack
  --verbose             verbose output`,
  async run(args, ctx) {
    const f = parseGoFlags(args, {
      c: { type: "string" },
      timeout: { type: "string" },
      "until-direct": { type: "bool" },
      tsmp: { type: "bool" },
      icmp: { type: "bool" },
      verbose: { type: "bool" },
    }, true);
    const num = f.values.has("c") ? parseIntFlag("c", f.values.get("c") as string) : 10;
    // Each ping gets 5 s without --timeout, as tailscale ping's. Said to the daemon: it cannot
    // see this client's deadline, and without one it waits up to a minute (as tailscaled waits
    // on the request's context).
    const timeoutMs = f.values.has("timeout")
      ? parseDurationFlag("timeout", f.values.get("timeout") as string)
      : PING_TIMEOUT_MS;
    const untilDirect = f.values.get("until-direct") ?? true;
    const type = f.values.get("tsmp") === true
      ? "TSMP"
      : f.values.get("icmp") === true
      ? "ICMP"
      : "disco";
    if (f.positionals.length !== 1 || f.positionals[0] === "") {
      throw new Error("usage: ping <hostname-or-IP>");
    }
    const client = new LocalApiClient(ctx.socketPath);
    const st = await client.json<StatusJson>("GET", "status");
    if (st.BackendState !== "Running" && st.BackendState !== "Starting") {
      ctx.out(
        st.BackendState === "Stopped"
          ? "Tailscale is stopped."
          : `Tailscale is not running (state: ${st.BackendState}).`,
      );
      return 1;
    }
    const arg = f.positionals[0];
    let ip = arg;
    if (!/^[0-9.]+$/.test(arg) && !arg.includes(":")) {
      const peer = findPeer(st, arg);
      if (peer === null || (peer.TailscaleIPs ?? []).length === 0) {
        throw new Error(`no peer found with name ${JSON.stringify(arg)}`);
      }
      ip = peer.TailscaleIPs![0];
    }
    if ((st.TailscaleIPs ?? []).includes(ip)) {
      ctx.out(`${ip} is local Tailscale IP`);
      return 0;
    }
    let anyPong = false;
    for (let n = 1;; n++) {
      const q = new URLSearchParams({ ip, type });
      q.set("timeout", String(timeoutMs));
      const pr = await client.json<PingResultJson>("POST", `ping?${q}`);
      if (pr.Err === "timeout") {
        ctx.out(`ping "${ip}" timed out`);
      } else if (pr.Err) {
        if (pr.IsLocalIP) {
          ctx.out(pr.Err);
          return 0;
        }
        throw new Error(pr.Err);
      } else {
        anyPong = true;
        const ms = Math.round((pr.LatencySeconds ?? 0) * 1000);
        const extra = pr.PeerAPIPort ? `, ${pr.PeerAPIPort}` : "";
        ctx.out(
          `pong from ${pr.NodeName} (${pr.NodeIP}${extra}) via ${pingVia(pr, type)} in ${ms}ms`,
        );
        if (type !== "disco") return 0;
        if (pr.Endpoint && untilDirect) return 0;
      }
      if (n === num) {
        if (!anyPong) throw new Error("no reply");
        if (untilDirect) throw new Error("direct connection not established");
        return 0;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  },
};
