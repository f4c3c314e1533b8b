/**
 * IPv6 fixed header (RFC 8200) and the extension headers a node must walk to reach the upper
 * layer: hop-by-hop options (0), routing (43), fragment (44) and destination options (60).
 *
 * ```
 * fixed header, 40 bytes:
 * | ver=6 | traffic class | flow label (20 bits)                |
 * | payload length (after these 40) | next header | hop limit   |
 * | source address (16) | destination address (16)              |
 * hop-by-hop, destination options: | next | len | options: 6 + 8*len bytes |
 * routing:  | next | len | routing type | segments left | data: 4 + 8*len bytes |
 * fragment: | next | reserved | offset (13 bits) res(2) M | identification (32) |
 * ```
 *
 * Anything else (AH, ESP, no-next-header, an upper protocol) ends the walk and is reported as
 * the protocol. A fragment with a non-zero offset also ends it: what follows is not a header.
 * Hot path: {@linkcode isIpv6} then the accessors, and {@linkcode walkIpv6} into a caller-owned
 * {@linkcode Ipv6Upper}. Control path and tests: {@linkcode parseIpv6} / {@linkcode emitIpv6}.
 *
 * @example Walk a hop-by-hop header to the upper layer
 * ```ts
 * import { emitIpv6, ipv6Len, newIpv6Upper, walkIpv6 } from "./ipv6.ts";
 * const h = {
 *   trafficClass: 0, flowLabel: 0, hopLimit: 1, src: new Uint8Array(16), dst: new Uint8Array(16),
 *   extensions: [{ type: "hop-by-hop" as const, options: new Uint8Array([5, 2, 0, 0, 1, 0]) }],
 *   protocol: 58, payloadLen: 0,
 * };
 * const b = new Uint8Array(ipv6Len(h));
 * emitIpv6(h, b, 0);
 * const up = newIpv6Upper();
 * if (!walkIpv6(b, 0, b.length, up) || up.protocol !== 58 || up.payloadOff !== 48) {
 *   throw new Error("bad");
 * }
 * ```
 * @module
 */

import { readU16be, readU32be, writeU16be, writeU32be } from "../base/bytes.ts";
import { ParseError } from "../base/errors.ts";
import {
  IP_PROTO_DSTOPTS,
  IP_PROTO_FRAGMENT,
  IP_PROTO_HOPOPTS,
  IP_PROTO_ROUTING,
} from "./ip_proto.ts";

/** Length of the fixed header. */
export const IPV6_HEADER_LEN = 40;
/** Offset of the payload-length field. */
export const IPV6_PAYLOAD_LEN_AT = 4;
/** Offset of the next-header byte. */
export const IPV6_NEXT_HEADER_AT = 6;
/** Offset of the hop-limit byte. */
export const IPV6_HOP_LIMIT_AT = 7;
/** Offset of the source address. */
export const IPV6_SRC_AT = 8;
/** Offset of the destination address. */
export const IPV6_DST_AT = 24;
/** Length of a fragment header. */
export const IPV6_FRAGMENT_HEADER_LEN = 8;
const FORMAT = "ipv6";

/** One extension header, in a closed union tagged by `type`. */
export type Ipv6Extension =
  | {
    /** Hop-by-hop (0) or destination options (60). */
    type: "hop-by-hop" | "destination";
    /** The option area as raw TLVs: 6 + 8k bytes. */
    options: Uint8Array;
  }
  | {
    /** Routing header (43). */
    type: "routing";
    /** Routing type. */
    routingType: number;
    /** Segments left. */
    segmentsLeft: number;
    /** Type-specific data: 4 + 8k bytes. */
    data: Uint8Array;
  }
  | {
    /** Fragment header (44). */
    type: "fragment";
    /** Offset of this fragment's data in bytes (a multiple of 8). */
    offset: number;
    /** More Fragments flag. */
    more: boolean;
    /** Identification. */
    id: number;
  };

/** The meaning of an IPv6 header chain. */
export interface Ipv6Header {
  /** Traffic class. */
  trafficClass: number;
  /** Flow label, 20 bits. */
  flowLabel: number;
  /** Hop limit. */
  hopLimit: number;
  /** Source address, 16 bytes. */
  src: Uint8Array;
  /** Destination address, 16 bytes. */
  dst: Uint8Array;
  /** Extension headers in order. */
  extensions: Ipv6Extension[];
  /** The protocol after the last extension header. */
  protocol: number;
  /** Bytes after the last extension header. */
  payloadLen: number;
}

