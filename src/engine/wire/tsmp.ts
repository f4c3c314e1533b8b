/**
 * TSMP, the Tailscale Message Protocol: IP protocol 99 between Tailscale addresses, inside
 * WireGuard, never handed to an OS stack. Layouts as tailscale's `net/packet/tsmp.go` defines
 * them (read at tailscale HEAD de9ec7e; the same in v1.102.5; v1.98.10 lacks reason `'T'`):
 *
 * ```
 * after the IPv4 or IPv6 header, first byte = type:
 * '!' 0x21 rejected connection: proto (1) | reason (1) | src port (BE16) | dst port (BE16)
 *                               [| flags (1): 0x01 MaybeBroken]        7 or 8 bytes
 * 'p' 0x70 ping:                8 opaque bytes                          9 bytes
 * 'o' 0x6f pong:                the ping's 8 bytes | peerAPI port (BE16) 11 bytes
 * 'a' 0x61 disco advertisement: 32-byte disco public key               33 bytes
 * ```
 *
 * What Go does that a peer sees (tsmp.go, ip4.go, ip6.go, net/tstun/wrap.go):
 * - IP headers it builds: IPv4 TOS 0, flags 0 (no DF), TTL 64, checksum set, ID 0 for a ping
 *   or reject; IPv6 traffic class 0, flow label 0, hop limit 64.
 * - A pong swaps the ping's addresses and sets the IPv4 ID to the ping's ID inverted (`^id`),
 *   or the IPv6 flow label to the ping's inverted (20 bits). A ping with ID 0 gets a pong
 *   with ID 0xffff.
 * - Parsing is lenient about extra bytes: a ping needs ≥ 9 bytes, a pong ≥ 9 (the port reads
 *   as 0 when absent), a reject ≥ 7 (the flags byte is read when present), an advertisement
 *   ≥ 33. Trailing bytes are ignored. Go drops TSMP packets shorter than 7 bytes of payload.
 * - In a reject, the IP source is the rejecting node; `srcPort` is the rejected flow's source
 *   port (on the receiver of the reject, i.e. the IP destination), `dstPort` its destination.
 *
 * Where PROTOCOL.md §8 (as of 2026-11-25) is silent or loose, and Go decides:
 * - "no fragmentation" there means flags 0: Go does not set DF on TSMP packets.
 * - The pong's IPv4 ID / IPv6 flow label is the ping's inverted (not stated there).
 * - A 9-byte pong (no port) is accepted with port 0; the sheet gives only the 11-byte form.
 * - A reject is sent for any inbound IPv4 TCP packet with SYN set that the filter drops
 *   (SYN-ACK included), reason 'S' under shields-up, else 'A'; IPv4 total length 27.
 *
 * @example A ping body, emitted then parsed
 * ```ts
 * import { emitTsmp, parseTsmp, tsmpLen } from "./tsmp.ts";
 * const m = { type: "ping" as const, data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) };
 * const b = new Uint8Array(tsmpLen(m));
 * emitTsmp(m, b, 0);
 * const p = parseTsmp(b, 0, b.length);
 * if (p.type !== "ping" || p.data[7] !== 8) throw new Error("bad");
 * ```
 * @module
 */

import { readU16be, writeU16be } from "../base/bytes.ts";
import { ParseError } from "../base/errors.ts";
import { IP_PROTO_TSMP } from "./ip_proto.ts";
import { emitIpv4, IPV4_HEADER_LEN, ipv4Id } from "./ipv4.ts";
import { emitIpv6, IPV6_HEADER_LEN, ipv6FlowLabel } from "./ipv6.ts";
import { inspectIp, type IpInfo } from "./ip.ts";

/** Type byte: rejected connection. */
export const TSMP_TYPE_REJECT = 0x21;
/** Type byte: ping. */
export const TSMP_TYPE_PING = 0x70;
/** Type byte: pong. */
export const TSMP_TYPE_PONG = 0x6f;
/** Type byte: disco key advertisement. */
export const TSMP_TYPE_DISCO_ADVERT = 0x61;
/** Go drops a TSMP packet whose payload is shorter than this (`minTSMPSize`). */
export const TSMP_MIN_LEN = 7;
/** Ping and pong data length. */
export const TSMP_PING_DATA_LEN = 8;
/** Disco public key length. */
export const TSMP_DISCO_KEY_LEN = 32;
/** TTL / hop limit Go puts on every TSMP packet it builds. */
export const TSMP_TTL = 64;

