/**
 * A UDP echo server on 127.0.0.1 for the proxy and filter lab tests: every datagram comes back
 * to its sender behind a prefix, so a reply proves the datagram went through.
 * @module
 */

/** A running echo server; disposing closes its socket and waits for its loop. */
export interface UdpEcho extends AsyncDisposable {
  /** The port it listens on. */
  readonly port: number;
}

/**
 * Starts the echo server.
 * @param prefix what each reply starts with
 * @returns the server
 */
export function startUdpEcho(prefix = "echo:"): UdpEcho {
  const head = new TextEncoder().encode(prefix);
  const udp = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const loop = (async () => {
    for (;;) {
      try {
        const [d, from] = await udp.receive();
        await udp.send(new Uint8Array([...head, ...d]), from);
      } catch {
        return;
      }
    }
  })();
  return {
    port: (udp.addr as Deno.NetAddr).port,
    async [Symbol.asyncDispose]() {
      udp.close();
      await loop;
    },
  };
}
