/**
 * `engineConfig()` and `Engine.reconfig()` together on the real data path: two of our engines
 * (DERP over an in-memory server, WireGuard, the packet pipeline, the stack). Peer B offers an
 * exit node (`0.0.0.0/0`, `::/0`); until A chooses it, a packet from B with a source address
 * other than B's own is dropped by A's WireGuard (cryptokey routing) and counted as
 * `badAllowedIp` in engine stats; once A chooses B as exit node the same packet reaches A's stack.
 */
import { assert, assertEquals } from "../engine/base/testing/assert.ts";
import { Logger } from "../engine/base/logger.ts";
import { applyMapResponse } from "../engine/control/netmap.ts";
import type { JsonObject } from "../engine/control/tailcfg.ts";
import { TestDerpServer } from "../engine/derp/testing/derp_server.ts";
import { Engine } from "../engine/engine.ts";
import {
  type DiscoPrivate,
  generatePrivate,
  type NodePrivate,
  publicOf,
  publicToText,
} from "../engine/key/keys.ts";
import type { UdpReceived } from "../engine/stack/mod.ts";
import { ipv4UdpPacket } from "../engine/wire/testing/packets.ts";
import { engineConfig } from "./engine_config.ts";
import { defaultPrefs } from "./prefs.ts";

const REGION = 900;
const DERP_MAP = {
  Regions: {
    [String(REGION)]: {
      RegionID: REGION,
      RegionCode: "mem",
      RegionName: "in memory",
      Nodes: [{ Name: "900a", RegionID: REGION, HostName: "derp.invalid" }],
    },
  },
};
const IP_A = "100.64.0.1";
const IP_B = "100.64.0.2";
const SPOOFED = "198.51.100.7";
const UDP_PORT = 5353;

interface Side {
  key: NodePrivate;
  disco: DiscoPrivate;
  ip: string;
  id: number;
}

function nodeJson(s: Side, allowed: string[] = []): JsonObject {
  return {
    ID: s.id,
    StableID: `stable-${s.id}`,
    Name: `node${s.id}.tailnet.test.`,
    Key: publicToText("node", publicOf(s.key)),
    DiscoKey: publicToText("disco", publicOf(s.disco)),
    Addresses: [`${s.ip}/32`],
    AllowedIPs: [`${s.ip}/32`, ...allowed],
    HomeDERP: REGION,
  };
}

/** An IPv4 UDP packet from `src` to `dst`:UDP_PORT. */
function udpPacket(src: string, dst: string, text: string): Uint8Array {
  return ipv4UdpPacket(src, dst, 40000, UDP_PORT, text);
}