/** Reject reason: the packet filter (ACLs). */
export const TSMP_REASON_ACL = 0x41; // 'A'
/** Reject reason: shields up. */
export const TSMP_REASON_SHIELDS_UP = 0x53; // 'S'
/** Reject reason: the relay's IP forwarding is off. */
export const TSMP_REASON_IP_FORWARDING = 0x46; // 'F'
/** Reject reason: the target's host firewall. */
export const TSMP_REASON_HOST_FIREWALL = 0x57; // 'W'
/** Reject reason: unknown app-connector transit IP (since v1.102.5; not in v1.98.10). */
export const TSMP_REASON_APP_CONNECTOR_TRANSIT_IP = 0x54; // 'T'
const FLAG_MAYBE_BROKEN = 0x01;
const FORMAT = "tsmp";

/** A TSMP message body (what follows the IP header), in a closed union tagged by `type`. */
export type TsmpMessage =
  | {
    type: "reject";
    /** Protocol of the rejected flow (6 TCP, 17 UDP). */
    proto: number;
    /** Reason byte: `TSMP_REASON_*`. */
    reason: number;
    /** The rejected flow's source port. */
    srcPort: number;
    /** The rejected flow's destination port. */
    dstPort: number;
    /** The rejection may not be final (flag 0x01); sent as an eighth byte only when true. */
    maybeBroken: boolean;
  }
  | {
    type: "ping";
    /** 8 opaque bytes the pong echoes. */
    data: Uint8Array;
  }
  | {
    type: "pong";
    /** The ping's 8 bytes. */
    data: Uint8Array;
    /** The responder's peerAPI port for the pinged address; 0 if none. */
    peerApiPort: number;
  }
  | {
    type: "disco-advert";
    /** The sender's 32-byte disco public key. */
    key: Uint8Array;
  }
  | {
    type: "unknown";
    /** The type byte. */
    typeByte: number;
    /** The bytes after it. */
    body: Uint8Array;
  };

/**
 * Parses the TSMP body `b[off..end)` (the IP payload of a protocol-99 packet).
 * @param b bytes @param off first body byte (the type) @param end one past the last
 * @returns the message; unknown types come back as `{ type: "unknown" }` (callers drop them)
 * @throws {ParseError} when empty, or a known type is shorter than Go accepts
 */
export function parseTsmp(b: Uint8Array, off: number, end: number): TsmpMessage {
  if (off < 0 || end > b.length || end - off < 1) {
    throw new ParseError(FORMAT, "Cannot parse TSMP message: empty", off);
  }
  const n = end - off;
  const t = b[off];
  const short = (need: number) =>
    new ParseError(
      FORMAT,
      `Cannot parse TSMP message 0x${t.toString(16)}: ${n} of ${need} bytes`,
      off,
    );
  switch (t) {
    case TSMP_TYPE_REJECT:
      if (n < 7) throw short(7);
      return {
        type: "reject",
        proto: b[off + 1],
        reason: b[off + 2],
        srcPort: readU16be(b, off + 3),
        dstPort: readU16be(b, off + 5),
        maybeBroken: n > 7 && (b[off + 7] & FLAG_MAYBE_BROKEN) !== 0,
      };
    case TSMP_TYPE_PING:
      if (n < 9) throw short(9);
      return { type: "ping", data: b.slice(off + 1, off + 9) };
    case TSMP_TYPE_PONG:
      if (n < 9) throw short(9);
      return {
        type: "pong",
        data: b.slice(off + 1, off + 9),
        peerApiPort: n >= 11 ? readU16be(b, off + 9) : 0,
      };
    case TSMP_TYPE_DISCO_ADVERT:
      if (n < 33) throw short(33);
      return { type: "disco-advert", key: b.slice(off + 1, off + 33) };
    default:
      return { type: "unknown", typeByte: t, body: b.slice(off + 1, end) };
  }
}

/**
 * Bytes {@linkcode emitTsmp} writes.
 * @param m the message
 * @returns 7 or 8 (reject), 9 (ping), 11 (pong), 33 (advert), 1 + body (unknown)
 */
export function tsmpLen(m: TsmpMessage): number {
  switch (m.type) {
    case "reject":
      return m.maybeBroken ? 8 : 7;
    case "ping":
      return 9;
    case "pong":
      return 11;
    case "disco-advert":
      return 33;
    case "unknown":
      return 1 + m.body.length;
  }
}

/**
 * Writes the body (no IP header).
 * @param m the message @param out destination @param off where to write
 * @returns the offset after it
 * @throws {RangeError} when data or key have the wrong length, or it does not fit
 */
