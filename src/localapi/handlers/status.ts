/**
 * `GET status`: `ipnstate.Status` JSON; `?peers=false` leaves the peers out.
 * @module
 */
import type { Backend } from "../../ipn/backend.ts";
import { jsonResponse, type LocalApiHandler } from "../server.ts";
import { requireMethod } from "./_common.ts";

/**
 * The `status` handler.
 * @param backend the backend
 * @returns the handler
 */
export function statusHandler(backend: Backend): LocalApiHandler {
  return (req, url) => {
    requireMethod(req, ["GET", "HEAD"]);
    return jsonResponse(backend.status(url.searchParams.get("peers") !== "false"));
  };
}
