/**
 * IP addresses as bytes: 4 for IPv4, 16 for IPv6, in network order. Text forms follow Go's
 * `net/netip` (which is what tailscaled prints and control sends): dotted quad with no leading
 * zeros; IPv6 per RFC 5952 (lower case, the longest run of two or more zero groups becomes
 * `::`, leftmost on a tie) and `::ffff:a.b.c.d` for v4-mapped addresses. Zones (`%eth0`) are
 * rejected: nothing in tailnet's wire formats carries one.
 *
 * @example Parse, format and test a prefix
 * ```ts
 * import { formatIpAddr, parseIpAddr, parseIpPrefix, prefixContains } from "./ip_addr.ts";
 * const a = parseIpAddr("fd7a:115c:a1e0:0:0:0:0:1");
 * if (formatIpAddr(a) !== "fd7a:115c:a1e0::1") throw new Error("bad");
 * const p = parseIpPrefix("100.64.0.0/10");
 * if (!prefixContains(p, parseIpAddr("100.100.100.100"))) throw new Error("bad");
 * ```
 * @module
 */

import { ParseError } from "../base/errors.ts";

/** An IP prefix: an address with its first `bits` bits significant. */
export interface IpPrefix {
  /** The address, 4 or 16 bytes; bits past `bits` are kept as given. */
  readonly addr: Uint8Array;
  /** Prefix length: 0..32 for IPv4, 0..128 for IPv6. */
  readonly bits: number;
}

const FORMAT = "ip-addr";

/**
 * Parses a dotted-quad IPv4 address.
 * @param text e.g. `"100.64.0.1"`
 * @returns 4 bytes
 * @throws {ParseError} on anything else (leading zeros, values over 255, missing parts)
 */
export function parseIpv4Addr(text: string): Uint8Array {
  const out = new Uint8Array(4);
  if (!readIpv4Into(text, out, 0)) {
    throw new ParseError(FORMAT, `Cannot parse IPv4 address: ${JSON.stringify(text)}`);
  }
  return out;
}

function readIpv4Into(text: string, out: Uint8Array, off: number): boolean {
  const parts = text.split(".");
  if (parts.length !== 4) return false;
  for (let i = 0; i < 4; i++) {
    const p = parts[i];
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return false;
    const v = Number(p);
    if (v > 255) return false;
    out[off + i] = v;
  }
  return true;
}

/**
 * Parses an IPv6 address, with `::` and an optional trailing dotted quad.
 * @param text e.g. `"fd7a:115c:a1e0::1"` or `"::ffff:10.0.0.1"`
 * @returns 16 bytes
 * @throws {ParseError} when the text is not an IPv6 address (or carries a zone)
 */
export function parseIpv6Addr(text: string): Uint8Array {
  const out = new Uint8Array(16);
  const fail = () => new ParseError(FORMAT, `Cannot parse IPv6 address: ${JSON.stringify(text)}`);
  if (text.length === 0 || text.length > 45) throw fail();
  const dbl = text.indexOf("::");
  if (dbl !== -1 && text.indexOf("::", dbl + 1) !== -1) throw fail();
  const head = dbl === -1 ? text : text.slice(0, dbl);
  const tail = dbl === -1 ? "" : text.slice(dbl + 2);
  const headGroups = head === "" ? [] : head.split(":");
  const tailGroups = tail === "" ? [] : tail.split(":");
  // Words written from the front, then from the back, so `::` fills the gap with zeros.
  const words: number[] = [];
  const tailWords: number[] = [];
  const readGroups = (groups: string[], into: number[], last: boolean): boolean => {
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i];
      if (last && i === groups.length - 1 && g.includes(".")) {
        const v4 = new Uint8Array(4);
        if (!readIpv4Into(g, v4, 0)) return false;
        into.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return false;
      into.push(parseInt(g, 16));
    }
    return true;
  };
  if (!readGroups(headGroups, words, dbl === -1)) throw fail();
  if (!readGroups(tailGroups, tailWords, true)) throw fail();
  const n = words.length + tailWords.length;
  if (dbl === -1 ? n !== 8 : n > 7) throw fail();
  for (let i = 0; i < words.length; i++) {
    out[2 * i] = words[i] >>> 8;
    out[2 * i + 1] = words[i] & 0xff;
  }
  const start = 8 - tailWords.length;
  for (let i = 0; i < tailWords.length; i++) {
    out[2 * (start + i)] = tailWords[i] >>> 8;
    out[2 * (start + i) + 1] = tailWords[i] & 0xff;
  }
  return out;
}

