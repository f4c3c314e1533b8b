/**
 * `GET status`: `ipnstate.Status` JSON; `?peers=false` leaves the peers out.
 * @module
 */
import type { LocalApiDeps } from "../deps.ts";
import { type LocalApiHandler, textPiecesResponse } from "../server.ts";

/**
 * The `status` handler.
 * @param deps the backend
 * @returns the handler
 */
export function statusHandler({ backend }: LocalApiDeps): LocalApiHandler {
  return (_req, url) => {
    // tailscaled serves status whatever the method. Made as it is sent: among thousands of
    // peers the whole text at once is tens of MiB of short-lived objects.
    return textPiecesResponse(backend.statusText(url.searchParams.get("peers") !== "false"));
  };
}
