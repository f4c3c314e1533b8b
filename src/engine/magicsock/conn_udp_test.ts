/**
 * Two path layers on loopback UDP (no DERP): disco finds the direct path, WireGuard datagrams
 * then take it and arrive mapped to their peer; without pongs the path loses its trust and
 * traffic falls back to DERP. Timers run on a ManualClock; the sockets are real.
 * @module
 */
import { assert, assertEquals } from "../base/testing/assert.ts";
import { ManualClock } from "../base/testing/manual_clock.ts";
import { Logger } from "../base/logger.ts";
import { generatePrivate, publicOf } from "../key/keys.ts";
import { MagicConn, type MagicConnOptions, type MagicReceived } from "./conn.ts";
import {
  FIRST_CONTACT_PROBE_MS,
  FIRST_CONTACT_PROBES,
  HEARTBEAT_INTERVAL_MS,
  TRUST_UDP_ADDR_MS,
} from "./constants.ts";
import type { NodePublic } from "../key/keys.ts";
import { stunResponder } from "./testing/stun_responder.ts";
import { neverConnects } from "../derp/testing/never_connects.ts";

function node(clock: ManualClock, opts: Partial<MagicConnOptions> = {}) {
  const nodeKey = generatePrivate("node");
  const discoKey = generatePrivate("disco");
  const conn = new MagicConn({
    privateKey: nodeKey,
    discoKey,
    log: new Logger({ sink: () => {} }),
    clock,
    listenPort: 0,
    ...opts,
  });
  return { conn, nodePublic: publicOf(nodeKey), discoPublic: publicOf(discoKey) };
}

/** Gives `a` the peer `b` at b's UDP port, and `b` the peer `a` with no endpoints. */
function introduce(a: ReturnType<typeof node>, b: ReturnType<typeof node>): void {
  a.conn.reconfig(null, [{
    nodeKey: b.nodePublic,
    discoKey: b.discoPublic,
    homeDerp: 0,
    endpoints: [`127.0.0.1:${b.conn.listenPort}`],
  }]);
  b.conn.reconfig(null, [{
    nodeKey: a.nodePublic,
    discoKey: a.discoPublic,
    homeDerp: 0,
    endpoints: [],
  }]);
}

/**
 * Gives `a` a peer that never answers: its node is closed, and its one endpoint is a socket
 * that reads nothing (the caller closes it).
 */
async function silentPeerOf(a: ReturnType<typeof node>, clock: ManualClock) {
  const silent = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const peer = node(clock);
  await peer.conn.closeAsync();
  a.conn.reconfig(null, [{
    nodeKey: peer.nodePublic,
    discoKey: peer.discoPublic,
    homeDerp: 0,
    endpoints: [`127.0.0.1:${(silent.addr as Deno.NetAddr).port}`],
  }]);
  return { peer, silent };
}

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

Deno.test("MagicConn: disco over UDP finds the direct path; WireGuard takes it", async () => {
  const clock = new ManualClock();
  const a = node(clock);
  const b = node(clock);
  try {
    assert(a.conn.listenPort > 0 && b.conn.listenPort > 0, "UDP ports bound");
    introduce(a, b);
    const toB = a.conn.endpoint(b.nodePublic);
    a.conn.send(new Uint8Array([4, 0, 0, 0, 1]), toB); // no path yet: DERP (none), pings go out
    assertEquals(a.conn.stats.drops.noPath, 1);
    assertEquals(a.conn.stats.pingsSent, 1);
    await until("a pong from b", () => a.conn.stats.pongsUdp >= 1);
    assertEquals(a.conn.directAddr(toB), `127.0.0.1:${b.conn.listenPort}`);
    // b learned a's address from the ping and pinged it back.
    await until("b's path to a", () => b.conn.directAddr(b.conn.endpoint(a.nodePublic)) !== null);

    const got: Promise<MagicReceived | null> = b.conn.receive();
    a.conn.send(new Uint8Array([4, 0, 0, 0, 2]), toB);
    const r = await got;
    assert(r !== null);
    assertEquals([...r.data], [4, 0, 0, 0, 2]);
    assert(r.endpoint === b.conn.endpoint(a.nodePublic), "mapped to its peer by ip:port");
    assertEquals(a.conn.stats.sentUdp, 1);

    // Disco ping reports the direct path.
    const ping = await a.conn.pingDisco(b.nodePublic, 2000);
    assert(ping.ok && ping.path.via === "udp", JSON.stringify(ping));

    // No heartbeats answered (b closed): trust lapses, the path is dropped, DERP again.
    await b.conn.closeAsync();
    clock.advance(TRUST_UDP_ADDR_MS + 2 * HEARTBEAT_INTERVAL_MS);
    assertEquals(a.conn.directAddr(toB), null);
    const before = a.conn.stats.drops.noPath;
    a.conn.send(new Uint8Array([4, 0, 0, 0, 3]), toB);
    assertEquals(a.conn.stats.drops.noPath, before + 1);
  } finally {
    await a.conn.closeAsync();
    await b.conn.closeAsync();
  }
});

