/**
 * Hostile datagrams at a MagicConn's real UDP socket: disco pings sent again, pongs sent
 * again or from an address we never pinged, STUN answers from a server we did not ask, and a
 * flood of new source addresses. Each is dropped and counted; none moves the path elsewhere
 * than to an address we pinged ourselves. The peer is
 * played by the test with raw sockets and the peer's own disco key (what a capture gives).
 * @module
 */
import { assert, assertEquals } from "../base/testing/assert.ts";
import { ManualClock } from "../base/testing/manual_clock.ts";
import { Logger } from "../base/logger.ts";
import { type DiscoPrivate, generatePrivate, publicOf } from "../key/keys.ts";
import { DiscoSealer } from "../disco/seal.ts";
import { MagicConn } from "./conn.ts";
import { MAX_CANDIDATES } from "./constants.ts";
import { stunAnswer } from "../wire/testing/stun_answer.ts";
import { neverConnects } from "../derp/testing/never_connects.ts";
import { DerpClient } from "../derp/client.ts";
import { TestDerpServer } from "../derp/testing/derp_server.ts";

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function udp(): Deno.DatagramConn {
  return Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
}

function portOf(s: Deno.DatagramConn): number {
  return (s.addr as Deno.NetAddr).port;
}

/** Our conn `a`, and a peer played by the test: its disco key and its one UDP socket. */
function setup() {
  const clock = new ManualClock();
  const conn = new MagicConn({
    privateKey: generatePrivate("node"),
    discoKey: generatePrivate("disco"),
    log: new Logger({ sink: () => {} }),
    clock,
    listenPort: 0,
  });
  const peerNode = publicOf(generatePrivate("node"));
  const peerDisco: DiscoPrivate = generatePrivate("disco");
  const peer = new DiscoSealer(peerDisco);
  const peerSock = udp();
  conn.reconfig(null, [{
    nodeKey: peerNode,
    discoKey: publicOf(peerDisco),
    homeDerp: 0,
    endpoints: [`127.0.0.1:${portOf(peerSock)}`],
  }]);
  const to = { transport: "udp" as const, hostname: "127.0.0.1", port: conn.listenPort };
  return { clock, conn, peerNode, peer, peerSock, to };
}

Deno.test("MagicConn drops a disco ping sent again, answering only the first", async () => {
  const s = setup();
  const attacker = udp();
  try {
    const ping = s.peer.seal(s.conn.discoPublic, {
      type: "ping",
      txid: new Uint8Array(12).fill(7),
      nodeKey: s.peerNode,
      padding: 0,
    });
    await s.peerSock.send(ping, s.to);
    const [pong] = await s.peerSock.receive();
    const opened = s.peer.open(pong);
    assertEquals(opened?.message.type, "pong");
    await attacker.send(ping, s.to); // the same bytes, captured and sent again from elsewhere
    await s.peerSock.send(ping, s.to);
    await until("two replays counted", () => s.conn.stats.drops.discoReplayed === 2);
    const ep = s.conn.endpoint(s.peerNode);
    assert(!ep.candidates.some((c) => c.port === portOf(attacker)), "no path to the attacker");
  } finally {
    attacker.close();
    s.peerSock.close();
    await s.conn.closeAsync();
  }
});

Deno.test("MagicConn proves only the address it pinged by a pong, and takes each pong once", async () => {
  const s = setup();
  const attacker = udp();
  try {
    const ep = s.conn.endpoint(s.peerNode);
    s.conn.send(new Uint8Array([4, 0, 0, 0, 1]), ep); // no path yet: disco pings go out
    const [pingBytes] = await s.peerSock.receive();
    const ping = s.peer.open(pingBytes);
    assert(ping !== null && ping.message.type === "ping", "our conn pinged the peer");
    const pong = s.peer.seal(s.conn.discoPublic, {
      type: "pong",
      txid: ping.message.txid,
      src: { ip: "127.0.0.1", port: s.conn.listenPort },
    });
    // A valid pong (a capture) sent from elsewhere: as Go's handlePongConnLocked, what it
    // proves is the address the ping went to, never the pong's source.
    await attacker.send(pong, s.to);
    await until("the direct path", () => s.conn.directAddr(ep) !== null);
    assertEquals(s.conn.directAddr(ep), `127.0.0.1:${portOf(s.peerSock)}`);
    assert(!ep.candidates.some((c) => c.port === portOf(attacker)), "no path to the attacker");
    // The same pong again, from either address: answered already, dropped, the path stays.
    await s.peerSock.send(pong, s.to);
    await attacker.send(pong, s.to);
    await until("both replays counted", () => s.conn.stats.drops.pongUnexpected === 2);
    assertEquals(s.conn.directAddr(ep), `127.0.0.1:${portOf(s.peerSock)}`);
    assertEquals(s.conn.stats.pathSwitches, 1);
    assertEquals(s.conn.stats.pongsUdp, 1);
  } finally {
    attacker.close();
    s.peerSock.close();
    await s.conn.closeAsync();
  }
});

