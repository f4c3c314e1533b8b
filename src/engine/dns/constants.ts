/**
 * MagicDNS's numbers: those tailscaled's resolver fixes (`net/dns/resolver`), then ours.
 * @module
 */

// Protocol (tailscaled's behaviour).

/**
 * TTL of MagicDNS's own positive answers (tsdns `defaultTTL`: 5 s since 1.102, so renames
 * show quickly; 1.98 said 600 s).
 */
export const MAGIC_DNS_TTL_S = 5;
/** TTL (and SOA timers) of the SOA record on negative answers (tsdns `negativeTTL`, RFC 2308). */
export const MAGIC_DNS_NEGATIVE_TTL_S = 10;
/** Upper bound on one forwarded query (tsdns `dnsQueryTimeout`). */
export const FORWARD_TIMEOUT_MS = 10_000;
/** Largest answer MagicDNS sends over UDP when the query carries a bigger EDNS size (tsdns `maxResponseBytes`). */
export const MAX_RESPONSE_BYTES = 4095;
/** The name a PTR query for 100.100.100.100 returns (tsdns `dnsSymbolicFQDN`). */
export const DNS_SYMBOLIC_FQDN = "magicdns.localhost-tailscale-daemon";
/** MagicDNS's own addresses. */
export const QUAD100_V4 = "100.100.100.100";
/** MagicDNS's IPv6 address. */
export const QUAD100_V6 = "fd7a:115c:a1e0::53";
/** The DNS port. */
export const DNS_PORT = 53;

// Ours.

/** Forwarded queries in flight at once; more are answered SERVFAIL and counted (a flood). */
export const MAX_INFLIGHT_FORWARDS = 256;
/** Datagrams queued on the `--dns-listen` socket before we read them is the OS's business; we read one at a time. */
export const HOST_LISTEN_MAX_QUERY_BYTES = 65535;
