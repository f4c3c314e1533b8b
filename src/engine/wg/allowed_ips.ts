/**
 * A longest-prefix-match table from IPv4/IPv6 prefixes to peers: a binary trie per family.
 * Outbound packets find their peer by destination; inbound packets must come from an address
 * whose best match is the peer that sent them.
 * @module
 */
import { ParseError } from "../base/errors.ts";

/** A parsed prefix: 4 or 16 address bytes (host bits cleared) and a length in bits. */
export interface Prefix {
  /** Address bytes, 4 (IPv4) or 16 (IPv6), host bits zero. */
  readonly addr: Uint8Array;
  /** Prefix length in bits. */
  readonly bits: number;
}

interface Node<P> {
  child0: Node<P> | null;
  child1: Node<P> | null;
  peer: P | null;
}

function newNode<P>(): Node<P> {
  return { child0: null, child1: null, peer: null };
}

/** Prefix → peer, longest match wins. */
export class AllowedIps<P> {
  #v4: Node<P> = newNode();
  #v6: Node<P> = newNode();

  /**
   * Adds (or re-points) a prefix.
   * @param prefix the prefix
   * @param peer its peer
   */
  insert(prefix: Prefix, peer: P): void {
    let n = prefix.addr.length === 4 ? this.#v4 : this.#v6;
    for (let i = 0; i < prefix.bits; i++) {
      const bit = (prefix.addr[i >> 3] >> (7 - (i & 7))) & 1;
      if (bit === 0) n = n.child0 ??= newNode();
      else n = n.child1 ??= newNode();
    }
    n.peer = peer;
  }

  /**
   * The peer of the longest prefix containing the address at `buf[off .. off+len]`.
   * @param buf bytes holding the address
   * @param off where the address starts
   * @param len 4 or 16
   * @returns the peer, or null
   */
  lookup(buf: Uint8Array, off: number, len: 4 | 16): P | null {
    let n: Node<P> | null = len === 4 ? this.#v4 : this.#v6;
    let best: P | null = null;
    const bits = len * 8;
    for (let i = 0; n !== null; i++) {
      if (n.peer !== null) best = n.peer;
      if (i === bits) break;
      const bit = (buf[off + (i >> 3)] >> (7 - (i & 7))) & 1;
      n = bit === 0 ? n.child0 : n.child1;
    }
    return best;
  }

  /**
   * Removes every prefix of `peer`.
   * @param peer whose prefixes go
   */
  removePeer(peer: P): void {
    this.#v4 = prune(this.#v4, peer) ?? newNode();
    this.#v6 = prune(this.#v6, peer) ?? newNode();
  }

  /**
   * The prefixes of `peer`, in text form.
   * @param peer whose
   * @returns prefixes such as `10.0.0.0/8`
   */
  prefixesOf(peer: P): string[] {
    const out: string[] = [];
    walk(this.#v4, new Uint8Array(4), 0, peer, out);
    walk(this.#v6, new Uint8Array(16), 0, peer, out);
    return out;
  }
}

function prune<P>(n: Node<P> | null, peer: P): Node<P> | null {
  if (n === null) return null;
  if (n.peer === peer) n.peer = null;
  n.child0 = prune(n.child0, peer);
  n.child1 = prune(n.child1, peer);
  return n.peer === null && n.child0 === null && n.child1 === null ? null : n;
}

function walk<P>(n: Node<P> | null, addr: Uint8Array, depth: number, peer: P, out: string[]) {
  if (n === null) return;
  if (n.peer === peer) out.push(formatPrefix({ addr: addr.slice(), bits: depth }));
  if (depth === addr.length * 8) return;
  walk(n.child0, addr, depth + 1, peer, out);
  addr[depth >> 3] |= 1 << (7 - (depth & 7));
  walk(n.child1, addr, depth + 1, peer, out);
  addr[depth >> 3] &= ~(1 << (7 - (depth & 7)));
}

/**
 * Parses an IPv4 or IPv6 address (`100.64.0.1`, `fd7a:115c::1`).
 * Throws {@linkcode ParseError} when it is neither.
 * @param text the address
 * @returns 4 or 16 bytes
 */
export function parseIp(text: string): Uint8Array {
  if (text.includes(":")) return parseIpv6(text);
  const parts = text.split(".");
  if (parts.length !== 4) throw new ParseError("ip", `Cannot parse IP address: ${text}`);
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(parts[i]) || Number(parts[i]) > 255) {
      throw new ParseError("ip", `Cannot parse IP address: ${text}`);
    }
    out[i] = Number(parts[i]);
  }
  return out;
}

function parseIpv6(text: string): Uint8Array {
  const bad = () => new ParseError("ip", `Cannot parse IP address: ${text}`);
  const halves = text.split("::");
  if (halves.length > 2) throw bad();
  const head = halves[0] === "" ? [] : halves[0].split(":");
  const tail = halves.length === 2 && halves[1] !== "" ? halves[1].split(":") : [];
  const groups = head.length + tail.length;
  if (halves.length === 1 ? groups !== 8 : groups > 7) throw bad();
  const words = [...head, ...new Array(8 - groups).fill("0"), ...tail];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(words[i])) throw bad();
    const v = parseInt(words[i], 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  }
  return out;
}

/**
 * Parses `addr/bits` (a bare address means a host prefix) and clears the host bits.
 * Throws {@linkcode ParseError} on bad input.
 * @param text such as `10.0.0.0/8` or `fd7a:115c:a1e0::/48`
 * @returns the prefix
 */
export function parsePrefix(text: string): Prefix {
  const slash = text.indexOf("/");
  const addr = parseIp(slash < 0 ? text : text.slice(0, slash));
  const max = addr.length * 8;
  const bitsText = slash < 0 ? String(max) : text.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(bitsText) || Number(bitsText) > max) {
    throw new ParseError("ip-prefix", `Cannot parse IP prefix: ${text}`);
  }
  const bits = Number(bitsText);
  for (let i = bits; i < max; i++) addr[i >> 3] &= ~(1 << (7 - (i & 7)));
  return { addr, bits };
}

/**
 * Formats an address (IPv6 without zero compression beyond the longest run).
 * @param addr 4 or 16 bytes
 * @returns text form
 */
export function formatIp(addr: Uint8Array): string {
  if (addr.length === 4) return addr.join(".");
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((addr[i] << 8) | addr[i + 1]);
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) [bestAt, bestLen] = [i, j - i];
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestAt < 0) return hex.join(":");
  return hex.slice(0, bestAt).join(":") + "::" + hex.slice(bestAt + bestLen).join(":");
}

/**
 * Formats a prefix as `addr/bits`.
 * @param p the prefix
 * @returns text form
 */
export function formatPrefix(p: Prefix): string {
  return `${formatIp(p.addr)}/${p.bits}`;
}
