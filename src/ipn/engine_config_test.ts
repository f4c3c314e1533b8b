import { assert, assertEquals } from "../engine/base/testing/assert.ts";
import { applyMapResponse } from "../engine/control/netmap.ts";
import type { JsonObject, MapResponse } from "../engine/control/tailcfg.ts";
import { formatIpPrefix } from "../engine/wire/ip_addr.ts";
import { generatePrivate, publicFromText, publicToText } from "../engine/key/keys.ts";
import { Engine } from "../engine/engine.ts";
import { Logger } from "../engine/base/logger.ts";
import {
  chosenExitNode,
  engineConfig,
  EngineConfigCache,
  type EnginePrefs,
} from "./engine_config.ts";
import { defaultPrefs } from "./prefs.ts";
import { MagicDnsResolver } from "../engine/dns/resolver.ts";
import { DNS_RCODE, DNS_TYPE, dnsQuery, parseDnsMessage } from "../engine/wire/dns.ts";
import { dnsRecordBody } from "../engine/wire/dns_text.ts";

const key = (kind: "nodekey" | "discokey", c: string) => `${kind}:${c.repeat(64)}`;

/** Self (1), a plain peer (2), a subnet router (3), an exit-node offerer (4). */
function netmap(extra: Partial<MapResponse> = {}): ReturnType<typeof applyMapResponse> {
  const node = (id: number, allowed: string[], more: JsonObject = {}): JsonObject => ({
    ID: id,
    StableID: `n${id}`,
    Name: `node${id}.tailnet.test.`,
    Key: key("nodekey", String(id)),
    DiscoKey: key("discokey", String(id)),
    Addresses: [`100.64.0.${id}/32`, `fd7a:115c:a1e0::${id}/128`],
    AllowedIPs: [`100.64.0.${id}/32`, `fd7a:115c:a1e0::${id}/128`, ...allowed],
    Endpoints: [`192.0.2.${id}:41641`],
    HomeDERP: 900 + id,
    ...more,
  });
  return applyMapResponse(null, {
    Node: node(1, []),
    Peers: [
      node(2, []),
      node(3, ["10.1.0.0/16", "192.0.2.77/32"]),
      node(4, ["0.0.0.0/0", "::/0"]),
    ],
    ...extra,
  });
}

function prefs(p: Partial<EnginePrefs> = {}): EnginePrefs {
  return { ...defaultPrefs(), ...p };
}

const OWN = (id: number) => [`100.64.0.${id}/32`, `fd7a:115c:a1e0::${id}/128`];

const ALLOWED_IPS_CASES: {
  name: string;
  prefs: Partial<EnginePrefs>;
  want: Record<number, string[]>;
}[] = [
  {
    name: "defaults: every peer gets only its own addresses",
    prefs: {},
    want: { 2: OWN(2), 3: OWN(3), 4: OWN(4) },
  },
  {
    name: "accept-routes: subnet routes, but no default routes for a peer we did not choose",
    prefs: { RouteAll: true },
    want: { 2: OWN(2), 3: [...OWN(3), "10.1.0.0/16", "192.0.2.77/32"], 4: OWN(4) },
  },
  {
    name: "exit node by stable ID: it gets the default routes",
    prefs: { ExitNodeID: "n4" },
    want: { 2: OWN(2), 3: OWN(3), 4: [...OWN(4), "0.0.0.0/0", "::/0"] },
  },
  {
    name: "exit node by IP: it gets the default routes",
    prefs: { ExitNodeIP: "100.64.0.4" },
    want: { 2: OWN(2), 3: OWN(3), 4: [...OWN(4), "0.0.0.0/0", "::/0"] },
  },
  {
    name: "exit node and accept-routes together",
    prefs: { ExitNodeID: "n4", RouteAll: true },
    want: {
      2: OWN(2),
      3: [...OWN(3), "10.1.0.0/16", "192.0.2.77/32"],
      4: [...OWN(4), "0.0.0.0/0", "::/0"],
    },
  },
  {
    name: "a chosen exit node that offers no default route gets none",
    prefs: { ExitNodeID: "n2" },
    want: { 2: OWN(2), 3: OWN(3), 4: OWN(4) },
  },
  {
    name: "an exit node not in the netmap changes nothing",
    prefs: { ExitNodeID: "gone" },
    want: { 2: OWN(2), 3: OWN(3), 4: OWN(4) },
  },
];