/**
 * Parses either family: a `:` means IPv6.
 * @param text an IPv4 or IPv6 address
 * @returns 4 or 16 bytes
 * @throws {ParseError} when it is neither
 */
export function parseIpAddr(text: string): Uint8Array {
  return text.includes(":") ? parseIpv6Addr(text) : parseIpv4Addr(text);
}

/**
 * Formats an address read from `b` at `off`.
 * @param b bytes holding the address @param off where it starts
 * @param len 4 (IPv4) or 16 (IPv6)
 * @returns the text form
 * @throws {RangeError} when `len` is not 4 or 16
 */
export function formatIpAddrAt(b: Uint8Array, off: number, len: number): string {
  if (len === 4) return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
  if (len !== 16) throw new RangeError(`Cannot format IP address: length ${len}`);
  let mapped = true;
  for (let i = 0; i < 10; i++) if (b[off + i] !== 0) mapped = false;
  if (mapped && b[off + 10] === 0xff && b[off + 11] === 0xff) {
    return `::ffff:${formatIpAddrAt(b, off + 12, 4)}`;
  }
  // Longest run of zero words, length at least 2, leftmost on a tie (RFC 5952 §4.2).
  let bestAt = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (b[off + 2 * i] === 0 && b[off + 2 * i + 1] === 0) {
      let j = i;
      while (j < 8 && b[off + 2 * j] === 0 && b[off + 2 * j + 1] === 0) j++;
      if (j - i > bestLen) {
        bestAt = i;
        bestLen = j - i;
      }
      i = j;
    } else {
      i++;
    }
  }
  let s = "";
  for (let i = 0; i < 8; i++) {
    if (i === bestAt) {
      s += "::";
      i += bestLen - 1;
      continue;
    }
    if (s !== "" && !s.endsWith(":")) s += ":";
    s += ((b[off + 2 * i] << 8) | b[off + 2 * i + 1]).toString(16);
  }
  return s;
}

/**
 * Formats a 4- or 16-byte address.
 * @param addr the address
 * @returns the text form
 * @throws {RangeError} for another length
 */
export function formatIpAddr(addr: Uint8Array): string {
  return formatIpAddrAt(addr, 0, addr.length);
}

/**
 * Parses `addr/bits`.
 * @param text e.g. `"100.64.0.0/10"` or `"fd7a:115c:a1e0::/48"`
 * @returns the prefix
 * @throws {ParseError} on a bad address or a length out of range
 */
export function parseIpPrefix(text: string): IpPrefix {
  const slash = text.indexOf("/");
  if (slash === -1) throw new ParseError(FORMAT, `Cannot parse IP prefix: no "/" in ${text}`);
  const addr = parseIpAddr(text.slice(0, slash));
  const bitsText = text.slice(slash + 1);
  const bits = Number(bitsText);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(bitsText) || bits > addr.length * 8) {
    throw new ParseError(FORMAT, `Cannot parse IP prefix: bad length in ${text}`);
  }
  return { addr, bits };
}

/**
 * Formats a prefix as `addr/bits`.
 * @param p the prefix
 * @returns its text form
 */
export function formatIpPrefix(p: IpPrefix): string {
  return `${formatIpAddr(p.addr)}/${p.bits}`;
}

/**
 * Whether the address at `b[off..off+len)` lies in `p`. No allocation; for the hot path.
 * @param p the prefix
 * @param b bytes holding the address @param off where it starts @param len 4 or 16
 * @returns false when the families differ
 */
export function prefixContainsAt(p: IpPrefix, b: Uint8Array, off: number, len: number): boolean {
  if (p.addr.length !== len) return false;
  const whole = p.bits >>> 3;
  for (let i = 0; i < whole; i++) if (p.addr[i] !== b[off + i]) return false;
  const rest = p.bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (p.addr[whole] & mask) === (b[off + whole] & mask);
}

/**
 * Whether `addr` lies in `p`.
 * @param p the prefix @param addr a 4- or 16-byte address
 * @returns false when the families differ
 */
export function prefixContains(p: IpPrefix, addr: Uint8Array): boolean {
  return prefixContainsAt(p, addr, 0, addr.length);
}