export function emitTsmp(m: TsmpMessage, out: Uint8Array, off: number): number {
  const len = tsmpLen(m);
  if (out.length - off < len) {
    throw new RangeError(`Cannot emit TSMP message: ${len} bytes into ${out.length - off}`);
  }
  switch (m.type) {
    case "reject":
      out[off] = TSMP_TYPE_REJECT;
      out[off + 1] = m.proto;
      out[off + 2] = m.reason;
      writeU16be(out, off + 3, m.srcPort);
      writeU16be(out, off + 5, m.dstPort);
      if (m.maybeBroken) out[off + 7] = FLAG_MAYBE_BROKEN;
      break;
    case "ping":
    case "pong":
      if (m.data.length !== TSMP_PING_DATA_LEN) {
        throw new RangeError(`Cannot emit TSMP ${m.type}: ${m.data.length} data bytes, want 8`);
      }
      out[off] = m.type === "ping" ? TSMP_TYPE_PING : TSMP_TYPE_PONG;
      out.set(m.data, off + 1);
      if (m.type === "pong") writeU16be(out, off + 9, m.peerApiPort);
      break;
    case "disco-advert":
      if (m.key.length !== TSMP_DISCO_KEY_LEN) {
        throw new RangeError(`Cannot emit TSMP disco advertisement: ${m.key.length}-byte key`);
      }
      out[off] = TSMP_TYPE_DISCO_ADVERT;
      out.set(m.key, off + 1);
      break;
    case "unknown":
      out[off] = m.typeByte;
      out.set(m.body, off + 1);
      break;
  }
  return off + len;
}

/**
 * Bytes {@linkcode emitTsmpPacket} writes for a source address of this length.
 * @param m the message @param addrLen 4 or 16
 * @returns IP header plus body
 */
export function tsmpPacketLen(m: TsmpMessage, addrLen: number): number {
  return (addrLen === 4 ? IPV4_HEADER_LEN : IPV6_HEADER_LEN) + tsmpLen(m);
}

/**
 * Writes a whole TSMP packet the way Go builds one: IP header (TTL 64, no DF, no options) and
 * body. `ipId` is the IPv4 identification or the IPv6 flow label (Go uses 0 except in pongs).
 * @param m the message @param src our address (4 or 16 bytes) @param dst the peer's
 * @param out destination @param off where to write @param ipId IPv4 ID / IPv6 flow label
 * @returns the offset after the packet
 * @throws {RangeError} on mismatched address families or too little room
 */
export function emitTsmpPacket(
  m: TsmpMessage,
  src: Uint8Array,
  dst: Uint8Array,
  out: Uint8Array,
  off: number,
  ipId = 0,
): number {
  const body = tsmpLen(m);
  let at: number;
  if (src.length === 4) {
    at = emitIpv4(
      {
        tos: 0,
        id: ipId & 0xffff,
        dontFragment: false,
        moreFragments: false,
        fragmentOffset: 0,
        ttl: TSMP_TTL,
        protocol: IP_PROTO_TSMP,
        src,
        dst,
        options: new Uint8Array(0),
        payloadLen: body,
      },
      out,
      off,
    );
  } else {
    at = emitIpv6(
      {
        trafficClass: 0,
        flowLabel: ipId & 0xfffff,
        hopLimit: TSMP_TTL,
        src,
        dst,
        extensions: [],
        protocol: IP_PROTO_TSMP,
        payloadLen: body,
      },
      out,
      off,
    );
  }
  return emitTsmp(m, out, at);
}

/**
 * Builds the pong for a TSMP ping packet as Go's `injectOutboundPong` does: addresses swapped,
 * IPv4 ID (or IPv6 flow label) inverted, the ping's 8 bytes echoed, our peerAPI port.
 * @param b bytes holding the ping packet @param off its start @param end its end
 * @param peerApiPort our peerAPI port on the pinged address, or 0
 * @param out destination @param outOff where to write
 * @param info scratch for the inspection (reused, so the hot path allocates no IpInfo)
 * @returns the offset after the pong, or -1 when `b` is not a TSMP ping
 */
export function buildTsmpPong(
  b: Uint8Array,
  off: number,
  end: number,
  peerApiPort: number,
  out: Uint8Array,
  outOff: number,
  info: IpInfo,
): number {
  if (!inspectIp(b, off, end, info) || info.protocol !== IP_PROTO_TSMP || info.fragment) return -1;
  if (info.payloadEnd - info.payloadOff < 9 || b[info.payloadOff] !== TSMP_TYPE_PING) return -1;
  const v4 = info.version === 4;
  const need = (v4 ? IPV4_HEADER_LEN : IPV6_HEADER_LEN) + 11;
  if (out.length - outOff < need) return -1;
  const src = b.slice(info.dstOff, info.dstOff + info.addrLen);
  const dst = b.slice(info.srcOff, info.srcOff + info.addrLen);
  const id = v4 ? ~ipv4Id(b, off) & 0xffff : ~ipv6FlowLabel(b, off) & 0xfffff;
  const data = b.slice(info.payloadOff + 1, info.payloadOff + 9);
  return emitTsmpPacket({ type: "pong", data, peerApiPort }, src, dst, out, outOff, id);
}