for (const c of ALLOWED_IPS_CASES) {
  Deno.test(`engineConfig() AllowedIPs: ${c.name}`, () => {
    const cfg = engineConfig(prefs(c.prefs), netmap());
    const got: Record<number, string[]> = {};
    for (const p of cfg.peers) got[Number(p.name.replace("node", ""))] = [...p.allowedIps];
    assertEquals(got, c.want);
  });
}

Deno.test("engineConfig() carries keys, addresses, endpoints, DERP home and our addresses", () => {
  const nm = netmap();
  const cfg = engineConfig(prefs(), nm, { listenPort: 41641 });
  assertEquals(cfg.addresses, OWN(1));
  assertEquals(cfg.listenPort, 41641);
  assertEquals(cfg.derpMap, null);
  assertEquals(cfg.peers.length, 3);
  const p = cfg.peers[0];
  assertEquals(publicToText("node", p.nodeKey), key("nodekey", "2"));
  assert(p.discoKey !== null);
  assertEquals(publicToText("disco", p.discoKey), key("discokey", "2"));
  assertEquals(p.addresses, OWN(2));
  assertEquals(p.endpoints, ["192.0.2.2:41641"]);
  assertEquals(p.homeDerp, 902);
});

Deno.test("engineConfig() passes shields-up through", () => {
  assertEquals(engineConfig(prefs(), netmap()).shieldsUp, false);
  assertEquals(engineConfig(prefs({ ShieldsUp: true }), netmap()).shieldsUp, true);
});

Deno.test("engineConfig() leaves out a peer with a bad node key; a bad disco key is null", () => {
  const nm = applyMapResponse(null, {
    Node: { ID: 1, Key: key("nodekey", "1"), Addresses: ["100.64.0.1/32"] },
    Peers: [
      { ID: 2, Key: "nodekey:zz", Addresses: ["100.64.0.2/32"] },
      { ID: 3, Key: key("nodekey", "3"), DiscoKey: "discokey:bad", Addresses: ["100.64.0.3/32"] },
    ],
  });
  const cfg = engineConfig(prefs(), nm);
  assertEquals(cfg.peers.length, 1);
  assertEquals(cfg.peers[0].discoKey, null);
  assertEquals(cfg.peers[0].allowedIps, ["100.64.0.3/32"]);
});

