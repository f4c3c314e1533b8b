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
 */
export class AllowedIps<P> {
  #v4: Node<P> = newNode();
  #v6: Node<P> = newNode();
  readonly #byPeer = new Map<P, Prefix[]>();

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
    if (n.peer === peer) return;
    if (n.peer !== null) {
      const theirs = this.#byPeer.get(n.peer);
      if (theirs !== undefined) {
        const i = theirs.findIndex((q) => samePrefix(q, prefix));
        if (i >= 0) theirs.splice(i, 1);
        if (theirs.length === 0) this.#byPeer.delete(n.peer);
      }
    }
    n.peer = peer;
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

  /** Clears `prefix` if it is `peer`'s, and drops the nodes its path no longer needs. */
  #remove(prefix: Prefix, peer: P): void {
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
