/**
 * `start` (POST `ipn.Options`), `login-interactive` and `logout` (POST, empty body): each
 * answers 204 on success, as tailscaled does.
 * @module
 */
import type { LocalApiDeps } from "../deps.ts";
import { type Prefs, prefsFromJson } from "../../ipn/prefs.ts";
import { LocalApiError, type LocalApiHandler } from "../server.ts";
import { callBackend, noContent, readJson, requireMethod, wrongJsonKind } from "./_common.ts";

/**
 * The `start` handler.
 * @param deps the backend
 * @returns the handler
 */
export function startHandler({ backend }: LocalApiDeps): LocalApiHandler {
  return async (req) => {
    requireMethod(req, ["POST"], 400);
    const body = await readJson(req);
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw wrongJsonKind(body, "ipn.Options");
    }
    const o = body as Record<string, unknown>;
    const authKey = o.AuthKey ?? "";
    if (typeof authKey !== "string") {
      throw new LocalApiError(400, "start: AuthKey must be a string");
    }
    let updatePrefs: Prefs | null = null;
    if (o.UpdatePrefs !== undefined && o.UpdatePrefs !== null) {
      try {
        updatePrefs = prefsFromJson(o.UpdatePrefs);
      } catch (err) {
        throw new LocalApiError(400, `start: ${err instanceof Error ? err.message : err}`);
      }
    }
    await callBackend(() => backend.start({ authKey, updatePrefs }));
    return noContent();
  };
}

/**
 * The `login-interactive` handler.
 * @param deps the backend
 * @returns the handler
 */
export function loginInteractiveHandler({ backend }: LocalApiDeps): LocalApiHandler {
  return async (req) => {
    requireMethod(req, ["POST"], 400);
    await callBackend(() => backend.startLoginInteractive());
    return noContent();
  };
}

/**
 * The `logout` handler.
 * @param deps the backend
 * @returns the handler
 */
export function logoutHandler({ backend }: LocalApiDeps): LocalApiHandler {
  return async (req) => {
    requireMethod(req, ["POST"], 400);
    await callBackend(() => backend.logout());
    return noContent();
  };
}
