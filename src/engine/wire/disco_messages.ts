/**
 * Disco messages: Tailscale's path-discovery protocol, carried over UDP or inside DERP.
 *
 * Outer packet (sealed by `disco/seal.ts`):
 * ```
 * magic "TS💬" (6) | sender disco public key (32) | nonce (24) | NaCl box of the inner message
 * ```
 * Inner message: type (1) | version (1, = 0) | payload. Receivers ignore trailing bytes, so a
 * newer sender may add fields.
 * - Ping (1): txid (12) | sender node public key (32, old senders omit it) | zero padding
 * - Pong (2): txid (12) | source IP as 16 bytes (IPv4 v4-mapped) | source port (BE16)
 * - CallMeMaybe (3): N x (IP 16 | port BE16); another length or version gives no endpoints
 * - 4..9: peer relay messages, which we do not implement: parsed as `unknown`.
 * @module
 */
import { ParseError } from "../base/errors.ts";

/** The 6-byte magic that starts every disco packet: "TS" and U+1F4AC. */
export const DISCO_MAGIC = new Uint8Array([0x54, 0x53, 0xf0, 0x9f, 0x92, 0xac]);
/** Offset of the sender's disco key in the outer packet. */
export const DISCO_SENDER_AT = 6;
/** Offset of the nonce in the outer packet. */
export const DISCO_NONCE_AT = 38;
/** Offset of the sealed box in the outer packet. */
export const DISCO_BOX_AT = 62;
/** Inner header: type and version. */
export const DISCO_HEADER_LEN = 2;
/** Length of a transaction ID. */
export const TXID_LEN = 12;

const TYPE_PING = 1;
const TYPE_PONG = 2;
const TYPE_CALL_ME_MAYBE = 3;
const ENDPOINT_LEN = 18;
const KEY_LEN = 32;

/** An `ip:port` as disco carries it; `ip` is text (IPv4 dotted, IPv6 colon form). */
export interface DiscoEndpoint {
  /** IPv4 or IPv6 address text. */
  ip: string;
  /** UDP port. */
  port: number;
}

/** A disco ping. */
export interface DiscoPing {
  type: "ping";
  /** 12 random bytes matching the pong. */
  txid: Uint8Array;
  /** The sender's node public key, or null from old senders. */
  nodeKey: Uint8Array | null;
  /** Zero bytes after the key (path-MTU probes); 0 for a plain ping. */
  padding: number;
}

/** A disco pong. */
export interface DiscoPong {
  type: "pong";
  /** The ping's txid. */
  txid: Uint8Array;
  /** Where the ping was seen from. */
  src: DiscoEndpoint;
}

/** A CallMeMaybe: the sender's endpoints, to ping at once. */
export interface DiscoCallMeMaybe {
  type: "call-me-maybe";
  /** Endpoints (empty for a malformed list, as Go does). */
  endpoints: DiscoEndpoint[];
}

/** A type we do not implement (peer relays, future messages). */
export interface DiscoUnknown {
  type: "unknown";
  /** The type byte. */
  messageType: number;
}

/** Every inner disco message. */
export type DiscoMessage = DiscoPing | DiscoPong | DiscoCallMeMaybe | DiscoUnknown;

/**
 * Whether `b` looks like a disco packet (magic and room for the sender key).
 * @param b a datagram or DERP packet
 * @returns true when it starts with the magic and is long enough
 */
export function isDiscoPacket(b: Uint8Array): boolean {
  if (b.length < DISCO_NONCE_AT) return false;
  for (let i = 0; i < DISCO_MAGIC.length; i++) if (b[i] !== DISCO_MAGIC[i]) return false;
  return true;
}

/**
 * Parses an inner (opened) disco message. Throws {@linkcode ParseError} when it is too short
 * for its type.
 * @param b the opened message
 * @returns the message
 */
export function parseDiscoMessage(b: Uint8Array): DiscoMessage {
  if (b.length < DISCO_HEADER_LEN) {
    throw new ParseError("disco", "Cannot parse disco message: too short", 0);
  }
  const type = b[0];
  const version = b[1];
  const p = b.subarray(DISCO_HEADER_LEN);
  switch (type) {
    case TYPE_PING: {
      if (p.length < TXID_LEN) {
        throw new ParseError("disco", "Cannot parse disco ping: short txid", 2);
      }
      const hasKey = p.length >= TXID_LEN + KEY_LEN;
      return {
        type: "ping",
        txid: p.slice(0, TXID_LEN),
        nodeKey: hasKey ? p.slice(TXID_LEN, TXID_LEN + KEY_LEN) : null,
        padding: hasKey ? p.length - TXID_LEN - KEY_LEN : 0,
      };
    }
    case TYPE_PONG: {
      if (p.length < TXID_LEN + ENDPOINT_LEN) {
        throw new ParseError("disco", "Cannot parse disco pong: too short", 2);
      }
      return { type: "pong", txid: p.slice(0, TXID_LEN), src: readEndpoint(p, TXID_LEN) };
    }
    case TYPE_CALL_ME_MAYBE: {
      const endpoints: DiscoEndpoint[] = [];
      if (version === 0 && p.length % ENDPOINT_LEN === 0) {
        for (let off = 0; off < p.length; off += ENDPOINT_LEN) endpoints.push(readEndpoint(p, off));
      }
      return { type: "call-me-maybe", endpoints };
    }
    default:
      return { type: "unknown", messageType: type };
  }
}

