/**
 * Two TCP stacks joined back to back in memory for the stack micro-benchmarks: a manual clock,
 * and a queue of the packets each has sent, which the benchmark's own pump delivers (at once,
 * or one per microtask turn as the UDP receive loop does).
 * @module
 */
import { ManualClock } from "../src/engine/base/testing/manual_clock.ts";
import { Stack } from "../src/engine/stack/mod.ts";

/** The pair: `a` is 100.64.0.1, `b` is 100.64.0.2. */
export interface StackPair {
  a: Stack;
  b: Stack;
  clock: ManualClock;
  /** Packets sent and not yet delivered, with the stack each is for. */
  queue: [Stack, Uint8Array][];
}

/**
 * Makes the pair.
 * @param copy whether a queued packet is copied out of the sender's buffer (needed when the
 *   pump delivers it after the sender has gone on and reused the buffer)
 * @returns the stacks, their clock and the queue between them
 */
export function stackPair(copy: boolean): StackPair {
  const clock = new ManualClock();
  const queue: [Stack, Uint8Array][] = [];
  const mk = (addr: string, peer: () => Stack) =>
    new Stack({
      addresses: [addr],
      clock,
      output: (buf, off, len) =>
        queue.push([peer(), copy ? buf.slice(off, off + len) : buf.subarray(off, off + len)]),
    });
  const a: Stack = mk("100.64.0.1", () => b);
  const b: Stack = mk("100.64.0.2", () => a);
  return { a, b, clock, queue };
}
