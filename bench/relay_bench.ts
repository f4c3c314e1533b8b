/**
 * The last hop of the receive path: bytes a stack connection received, relayed to a local TCP
 * socket (what the forwarder and the SOCKS5 proxy do), read with `read` (a write per read,
 * about one segment each) beside `readBurst` (segments that arrive within a few microtask turns
 * join the same write). Segments reach the stack one per microtask turn, as the UDP receive
 * loop delivers a burst of queued datagrams. 4 MiB per iteration; the sink is a loopback
 * socket read in this process.
 */
import type { StackConn } from "../src/engine/stack/mod.ts";
import { stackPair } from "./_stack_pair.ts";

const TOTAL = 4 << 20;
const data = crypto.getRandomValues(new Uint8Array(65536));

/** Two stacks joined in memory; `pump` delivers one packet per microtask turn. */
function pair() {
  const { a, b, clock, queue: q } = stackPair(true);
  const pump = async (done: () => boolean) => {
    for (let guard = 0; guard < 10_000_000 && !done(); guard++) {
      a.pollAll();
      b.pollAll();
      if (q.length === 0) {
        clock.advance(1);
        await new Promise((r) => setTimeout(r, 0));
        continue;
      }
      for (const [to, p] of q.splice(0)) {
        to.input(p);
        await null;
      }
      clock.advance(0.01);
    }
  };
  return { a, b, pump };
}

async function relayOnce(burst: boolean): Promise<void> {
  const { a, b, pump } = pair();
  const lis = b.listenTcp({ port: 80 });
  let server: StackConn | null = null;
  lis.accept().then((c) => (server = c));
  const client = a.openTcp("100.64.0.2", 80);
  await pump(() => server !== null);
  const sinkListener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const out = await Deno.connect({ hostname: "127.0.0.1", port: sinkListener.addr.port });
  const sinkConn = await sinkListener.accept();
  let sunk = 0;
  const sinkDone = (async () => {
    const buf = new Uint8Array(1 << 18);
    while (sunk < TOTAL) {
      const n = await sinkConn.read(buf);
      if (n === null) break;
      sunk += n;
    }
  })();
  const s = server as unknown as StackConn;
  const relayDone = (async () => {
    const buf = new Uint8Array(64 << 10);
    let moved = 0;
    while (moved < TOTAL) {
      const n = burst ? await s.readBurst(buf) : await s.read(buf);
      if (n === null) break;
      for (let off = 0; off < n;) off += await out.write(buf.subarray(off, n));
      moved += n;
    }
  })();
  let sent = 0;
  const feed = () => {
    if (sent < TOTAL) sent += client.socket.send(data.subarray(0, Math.min(65536, TOTAL - sent)));
    return sunk >= TOTAL;
  };
  await pump(feed);
  await relayDone;
  await sinkDone;
  out.close();
  sinkConn.close();
  sinkListener.close();
  lis.close();
  a.close();
  b.close();
}

Deno.bench("stack -> local socket, read (a write per read)", {
  group: "relay 4 MiB",
  baseline: true,
}, async () => {
  await relayOnce(false);
});
Deno.bench("stack -> local socket, readBurst", { group: "relay 4 MiB" }, async () => {
  await relayOnce(true);
});
