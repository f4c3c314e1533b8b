/**
 * What `tailscale dns status` reads: `GET dns-config` (the `tailcfg.DNSConfig` control sent,
 * 503 "no netmap" before the first netmap, as tailscaled) and `GET dns-osconfig` (the OS's
 * DNS settings). tailnet runs in userspace and never reads or changes the OS's DNS, so the
 * latter answers as a userspace tailscaled does: 500 "getting OS base config is not supported",
 * which the CLI shows as "not supported on this platform".
 * @module
 */
import type { LocalApiDeps } from "../deps.ts";
import { jsonResponse, LocalApiError, type LocalApiHandler } from "../server.ts";
import { requireMethod } from "./_common.ts";

/**
 * The `dns-config` handler.
 * @param deps the backend
 * @returns the handler
 */
export function dnsConfigHandler({ backend }: LocalApiDeps): LocalApiHandler {
  return () => {
    const nm = backend.netmap;
    if (nm === null) throw new LocalApiError(503, "no netmap");
    return jsonResponse(nm.dns);
  };
}

/**
 * The `dns-osconfig` handler.
 * @param _deps unused: there is no OS DNS configuration to read
 * @returns the handler
 */
export function dnsOsConfigHandler(_deps: LocalApiDeps): LocalApiHandler {
  return (req) => {
    requireMethod(req, ["GET"], 405, "only GET allowed");
    throw new LocalApiError(500, "getting OS base config is not supported");
  };
}
