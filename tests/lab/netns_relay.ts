/**
 * Runs inside another network namespace (`ip netns exec NS deno run -A netns_relay.ts DIR
 * PORT...`): listens on 127.0.0.1:PORT there and relays each connection to the Unix socket
 * `DIR/PORT.sock`, which {@linkcode NetnsBridge} serves in the lab's namespace (file paths
 * cross network namespaces, TCP does not). Prints "ready" once every port listens.
 * @module
 */
const [dir, ...ports] = Deno.args;

async function pipe(a: Deno.Conn, b: Deno.Conn): Promise<void> {
  try {
    await a.readable.pipeTo(b.writable);
  } catch {
    // either side gone
  }
}

for (const port of ports.map(Number)) {
  const l = Deno.listen({ hostname: "127.0.0.1", port });
  (async () => {
    for await (const c of l) {
      (async () => {
        let u: Deno.Conn;
        try {
          u = await Deno.connect({ transport: "unix", path: `${dir}/${port}.sock` });
        } catch {
          c.close();
          return;
        }
        await Promise.all([pipe(c, u), pipe(u, c)]);
      })();
    }
  })();
}
// deno-lint-ignore no-console -- the one line NetnsBridge waits for
console.log("ready");