Deno.test("engineConfig() compiles the packet filter and types the DNS config", () => {
  const nm = netmap({
    PacketFilter: [
      {
        SrcIPs: ["100.64.0.2", "*"],
        DstPorts: [{ IP: "100.64.0.1", Ports: { First: 22, Last: 22 } }],
      },
      {
        SrcIPs: ["100.64.0.0/10", "10.0.0.1-10.0.0.6"],
        IPProto: [6],
        DstPorts: [{ IP: "*", Ports: { First: 0, Last: 65535 } }],
        CapGrant: [{ Dsts: ["100.64.0.1/32"], Caps: ["cap-a"], CapMap: { "cap-b": [] } }],
      },
    ],
    DNSConfig: {
      Resolvers: [{ Addr: "9.9.9.9" }],
      Routes: { "corp.example.": [{ Addr: "10.0.0.53" }], "ts.net": null },
      Domains: ["tailnet.test"],
      Proxied: true,
      ExtraRecords: [{ Name: "db.tailnet.test.", Type: "A", Value: "100.64.0.9" }],
    },
  });
  const cfg = engineConfig(prefs(), nm);
  assertEquals(cfg.filter.length, 2);
  const [a, b] = cfg.filter;
  assertEquals(a.srcs.map(formatIpPrefix), ["100.64.0.2/32", "0.0.0.0/0", "::/0"]);
  assertEquals(a.protos, [6, 17, 1, 58]);
  assertEquals(a.dsts.map((d) => [formatIpPrefix(d.prefix), d.ports.first, d.ports.last]), [
    ["100.64.0.1/32", 22, 22],
  ]);
  assertEquals(b.srcs.map(formatIpPrefix), [
    "100.64.0.0/10",
    "10.0.0.1/32",
    "10.0.0.2/31",
    "10.0.0.4/31",
    "10.0.0.6/32",
  ]);
  assertEquals(b.protos, [6]);
  assertEquals(b.dsts.map((d) => formatIpPrefix(d.prefix)), ["0.0.0.0/0", "::/0"]);
  assertEquals(b.capGrants.map((g) => [g.dsts.map(formatIpPrefix), g.caps]), [
    [["100.64.0.1/32"], ["cap-a", "cap-b"]],
  ]);
  assertEquals(cfg.dns, {
    magicDns: true,
    resolvers: [{ addr: "9.9.9.9", bootstrap: [] }],
    fallbackResolvers: [],
    routes: [
      { suffix: "corp.example", resolvers: [{ addr: "10.0.0.53", bootstrap: [] }] },
      { suffix: "ts.net", resolvers: [] },
    ],
    searchDomains: ["tailnet.test"],
    certDomains: [],
    extraRecords: [{ name: "db.tailnet.test", type: "A", value: "100.64.0.9" }],
    hosts: cfg.dns?.hosts ?? [],
    localDomains: cfg.dns?.localDomains ?? [],
    acceptDns: true,
  });
});

Deno.test("engineConfig() with no DNS config (hosts only) and no filter", () => {
  const cfg = engineConfig(prefs(), netmap());
  assertEquals(cfg.dns?.magicDns, false);
  assertEquals(cfg.dns?.resolvers, []);
  assertEquals(cfg.filter, []);
});

Deno.test("engineConfig() names the holders of each capability a rule uses as a source", () => {
  const nm = netmap({
    PacketFilter: [{
      SrcIPs: ["cap:example.com/cap/web", "cap:nobody"],
      DstPorts: [{ IP: "*", Ports: { First: 80, Last: 80 } }],
    }],
  });
  const withCap = applyMapResponse(nm, {
    PeersChangedPatch: [{ NodeID: nm.peers[0].id, CapMap: { "example.com/cap/web": [] } }],
  });
  const cfg = engineConfig(prefs(), withCap);
  assertEquals(cfg.filter[0].srcCaps, ["example.com/cap/web", "nobody"]);
  assertEquals(cfg.filterCapHolders, {
    "example.com/cap/web": withCap.peers[0].addresses.map((a) => a.split("/")[0]),
    nobody: [],
  });
});

Deno.test("engineConfig() keeps a filter compile error for debug; deprecated bits deny all", () => {
  const bad = engineConfig(
    prefs(),
    netmap({
      PacketFilter: [{
        SrcIPs: ["not-an-ip", "100.64.0.2"],
        DstPorts: [{ IP: "*", Ports: { First: 1, Last: 2 } }],
      }],
    }),
  );
  assertEquals(bad.filter[0].srcs.map(formatIpPrefix), ["100.64.0.2/32"]);
  assertEquals(bad.filterError, 'invalid IP address "not-an-ip"');
  const old = engineConfig(
    prefs(),
    netmap({
      PacketFilter: [{
        SrcIPs: ["100.64.0.0"],
        SrcBits: [24],
        DstPorts: [{ IP: "*", Ports: { First: 1, Last: 2 } }],
      }],
    }),
  );
  assertEquals(old.filter, []);
  assert(old.filterError.includes("SrcBits"));
});

