/**
 * WireGuard message layouts. All integers little-endian; the type is one byte then three
 * zero bytes, read as a u32.
 *
 * ```
 * 1 initiation (148): type | sender u32 | ephemeral 32 | static 32+16 | timestamp 12+16 | mac1 16 | mac2 16
 * 2 response    (92): type | sender u32 | receiver u32 | ephemeral 32 | empty 0+16 | mac1 16 | mac2 16
 * 3 cookie      (64): type | receiver u32 | nonce 24 | cookie 16+16
 * 4 transport (>=32): type | receiver u32 | counter u64 | ciphertext (padded plaintext) + tag 16
 * ```
 * Handshake messages must have exactly their size; transport messages at least 32 bytes.
 * @module
 */

/** Initiation message type. */
export const MSG_INITIATION = 1;
/** Response message type. */
export const MSG_RESPONSE = 2;
/** Cookie reply message type. */
export const MSG_COOKIE_REPLY = 3;
/** Transport data message type. */
export const MSG_TRANSPORT = 4;

/** Size of an initiation. */
export const INITIATION_LEN = 148;
/** Size of a response. */
export const RESPONSE_LEN = 92;
/** Size of a cookie reply. */
export const COOKIE_REPLY_LEN = 64;
/** Transport header: type, receiver, counter. */
export const TRANSPORT_HEADER_LEN = 16;
/** Poly1305 tag length. */
export const TAG_LEN = 16;
/** Smallest transport message: a keepalive (empty plaintext). */
export const TRANSPORT_MIN_LEN = TRANSPORT_HEADER_LEN + TAG_LEN;
/** MAC1/MAC2 length. */
export const MAC_LEN = 16;

// Initiation field offsets.
/** Offset of the sender index in an initiation. */
export const INIT_SENDER_AT = 4;
/** Offset of the ephemeral key in an initiation. */
export const INIT_EPHEMERAL_AT = 8;
/** Offset of the encrypted static key in an initiation. */
export const INIT_STATIC_AT = 40;
/** Length of the encrypted static key. */
export const INIT_STATIC_LEN = 48;
/** Offset of the encrypted timestamp in an initiation. */
export const INIT_TIMESTAMP_AT = 88;
/** Length of the encrypted timestamp. */
export const INIT_TIMESTAMP_LEN = 28;

// Response field offsets.
/** Offset of the sender index in a response. */
export const RESP_SENDER_AT = 4;
/** Offset of the receiver index in a response. */
export const RESP_RECEIVER_AT = 8;
/** Offset of the ephemeral key in a response. */
export const RESP_EPHEMERAL_AT = 12;
/** Offset of the encrypted empty payload in a response. */
export const RESP_EMPTY_AT = 44;

// Cookie reply field offsets.
/** Offset of the receiver index in a cookie reply. */
export const COOKIE_RECEIVER_AT = 4;
/** Offset of the 24-byte nonce in a cookie reply. */
export const COOKIE_NONCE_AT = 8;
/** Length of the cookie reply nonce. */
export const COOKIE_NONCE_LEN = 24;
/** Offset of the encrypted cookie in a cookie reply. */
export const COOKIE_SEALED_AT = 32;

// Transport field offsets.
/** Offset of the receiver index in a transport message. */
export const TRANSPORT_RECEIVER_AT = 4;
/** Offset of the counter in a transport message. */
export const TRANSPORT_COUNTER_AT = 8;

/**
 * Reads a little-endian u32.
 * @param b bytes
 * @param off offset
 * @returns the value
 */
export function readU32le(b: Uint8Array, off: number): number {
  return (b[off] | (b[off + 1] << 8) | (b[off + 2] << 16) | (b[off + 3] << 24)) >>> 0;
}

/**
 * Writes a little-endian u32.
 * @param b bytes
 * @param off offset
 * @param v the value
 */
export function writeU32le(b: Uint8Array, off: number, v: number): void {
  b[off] = v;
  b[off + 1] = v >>> 8;
  b[off + 2] = v >>> 16;
  b[off + 3] = v >>> 24;
}

/**
 * The message type of a datagram, or 0 when it is too short to hold one.
 * @param b the datagram
 * @returns 1..4 for WireGuard messages, anything else for garbage
 */
export function messageType(b: Uint8Array): number {
  return b.length < 4 ? 0 : readU32le(b, 0);
}

/**
 * Whether `b` is a well-formed message of a known type: exact size for handshake messages,
 * at least {@linkcode TRANSPORT_MIN_LEN} for transport.
 * @param b the datagram
 * @returns the type, or 0 when malformed
 */
export function checkMessage(b: Uint8Array): number {
  const t = messageType(b);
  switch (t) {
    case MSG_INITIATION:
      return b.length === INITIATION_LEN ? t : 0;
    case MSG_RESPONSE:
      return b.length === RESPONSE_LEN ? t : 0;
    case MSG_COOKIE_REPLY:
      return b.length === COOKIE_REPLY_LEN ? t : 0;
    case MSG_TRANSPORT:
      return b.length >= TRANSPORT_MIN_LEN ? t : 0;
    default:
      return 0;
  }
}

/**
 * The counter of a transport message, or -1 when it exceeds 2^53 − 1 (which no real peer
 * reaches: it would take centuries of traffic on one keypair). Call after {@linkcode checkMessage}.
 * @param b the transport message
 * @returns the counter or -1
 */
export function transportCounter(b: Uint8Array): number {
  const lo = readU32le(b, TRANSPORT_COUNTER_AT);
  const hi = readU32le(b, TRANSPORT_COUNTER_AT + 4);
  if (hi >= 0x200000) return -1;
  return hi * 0x100000000 + lo;
}

/**
 * Writes a transport header.
 * @param b buffer
 * @param off where the header starts
 * @param receiver the peer's index for the keypair
 * @param counter the nonce counter (below 2^53)
 */
export function emitTransportHeader(
  b: Uint8Array,
  off: number,
  receiver: number,
  counter: number,
): void {
  writeU32le(b, off, MSG_TRANSPORT);
  writeU32le(b, off + TRANSPORT_RECEIVER_AT, receiver);
  writeU32le(b, off + TRANSPORT_COUNTER_AT, counter >>> 0);
  writeU32le(b, off + TRANSPORT_COUNTER_AT + 4, Math.floor(counter / 0x100000000));
}
