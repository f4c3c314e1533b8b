/**
 * Read-only views tailscaled serves from its netmap and config: `GET derpmap` (the DERP map
 * control sent, `null` before the first netmap, as tailscaled) and `GET serve-config`
 * (tailnet has no serve or Funnel yet, so always the empty config: `null` with the `Etag` Go
 * computes for it, the SHA-256 of that JSON; a POST is 501 until serve exists).
 * @module
 */
import type { LocalApiDeps } from "../deps.ts";
import { jsonResponse, LocalApiError, type LocalApiHandler } from "../server.ts";
import { requireMethod } from "./_common.ts";

/**
 * The `derpmap` handler.
 * @param deps the backend
 * @returns the handler
 */
export function derpMapHandler({ backend }: LocalApiDeps): LocalApiHandler {
  return (req) => {
    requireMethod(req, ["GET"], 400);
    return jsonResponse(backend.netmap?.derpMap ?? null);
  };
}

/**
 * The `serve-config` handler.
 * @param _deps unused: there is no serve config to read
 * @returns the handler
 */
export function serveConfigHandler(_deps: LocalApiDeps): LocalApiHandler {
  return async (req) => {
    if (req.method === "POST") {
      throw new LocalApiError(501, "serve is not built yet in this version of tailnet");
    }
    requireMethod(req, ["GET"], 405, "method not allowed");
    const body = "null";
    const sum = new Uint8Array(
      await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body)),
    );
    const etag = Array.from(sum, (b) => b.toString(16).padStart(2, "0")).join("");
    return new Response(body, {
      headers: { "content-type": "application/json", etag },
    });
  };
}