Deno.test("applyMapResponse() drops wrongly typed filter and DNS fields, keeps the rest", () => {
  const nm = netmap({
    PacketFilter: [
      { SrcIPs: "100.64.0.2", DstPorts: [{ IP: 1 }], Extra: 1 } as JsonObject,
      7 as unknown as JsonObject,
    ],
    DNSConfig: { Resolvers: "9.9.9.9", Proxied: true, Future: "x" } as JsonObject,
  });
  assertEquals(nm.packetFilter, [{ Extra: 1 }]);
  assertEquals(nm.dns, { Proxied: true, Future: "x" });
  assertEquals(engineConfig(prefs(), nm).filter[0].srcs, []);
});

Deno.test("chosenExitNode() prefers the stable ID over the IP", () => {
  const nm = netmap();
  assertEquals(chosenExitNode({ ExitNodeID: "n3", ExitNodeIP: "100.64.0.4" }, nm.peers)?.id, 3);
  assertEquals(
    chosenExitNode({ ExitNodeID: "", ExitNodeIP: "fd7a:115c:a1e0::4" }, nm.peers)?.id,
    4,
  );
  assertEquals(chosenExitNode({ ExitNodeID: "", ExitNodeIP: "" }, nm.peers), null);
});

Deno.test("engineConfig() lists MagicDNS hosts as ipnlocal does, with this node's own records", () => {
  const nm = netmap({
    DNSConfig: {
      Proxied: true,
      ExtraRecords: [
        { Name: "db.tailnet.test.", Type: "A", Value: "100.64.0.9" },
        { Name: "txt.tailnet.test", Type: "TXT", Value: "ignored" },
      ],
    },
  });
  const cfg = engineConfig(prefs(), nm, {
    localDnsRecords: [{ name: "nas.home.arpa", type: "A", value: "192.168.7.7" }],
  });
  const dns = cfg.dns!;
  // A node with an IPv4 address is answered without its IPv6 one, but PTR names both.
  assertEquals(dns.hosts.find((h) => h.name === "node2.tailnet.test"), {
    name: "node2.tailnet.test",
    addrs: ["100.64.0.2"],
    ptrAddrs: ["100.64.0.2", "fd7a:115c:a1e0::2"],
  });
  assertEquals(dns.hosts.slice(-2).map((h) => [h.name, h.addrs]), [
    ["db.tailnet.test", ["100.64.0.9"]],
    ["nas.home.arpa", ["192.168.7.7"]],
  ]);
  assertEquals(dns.localDomains.slice(0, 3), [
    "tailnet.test",
    "0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa",
    "64.100.in-addr.arpa",
  ]);
  assertEquals(dns.localDomains.length, 66);
  // With --accept-dns=false: the names still answer, but no domain is ours, no routes, no resolvers.
  const off = engineConfig(prefs({ CorpDNS: false }), nm).dns!;
  assertEquals([off.localDomains, off.routes, off.resolvers, off.acceptDns], [[], [], [], false]);
  assertEquals(off.hosts.length, 5);
});

Deno.test("engineConfig() carries the advertised routes we relay, nothing without them", () => {
  assertEquals(engineConfig(prefs(), netmap()).routes, []);
  const adv = ["10.77.1.0/24", "0.0.0.0/0", "::/0"];
  assertEquals(engineConfig({ ...prefs(), AdvertiseRoutes: adv }, netmap()).routes, adv);
});

