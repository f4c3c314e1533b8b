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

/**
 * Prefix → peer, longest match wins. Each peer's own prefixes are kept beside the trie (as
 * wireguard-go's per-peer entry list), so removing or listing one peer's prefixes walks only
 * their paths: a device re-sets every peer on each netmap change, and walking the whole trie
 * per peer made that, and status, quadratic in the number of peers.
 *
 * Host prefixes (/32, /128: every peer's own addresses, nearly all of a tailnet's entries) live
 * in two maps keyed by the address, not in the trie: no shorter prefix can beat them, so a
 * lookup that hits one is done, and the trie keeps only routes. Among 10,000 peers the trie
 * held ~14 nodes per IPv4 address and ~100 per IPv6 one; a lookup walked 32 or 128 of them.
 */
export class AllowedIps<P> {
  #v4: Node<P> = newNode();
  #v6: Node<P> = newNode();
  readonly #hosts4 = new Map<number, P>();
  readonly #hosts6 = new Map<string, P>();
  readonly #byPeer = new Map<P, Prefix[]>();

  /**
   * Adds (or re-points) a prefix.
   * @param prefix the prefix
   * @param peer its peer
   */
  insert(prefix: Prefix, peer: P): void {
    const len = prefix.addr.length;
    let prior: P | null;
    if (prefix.bits === len * 8) {
      prior = this.#host(prefix.addr, 0, len);
      if (prior === peer) return;
      if (len === 4) this.#hosts4.set(hostKey4(prefix.addr, 0), peer);
      else this.#hosts6.set(hostKey6(prefix.addr, 0), peer);
    } else {
      let n = len === 4 ? this.#v4 : this.#v6;
      for (let i = 0; i < prefix.bits; i++) {
        const bit = (prefix.addr[i >> 3] >> (7 - (i & 7))) & 1;
        if (bit === 0) n = n.child0 ??= newNode();
        else n = n.child1 ??= newNode();
      }
      prior = n.peer;
      if (prior === peer) return;
      n.peer = peer;
    }
    if (prior !== null) {
      const theirs = this.#byPeer.get(prior);
      if (theirs !== undefined) {
        const i = theirs.findIndex((q) => samePrefix(q, prefix));
        if (i >= 0) theirs.splice(i, 1);
        if (theirs.length === 0) this.#byPeer.delete(prior);
      }
    }
    const mine = this.#byPeer.get(peer);
    const copy = { addr: prefix.addr.slice(), bits: prefix.bits };
    if (mine === undefined) this.#byPeer.set(peer, [copy]);
    else mine.push(copy);
  }

  /**
   * The peer of the longest prefix containing the address at `buf[off .. off+len]`.
   * @param buf bytes holding the address
   * @param off where the address starts
   * @param len 4 or 16
   * @returns the peer, or null
   */
  lookup(buf: Uint8Array, off: number, len: 4 | 16): P | null {
    const host = this.#host(buf, off, len);
    if (host !== null) return host;
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
    const mine = this.#byPeer.get(peer);
    if (mine === undefined) return;
    this.#byPeer.delete(peer);
    for (const prefix of mine) this.#remove(prefix, peer);
  }

  /**
   * The prefixes of `peer`, in text form, IPv4 first, each family in trie order.
   * @param peer whose
   * @returns prefixes such as `10.0.0.0/8`
   */
  prefixesOf(peer: P): string[] {
    const mine = this.#byPeer.get(peer);
    if (mine === undefined) return [];
    return [...mine].sort(triePrefixOrder).map(formatPrefix);
  }

  /** The peer whose host prefix is the address at `buf[off .. off+len]`, or null. */
  #host(buf: Uint8Array, off: number, len: number): P | null {
    if (len === 4) {
      return this.#hosts4.size === 0 ? null : this.#hosts4.get(hostKey4(buf, off)) ?? null;
    }
    return this.#hosts6.size === 0 ? null : this.#hosts6.get(hostKey6(buf, off)) ?? null;
  }

  /** Clears `prefix` if it is `peer`'s, and drops the nodes its path no longer needs. */
  #remove(prefix: Prefix, peer: P): void {
    const len = prefix.addr.length;
    if (prefix.bits === len * 8) {
      if (this.#host(prefix.addr, 0, len) !== peer) return;
      if (len === 4) this.#hosts4.delete(hostKey4(prefix.addr, 0));
      else this.#hosts6.delete(hostKey6(prefix.addr, 0));
      return;
    }
    const root = prefix.addr.length === 4 ? this.#v4 : this.#v6;
    const path: Node<P>[] = [root];
    let n: Node<P> | null = root;
    for (let i = 0; i < prefix.bits && n !== null; i++) {
      const bit = (prefix.addr[i >> 3] >> (7 - (i & 7))) & 1;
      n = bit === 0 ? n.child0 : n.child1;
      if (n !== null) path.push(n);
    }
    if (n === null || n.peer !== peer) return;
    n.peer = null;
    for (let depth = path.length - 1; depth > 0; depth--) {
      const node = path[depth];
      if (node.peer !== null || node.child0 !== null || node.child1 !== null) break;
      const parent = path[depth - 1];
      if (parent.child0 === node) parent.child0 = null;
      else parent.child1 = null;
    }
  }
}

/** An IPv4 address as one number (a Map key without a string made per packet). */
function hostKey4(b: Uint8Array, off: number): number {
  return ((b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]) >>> 0;
}

/** An IPv6 address as an 8-unit string, one unit per 16-bit group. */
function hostKey6(b: Uint8Array, off: number): string {
  return String.fromCharCode(
    (b[off] << 8) | b[off + 1],
    (b[off + 2] << 8) | b[off + 3],
    (b[off + 4] << 8) | b[off + 5],
    (b[off + 6] << 8) | b[off + 7],
    (b[off + 8] << 8) | b[off + 9],
    (b[off + 10] << 8) | b[off + 11],
    (b[off + 12] << 8) | b[off + 13],
    (b[off + 14] << 8) | b[off + 15],
  );
}

function samePrefix(a: Prefix, b: Prefix): boolean {
  if (a.bits !== b.bits || a.addr.length !== b.addr.length) return false;
  for (let i = 0; i < a.addr.length; i++) if (a.addr[i] !== b.addr[i]) return false;
  return true;
}

/** IPv4 before IPv6; then address bytes; a prefix before the longer ones inside it. */
function triePrefixOrder(a: Prefix, b: Prefix): number {
  if (a.addr.length !== b.addr.length) return a.addr.length - b.addr.length;
  for (let i = 0; i < a.addr.length; i++) {
    if (a.addr[i] !== b.addr[i]) return a.addr[i] - b.addr[i];
  }
  return a.bits - b.bits;
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