async function until(what: string, cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test("a packet from a peer offering an exit node we did not choose, with another source address, is dropped and counted", async () => {
  const server = new TestDerpServer();
  const log = new Logger({ sink: () => {}, verbosity: -1 });
  const a: Side = {
    key: generatePrivate("node"),
    disco: generatePrivate("disco"),
    ip: IP_A,
    id: 1,
  };
  const b: Side = {
    key: generatePrivate("node"),
    disco: generatePrivate("disco"),
    ip: IP_B,
    id: 2,
  };
  const engine = (s: Side) =>
    new Engine({
      nodeKey: s.key,
      discoKey: s.disco,
      log,
      derpConnect: () => Promise.resolve({ stream: server.connect() }),
    });
  const nmA = applyMapResponse(null, {
    Node: nodeJson(a),
    Peers: [nodeJson(b, ["0.0.0.0/0", "::/0"])],
    DERPMap: DERP_MAP,
    // headscale's allow-all default: the packet filter lets everything in.
    PacketFilter: [{ SrcIPs: ["*"], DstPorts: [{ IP: "*", Ports: { First: 0, Last: 65535 } }] }],
  });
  const nmB = applyMapResponse(null, {
    Node: nodeJson(b),
    Peers: [nodeJson(a)],
    DERPMap: DERP_MAP,
  });
  await using engA = engine(a);
  await using engB = engine(b);
  engA.reconfig(engineConfig(defaultPrefs(), nmA));
  engB.reconfig(engineConfig(defaultPrefs(), nmB));
  assertEquals(engA.config.peers[0].allowedIps, [`${IP_B}/32`]);
  await until("both engines home on DERP", () => engA.live && engB.live);

  const sock = engA.stack.listenUdp(UDP_PORT);
  const received: UdpReceived[] = [];
  const reading = (async () => {
    for (;;) {
      const r = await sock.receive();
      if (r === null) return;
      received.push(r);
    }
  })();
  try {
    // B's own address: passes (and completes the WireGuard handshake).
    assert(engB.injectOutbound(udpPacket(IP_B, IP_A, "from B")));
    await until("the packet from B's own address", () => received.length === 1);
    assertEquals(received[0].remoteAddr.hostname, IP_B);

    // Another source address: WireGuard's cryptokey check drops it, engine-stats shows it.
    const passedBefore = engA.inbound.passed;
    assert(engB.injectOutbound(udpPacket(SPOOFED, IP_A, "spoofed")));
    await until("the drop", () => engA.stats().wireguard.drops.badAllowedIp === 1);
    assertEquals(engA.inbound.passed, passedBefore);
    assertEquals(received.length, 1);

    // With B chosen as exit node, B's default routes are its AllowedIPs: the packet passes.
    engA.reconfig(engineConfig({ ...defaultPrefs(), ExitNodeID: "stable-2" }, nmA));
    assertEquals(engA.config.peers[0].allowedIps, [`${IP_B}/32`, "0.0.0.0/0", "::/0"]);
    assert(engB.injectOutbound(udpPacket(SPOOFED, IP_A, "via exit node")));
    await until("the packet through the exit node", () => received.length === 2);
    assertEquals(received[1].remoteAddr.hostname, SPOOFED);
    assertEquals(new TextDecoder().decode(received[1].data), "via exit node");
    assertEquals(engA.stats().wireguard.drops.badAllowedIp, 1);
  } finally {
    sock.close();
    await reading;
    await engA.close();
    await engB.close();
    await server.close();
  }
});

Deno.test("the packet filter on the real data path: a netmap without rules lets only replies in; a new rule and shields-up apply live", async () => {
  const server = new TestDerpServer();
  const log = new Logger({ sink: () => {}, verbosity: -1 });
  const a: Side = {
    key: generatePrivate("node"),
    disco: generatePrivate("disco"),
    ip: IP_A,
    id: 1,
  };
  const b: Side = {
    key: generatePrivate("node"),
    disco: generatePrivate("disco"),
    ip: IP_B,
    id: 2,
  };
  const engine = (s: Side) =>
    new Engine({
      nodeKey: s.key,
      discoKey: s.disco,
      log,
      derpConnect: () => Promise.resolve({ stream: server.connect() }),
    });
  // A's netmap carries no filter rules (headscale with a policy that grants A nothing).
  const nmA = applyMapResponse(null, {
    Node: nodeJson(a),
    Peers: [nodeJson(b)],
    DERPMap: DERP_MAP,
  });
  const nmB = applyMapResponse(null, {
    Node: nodeJson(b),
    Peers: [nodeJson(a)],
    DERPMap: DERP_MAP,
  });
  await using engA = engine(a);
  await using engB = engine(b);
  engA.reconfig(engineConfig(defaultPrefs(), nmA));
  engB.reconfig(engineConfig(defaultPrefs(), nmB));
  await until("both engines home on DERP", () => engA.live && engB.live);

  const received: UdpReceived[] = [];
  const socks = [engA.stack.listenUdp(UDP_PORT), engA.stack.listenUdp(40000)];
  const readers = socks.map(async (sock) => {
    for (;;) {
      const r = await sock.receive();
      if (r === null) return;
      received.push(r);
    }
  });
  const filterStats = () => engA.stats().filter.inbound;
  try {
    // B opens a flow to A: no rule, dropped and counted.
    assert(engB.injectOutbound(udpPacket(IP_B, IP_A, "new flow from B")));
    await until("the drop", () => filterStats().drops.noRulesMatched === 1);
    assertEquals(engA.stats().inbound.drops.filtered, 1);
    assertEquals(received.length, 0);

    // A sends to B:6000; B's answer from 6000 is a reply to A's flow and passes.
    assert(engA.injectOutbound(ipv4UdpPacket(IP_A, IP_B, 40000, 6000, "question")));
    assert(engB.injectOutbound(ipv4UdpPacket(IP_B, IP_A, 6000, 40000, "answer")));
    await until("the reply", () => received.length === 1);
    assertEquals(new TextDecoder().decode(received[0].data), "answer");
    assertEquals(filterStats().accepts.flowReply, 1);

    // A new netmap with a rule for B: the same packet passes, no reconnect.
    const allowB = applyMapResponse(nmA, {
      PacketFilter: [{
        SrcIPs: [IP_B],
        IPProto: [17],
        DstPorts: [{ IP: IP_A, Ports: { First: UDP_PORT, Last: UDP_PORT } }],
      }],
    });
    engA.reconfig(engineConfig(defaultPrefs(), allowB));
    assert(engB.injectOutbound(udpPacket(IP_B, IP_A, "allowed now")));
    await until("the allowed packet", () => received.length === 2);
    assertEquals(filterStats().accepts.udpRule, 1);

    // Shields up: the rule no longer counts.
    engA.reconfig(engineConfig({ ...defaultPrefs(), ShieldsUp: true }, allowB));
    assert(engB.injectOutbound(udpPacket(IP_B, IP_A, "shields up")));
    await until("the shields-up drop", () => filterStats().drops.shieldsUp === 1);
    assertEquals(received.length, 2);
  } finally {
    for (const s of socks) s.close();
    await Promise.all(readers);
    await engA.close();
    await engB.close();
    await server.close();
  }
});