/** Where the upper layer starts: filled by {@linkcode walkIpv6} into a caller-owned object. */
export interface Ipv6Upper {
  /** The protocol after the extension headers. */
  protocol: number;
  /** Offset (in the packet's buffer) of the upper-layer bytes. */
  payloadOff: number;
  /** One past the last byte of the packet (from the payload-length field). */
  payloadEnd: number;
  /** Whether a fragment header was seen. */
  fragment: boolean;
  /** That fragment's offset in bytes (0 for the first); 0 when not a fragment. */
  fragmentOffset: number;
  /** That fragment's M flag. */
  moreFragments: boolean;
  /** That fragment's identification. */
  fragmentId: number;
}

/** A zeroed {@linkcode Ipv6Upper} to reuse across packets. @returns a fresh scratch object */
export function newIpv6Upper(): Ipv6Upper {
  return {
    protocol: 0,
    payloadOff: 0,
    payloadEnd: 0,
    fragment: false,
    fragmentOffset: 0,
    moreFragments: false,
    fragmentId: 0,
  };
}

/**
 * Whether `b[off..end)` starts with an IPv6 fixed header whose payload fits.
 * @param b bytes @param off header start @param end one past the last valid byte
 * @returns true when the accessors may be used
 */
export function isIpv6(b: Uint8Array, off: number, end: number): boolean {
  if (off < 0 || end > b.length || end - off < IPV6_HEADER_LEN) return false;
  if (b[off] >>> 4 !== 6) return false;
  return off + IPV6_HEADER_LEN + readU16be(b, off + IPV6_PAYLOAD_LEN_AT) <= end;
}

/** Payload length (bytes after the fixed header). @param b bytes @param off header start @returns bytes */
export function ipv6PayloadLen(b: Uint8Array, off: number): number {
  return readU16be(b, off + IPV6_PAYLOAD_LEN_AT);
}

/** The fixed header's next-header byte. @param b bytes @param off header start @returns 0..255 */
export function ipv6NextHeader(b: Uint8Array, off: number): number {
  return b[off + IPV6_NEXT_HEADER_AT];
}

/** Hop limit. @param b bytes @param off header start @returns 0..255 */
export function ipv6HopLimit(b: Uint8Array, off: number): number {
  return b[off + IPV6_HOP_LIMIT_AT];
}

/** Traffic class. @param b bytes @param off header start @returns 0..255 */
export function ipv6TrafficClass(b: Uint8Array, off: number): number {
  return (readU16be(b, off) >>> 4) & 0xff;
}

/** Flow label. @param b bytes @param off header start @returns 0..2^20-1 */
export function ipv6FlowLabel(b: Uint8Array, off: number): number {
  return readU32be(b, off) & 0xfffff;
}

/**
 * Walks the extension headers to the upper layer. Returns false on a truncated or misplaced
 * header (hop-by-hop not first). No allocation.
 * @param b bytes @param off fixed-header start @param end one past the last valid byte
 * @param out filled on success
 * @returns false when the packet or its chain is malformed
 */
export function walkIpv6(b: Uint8Array, off: number, end: number, out: Ipv6Upper): boolean {
  if (!isIpv6(b, off, end)) return false;
  return walkIpv6Chain(b, off, off + IPV6_HEADER_LEN + ipv6PayloadLen(b, off), out);
}

/**
 * Walks the extension chain of the packet at `off` as if it ended at `stop`, ignoring the
 * payload-length field: for a packet quoted, cut short, inside an ICMPv6 error.
 * @param b bytes @param off fixed-header start
 * @param stop one past the last byte to walk; `off + 40 <= stop <= b.length`
 * @param out filled on success
 * @returns false when a header is cut off or misplaced, or `stop` is out of range
 */
