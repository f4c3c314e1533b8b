/**
 * Test helper: two stacks joined by an in-memory link with real timers; each packet is
 * delivered in a microtask, so the stacks run at CPU speed.
 * @module
 */
import { Stack } from "../stack.ts";

/** Two linked stacks (A: 100.64.0.1 / fd7a:115c:a1e0::1, B: .2 / ::2). */
export function linkedStacks(): { a: Stack; b: Stack; close(): void } {
  let a: Stack | null = null, b: Stack | null = null;
  const deliver = (to: () => Stack | null) => (buf: Uint8Array, off: number, len: number) => {
    const p = buf.slice(off, off + len);
    queueMicrotask(() => to()?.input(p));
  };
  a = new Stack({ addresses: ["100.64.0.1", "fd7a:115c:a1e0::1"], output: deliver(() => b) });
  b = new Stack({ addresses: ["100.64.0.2", "fd7a:115c:a1e0::2"], output: deliver(() => a) });
  const sa = a, sb = b;
  return {
    a: sa,
    b: sb,
    close() {
      sa.close();
      sb.close();
    },
  };
}
