/**
 * The LocalAPI's table from endpoint name (after `/localapi/v0/`) to handler, as tailscaled's
 * `ipn/localapi` has it. Handlers hold no state: everything lives in the backend.
 * @module
 */
import type { Backend } from "../ipn/backend.ts";
import { checkPrefsHandler, prefsHandler } from "./handlers/prefs.ts";
import { loginInteractiveHandler, logoutHandler, startHandler } from "./handlers/login.ts";
import { statusHandler } from "./handlers/status.ts";
import { watchIpnBusHandler } from "./handlers/watch_ipn_bus.ts";
import type { LocalApiHandler } from "./server.ts";

/**
 * Every endpoint tailnet serves.
 * @param backend the backend
 * @param version the daemon version
 * @returns name to handler
 */
export function localApiRoutes(backend: Backend, version: string): Map<string, LocalApiHandler> {
  return new Map<string, LocalApiHandler>([
    ["status", statusHandler(backend)],
    ["prefs", prefsHandler(backend)],
    ["check-prefs", checkPrefsHandler(backend)],
    ["start", startHandler(backend)],
    ["login-interactive", loginInteractiveHandler(backend)],
    ["logout", logoutHandler(backend)],
    ["watch-ipn-bus", watchIpnBusHandler(backend, version)],
  ]);
}
