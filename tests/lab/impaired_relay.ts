/**
 * A TCP relay that impairs what crosses it, for tests where the kernel has no netem: each
 * direction delays every chunk by `delayMs`, in order, and each ~MSS-sized segment of it is
 * "lost" with probability `lossPercent`, which holds that chunk (and, TCP being in order,
 * everything after it) back by the time the repair takes, as a lost segment does to a TCP
 * stream. The lab puts it between every node and derper, so every relayed packet, ours and
 * tailscaled's alike, crosses it twice (sender to derper, derper to receiver).
 * @module
 */

/** How a relay impairs its path. */
export interface Impairment {
  /** One-way delay added per crossing, in ms. */
  delayMs: number;
  /** Chance in percent that a segment is lost on one crossing. */
  lossPercent: number;
  /** Segment size used to count losses. Default 1400. */
  segmentBytes?: number;
  /**
   * Stall added per lost segment. Default 2 x delay: the relayed streams are busy, so Linux
   * repairs a loss by fast retransmit about one round trip later, not by a timeout.
   */
  retransmitMs?: number;
  /** PRNG seed, so a run can be repeated. Default 1. */
  seed?: number;
}

/** Counters of a relay. */
export interface RelayStats {
  connections: number;
  bytes: number;
  segments: number;
  lostSegments: number;
}

/** A running relay; close it to stop listening and end every connection. */
export class ImpairedRelay implements AsyncDisposable {
  /** The port it listens on (127.0.0.1). */
  readonly port: number;
  /** Counters. */
  readonly stats: RelayStats = { connections: 0, bytes: 0, segments: 0, lostSegments: 0 };
  readonly #listener: Deno.TcpListener;
  readonly #impair: Required<Impairment>;
  readonly #conns = new Set<Deno.Conn>();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  readonly #target: { hostname: string; port: number };
  #seed: number;
  #accepting: Promise<void>;

  /**
   * Listens on 127.0.0.1 (port 0 picks one) and relays each connection to `target`.
   * @param target where to connect
   * @param impairment delay and loss
   * @param port the port to listen on
   */
  constructor(target: { hostname: string; port: number }, impairment: Impairment, port = 0) {
    this.#target = target;
    this.#impair = {
      segmentBytes: 1400,
      retransmitMs: 2 * impairment.delayMs,
      seed: 1,
      ...impairment,
    };
    this.#seed = this.#impair.seed >>> 0 || 1;
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port });
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    this.#accepting = this.#accept();
  }

  /** Stops listening and closes every connection and timer. */
  async close(): Promise<void> {
    try {
      this.#listener.close();
    } catch { /* closed */ }
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const c of this.#conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    this.#conns.clear();
    await this.#accepting;
  }

  /** Same as {@linkcode ImpairedRelay.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #random(): number {
    let x = this.#seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#seed = x >>> 0;
    return this.#seed / 2 ** 32;
  }

  async #accept(): Promise<void> {
    for (;;) {
      let client: Deno.Conn;
      try {
        client = await this.#listener.accept();
      } catch {
        return;
      }
      this.stats.connections++;
      this.#conns.add(client);
      Deno.connect(this.#target).then((server) => {
        this.#conns.add(server);
        this.#pipe(client, server);
        this.#pipe(server, client);
      }, () => {
        this.#conns.delete(client);
        client.close();
      });
    }
  }

  #pipe(from: Deno.Conn, to: Deno.Conn): void {
    const buf = new Uint8Array(64 << 10);
    let lastAt = 0;
    let chain = Promise.resolve();
    const closeBoth = () => {
      for (const c of [from, to]) {
        this.#conns.delete(c);
        try {
          c.close();
        } catch { /* closed */ }
      }
    };
    (async () => {
      for (;;) {
        let n: number | null;
        try {
          n = await from.read(buf);
        } catch {
          n = null;
        }
        if (n === null) {
          chain = chain.then(closeBoth);
          return;
        }
        const chunk = buf.slice(0, n);
        this.stats.bytes += n;
        let penalty = 0;
        const segs = Math.ceil(n / this.#impair.segmentBytes);
        this.stats.segments += segs;
        for (let i = 0; i < segs; i++) {
          if (this.#random() * 100 < this.#impair.lossPercent) {
            this.stats.lostSegments++;
            penalty += this.#impair.retransmitMs;
          }
        }
        // In order: a chunk never overtakes the one before it (a stalled segment blocks the
        // stream behind it, as in TCP).
        const at = Math.max(performance.now() + this.#impair.delayMs + penalty, lastAt);
        lastAt = at;
        chain = chain.then(() =>
          new Promise<void>((resolve) => {
            const t = setTimeout(() => {
              this.#timers.delete(t);
              resolve();
            }, Math.max(0, at - performance.now()));
            this.#timers.add(t);
          })
        ).then(async () => {
          try {
            for (let off = 0; off < chunk.length;) off += await to.write(chunk.subarray(off));
          } catch {
            closeBoth();
          }
        });
      }
    })();
  }
}
