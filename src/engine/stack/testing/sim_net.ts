/**
 * Test helper: a discrete-event network between stacks on one `ManualClock` and a fault
 * injector (loss, delay, jitter, reordering, corruption), seeded so every run is the same.
 * Time only moves when the simulation has nothing to do now, so minutes of protocol run in
 * a moment of CPU.
 * @module
 */
import { ManualClock } from "../../base/testing/manual_clock.ts";
import { formatIpAddrAt } from "../../wire/mod.ts";
import { Stack, type StackOptions } from "../stack.ts";

/** A small seeded PRNG (mulberry32). */
export class Prng {
  #s: number;
  /** @param seed any 32-bit number */
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  /** @returns a float in [0, 1) */
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** @param n bound @returns an integer in [0, n) */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** @param b filled with random bytes */
  fill(b: Uint8Array): void {
    for (let i = 0; i < b.length; i++) b[i] = (this.next() * 256) | 0;
  }
}

/** Faults applied to every packet. */
export interface Faults {
  /** Probability a packet is lost. */
  loss?: number;
  /** One-way delay in ms. */
  delayMs?: number;
  /** Uniform extra delay in [0, jitterMs) per packet (reorders when larger than the gap). */
  jitterMs?: number;
  /** Probability a packet is held back `reorderMs` extra. */
  reorder?: number;
  /** Extra hold of a reordered packet. */
  reorderMs?: number;
  /** Probability one byte of a packet is flipped (checksums must catch it). */
  corrupt?: number;
}

interface Event {
  at: number;
  n: number;
  to: Stack;
  packet: Uint8Array;
}

/** A simulated network of stacks. */
export class SimNet {
  /** The simulated time every stack of this network runs on. */
  readonly clock: ManualClock = new ManualClock();
  /** Packets sent, lost and delivered. */
  readonly counts = { sent: 0, lost: 0, corrupted: 0, delivered: 0 };
  readonly #rng: Prng;
  readonly #faults: Faults;
  readonly #stacks: Stack[] = [];
  readonly #routes = new Map<string, Stack>();
  #events: Event[] = [];
  #n = 0;

  /** @param faults fault injector settings @param seed PRNG seed */
  constructor(faults: Faults = {}, seed = 1) {
    this.#faults = faults;
    this.#rng = new Prng(seed);
  }

  /** Simulated time in ms. */
  get now(): number {
    return this.clock.now();
  }

  /**
   * Adds a stack with the given addresses.
   * @param addresses its IPs
   * @param opts more stack options
   * @returns the stack, on the simulated clock
   */
  addStack(addresses: string[], opts: Partial<StackOptions> = {}): Stack {
    const rng = new Prng(this.#rng.int(1 << 30));
    const s = new Stack({
      addresses,
      clock: this.clock,
      random: (b) => rng.fill(b),
      output: (buf, off, len) => this.#send(buf.slice(off, off + len)),
      ...opts,
    });
    for (const a of addresses) this.#routes.set(a, s);
    this.#stacks.push(s);
    return s;
  }

  #send(packet: Uint8Array): void {
    this.counts.sent++;
    const f = this.#faults;
    const r = this.#rng;
    if (f.loss && r.next() < f.loss) {
      this.counts.lost++;
      return;
    }
    if (f.corrupt && r.next() < f.corrupt) {
      this.counts.corrupted++;
      packet[20 + r.int(packet.length - 20)] ^= 1 << r.int(8);
    }
    let delay = f.delayMs ?? 0;
    if (f.jitterMs) delay += r.next() * f.jitterMs;
    if (f.reorder && r.next() < f.reorder) delay += f.reorderMs ?? 10;
    const v6 = packet[0] >>> 4 === 6;
    const dst = v6 ? formatIpAddrAt(packet, 24, 16) : formatIpAddrAt(packet, 16, 4);
    const to = this.#routes.get(dst);
    if (to === undefined) return;
    this.#push({ at: this.now + delay, n: this.#n++, to, packet });
  }

  /** Whether no packet is in flight. */
  get idle(): boolean {
    return this.#events.length === 0;
  }

  #push(e: Event): void {
    // Binary heap on (at, n).
    const h = this.#events;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(h[p], h[i])) break;
      [h[p], h[i]] = [h[i], h[p]];
      i = p;
    }
  }

  #pop(): Event | undefined {
    const h = this.#events;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < h.length && less(h[l], h[m])) m = l;
        if (r < h.length && less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i], h[m]];
        i = m;
      }
    }
    return top;
  }

  /**
   * Runs until `done()` or `maxMs` of simulated time. `step` runs every iteration (the
   * application: write, read), after which every stack is polled.
   * @param done stop condition @param step application work @param maxMs time limit
   * @returns whether `done()` became true
   */
  run(done: () => boolean, step: () => void = () => {}, maxMs = 600_000): boolean {
    const limit = this.now + maxMs;
    for (let spins = 0; spins < 50_000_000; spins++) {
      step();
      for (const s of this.#stacks) s.pollAll();
      if (done()) return true;
      let next = this.#events.length > 0 ? this.#events[0].at : Infinity;
      for (const s of this.#stacks) next = Math.min(next, s.pollAt());
      if (next === Infinity || next > limit) return done();
      // Stack timers due by then fire here; the loop polls every stack again anyway.
      if (next > this.now) this.clock.advance(next - this.now);
      while (this.#events.length > 0 && this.#events[0].at <= this.now) {
        const e = this.#pop()!;
        this.counts.delivered++;
        e.to.input(e.packet);
      }
    }
    return done();
  }

  /** Closes every stack. */
  close(): void {
    for (const s of this.#stacks) s.close();
  }
}

function less(a: Event, b: Event): boolean {
  return a.at < b.at || (a.at === b.at && a.n < b.n);
}