/**
 * The encoded length of a message.
 * @param m the message (not `unknown`)
 * @returns bytes
 */
export function discoMessageLen(m: DiscoMessage): number {
  switch (m.type) {
    case "ping":
      return DISCO_HEADER_LEN + TXID_LEN + (m.nodeKey ? KEY_LEN + m.padding : 0);
    case "pong":
      return DISCO_HEADER_LEN + TXID_LEN + ENDPOINT_LEN;
    case "call-me-maybe":
      return DISCO_HEADER_LEN + ENDPOINT_LEN * m.endpoints.length;
    case "unknown":
      throw new TypeError("Cannot emit an unknown disco message");
  }
}

/**
 * Writes `m` into `out` at `off`.
 * @param m the message
 * @param out destination, at least {@linkcode discoMessageLen} bytes from `off`
 * @param off where to start
 * @returns the offset after the message
 */
export function emitDiscoMessage(m: DiscoMessage, out: Uint8Array, off: number): number {
  const end = off + discoMessageLen(m);
  if (end > out.length) throw new RangeError("Cannot emit disco message: buffer too small");
  out[off + 1] = 0;
  let at = off + DISCO_HEADER_LEN;
  switch (m.type) {
    case "ping":
      out[off] = TYPE_PING;
      out.set(m.txid.subarray(0, TXID_LEN), at);
      at += TXID_LEN;
      if (m.nodeKey) {
        out.set(m.nodeKey, at);
        at += KEY_LEN;
        out.fill(0, at, at + m.padding);
      }
      break;
    case "pong":
      out[off] = TYPE_PONG;
      out.set(m.txid.subarray(0, TXID_LEN), at);
      writeEndpoint(m.src, out, at + TXID_LEN);
      break;
    case "call-me-maybe":
      out[off] = TYPE_CALL_ME_MAYBE;
      for (const ep of m.endpoints) {
        writeEndpoint(ep, out, at);
        at += ENDPOINT_LEN;
      }
      break;
    case "unknown":
      throw new TypeError("Cannot emit an unknown disco message");
  }
  return end;
}

function readEndpoint(b: Uint8Array, off: number): DiscoEndpoint {
  const ip = b.subarray(off, off + 16);
  const port = (b[off + 16] << 8) | b[off + 17];
  const v4mapped = ip.subarray(0, 10).every((x) => x === 0) && ip[10] === 0xff && ip[11] === 0xff;
  if (v4mapped) return { ip: `${ip[12]}.${ip[13]}.${ip[14]}.${ip[15]}`, port };
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((ip[i] << 8) | ip[i + 1]).toString(16));
  return { ip: compressIpv6(groups), port };
}

function writeEndpoint(ep: DiscoEndpoint, out: Uint8Array, off: number): void {
  out.fill(0, off, off + 16);
  if (ep.ip.includes(":")) {
    const words = expandIpv6(ep.ip);
    for (let i = 0; i < 8; i++) {
      out[off + 2 * i] = words[i] >> 8;
      out[off + 2 * i + 1] = words[i] & 0xff;
    }
  } else {
    const parts = ep.ip.split(".").map(Number);
    if (parts.length !== 4 || parts.some((x) => !(x >= 0 && x <= 255))) {
      throw new RangeError(`Cannot emit disco endpoint: bad IPv4 ${ep.ip}`);
    }
    out[off + 10] = 0xff;
    out[off + 11] = 0xff;
    out.set(parts, off + 12);
  }
  out[off + 16] = ep.port >> 8;
  out[off + 17] = ep.port & 0xff;
}

function expandIpv6(text: string): number[] {
  const bare = text.replace(/^\[|\]$/g, "").split("%")[0];
  const [head, tail] = bare.split("::");
  const h = head ? head.split(":") : [];
  const t = tail !== undefined && tail !== "" ? tail.split(":") : [];
  const missing = tail === undefined ? 0 : 8 - h.length - t.length;
  const words = [...h, ...Array(missing).fill("0"), ...t].map((w) => parseInt(w, 16));
  if (words.length !== 8 || words.some((w) => !(w >= 0 && w <= 0xffff))) {
    throw new RangeError(`Cannot emit disco endpoint: bad IPv6 ${text}`);
  }
  return words;
}

function compressIpv6(groups: string[]): string {
  let bestAt = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > bestLen && j - i > 1) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestAt < 0) return groups.join(":");
  return `${groups.slice(0, bestAt).join(":")}::${groups.slice(bestAt + bestLen).join(":")}`;
}
