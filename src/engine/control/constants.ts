/**
 * Timers and limits of the control client, in two blocks: numbers the protocol (or the real
 * programs) fix, and numbers tailnet chose.
 * @module
 */

// --- Protocol: fixed by Tailscale's client or by what control servers expect ---

/** Path of the ts2021 upgrade. */
export const TS2021_PATH = "/ts2021";
/** The Upgrade header value of the ts2021 upgrade. */
export const TS2021_UPGRADE = "tailscale-control-protocol";
/** The header carrying the base64 Noise initiation. */
export const HANDSHAKE_HEADER = "X-Tailscale-Handshake";
/** Go reads at most this much of the `/key` body. */
export const KEY_BODY_MAX_BYTES = 64 * 1024;
/** Go allows this long for dial plus Noise handshake. */
export const DIAL_TIMEOUT_MS = 10_000;
/** Go cancels the map poll when nothing arrives for this long (keep-alives included). */
export const MAP_WATCHDOG_MS = 120_000;
/** Go answers a PingRequest (control asking "are you there?") within this time. */
export const PING_REQUEST_TIMEOUT_MS = 15_000;
/** `RegisterRequest.Expiry` for a logout: Unix time 123. */
export const LOGOUT_EXPIRY = "1970-01-01T00:02:03Z";
/** The zero `time.Time` as Go's JSON writes it. */
export const ZERO_TIME = "0001-01-01T00:00:00Z";
/** `Debug.SleepSeconds` is capped at this. */
export const MAX_DEBUG_SLEEP_MS = 5 * 60_000;

// --- Ours ---

/** Largest map frame we accept (Go's tsp package caps at 4 MiB; tailscaled has no cap). */
export const MAX_MAP_FRAME_BYTES = 64 * 1024 * 1024;
/** Largest HTTP response head we read during the upgrade. */
export const MAX_UPGRADE_HEAD_BYTES = 16 * 1024;
/** Backoff: first delay after a failure. */
export const BACKOFF_MIN_MS = 500;
/** Backoff: longest delay (Go's auto client uses 30 s for map, 60 s for auth). */
export const BACKOFF_MAX_MS = 30_000;
/** The longest `Retry-After` we honour; a server asking for more gets this. */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;
/** A lite update or one-shot request gives up after this long. */
export const REQUEST_TIMEOUT_MS = 30_000;
/** An interactive-login Followup long-poll gives up (and is re-sent) after this long. */
export const FOLLOWUP_TIMEOUT_MS = 10 * 60_000;