export function walkIpv6Chain(b: Uint8Array, off: number, stop: number, out: Ipv6Upper): boolean {
  if (off < 0 || stop > b.length || stop - off < IPV6_HEADER_LEN) return false;
  let next = b[off + IPV6_NEXT_HEADER_AT];
  let at = off + IPV6_HEADER_LEN;
  out.fragment = false;
  out.fragmentOffset = 0;
  out.moreFragments = false;
  out.fragmentId = 0;
  out.payloadEnd = stop;
  let first = true;
  for (;;) {
    if (next === IP_PROTO_HOPOPTS || next === IP_PROTO_DSTOPTS || next === IP_PROTO_ROUTING) {
      if (next === IP_PROTO_HOPOPTS && !first) return false;
      if (stop - at < 8) return false;
      const len = (b[at + 1] + 1) << 3;
      if (stop - at < len) return false;
      next = b[at];
      at += len;
    } else if (next === IP_PROTO_FRAGMENT) {
      if (stop - at < IPV6_FRAGMENT_HEADER_LEN) return false;
      const w = readU16be(b, at + 2);
      out.fragment = true;
      out.fragmentOffset = w & 0xfff8;
      out.moreFragments = (w & 1) !== 0;
      out.fragmentId = readU32be(b, at + 4);
      next = b[at];
      at += IPV6_FRAGMENT_HEADER_LEN;
      if (out.fragmentOffset !== 0) break;
    } else {
      break;
    }
    first = false;
  }
  out.protocol = next;
  out.payloadOff = at;
  return true;
}

/**
 * Parses the fixed header and its extension chain; the payload must be present.
 * @param b bytes @param off header start
 * @returns the header chain's meaning (addresses and extension bodies copied)
 * @throws {ParseError} on a wrong version, a payload longer than the bytes, or a malformed chain
 */
export function parseIpv6(b: Uint8Array, off: number): Ipv6Header {
  if (b.length - off < IPV6_HEADER_LEN) {
    throw new ParseError(FORMAT, `Cannot parse IPv6 header: ${b.length - off} bytes`, off);
  }
  if (b[off] >>> 4 !== 6) {
    throw new ParseError(FORMAT, `Cannot parse IPv6 header: version ${b[off] >>> 4}`, off);
  }
  const stop = off + IPV6_HEADER_LEN + ipv6PayloadLen(b, off);
  if (stop > b.length) {
    throw new ParseError(
      FORMAT,
      `Cannot parse IPv6 packet: payload length ${ipv6PayloadLen(b, off)} exceeds ${
        b.length - off - IPV6_HEADER_LEN
      } bytes`,
      off + IPV6_PAYLOAD_LEN_AT,
    );
  }
  const extensions: Ipv6Extension[] = [];
  let next = b[off + IPV6_NEXT_HEADER_AT];
  let at = off + IPV6_HEADER_LEN;
  for (;;) {
    if (next === IP_PROTO_HOPOPTS || next === IP_PROTO_DSTOPTS || next === IP_PROTO_ROUTING) {
      if (next === IP_PROTO_HOPOPTS && extensions.length > 0) {
        throw new ParseError(FORMAT, "Cannot parse IPv6 chain: hop-by-hop header not first", at);
      }
      const len = stop - at < 8 ? 8 : (b[at + 1] + 1) << 3;
      if (stop - at < len) {
        throw new ParseError(FORMAT, `Cannot parse IPv6 chain: header ${next} truncated`, at);
      }
      if (next === IP_PROTO_ROUTING) {
        extensions.push({
          type: "routing",
          routingType: b[at + 2],
          segmentsLeft: b[at + 3],
          data: b.slice(at + 4, at + len),
        });
      } else {
        extensions.push({
          type: next === IP_PROTO_HOPOPTS ? "hop-by-hop" : "destination",
          options: b.slice(at + 2, at + len),
        });
      }
      next = b[at];
      at += len;
    } else if (next === IP_PROTO_FRAGMENT) {
      if (stop - at < IPV6_FRAGMENT_HEADER_LEN) {
        throw new ParseError(FORMAT, "Cannot parse IPv6 chain: fragment header truncated", at);
      }
      const w = readU16be(b, at + 2);
      const offset = w & 0xfff8;
      extensions.push({ type: "fragment", offset, more: (w & 1) !== 0, id: readU32be(b, at + 4) });
      next = b[at];
      at += IPV6_FRAGMENT_HEADER_LEN;
      if (offset !== 0) break;
    } else {
      break;
    }
  }
  return {
    trafficClass: ipv6TrafficClass(b, off),
    flowLabel: ipv6FlowLabel(b, off),
    hopLimit: b[off + IPV6_HOP_LIMIT_AT],
    src: b.slice(off + IPV6_SRC_AT, off + IPV6_SRC_AT + 16),
    dst: b.slice(off + IPV6_DST_AT, off + IPV6_DST_AT + 16),
    extensions,
    protocol: next,
    payloadLen: stop - at,
  };
}