Deno.test("MagicConn: a CLI ping makes the peer active, so heartbeats go on probing", async () => {
  // tailscaled's pingCLI notes activity: its heartbeat, 3 s on, pings every candidate and sends
  // the peer a CallMeMaybe. Behind a cone NAT facing a hard one, only that CallMeMaybe makes the
  // peer punch towards us (the NAT lab's "cone <-> masquerade random").
  const clock = new ManualClock();
  const a = node(clock);
  const { peer, silent } = await silentPeerOf(a, clock);
  try {
    const ping = a.conn.pingDisco(peer.nodePublic, 1000);
    assertEquals(a.conn.stats.pingsSent, 1, "the CLI ping itself");
    clock.advance(HEARTBEAT_INTERVAL_MS);
    assert(a.conn.stats.pingsSent >= 2, `a heartbeat probed again: ${a.conn.stats.pingsSent}`);
    clock.advance(1000);
    const r = await ping;
    assert(!r.ok, "nobody answers");
  } finally {
    silent.close();
    await a.conn.closeAsync();
  }
});

Deno.test("MagicConn: UDP from an unknown address and bad disco are dropped and counted", async () => {
  const clock = new ManualClock();
  const a = node(clock);
  const sock = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  try {
    const to = { transport: "udp" as const, hostname: "127.0.0.1", port: a.conn.listenPort };
    await sock.send(new Uint8Array([1, 0, 0, 0, 9, 9]), to); // WireGuard-ish, no such peer
    const disco = new Uint8Array(80);
    disco.set([0x54, 0x53, 0xf0, 0x9f, 0x92, 0xac]);
    await sock.send(disco, to); // disco magic, does not open
    const stun = new Uint8Array(20);
    stun.set([0x01, 0x01, 0, 0, 0x21, 0x12, 0xa4, 0x42]);
    await sock.send(stun, to); // STUN answer we never asked for
    await until("three drops", () => {
      const d = a.conn.stats.drops;
      return d.udpUnknownSource === 1 && d.discoBad === 1 && d.stunBad === 1;
    });
  } finally {
    sock.close();
    await a.conn.closeAsync();
  }
});

Deno.test("MagicConn: STUN finds our address; endpoints go to onEndpoints", async () => {
  const stun = stunResponder();
  const clock = new ManualClock();
  const reports: { addr: string; type: number }[][] = [];
  const conn = new MagicConn({
    privateKey: generatePrivate("node"),
    discoKey: generatePrivate("disco"),
    log: new Logger({ sink: () => {} }),
    clock,
    listenPort: 0,
    onEndpoints: (eps) => reports.push(eps),
    derpConnect: neverConnects,
  });
  try {
    conn.reconfig({
      Regions: {
        "900": {
          RegionID: 900,
          RegionCode: "lab",
          RegionName: "Lab",
          Nodes: [{
            Name: "900a",
            RegionID: 900,
            HostName: "127.0.0.1",
            STUNPort: stun.port,
          }],
        },
      },
    }, []);
    const want = `127.0.0.1:${conn.listenPort}`;
    await until("a STUN answer", () => conn.endpoints.some((e) => e.addr === want));
    assertEquals(conn.stats.stunSent, 1);
    assertEquals(conn.stats.stunAnswers, 1);
    const last = reports[reports.length - 1];
    assertEquals(last[0], { addr: want, type: 2 });
    assert(last.slice(1).every((e) => e.type === 1 && !e.addr.startsWith("127.")), "local ones");
  } finally {
    await conn.closeAsync();
    await stun.close();
  }
});

