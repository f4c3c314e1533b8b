/**
 * The data plane's endpoints. `POST ping?ip=IP&type=disco|TSMP|ICMP` pings a peer and answers
 * `ipnstate.PingResult` JSON, as tailscaled does. `GET engine-stats` (tailnet's own) answers
 * the engine's counters, or null while there is no engine. A failed ping is a 200 with `Err` set; a bad request is a 400.
 * tailnet also reads `timeout` (milliseconds, at most 60000), since its CLI cannot cancel a request
 * the way Go's context does. Without one the ping waits up to that most, or until the client goes
 * away, as tailscaled's waits on the request's context alone: Go's `tailscale ping` gives each
 * ping its own 5 s deadline and, when that passes, prints "timed out" and pings again. Had the
 * daemon answered `Err: "timeout"` at 5 s too, whichever came first decided whether the CLI
 * pinged again or gave up with "timeout" (seen in tests/interop/tailscale_cli_test.ts).
 * @module
 */
import type { LocalApiDeps } from "../deps.ts";
import type { PingKind } from "../../engine/engine.ts";
import { parseIpAddr } from "../../engine/wire/ip_addr.ts";
import { jsonResponse, LocalApiError, type LocalApiHandler } from "../server.ts";
import { requireMethod } from "./_common.ts";

const KINDS: Record<string, PingKind> = { disco: "disco", TSMP: "TSMP", ICMP: "ICMP" };
const MAX_TIMEOUT_MS = 60_000;

/**
 * The `ping` handler.
 * @param deps the data plane
 * @returns the handler
 */
export function pingHandler({ dataPlane }: LocalApiDeps): LocalApiHandler {
  return async (req, url) => {
    requireMethod(req, ["POST"], 400);
    const ip = url.searchParams.get("ip") ?? "";
    try {
      parseIpAddr(ip);
    } catch {
      throw new LocalApiError(400, "invalid IP");
    }
    const typeText = url.searchParams.get("type") ?? "";
    const kind = KINDS[typeText];
    if (kind === undefined) {
      throw new LocalApiError(
        400,
        `unsupported ping type ${JSON.stringify(typeText)}; want disco, TSMP or ICMP`,
      );
    }
    const t = url.searchParams.get("timeout");
    const timeoutMs = t === null ? MAX_TIMEOUT_MS : Number(t);
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > MAX_TIMEOUT_MS) {
      throw new LocalApiError(
        400,
        `invalid timeout ${JSON.stringify(t)}; want 1 to ${MAX_TIMEOUT_MS} ms`,
      );
    }
    // A client that went away gets no answer; the ping itself ends at its own timeout.
    const gone = new Promise<null>((resolve) => {
      if (req.signal.aborted) resolve(null);
      else req.signal.addEventListener("abort", () => resolve(null), { once: true });
    });
    const result = await Promise.race([dataPlane.ping(ip, kind, timeoutMs), gone]);
    if (result === null) return new Response(null, { status: 499 });
    return jsonResponse(result);
  };
}

/**
 * The `engine-stats` handler: WireGuard drops by reason, per-peer packets and bytes, DERP and
 * path counters.
 * @param deps the data plane
 * @returns the handler
 */
export function engineStatsHandler({ dataPlane }: LocalApiDeps): LocalApiHandler {
  return (req) => {
    requireMethod(req, ["GET"]);
    return jsonResponse(dataPlane.stats());
  };
}