function extensionLen(e: Ipv6Extension): number {
  switch (e.type) {
    case "hop-by-hop":
    case "destination":
      return 2 + e.options.length;
    case "routing":
      return 4 + e.data.length;
    case "fragment":
      return IPV6_FRAGMENT_HEADER_LEN;
  }
}

function extensionNumber(e: Ipv6Extension): number {
  switch (e.type) {
    case "hop-by-hop":
      return IP_PROTO_HOPOPTS;
    case "destination":
      return IP_PROTO_DSTOPTS;
    case "routing":
      return IP_PROTO_ROUTING;
    case "fragment":
      return IP_PROTO_FRAGMENT;
  }
}

/**
 * Bytes {@linkcode emitIpv6} writes: the fixed header and every extension header.
 * @param h the header chain
 * @returns 40 or more
 */
export function ipv6Len(h: Ipv6Header): number {
  let n = IPV6_HEADER_LEN;
  for (const e of h.extensions) n += extensionLen(e);
  return n;
}

/**
 * Writes the fixed header and the extension chain; the payload is the caller's to place after.
 * @param h the header chain @param out destination @param off where to write
 * @returns the offset after the last extension header
 * @throws {RangeError} on a field out of range, a body of the wrong size, or too little room
 */
export function emitIpv6(h: Ipv6Header, out: Uint8Array, off: number): number {
  const hl = ipv6Len(h);
  const payload = hl - IPV6_HEADER_LEN + h.payloadLen;
  if (payload > 0xffff) throw new RangeError(`Cannot emit IPv6 header: payload ${payload}`);
  if (h.src.length !== 16 || h.dst.length !== 16) {
    throw new RangeError("Cannot emit IPv6 header: addresses must be 16 bytes");
  }
  for (const e of h.extensions) {
    const len = extensionLen(e);
    if (len % 8 !== 0 || len > 2048) {
      throw new RangeError(`Cannot emit IPv6 ${e.type} header: ${len} bytes`);
    }
    if (e.type === "fragment" && (e.offset % 8 !== 0 || e.offset > 0xfff8)) {
      throw new RangeError(`Cannot emit IPv6 fragment header: offset ${e.offset}`);
    }
  }
  if (out.length - off < hl) {
    throw new RangeError(`Cannot emit IPv6 header: ${hl} bytes into ${out.length - off}`);
  }
  writeU32be(out, off, 0x60000000 | ((h.trafficClass & 0xff) << 20) | (h.flowLabel & 0xfffff));
  writeU16be(out, off + IPV6_PAYLOAD_LEN_AT, payload);
  out[off + IPV6_NEXT_HEADER_AT] = h.extensions.length > 0
    ? extensionNumber(h.extensions[0])
    : h.protocol;
  out[off + IPV6_HOP_LIMIT_AT] = h.hopLimit;
  out.set(h.src, off + IPV6_SRC_AT);
  out.set(h.dst, off + IPV6_DST_AT);
  let at = off + IPV6_HEADER_LEN;
  for (let i = 0; i < h.extensions.length; i++) {
    const e = h.extensions[i];
    const next = i + 1 < h.extensions.length ? extensionNumber(h.extensions[i + 1]) : h.protocol;
    const len = extensionLen(e);
    out[at] = next;
    switch (e.type) {
      case "hop-by-hop":
      case "destination":
        out[at + 1] = (len >>> 3) - 1;
        out.set(e.options, at + 2);
        break;
      case "routing":
        out[at + 1] = (len >>> 3) - 1;
        out[at + 2] = e.routingType;
        out[at + 3] = e.segmentsLeft;
        out.set(e.data, at + 4);
        break;
      case "fragment":
        out[at + 1] = 0;
        writeU16be(out, at + 2, e.offset | (e.more ? 1 : 0));
        writeU32be(out, at + 4, e.id);
        break;
    }
    at += len;
  }
  return at;
}
