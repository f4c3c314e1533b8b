/**
 * Timers of the ping layer (disco, TSMP and ICMP pings a user asks for).
 * @module
 */

/**
 * How long a ping waits for its answer unless the caller says otherwise: `tailscale ping`'s
 * `--timeout` default, used by the engine, the LocalAPI `ping` endpoint and `Node.ping()`.
 */
export const PING_TIMEOUT_MS = 5_000;
