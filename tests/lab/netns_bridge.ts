/**
 * Makes the lab's loopback services (headscale, derper) reachable from another network
 * namespace at the same 127.0.0.1 ports, so a node there joins the same tailnet while its own
 * network (what it dials for peers as a subnet router or exit node) is that namespace's.
 * This process serves a Unix socket per port and relays it to 127.0.0.1:PORT here; a relay
 * process in the other namespace (`netns_relay.ts`) listens on 127.0.0.1:PORT there and
 * connects to the socket. TCP only: STUN does not cross, so nodes there use DERP.
 * @module
 */

/** A running bridge; dispose to stop both halves. */
export class NetnsBridge implements AsyncDisposable {
  readonly #listeners: Deno.Listener[];
  readonly #relay: Deno.ChildProcess;
  readonly #dir: string;

  private constructor(listeners: Deno.Listener[], relay: Deno.ChildProcess, dir: string) {
    this.#listeners = listeners;
    this.#relay = relay;
    this.#dir = dir;
  }

  /**
   * Starts both halves and waits until the relay in `netns` listens.
   * @param netns the other namespace
   * @param ports TCP ports on 127.0.0.1 to carry
   * @returns the bridge
   */
  static async start(netns: string, ports: readonly number[]): Promise<NetnsBridge> {
    const dir = await Deno.makeTempDir({ prefix: "netns-bridge-" });
    const listeners = ports.map((port) => {
      const l = Deno.listen({ transport: "unix", path: `${dir}/${port}.sock` });
      (async () => {
        for await (const u of l) {
          (async () => {
            let c: Deno.Conn;
            try {
              c = await Deno.connect({ hostname: "127.0.0.1", port });
            } catch {
              u.close();
              return;
            }
            await Promise.all([pipe(u, c), pipe(c, u)]);
          })();
        }
      })().catch(() => {});
      return l;
    });
    const relay = new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        netns,
        Deno.execPath(),
        "run",
        "--allow-all",
        new URL("./netns_relay.ts", import.meta.url).pathname,
        dir,
        ...ports.map(String),
      ],
      stdout: "piped",
      stderr: "inherit",
      stdin: "null",
    }).spawn();
    const reader = relay.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const first = await reader.read();
    reader.releaseLock();
    const bridge = new NetnsBridge(listeners, relay, dir);
    if (first.value?.trim() !== "ready") {
      await bridge[Symbol.asyncDispose]();
      throw new Error(`netns relay in ${netns} did not start`);
    }
    return bridge;
  }

  /** Stops the relay (by its PID) and the listeners, removes the sockets. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#relay.kill("SIGTERM");
    } catch {
      // gone already
    }
    await this.#relay.stdout.cancel().catch(() => {});
    await this.#relay.status;
    for (const l of this.#listeners) {
      try {
        l.close();
      } catch {
        // closed
      }
    }
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }
}

async function pipe(a: Deno.Conn, b: Deno.Conn): Promise<void> {
  try {
    await a.readable.pipeTo(b.writable);
  } catch {
    // either side gone
  }
}
