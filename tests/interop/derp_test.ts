// deno-lint-ignore-file no-console -- the interop test prints the numbers it measured
/**
 * Our DERP client against the real derper (the lab's default tailscale release) on loopback,
 * with its self-signed certificate: InsecureForTests, sha256-raw pinning, a wrong pin, 1,000
 * packets each way, PeerGone, throughput, and reconnecting after derper is killed and restarted.
 *
 * Starts derper itself (`-certmode manual -hostname 127.0.0.1`); skipped, with the reason in the
 * test name, when the lab's derper is not built (or the lab build failed). DERPER_BIN overrides
 * where it is looked for.
 * @module
 */
import { assert, assertEquals, assertRejects } from "../../src/engine/base/testing/assert.ts";
import type { DerpMap, DerpNode, DerpRegion } from "../../src/engine/control/types.ts";
import { DerpClient, type DerpMessage } from "../../src/engine/derp/client.ts";
import { dialNode, dialRegion } from "../../src/engine/derp/dial.ts";
import { DerpError } from "../../src/engine/derp/errors.ts";
import { DerpRegions } from "../../src/engine/derp/regions.ts";
import {
  generatePrivate,
  type NodePrivate,
  type NodePublic,
  toHex,
} from "../../src/engine/key/keys.ts";
import { binariesAvailable } from "../lab/available.ts";
import { tailscaleBin } from "../lab/paths.ts";
import { TAILSCALE_RELEASES } from "../lab/versions.ts";

const DERPER_VERSION = TAILSCALE_RELEASES[0].version;
const DERPER_BIN = Deno.env.get("DERPER_BIN") ?? tailscaleBin("derper", DERPER_VERSION);
const derperAvailable = binariesAvailable([DERPER_BIN]);

/** A derper process we started; stop() kills it by its own PID. */
class Derper {
  readonly port: number;
  readonly dir: string;
  certName = "";
  #child: Deno.ChildProcess | null = null;
  #logDone: Promise<void> | null = null;
  log = "";

  /** Plain HTTP instead of TLS (no -certmode manual, port not 443). */
  readonly plain: boolean;

  constructor(port: number, dir: string, plain: boolean) {
    this.port = port;
    this.dir = dir;
    this.plain = plain;
  }

  static async create(plain = false): Promise<Derper> {
    const dir = await Deno.makeTempDir({ prefix: "tailnet-derp-" });
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    const d = new Derper(port, dir, plain);
    await d.start();
    return d;
  }