Deno.test("a malformed DNSConfig from control is read leniently; MagicDNS still answers", async () => {
  const nm = netmap({
    DNSConfig: {
      Proxied: true,
      // Wrong types: dropped field by field by the netmap reader.
      Domains: [42, "x"] as unknown as string[],
      Routes: "corp.test" as unknown as Record<string, null>,
      // Right types, bad values: records that are no address are not served; resolvers that
      // are no address (or DoH, not built here) leave outside names with SERVFAIL.
      ExtraRecords: [
        { Name: "bad.tailnet.test.", Type: "A", Value: "999.1.1.1" },
        { Name: "net.tailnet.test.", Type: "A", Value: "10.0.0.0/8" },
        { Name: "txt.tailnet.test.", Type: "MX", Value: "10.0.0.1" },
        { Name: "ok.tailnet.test.", Type: "A", Value: "100.64.0.77" },
      ],
      Resolvers: [{ Addr: "not-an-address" }, { Addr: "" }, { Addr: "https://doh.example/q" }],
    } as unknown as MapResponse["DNSConfig"],
  });
  const cfg = engineConfig(prefs(), nm);
  const dns = cfg.dns!;
  assertEquals(dns.searchDomains, []);
  assertEquals(dns.routes, []);
  const served = dns.hosts.map((h) => h.name);
  assert(served.includes("ok.tailnet.test"), "the good record is served");
  for (const bad of ["bad.tailnet.test", "net.tailnet.test", "txt.tailnet.test"]) {
    assert(!served.includes(bad), `${bad} is not served`);
  }
  const r = new MagicDnsResolver({
    upstream: { exchange: () => Promise.reject(new Error("no network in this test")) },
    hostResolvers: () => [],
    clock: { wallNow: () => Date.parse("2026-12-07T00:00:00Z") },
    forwardTimeoutMs: 500,
  });
  r.setConfig(dns);
  const ask = async (name: string) =>
    parseDnsMessage((await r.query(dnsQuery(1, name, DNS_TYPE.A), "udp"))!);
  assertEquals(dnsRecordBody((await ask("ok.tailnet.test")).answers[0]), "100.64.0.77");
  assertEquals((await ask("bad.tailnet.test")).header.rcode, DNS_RCODE.NXDOMAIN);
  // Nothing usable upstream: SERVFAIL, no crash.
  assertEquals((await ask("outside.example")).header.rcode, DNS_RCODE.SERVFAIL);
});

Deno.test("engineConfig() with a cache: a netmap delta gives new configs only for the peers it changed, and the engine applies them", async () => {
  const cache = new EngineConfigCache();
  const nm = netmap();
  const cfg = engineConfig(prefs(), nm, { cache });
  const engine = new Engine({
    nodeKey: generatePrivate("node"),
    discoKey: generatePrivate("disco"),
    log: new Logger({ sink: () => {}, verbosity: -1 }),
    listenPort: null,
  });
  try {
    engine.reconfig(cfg);
    // Peer 3 moves to a new address, peer 4 leaves, peer 5 joins.
    const next = applyMapResponse(nm, {
      PeersChanged: [{
        ID: 3,
        StableID: "n3",
        Name: "node3.tailnet.test.",
        Key: key("nodekey", "3"),
        DiscoKey: key("discokey", "3"),
        Addresses: ["100.64.0.33/32"],
      }, {
        ID: 5,
        StableID: "n5",
        Name: "node5.tailnet.test.",
        Key: key("nodekey", "5"),
        Addresses: ["100.64.0.5/32"],
      }],
      PeersRemoved: [4],
    });
    const cfg2 = engineConfig(prefs(), next, { cache });
    assert(cfg2.peers[0] === cfg.peers[0], "peer 2 unchanged: the same config object");
    assert(cfg2.peers[1] !== cfg.peers[1], "peer 3 changed: a new config");
    // A different route choice is a different config, even for an unchanged node.
    assert(engineConfig(prefs({ RouteAll: true }), next, { cache }).peers[0] !== cfg2.peers[0]);
    engine.reconfig(cfg2);
    assertEquals(engine.peerByIp("100.64.0.2")?.name, "node2");
    assertEquals(engine.peerByIp("100.64.0.3"), null);
    assertEquals(engine.peerByIp("100.64.0.33")?.name, "node3");
    assertEquals(engine.peerByIp("100.64.0.4"), null);
    assertEquals(engine.peerByIp("100.64.0.5")?.name, "node5");
    const inWireGuard = (c: string) =>
      engine.peerStatus(publicFromText("node", key("nodekey", c))).wg !== null;
    assertEquals(["2", "3", "4", "5"].map(inWireGuard), [true, true, false, true]);
    // WireGuard routes peer 3's new address to it, and its old one to nobody.
    assertEquals(
      engine.peerStatus(publicFromText("node", key("nodekey", "3"))).wg?.allowedIps,
      ["100.64.0.33/32"],
    );
  } finally {
    await engine.close();
  }
});
