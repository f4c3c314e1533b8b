/**
 * `GET status`: `ipnstate.Status` JSON; `?peers=false` leaves the peers out.
 * @module
 */
import type { LocalApiDeps } from "../deps.ts";
import { jsonResponse, type LocalApiHandler } from "../server.ts";

/**
 * The `status` handler.
 * @param deps the backend
 * @returns the handler
 */
export function statusHandler({ backend }: LocalApiDeps): LocalApiHandler {
  return (_req, url) => {
    // tailscaled serves status whatever the method.
    return jsonResponse(backend.status(url.searchParams.get("peers") !== "false"));
  };
}
