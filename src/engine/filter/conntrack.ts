/**
 * The filter's flow memory, as tailscaled's `flowtrack.Cache` under `wgengine/filter`: an LRU
 * of UDP/SCTP flows this node sent, keyed by (protocol, remote addr:port, local addr:port), so
 * the replies pass whatever the rules say. No expiry by time: as in Go, a flow lives until
 * 512 newer ones push it out. Shared across rule changes so open flows survive a new netmap.
 *
 * @example Remember a flow and find its reply
 * ```ts
 * import { FlowCache, flowKey } from "./conntrack.ts";
 * const b = new Uint8Array([10, 0, 0, 1, 0, 53, 10, 0, 0, 2, 0x30, 0x39]);
 * const c = new FlowCache(4);
 * c.add(flowKey(17, b, 0, 4, 4, b, 6, 10));
 * if (!c.has(flowKey(17, b, 0, 4, 4, b, 6, 10))) throw new Error("lost");
 * ```
 * @module
 */

/** Go's `lruMax`: flows remembered at once. */
export const FLOW_CACHE_MAX = 512;

/**
 * A flow's key: protocol, then one address and port, then the other (as raw bytes).
 * @param proto IP protocol @param b bytes
 * @param aOff first address @param aLen 4 or 16 @param aPortOff its port (2 bytes, BE)
 * @param b2 bytes of the second address/port (often `b`)
 * @param bOff second address @param bPortOff its port
 * @returns the key
 */
export function flowKey(
  proto: number,
  b: Uint8Array,
  aOff: number,
  aLen: number,
  aPortOff: number,
  b2: Uint8Array,
  bOff: number,
  bPortOff: number,
): string {
  let s = String.fromCharCode(proto);
  for (let i = 0; i < aLen; i++) s += String.fromCharCode(b[aOff + i]);
  s += String.fromCharCode(b[aPortOff], b[aPortOff + 1]);
  for (let i = 0; i < aLen; i++) s += String.fromCharCode(b2[bOff + i]);
  s += String.fromCharCode(b2[bPortOff], b2[bPortOff + 1]);
  return s;
}

/** A bounded LRU set of flow keys. */
export class FlowCache {
  readonly #max: number;
  // A Map keeps insertion order: the first key is the least recently used.
  readonly #flows = new Map<string, true>();

  /** @param max flows kept (Go: 512) */
  constructor(max = FLOW_CACHE_MAX) {
    this.#max = max;
  }

  /** Flows remembered now. */
  get size(): number {
    return this.#flows.size;
  }

  /**
   * Remembers a flow (or refreshes it), pushing out the oldest beyond the bound.
   * @param key from {@linkcode flowKey}
   */
  add(key: string): void {
    this.#flows.delete(key);
    this.#flows.set(key, true);
    if (this.#flows.size > this.#max) {
      const oldest = this.#flows.keys().next();
      if (!oldest.done) this.#flows.delete(oldest.value);
    }
  }

  /**
   * Whether a flow is remembered; a hit makes it the most recent, as Go's `Get`.
   * @param key from {@linkcode flowKey}
   * @returns true when known
   */
  has(key: string): boolean {
    if (!this.#flows.has(key)) return false;
    this.#flows.delete(key);
    this.#flows.set(key, true);
    return true;
  }

  /** Forgets every flow. */
  clear(): void {
    this.#flows.clear();
  }
}