  async start(): Promise<void> {
    const child = new Deno.Command(DERPER_BIN, {
      args: this.plain
        ? ["-a", `127.0.0.1:${this.port}`, "-stun=false", "-c", `${this.dir}/derper.key`]
        : [
          "-a",
          `127.0.0.1:${this.port}`,
          "-certmode",
          "manual",
          "-certdir",
          this.dir,
          "-hostname",
          "127.0.0.1",
          "-http-port",
          "-1",
          "-stun=false",
          "-c",
          `${this.dir}/derper.key`,
        ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    let ready!: () => void;
    const readyP = new Promise<void>((r) => (ready = r));
    this.#logDone = (async () => {
      const dec = new TextDecoder();
      for await (const chunk of child.stderr) {
        this.log += dec.decode(chunk, { stream: true });
        const m = /"CertName":"(sha256-raw:[0-9a-f]{64})"/.exec(this.log);
        if (m) this.certName = m[1];
        if (this.log.includes("serving on")) ready();
      }
      ready();
    })();
    await readyP;
    // "serving on" is logged just before the listener binds: wait until TCP accepts.
    for (let i = 0; i < 200; i++) {
      try {
        const c = await Deno.connect({ hostname: "127.0.0.1", port: this.port });
        c.close();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    throw new Error(`derper did not start listening: ${this.log}`);
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (child === null) return;
    this.#child = null;
    try {
      child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await child.status;
    await this.#logDone;
  }

  node(extra: Partial<DerpNode>): DerpNode {
    return {
      Name: "900a",
      RegionID: 900,
      HostName: "127.0.0.1",
      IPv4: "127.0.0.1",
      IPv6: "none",
      DERPPort: this.port,
      ...extra,
    };
  }

  region(extra: Partial<DerpNode>): DerpRegion {
    return { RegionID: 900, RegionCode: "lab", RegionName: "Lab", Nodes: [this.node(extra)] };
  }
}

/**
 * Dials and handshakes, then waits for derper's ServerInfo: derper registers a client just
 * before sending it, so packets sent to this client earlier could be dropped as "unknown dest".
 */
async function connectClient(derper: Derper, extra: Partial<DerpNode>): Promise<DerpClient> {
  const c = await dialRegion(derper.region(extra), { useHttp: derper.plain });
  const client = await DerpClient.connect(c.stream, {
    privateKey: generatePrivate("node"),
    initialBytes: c.initialBytes,
    serverKey: c.serverKey ?? undefined,
  });
  while ((await client.recv()).type !== "server-info") { /* keep reading */ }
  return client;
}

/** Runs `fn` with two clients of `derper`, dialled with `extraA` and `extraB`; closes both after. */
async function withClientPair(
  derper: Derper,
  extraA: Partial<DerpNode>,
  extraB: Partial<DerpNode>,
  fn: (a: DerpClient, b: DerpClient) => Promise<void>,
): Promise<void> {
  const a = await connectClient(derper, extraA);
  const b = await connectClient(derper, extraB);
  try {
    await fn(a, b);
  } finally {
    await a.close();
    await b.close();
  }
}

/** Runs `fn` against a fresh derper (TLS, or plain HTTP); stops it and removes its files after. */
async function withDerper(plain: boolean, fn: (derper: Derper) => Promise<void>): Promise<void> {
  const derper = await Derper.create(plain);
  try {
    await fn(derper);
  } finally {
    await derper.stop();
    await Deno.remove(derper.dir, { recursive: true });
  }
}

/** Reads `client` until `n` packets from `src` have arrived (20 s at most); returns them. */
async function receivePackets(client: DerpClient, src: NodePublic, n: number, onEach?: () => void) {
  const out: Uint8Array[] = [];
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void client.close();
  }, 20_000);
  try {
    while (out.length < n) {
      const m = await client.recv();
      if (m.type === "recv-packet" && toHex(m.src) === toHex(src)) {
        out.push(m.packet.slice());
        onEach?.();
      }
    }
  } catch (err) {
    if (timedOut) throw new Error(`only ${out.length} of ${n} packets arrived within 20 s`);
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return out;
}

/** `p`, or an error naming `what` after `ms`. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Counts received packets and wakes a paced sender when the count moves. */
class Counter {
  n = 0;
  #wake: (() => void) | null = null;
  bump = () => {
    this.n++;
    this.#wake?.();
    this.#wake = null;
  };
  changed(): Promise<void> {
    return new Promise((r) => (this.#wake = r));
  }
}

/**
 * Sends `packets` from `from` to `to` keeping at most `window` unreceived, since derper drops
 * the oldest queued packet when a receiver's queue (32 deep) is full.
 */
async function sendPaced(
  from: DerpClient,
  to: NodePublic,
  packets: Uint8Array[],
  received: Counter,
  window: number,
) {
  for (let i = 0; i < packets.length; i++) {
    while (i - received.n >= window) await received.changed();
    await from.send(to, packets[i]);
  }
}

function numbered(n: number, size: number, tag: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => {
    const p = crypto.getRandomValues(new Uint8Array(size + (i % 7)));
    p[0] = tag;
    new DataView(p.buffer).setUint32(1, i);
    return p;
  });
}

Deno.test({
  name: `DERP interop with the real derper ${DERPER_VERSION} (TLS, self-signed cert)${
    derperAvailable.ok ? "" : ` (skipped: ${derperAvailable.reason})`
  }`,
  ignore: !derperAvailable.ok,
  fn: async (t) => {
    await withDerper(false, async (derper) => {
      assert(
        derper.certName.startsWith("sha256-raw:"),
        `no CertName in derper's log: ${derper.log}`,
      );

      await t.step("a wrong sha256-raw pin is refused with a clear error", async () => {
        const wrong = "sha256-raw:" + "0".repeat(64);
        const err = await assertRejects(
          () => dialNode(derper.node({ CertName: wrong })),
          DerpError,
          "does not match pinned",
        );
        assertEquals((err as DerpError).code, "derp-cert-pin");
        assertEquals((err as DerpError).retryable, false);
        console.log(`  wrong pin: ${err.message}`);
      });

      await t.step("normal verification refuses derper's self-signed certificate", async () => {
        const err = await assertRejects(() => dialNode(derper.node({})), DerpError);
        assertEquals((err as DerpError).code, "derp-tls");
        assertEquals((err as DerpError).retryable, false);
        console.log(`  no pin, no InsecureForTests: ${err.message}`);
      });

      await t.step(
        "fast start: derper's TLS meta cert key equals its ServerKey frame",
        async () => {
          // Without fast start: the 101 response, then the ServerKey frame.
          const slow = await dialNode(derper.node({ InsecureForTests: true }), {
            fastStart: false,
          });
          assertEquals(slow.serverKey, null);
          const viaFrame = await DerpClient.connect(slow.stream, {
            privateKey: generatePrivate("node"),
            initialBytes: slow.initialBytes,
          });
          // With fast start (the default): no 101; the key comes from the meta certificate.
          const fast = await dialNode(derper.node({ CertName: derper.certName }));
          assert(fast.serverKey !== null, "derper's TLS 1.3 meta certificate was not found");
          assertEquals(fast.initialBytes.length, 0);
          assertEquals(toHex(fast.serverKey), toHex(viaFrame.serverKey));
          const client = await DerpClient.connect(fast.stream, {
            privateKey: generatePrivate("node"),
            serverKey: fast.serverKey,
          });
          while ((await client.recv()).type !== "server-info") { /* keep reading */ }
          // The ServerKey frame derper still sends first was recognised, not counted as a drop.
          assertEquals(client.stats.drops, { malformed: 0, unknownType: 0, unexpectedType: 0 });
          await client.close();
          await viaFrame.close();
        },
      );

      await t.step("normal verification passes with derper's cert as an extra root", async () => {
        const pem = await Deno.readTextFile(`${derper.dir}/127.0.0.1.crt`);
        const c = await dialNode(derper.node({}), { caCerts: [pem] });
        assertEquals("sha256-raw:" + c.certSha256, derper.certName);
        const client = await DerpClient.connect(c.stream, {
          privateKey: generatePrivate("node"),
          initialBytes: c.initialBytes,
        });
        assertEquals((await client.recv()).type, "server-info");
        await client.close();
        // CertName (not sha256-raw) moves the name check; this cert is only for 127.0.0.1.
        const err = await assertRejects(
          () => dialNode(derper.node({ CertName: "derp.example.com" }), { caCerts: [pem] }),
          DerpError,
        );
        assertEquals((err as DerpError).code, "derp-tls");
      });

      await t.step(
        "1,000 packets each way, one client via InsecureForTests, one pinned",
        async () => {
          await withClientPair(
            derper,
            { InsecureForTests: true },
            { CertName: derper.certName },
            async (a, b) => {
              const toB = numbered(1000, 1200, 0xaa);
              const toA = numbered(1000, 1200, 0xbb);
              const gotB = new Counter();
              const gotA = new Counter();
              const t0 = performance.now();
              const [atB, atA] = await Promise.all([
                receivePackets(b, a.publicKey, 1000, gotB.bump),
                receivePackets(a, b.publicKey, 1000, gotA.bump),
                sendPaced(a, b.publicKey, toB, gotB, 16),
                sendPaced(b, a.publicKey, toA, gotA, 16),
              ]);
              const ms = performance.now() - t0;
              assertEquals(atB.length, 1000);
              for (let i = 0; i < 1000; i++) {
                assertEquals(toHex(atB[i]), toHex(toB[i]), `packet ${i} to B`);
                assertEquals(toHex(atA[i]), toHex(toA[i]), `packet ${i} to A`);
              }
              assertEquals(a.serverInfo?.version, 2);
              assertEquals(a.stats.drops, { malformed: 0, unknownType: 0, unexpectedType: 0 });
              console.log(
                `  2,000 packets (1,000 each way, ~1.2 KB) in ${ms.toFixed(0)} ms, no loss`,
              );
            },
          );
        },
      );

      await t.step("throughput: packets per second A to B through derper", async () => {
        await withClientPair(
          derper,
          { InsecureForTests: true },
          { InsecureForTests: true },
          async (a, b) => {
            const n = 20_000;
            for (const size of [100, 1200]) {
              const packets = numbered(n, size, 0xcc);
              const got = new Counter();
              const t0 = performance.now();
              await Promise.all([
                receivePackets(b, a.publicKey, n, got.bump),
                sendPaced(a, b.publicKey, packets, got, 24),
              ]);
              const s = (performance.now() - t0) / 1000;
              console.log(
                `  ${n} packets of ~${size} B: ${(n / s).toFixed(0)} packets/s, ` +
                  `${((n * size * 8) / s / 1e6).toFixed(1)} Mbit/s (window 24, no loss)`,
              );
            }
          },
        );
      });

      await t.step("a peer-gone frame arrives when the other client disconnects", async () => {
        await withClientPair(
          derper,
          { InsecureForTests: true },
          { CertName: derper.certName },
          async (a, b) => {
            await b.send(a.publicKey, new Uint8Array([1, 2, 3]));
            await receivePackets(a, b.publicKey, 1);
            await b.close();
            const gone = await within(
              (async () => {
                for (;;) {
                  const m: DerpMessage = await a.recv();
                  if (m.type === "peer-gone") return m;
                }
              })(),
              10_000,
              "peer-gone after B left",
            );
            assert(gone.type === "peer-gone");
            assertEquals(toHex(gone.peer), toHex(b.publicKey));
            assertEquals(gone.reason, 0);
          },
        );
      });

      await t.step(
        "derper killed for 3 s and restarted: reconnected, packets flow again",
        async () => {
          const mapOf = (extra: Partial<DerpNode>): DerpMap => ({
            Regions: { "900": derper.region(extra) },
          });
          const keyA = generatePrivate("node");
          const keyB = generatePrivate("node");
          const atB: { at: number; packet: Uint8Array }[] = [];
          const regionsOf = (
            key: NodePrivate,
            extra: Partial<DerpNode>,
            onPacket?: (p: Uint8Array) => void,
          ) =>
            new DerpRegions({
              privateKey: key,
              derpMap: mapOf(extra),
              homeRegion: 900,
              onMessage: (_id, m) => {
                if (m.type === "recv-packet") onPacket?.(m.packet);
              },
            });
          const a = regionsOf(keyA, { InsecureForTests: true });
          const b = regionsOf(
            keyB,
            { CertName: derper.certName },
            (p) => atB.push({ at: performance.now(), packet: p }),
          );
          try {
            await within(a.waitConnected(900), 15_000, "A's first connect");
            await within(b.waitConnected(900), 15_000, "B's first connect");
            const pubB = b.client(900)!.publicKey;
            // derper registers B a moment after B's handshake is sent: resend until one arrives.
            const firstBy = performance.now() + 10_000;
            while (atB.length === 0) {
              assert(performance.now() < firstBy, "no packet reached B before the restart");
              a.send(900, pubB, new Uint8Array([0]));
              await new Promise((r) => setTimeout(r, 50));
            }

            await derper.stop();
            const killedAt = performance.now();
            await new Promise((r) => setTimeout(r, 3000));
            await derper.start();
            const backAt = performance.now();
            // Send a numbered packet every 50 ms until one arrives after the restart.
            let seq = 1;
            const before = atB.length;
            while (atB.length === before && performance.now() - backAt < 15_000) {
              a.send(900, pubB, new Uint8Array([seq++ & 0xff, 1]));
              await new Promise((r) => setTimeout(r, 50));
            }
            assert(atB.length > before, "no packet after derper came back");
            const flowMs = atB[before].at - backAt;
            const sa = a.status()[0];
            const sb = b.status()[0];
            console.log(
              `  derper down ${(backAt - killedAt).toFixed(0)} ms; first packet ${
                flowMs.toFixed(0)
              } ms ` +
                `after it was back (A: ${sa.connects} connects, B: ${sb.connects} connects)`,
            );
            assert(flowMs < 10_000, `packets flowed only ${flowMs} ms after derper returned`);
            assertEquals(sa.connects, 2);
            assertEquals(sb.connects, 2);
          } finally {
            await a.close();
            await b.close();
          }
        },
      );
    });
  },
});

Deno.test({
  name: `DERP interop with a plain-HTTP derper: only with the TS_DEBUG_USE_DERP_HTTP option${
    derperAvailable.ok ? "" : ` (skipped: ${derperAvailable.reason})`
  }`,
  ignore: !derperAvailable.ok,
  fn: async () => {
    await withDerper(true, async (derper) => {
      // Without the knob we speak TLS, which a plain-HTTP derper cannot answer.
      const err = await assertRejects(
        () => dialNode(derper.node({ InsecureForTests: true })),
        DerpError,
      );
      assertEquals((err as DerpError).code, "derp-tls");
      const c = await dialNode(derper.node({}), { useHttp: true });
      assertEquals(c.certSha256, null);
      await c.stream.close();
      await withClientPair(derper, {}, {}, async (a, b) => {
        await a.send(b.publicKey, new Uint8Array([5, 6, 7]));
        const [p] = await receivePackets(b, a.publicKey, 1);
        assertEquals(p, new Uint8Array([5, 6, 7]));
      });
    });
  },
});
