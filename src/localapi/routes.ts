/**
 * The LocalAPI's table from endpoint name (after `/localapi/v0/`) to handler, as tailscaled's
 * `ipn/localapi` has it. Handlers hold no state: each takes the one {@linkcode LocalApiDeps}
 * object (backend, version, data plane) and everything lives there.
 * @module
 */
import type { LocalApiDeps } from "./deps.ts";
import { checkPrefsHandler, prefsHandler } from "./handlers/prefs.ts";
import { loginInteractiveHandler, logoutHandler, startHandler } from "./handlers/login.ts";
import { engineStatsHandler, pingHandler } from "./handlers/ping.ts";
import { statusHandler } from "./handlers/status.ts";
import { watchIpnBusHandler } from "./handlers/watch_ipn_bus.ts";
import { whoisHandler } from "./handlers/whois.ts";
import { profilesHandler } from "./handlers/profiles.ts";
import { debugHandler } from "./handlers/debug.ts";
import { dnsConfigHandler, dnsOsConfigHandler, dnsQueryHandler } from "./handlers/dns.ts";
import {
  checkIpForwardingHandler,
  checkUdpGroForwardingHandler,
} from "./handlers/forwarding_checks.ts";
import { derpMapHandler, serveConfigHandler } from "./handlers/netmap_info.ts";
import { debugMetricsHandler, userMetricsHandler } from "./handlers/metrics.ts";
import { reloadConfigHandler } from "./handlers/reload_config.ts";
import { packetFilterMatchesHandler, packetFilterRulesHandler } from "./handlers/packet_filter.ts";
import type { LocalApiHandler } from "./server.ts";

export type { DataPlane, LocalApiDeps } from "./deps.ts";

/**
 * Every endpoint tailnet serves.
 * @param deps what the handlers read and drive
 * @returns name to handler
 */
export function localApiRoutes(deps: LocalApiDeps): Map<string, LocalApiHandler> {
  return new Map<string, LocalApiHandler>([
    ["status", statusHandler(deps)],
    ["prefs", prefsHandler(deps)],
    ["check-prefs", checkPrefsHandler(deps)],
    ["start", startHandler(deps)],
    ["login-interactive", loginInteractiveHandler(deps)],
    ["logout", logoutHandler(deps)],
    ["watch-ipn-bus", watchIpnBusHandler(deps)],
    ["ping", pingHandler(deps)],
    ["engine-stats", engineStatsHandler(deps)],
    ["whois", whoisHandler(deps)],
    ["derpmap", derpMapHandler(deps)],
    ["serve-config", serveConfigHandler(deps)],
    ["usermetrics", userMetricsHandler(deps)],
    ["metrics", debugMetricsHandler(deps)],
    ["profiles/", profilesHandler(deps)],
    ["debug", debugHandler(deps)],
    ["dns-config", dnsConfigHandler(deps)],
    ["dns-osconfig", dnsOsConfigHandler(deps)],
    ["dns-query", dnsQueryHandler(deps)],
    ["check-ip-forwarding", checkIpForwardingHandler(deps)],
    ["check-udp-gro-forwarding", checkUdpGroForwardingHandler(deps)],
    ["reload-config", reloadConfigHandler(deps)],
    ["debug-packet-filter-rules", packetFilterRulesHandler(deps)],
    ["debug-packet-filter-matches", packetFilterMatchesHandler(deps)],
  ]);
}
