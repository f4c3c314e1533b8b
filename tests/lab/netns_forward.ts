/**
 * A byte forwarder the NAT lab runs inside a node's network namespace, between a Unix socket
 * (a file, so visible from every namespace) and a TCP port on that namespace's loopback:
 *
 * ```sh
 * deno run --allow-net --allow-read --allow-write netns_forward.ts unix-to-tcp SOCKET PORT
 * deno run --allow-net --allow-read --allow-write netns_forward.ts tcp-to-unix SOCKET PORT
 * ```
 *
 * `unix-to-tcp` listens on SOCKET and joins each connection to 127.0.0.1:PORT (the test reaches
 * a node's SOCKS5 proxy); `tcp-to-unix` listens on 127.0.0.1:PORT and joins each connection to
 * SOCKET (a node's inbound TCP reaches the test's server). Prints "listening" once ready.
 * @module
 */

async function pipe(a: Deno.Conn, b: Deno.Conn): Promise<void> {
  const one = async (from: Deno.Conn, to: Deno.Conn, half: boolean) => {
    try {
      await from.readable.pipeTo(to.writable, { preventClose: true });
    } catch {
      // The other side went away.
    }
    try {
      if (half && "closeWrite" in to) await (to as Deno.TcpConn).closeWrite();
    } catch {
      // Closed already.
    }
  };
  await Promise.all([one(a, b, true), one(b, a, true)]);
  for (const c of [a, b]) {
    try {
      c.close();
    } catch {
      // Closed already.
    }
  }
}

async function main(args: string[]): Promise<number> {
  const [mode, socketPath, portText] = args;
  const port = Number(portText);
  if ((mode !== "unix-to-tcp" && mode !== "tcp-to-unix") || !socketPath || !(port > 0)) {
    // deno-lint-ignore no-console -- a command-line program's usage line
    console.error("usage: netns_forward.ts unix-to-tcp|tcp-to-unix SOCKET PORT");
    return 2;
  }
  const listener: Deno.Listener = mode === "unix-to-tcp"
    ? Deno.listen({ transport: "unix", path: socketPath })
    : Deno.listen({ hostname: "127.0.0.1", port });
  const dial = (): Promise<Deno.Conn> =>
    mode === "unix-to-tcp"
      ? Deno.connect({ hostname: "127.0.0.1", port })
      : Deno.connect({ transport: "unix", path: socketPath });
  // deno-lint-ignore no-console -- the readiness line NatHost.forward waits for in the log
  console.log("listening");
  for await (const c of listener) {
    dial().then((d) => pipe(c, d), () => c.close());
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