Deno.test("MagicConn takes a STUN answer only from the server it asked", async () => {
  const clock = new ManualClock();
  const server = udp();
  const attacker = udp();
  const conn = new MagicConn({
    privateKey: generatePrivate("node"),
    discoKey: generatePrivate("disco"),
    log: new Logger({ sink: () => {} }),
    clock,
    listenPort: 0,
    derpConnect: neverConnects,
  });
  try {
    conn.reconfig({
      Regions: {
        "900": {
          RegionID: 900,
          RegionCode: "lab",
          RegionName: "Lab",
          Nodes: [{ Name: "900a", RegionID: 900, HostName: "127.0.0.1", STUNPort: portOf(server) }],
        },
      },
    }, []);
    const [req, from] = await server.receive();
    // An answer with the right txid, claiming we are at 203.0.113.9:4242.
    const resp = stunAnswer(req, [203, 0, 113, 9], 4242);
    await attacker.send(resp, from);
    await until("the forged answer counted", () => conn.stats.drops.stunBad === 1);
    assertEquals(conn.stats.stunAnswers, 0);
    assert(!conn.endpoints.some((e) => e.addr === "203.0.113.9:4242"), "not an endpoint");
    await server.send(resp, from);
    await until("the server's answer", () => conn.stats.stunAnswers === 1);
  } finally {
    await conn.closeAsync();
    server.close();
    attacker.close();
  }
});

Deno.test(`MagicConn keeps at most ${MAX_CANDIDATES} paths per peer, however many ping`, async () => {
  const s = setup();
  const socks: Deno.DatagramConn[] = [];
  try {
    // Each source sends a fresh, valid ping (as a peer with that many addresses would).
    for (let i = 0; i < MAX_CANDIDATES + 6; i++) {
      const sock = udp();
      socks.push(sock);
      const txid = new Uint8Array(12);
      txid[0] = i;
      const ping = s.peer.seal(s.conn.discoPublic, {
        type: "ping",
        txid,
        nodeKey: s.peerNode,
        padding: 0,
      });
      await sock.send(ping, s.to);
    }
    // The netmap gave one; 63 more are taken, 7 refused.
    await until("the refusals counted", () => s.conn.stats.drops.candidatesFull === 7);
    assertEquals(s.conn.endpoint(s.peerNode).candidates.length, MAX_CANDIDATES);
  } finally {
    for (const sock of socks) sock.close();
    s.peerSock.close();
    await s.conn.closeAsync();
  }
});

Deno.test("MagicConn acts on one call-me-maybe a second per peer; a flood is dropped and counted", async () => {
  const clock = new ManualClock();
  const server = new TestDerpServer();
  const peerKey = generatePrivate("node");
  const peerDisco = generatePrivate("disco");
  const ourKey = generatePrivate("node");
  const conn = new MagicConn({
    privateKey: ourKey,
    discoKey: generatePrivate("disco"),
    log: new Logger({ sink: () => {} }),
    clock,
    listenPort: 0,
    derpConnect: () => Promise.resolve({ stream: server.connect() }),
  });
  const peer = await DerpClient.connect(server.connect(), { privateKey: peerKey });
  try {
    conn.reconfig({
      Regions: {
        "900": {
          RegionID: 900,
          RegionCode: "lab",
          RegionName: "Lab",
          Nodes: [{ Name: "900a", RegionID: 900, HostName: "127.0.0.1", STUNPort: -1 }],
        },
      },
    }, [{
      nodeKey: publicOf(peerKey),
      discoKey: publicOf(peerDisco),
      homeDerp: 900,
      endpoints: [],
    }]);
    await conn.waitHomeConnected(AbortSignal.timeout(5000));
    const sealer = new DiscoSealer(peerDisco);
    for (let i = 0; i < 10; i++) {
      const cmm = sealer.seal(conn.discoPublic, {
        type: "call-me-maybe",
        endpoints: [{ ip: "198.51.100.1", port: 40000 + i }],
      });
      await peer.send(publicOf(ourKey), cmm);
    }
    await until("nine dropped as a flood", () => conn.stats.drops.callMeMaybeFlood === 9);
    const ep = conn.endpoint(publicOf(peerKey));
    assertEquals(ep.candidates.map((c) => c.text), ["198.51.100.1:40000"]);
    // A second later the peer's next one is taken.
    clock.advance(1000);
    await peer.send(
      publicOf(ourKey),
      sealer.seal(conn.discoPublic, {
        type: "call-me-maybe",
        endpoints: [{ ip: "198.51.100.1", port: 41641 }],
      }),
    );
    await until("the next one taken", () => ep.candidates.length === 2);
    assertEquals(conn.stats.drops.callMeMaybeFlood, 9);
  } finally {
    await peer.close();
    await conn.closeAsync();
    await server.close();
  }
});
