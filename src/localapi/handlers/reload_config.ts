/**
 * `reload-config` (POST): re-reads the daemon's `--config` file and applies it, answering
 * tailscaled's `apitype.ReloadConfigResponse` (`Reloaded` false when there is no config file,
 * `Err` set when the file is bad; the prefs are then unchanged).
 * @module
 */
import type { LocalApiDeps } from "../deps.ts";
import { jsonResponse, type LocalApiHandler } from "../server.ts";
import { requireMethod } from "./_common.ts";

/**
 * The `reload-config` handler.
 * @param deps the config reloader, if the daemon has a config file
 * @returns the handler
 */
export function reloadConfigHandler({ reloadConfig }: LocalApiDeps): LocalApiHandler {
  return async (req) => {
    requireMethod(req, ["POST"], 405, "use POST");
    if (reloadConfig === undefined) return jsonResponse({ Reloaded: false, Err: "" });
    try {
      await reloadConfig();
      return jsonResponse({ Reloaded: true, Err: "" });
    } catch (err) {
      return jsonResponse({
        Reloaded: false,
        Err: err instanceof Error ? err.message : String(err),
      });
    }
  };
}
