/**
 * `prefs` (GET: `ipn.Prefs` JSON, private keys zeroed; PATCH: apply `ipn.MaskedPrefs`) and
 * `check-prefs` (POST prefs: `{}` or `{"Error": …}`). A bad edit answers 400 with
 * `{"Error": …}` as tailscaled does, and changes nothing.
 * @module
 */
import type { LocalApiDeps } from "../deps.ts";
import { type Prefs, prefsFromJson } from "../../ipn/prefs.ts";
import { jsonResponse, LocalApiError, type LocalApiHandler } from "../server.ts";
import { callBackend, readJson, requireMethod, wrongJsonKind } from "./_common.ts";

/**
 * The `prefs` handler.
 * @param deps the backend
 * @returns the handler
 */
export function prefsHandler({ backend }: LocalApiDeps): LocalApiHandler {
  return async (req) => {
    requireMethod(req, ["GET", "PATCH"]);
    if (req.method === "GET") return jsonResponse(backend.prefsJson());
    const body = await readJson(req);
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw wrongJsonKind(body, "ipn.MaskedPrefs");
    }
    try {
      return jsonResponse(await callBackend(() => backend.editPrefs(body)));
    } catch (err) {
      if (err instanceof LocalApiError && err.status === 400) {
        return jsonResponse({ Error: err.message }, 400);
      }
      throw err;
    }
  };
}

/**
 * The `check-prefs` handler.
 * @param deps the backend
 * @returns the handler
 */
export function checkPrefsHandler({ backend }: LocalApiDeps): LocalApiHandler {
  return async (req) => {
    requireMethod(req, ["POST"]);
    // tailscaled's words for any body it cannot decode into ipn.Prefs.
    const invalid = new LocalApiError(400, "invalid JSON body");
    let prefs: Prefs;
    try {
      prefs = prefsFromJson(await readJson(req));
    } catch (err) {
      if (err instanceof TypeError) throw invalid;
      if (err instanceof LocalApiError && err.status === 400) throw invalid;
      throw err;
    }
    const errs = backend.checkPrefs(prefs);
    return jsonResponse(errs.length ? { Error: errs[0] } : {});
  };
}
