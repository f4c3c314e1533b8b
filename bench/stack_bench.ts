/**
 * CPU cost of the TCP stack alone: 1 MiB through two stacks joined back to back in memory
 * (no crypto, no DERP), both ends' work included, beside the internet checksum over the same
 * bytes twice (send and receive each sum every byte once: the floor of any TCP stack here).
 * The end-to-end ratios against real tailscaled are in tests/interop/stack_test.ts.
 */
import { checksumAdd } from "../src/engine/wire/mod.ts";

import { stackPair } from "./_stack_pair.ts";

const MIB = 1 << 20;
const data = crypto.getRandomValues(new Uint8Array(65536));

/** Two stacks with a manual clock and an in-memory queue between them. */
function pair() {
  const { a, b, clock, queue: q } = stackPair(false);
  const pump = () => {
    for (let guard = 0; guard < 1_000_000; guard++) {
      a.pollAll();
      b.pollAll();
      if (q.length === 0) {
        const next = Math.min(a.pollAt(), b.pollAt());
        if (next === Infinity) return;
        clock.advance(Math.max(1, next - clock.now()));
        continue;
      }
      for (const [to, p] of q.splice(0)) to.input(p);
      clock.advance(0.01);
    }
  };
  return { a, b, pump };
}

const { a, b, pump } = pair();
const lis = b.listenTcp({ port: 80 });
let server: Awaited<ReturnType<typeof lis.accept>> | null = null;
lis.accept().then((c) => (server = c));
const client = a.openTcp("100.64.0.2", 80);
pump();
await Promise.resolve();
const sink = new Uint8Array(1 << 18);

Deno.bench("stack: 1 MiB through two stacks in memory", { group: "1MiB", baseline: false }, () => {
  const s = server;
  if (s === null) throw new Error("no connection");
  let sent = 0, got = 0;
  while (got < MIB) {
    if (sent < MIB) sent += client.socket.send(data.subarray(0, Math.min(65536, MIB - sent)));
    pump();
    got += s.socket.recv(sink);
  }
});

const big = new Uint8Array(MIB).map((_, i) => (i * 2654435761) >>> 24);
Deno.bench("internet checksum over 1 MiB, twice (floor)", { group: "1MiB", baseline: true }, () => {
  checksumAdd(checksumAdd(0, big, 0, big.length), big, 0, big.length);
});
