/**
 * The data plane's endpoints. `POST ping?ip=IP&type=disco|TSMP|ICMP` pings a peer and answers
 * `ipnstate.PingResult` JSON, as tailscaled does. `GET engine-stats` (tailnet's own) answers
 * the engine's counters, or null while there is no engine. A failed ping is a 200 with `Err` set; a bad request is a 400.
 * tailnet also reads `timeout` (milliseconds, default `PING_TIMEOUT_MS`, at most 60000), since its CLI
 * cannot cancel a request the way Go's context does.
 * @module
 */
import type { LocalApiDeps } from "../deps.ts";
import type { PingKind } from "../../engine/engine.ts";
import { PING_TIMEOUT_MS } from "../../engine/ping/constants.ts";
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
    const timeoutMs = t === null ? PING_TIMEOUT_MS : Number(t);
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > MAX_TIMEOUT_MS) {
      throw new LocalApiError(
        400,
        `invalid timeout ${JSON.stringify(t)}; want 1 to ${MAX_TIMEOUT_MS} ms`,
      );
    }
    return jsonResponse(await dataPlane.ping(ip, kind, timeoutMs));
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
