/**
 * DERP timers and limits: first the numbers the protocol (tailscale's client and derper) fixes,
 * then the ones tailnet chose.
 * @module
 */

// ---- Protocol: from tailscale derp/, derp/derphttp/ and wgengine/magicsock/derp.go ----

/** derper sends a keep-alive every 60 s plus up to 5 s of jitter. */
export const SERVER_KEEPALIVE_MS = 60_000;
/** A client that hears nothing for this long treats the connection as dead (Go's read deadline). */
export const RECV_TIMEOUT_MS = 120_000;
/** Whole connect budget: TCP, TLS, HTTP upgrade and DERP handshake (derphttp `connect`). */
export const CONNECT_TIMEOUT_MS = 10_000;
/** Per-node TCP dial budget before trying the region's next node (derphttp `dialNodeTimeout`). */
export const DIAL_NODE_TIMEOUT_MS = 1_500;
/** TCP port of DERP over TLS when the node gives none. */
export const DEFAULT_DERP_PORT = 443;
/** TCP port of DERP over plain HTTP (TS_DEBUG_USE_DERP_HTTP) when the node gives none. */
export const DEFAULT_DERP_HTTP_PORT = 3340;
/** A non-home region connection unused this long is closed (magicsock `derpInactiveCleanupTime`). */
export const NON_HOME_IDLE_MS = 60_000;
/** How often idle non-home connections are looked for (magicsock `derpCleanStaleInterval`). */
export const IDLE_CHECK_INTERVAL_MS = 15_000;
/** Longest wait between reconnect attempts (magicsock's DERP backoff cap). */
export const RECONNECT_MAX_MS = 5_000;

// ---- Ours ----

/** First reconnect delay; it doubles per failed attempt up to {@linkcode RECONNECT_MAX_MS}. */
export const RECONNECT_BASE_MS = 100;
/** Largest HTTP upgrade response we read before giving up on the server. */
export const MAX_UPGRADE_RESPONSE_BYTES = 16 << 10;
/** Packets queued per region while its connection is being (re)opened; later ones are dropped. */
export const PENDING_PACKETS_PER_REGION = 64;
/** How often the client checks for receive silence (a fraction of {@linkcode RECV_TIMEOUT_MS}). */
export const RECV_WATCHDOG_INTERVAL_MS = 15_000;