Deno.test("MagicConn: heartbeats keep an active peer's direct path trusted", async () => {
  const clock = new ManualClock();
  const a = node(clock);
  const b = node(clock);
  try {
    introduce(a, b);
    const toB = a.conn.endpoint(b.nodePublic);
    a.conn.send(new Uint8Array([4, 0, 0, 0, 1]), toB);
    await until("the direct path", () => a.conn.directAddr(toB) !== null);
    // 30 s of manual time, WireGuard sending every heartbeat: each heartbeat's pong renews it.
    for (let i = 0; i < 10; i++) {
      const pongs = a.conn.stats.pongsUdp;
      a.conn.send(new Uint8Array([4, 0, 0, 0, 1]), toB);
      clock.advance(HEARTBEAT_INTERVAL_MS);
      await until("a heartbeat pong", () => a.conn.stats.pongsUdp > pongs);
      assert(a.conn.directAddr(toB) !== null, `trusted after ${(i + 1) * 3} s`);
    }
    assertEquals(a.conn.stats.pathSwitches, 1);
  } finally {
    await a.conn.closeAsync();
    await b.conn.closeAsync();
  }
});

Deno.test("MagicConn.closeAsync() after close() still waits until the UDP port is free", async () => {
  // The WireGuard bind closes the conn first (close()); the engine then awaits closeAsync()
  // before the next login's engine binds the same port.
  const clock = new ManualClock();
  const first = node(clock);
  const port = first.conn.listenPort;
  first.conn.close();
  await first.conn.closeAsync();
  const second = new MagicConn({
    privateKey: generatePrivate("node"),
    discoKey: generatePrivate("disco"),
    log: new Logger({ sink: () => {} }),
    clock,
    listenPort: port,
  });
  try {
    assertEquals(second.listenPort, port);
  } finally {
    await second.closeAsync();
  }
});

Deno.test("MagicConn: a peer that learns of us late is pinged again within a second, and its first pong reported once", async () => {
  const clock = new ManualClock();
  const answered: NodePublic[] = [];
  const a = node(clock, { onPeerAnswered: (k) => answered.push(k) });
  const b = node(clock);
  try {
    a.conn.reconfig(null, [{
      nodeKey: b.nodePublic,
      discoKey: b.discoPublic,
      homeDerp: 0,
      endpoints: [`127.0.0.1:${b.conn.listenPort}`],
    }]);
    const toB = a.conn.endpoint(b.nodePublic);
    a.conn.send(new Uint8Array([1, 0, 0, 0, 1]), toB); // a handshake initiation, say
    assertEquals(a.conn.stats.pingsSent, 1);
    // b does not know a yet: it drops the ping.
    await until("b dropping a's ping", () => b.conn.stats.drops.discoBad >= 1);
    assertEquals(a.conn.stats.pongsUdp, 0);
    // Control tells b about a; a's next ping comes a second on, not at the 5 s ping interval.
    b.conn.reconfig(null, [{
      nodeKey: a.nodePublic,
      discoKey: a.discoPublic,
      homeDerp: 0,
      endpoints: [],
    }]);
    clock.advance(FIRST_CONTACT_PROBE_MS);
    assertEquals(a.conn.stats.pingsSent, 2);
    await until("b's pong", () => a.conn.stats.pongsUdp >= 1);
    assertEquals(answered, [b.nodePublic]);
    // Heartbeats answered later do not report it again.
    const pongs = a.conn.stats.pongsUdp;
    a.conn.send(new Uint8Array([4, 0, 0, 0, 2]), toB);
    clock.advance(HEARTBEAT_INTERVAL_MS);
    await until("a heartbeat's pong", () => a.conn.stats.pongsUdp > pongs);
    assertEquals(answered.length, 1);
  } finally {
    await a.conn.closeAsync();
    await b.conn.closeAsync();
  }
});

Deno.test("MagicConn: a peer that never answers gets its early pings once, then only the usual ones", async () => {
  const clock = new ManualClock();
  const a = node(clock);
  const { peer, silent } = await silentPeerOf(a, clock);
  try {
    const to = a.conn.endpoint(peer.nodePublic);
    a.conn.send(new Uint8Array([1, 0, 0, 0, 1]), to);
    for (let i = 0; i < FIRST_CONTACT_PROBES + 1; i++) clock.advance(FIRST_CONTACT_PROBE_MS);
    assertEquals(a.conn.stats.pingsSent, 1 + FIRST_CONTACT_PROBES);
    // WireGuard's retransmit 5 s on sends again: the ordinary ping interval applies, no new
    // round of early pings.
    a.conn.send(new Uint8Array([1, 0, 0, 0, 1]), to);
    const afterRetry = a.conn.stats.pingsSent;
    for (let i = 0; i < FIRST_CONTACT_PROBES; i++) clock.advance(FIRST_CONTACT_PROBE_MS);
    assert(
      a.conn.stats.pingsSent <= afterRetry + 1,
      `${a.conn.stats.pingsSent - afterRetry} pings in ${FIRST_CONTACT_PROBES} s`,
    );
  } finally {
    silent.close();
    await a.conn.closeAsync();
  }
});
