/**
 * Timers and limits of the SOCKS5 and HTTP proxies, in two blocks: numbers the protocols fix
 * and numbers this implementation chose.
 * @module
 */

// --- Protocol (RFC 1928, RFC 1929, RFC 9112) ---

/** The version byte of every SOCKS5 message but the RFC 1929 ones. */
export const SOCKS5_VERSION = 5;
/** The version byte of the RFC 1929 username/password subnegotiation. */
export const SOCKS5_USERPASS_VERSION = 1;
/** A domain name, username or password is at most 255 bytes (one length byte). */
export const SOCKS5_MAX_FIELD_BYTES = 255;

// --- Ours ---

/** How long a client may take from connecting to sending a complete SOCKS5 request. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** How long one dial (TCP connect, or opening a UDP flow) may take. tailscaled uses 5 s. */
export const DIAL_TIMEOUT_MS = 10_000;
/** How long an HTTP proxy client may take to send a request head (also the keep-alive idle). */
export const HTTP_HEAD_TIMEOUT_MS = 30_000;
/** How long an upstream server may take to send its response head. */
export const HTTP_RESPONSE_HEAD_TIMEOUT_MS = 60_000;
/** The largest HTTP request or response head we buffer; larger gets 431 (request) or 502. */
export const HTTP_MAX_HEAD_BYTES = 64 * 1024;
/** The longest chunk-size line (with extensions) or trailer line of a chunked body. */
export const HTTP_MAX_CHUNK_LINE_BYTES = 4096;
/** The largest handshake buffer of a SOCKS5 connection (greeting, auth and request fit). */
export const SOCKS5_MAX_HANDSHAKE_BYTES = 1024;
/** Bytes read from a socket at a time when relaying. */
export const RELAY_CHUNK_BYTES = 64 * 1024;
/** Largest UDP datagram relayed through a UDP association (header included). */
export const UDP_MAX_DATAGRAM_BYTES = 65_535;
/** Most distinct destinations one UDP association may open flows to. */
export const UDP_MAX_FLOWS_PER_ASSOCIATION = 64;
