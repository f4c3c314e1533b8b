/**
 * `POST debug?action=…`, tailscaled's debug actions, of which tailnet serves those it has:
 * `current-netmap` (the netmap JSON, what `tailscale debug netmap` prints; 400 "no netmap"
 * before the first one). The messages and statuses are tailscaled's: 405 "POST required",
 * 400 for a missing or unknown action.
 * @module
 */
import type { LocalApiDeps } from "../deps.ts";
import { netmapJson } from "../../ipn/backend.ts";
import { jsonResponse, LocalApiError, type LocalApiHandler } from "../server.ts";
import { MAX_BODY_BYTES } from "./_common.ts";

/**
 * The `debug` handler.
 * @param deps the backend
 * @returns the handler
 */
export function debugHandler({ backend }: LocalApiDeps): LocalApiHandler {
  return async (req, url) => {
    if (req.method !== "POST") throw new LocalApiError(405, "POST required");
    let action = url.searchParams.get("action") ?? "";
    if (action === "" && req.headers.get("content-type")?.includes("form-urlencoded")) {
      const body = await req.text();
      if (body.length > MAX_BODY_BYTES) throw new LocalApiError(413, "request body too large");
      action = new URLSearchParams(body).get("action") ?? "";
    }
    switch (action) {
      case "current-netmap": {
        const nm = backend.netmap;
        if (nm === null) throw new LocalApiError(400, "no netmap");
        return jsonResponse(netmapJson(nm));
      }
      case "":
        throw new LocalApiError(400, "missing parameter 'action'");
      default:
        throw new LocalApiError(400, `unknown action ${JSON.stringify(action)}`);
    }
  };
}
