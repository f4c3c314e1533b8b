import { assert, assertEquals, assertThrows } from "../base/testing/assert.ts";
import { applyMapResponse, magicDnsSuffix, mergeDerpMap, nodeFromRaw } from "./netmap.ts";
import type { JsonObject } from "./tailcfg.ts";
import type { NetworkMap } from "./types.ts";
import { ControlError } from "./client.ts";
import { MAP_SESSION as capture } from "./testing/map_session.ts";

const T0 = Date.parse("2026-11-25T12:58:54Z");

function replay(upTo = capture.frames.length): NetworkMap {
  let nm: NetworkMap | null = null;
  for (const f of capture.frames.slice(0, upTo)) {
    nm = applyMapResponse(nm, f.msg, { nowMs: T0 + f.atMs });
  }
  return nm!;
}

function node(id: number, extra: JsonObject = {}): JsonObject {
  return {
    ID: id,
    StableID: String(id),
    Name: `n${id}.tailnet.test.`,
    User: 1,
    Key: "nodekey:" + String(id).padStart(64, "0"),
    Addresses: [`100.64.0.${id}/32`],
    Hostinfo: { Hostname: `n${id}`, OS: "linux" },
    ...extra,
  };
}

function base(): NetworkMap {
  return applyMapResponse(null, {
    Node: node(1, { MachineAuthorized: true }),
    Peers: [node(3), node(2)],
    DERPMap: { Regions: { "900": { RegionID: 900, RegionCode: "lab", Nodes: [] } } },
    PacketFilter: [{ SrcIPs: ["*"] }],
    Domain: "tailnet.test",
  }, { nowMs: T0 });
}

Deno.test("applyMapResponse() builds headscale's first netmap", () => {
  const nm = replay(1);
  assertEquals(nm.self.name, "capture-a.tailnet.test.");
  assert(nm.self.addresses.some((a) => a.startsWith("100.64.")), "IPv4 address");
  assert(nm.self.addresses.some((a) => a.startsWith("fd7a:115c:a1e0:")), "IPv6 address");
  assertEquals(nm.self.allowedIps, nm.self.addresses);
  assertEquals(nm.self.machineAuthorized, true);
  assert(nm.self.capabilities.includes("https://tailscale.com/cap/is-admin"));
  // The one peer is the lab's real tailscaled.
  assertEquals(nm.peers.map((p) => [p.id, p.hostname, p.os, p.online, p.homeDerp]), [
    [1, "ts1", "linux", true, 900],
  ]);
  assertEquals(nm.peers[0].endpoints.length, 2);
  assert(nm.peers[0].discoKey.startsWith("discokey:"));
  assert(nm.peers[0].key.startsWith("nodekey:") && nm.peers[0].key !== nm.self.key);
  assertEquals(Object.keys(nm.derpMap!.Regions), ["900"]);
  assertEquals(nm.derpMap!.Regions["900"].Nodes[0].HostName, "127.0.0.1");
  assertEquals(nm.packetFilters?.base?.length, 1);
  assertEquals(nm.packetFilter, nm.packetFilters!.base);
  assertEquals((nm.dns as { Proxied?: boolean }).Proxied, true);
  // headscale puts its server_url host in Domain; the MagicDNS suffix comes from the self name.
  assertEquals(nm.domain, "127.0.0.1");
  assertEquals(magicDnsSuffix(nm.self.name), "tailnet.test");
  assertEquals(nm.userProfiles.get(1)?.loginName, "lab");
  assertEquals(typeof nm.extra.ControlTime, "string");
});

Deno.test("applyMapResponse() follows headscale's deltas: join, online patch, lite update, rename, delete", () => {
  const joined = replay(4);
  assertEquals(joined.peers.map((p) => [p.hostname, p.online]), [["ts1", true], [
    "capture-b",
    false,
  ]]);
  const online = replay(6);
  assertEquals(online.peers.find((p) => p.id === 3)?.online, true);
  const lite = replay(7);
  const b = lite.peers.find((p) => p.id === 3)!;
  assertEquals(b.endpoints, ["127.0.0.1:41641"]);
  assertEquals((b.raw.Hostinfo as JsonObject).OSVersion, "6.1-capture");
  assertEquals(replay(8).peers.find((p) => p.id === 3)?.name, "capture-b2.tailnet.test.");
  const gone = replay();
  assertEquals(gone.peers.map((p) => p.id), [1]);
  assertEquals(gone.self.name, "capture-a.tailnet.test.");
  assertEquals(gone.derpMap, replay(1).derpMap, "DERP map unchanged when absent");
});

Deno.test("applyMapResponse() requires Node in the first response and ignores keep-alives", () => {
  assertThrows(() => applyMapResponse(null, { Peers: [node(2)] }), ControlError, "lacked node");
  const nm = base();
  assert(applyMapResponse(nm, { KeepAlive: true }) === nm);
});

Deno.test("applyMapResponse() applies removed, changed, seen, online, patch in Go's order", () => {
  const nm = applyMapResponse(base(), {
    PeersRemoved: [3],
    PeersChanged: [node(3, { Hostinfo: { Hostname: "back" } }), node(4)],
    PeerSeenChange: { "2": true, "4": false },
    OnlineChange: { "2": true, "9": true },
    PeersChangedPatch: [
      { NodeID: 2, DERPRegion: 900, Endpoints: ["1.2.3.4:5"], Online: false },
      { NodeID: 42, Online: true },
    ],
  }, { nowMs: T0 + 1000 });
  assertEquals(nm.peers.map((p) => p.id), [2, 3, 4]);
  const p2 = nm.peers[0];
  assertEquals(p2.lastSeen, new Date(T0 + 1000).toISOString());
  assertEquals(p2.online, false, "the patch comes after OnlineChange");
  assertEquals(p2.homeDerp, 900);
  assertEquals(p2.endpoints, ["1.2.3.4:5"]);
  assertEquals(nm.peers[1].hostname, "back", "PeersChanged after PeersRemoved re-adds");
  assertEquals(nm.peers[2].lastSeen, null);
});

Deno.test("applyMapResponse() with a non-empty Peers replaces the set and ignores deltas", () => {
  const nm = applyMapResponse(base(), {
    Peers: [node(7)],
    PeersRemoved: [7],
    OnlineChange: { "7": true },
  });
  assertEquals(nm.peers.map((p) => [p.id, p.online]), [[7, null]]);
  // An empty Peers list is "no full list", not "no peers".
  assertEquals(applyMapResponse(base(), { Peers: [] }).peers.length, 2);
});

Deno.test("applyMapResponse() handles PacketFilter and PacketFilters like Go", () => {
  let nm = base();
  assertEquals(nm.packetFilter, [{ SrcIPs: ["*"] }]);
  nm = applyMapResponse(nm, { PacketFilters: { extra: [{ SrcIPs: ["100.64.0.9"] }] } });
  assertEquals(nm.packetFilter, [{ SrcIPs: ["*"] }, { SrcIPs: ["100.64.0.9"] }]);
  nm = applyMapResponse(nm, { PacketFilter: null });
  assertEquals(nm.packetFilter.length, 2, "null PacketFilter is unchanged");
  nm = applyMapResponse(nm, { PacketFilters: { base: null } });
  assertEquals(nm.packetFilter, [{ SrcIPs: ["100.64.0.9"] }]);
  nm = applyMapResponse(nm, { PacketFilter: [] });
  assertEquals(nm.packetFilter, [{ SrcIPs: ["100.64.0.9"] }], "[] base is deny-all for base");
  nm = applyMapResponse(nm, { PacketFilters: { "*": null, z: [{ SrcIPs: ["1.1.1.1"] }] } });
  assertEquals(Object.keys(nm.packetFilters!), ["z"]);
  assertEquals(nm.packetFilter, [{ SrcIPs: ["1.1.1.1"] }]);
});

Deno.test("applyMapResponse() keeps DNS, Domain, DERP and profiles when absent; merges profiles", () => {
  let nm = base();
  nm = applyMapResponse(nm, {
    DNSConfig: { Proxied: true },
    UserProfiles: [{ ID: 1, LoginName: "a" }],
  });
  nm = applyMapResponse(nm, {
    Domain: "",
    DNSConfig: null,
    UserProfiles: [{ ID: 2, LoginName: "b", DisplayName: "B" }],
  });
  assertEquals(nm.dns, { Proxied: true });
  assertEquals(nm.domain, "tailnet.test");
  assertEquals([...nm.userProfiles.keys()], [1, 2]);
  assertEquals(nm.userProfiles.get(2)?.displayName, "B");
  nm = applyMapResponse(nm, { Node: node(1, { Name: "renamed.tailnet.test." }) });
  assertEquals(nm.self.name, "renamed.tailnet.test.");
  assertEquals(nm.peers.length, 2, "Node alone leaves peers");
});

Deno.test("mergeDerpMap() drops null regions and keeps absent Regions and HomeParams", () => {
  const first = mergeDerpMap(null, {
    Regions: { "1": { RegionID: 1, Nodes: [] }, "2": null },
    HomeParams: { RegionScore: { "1": 0.9 } },
    omitDefaultRegions: true,
  });
  assertEquals(Object.keys(first.Regions), ["1"]);
  assertEquals(first.OmitDefaultRegions, true);
  const kept = mergeDerpMap(first, { HomeParams: {} });
  assertEquals(Object.keys(kept.Regions), ["1"]);
  assertEquals(kept.OmitDefaultRegions, true);
  assertEquals(kept.HomeParams, { RegionScore: { "1": 0.9 } });
  const replaced = mergeDerpMap(kept, { Regions: { "5": { RegionID: 5, Nodes: [] } } });
  assertEquals(Object.keys(replaced.Regions), ["5"]);
  assertEquals(replaced.OmitDefaultRegions, undefined);
  assertEquals(replaced.HomeParams, { RegionScore: { "1": 0.9 } });
});

Deno.test("nodeFromRaw() applies upgradeNode: legacy DERP, nil AllowedIPs, expiry by control time", () => {
  const n = nodeFromRaw(
    node(5, { DERP: "127.3.3.40:901", KeyExpiry: "2026-11-25T12:00:00Z", Tags: ["tag:x"] }),
    Date.parse("2026-11-25T12:00:01Z"),
  );
  assertEquals(n.homeDerp, 901);
  assertEquals(n.allowedIps, ["100.64.0.5/32"]);
  assertEquals(n.expired, true);
  assertEquals(n.tags, ["tag:x"]);
  const zero = nodeFromRaw(node(6, { KeyExpiry: "0001-01-01T00:00:00Z", HomeDERP: 900 }), 0);
  assertEquals(zero.keyExpiry, null);
  assertEquals(zero.expired, false);
  assertEquals(zero.homeDerp, 900);
});

Deno.test("applyMapResponse() judges expiry by ControlTime, not a skewed local clock", () => {
  const local = Date.parse("2020-01-01T00:00:00Z"); // local clock years behind
  const nm = applyMapResponse(null, {
    Node: node(1),
    Peers: [node(2, { KeyExpiry: "2026-11-25T12:00:00Z" })],
    ControlTime: "2026-11-25T13:00:00Z",
  }, { nowMs: local });
  assertEquals(nm.peers[0].expired, true);
  const later = applyMapResponse(nm, { OnlineChange: { "2": true } }, { nowMs: local + 1000 });
  assertEquals(later.peers[0].expired, true, "skew is remembered");
});

Deno.test("applyMapResponse() keeps unknown top-level fields in extra; Health and DisplayMessages patch", () => {
  let nm = applyMapResponse(base(), {
    SSHPolicy: { rules: [] },
    FutureField: { x: 1 },
    Health: ["warn"],
    DisplayMessages: { a: { Title: "A" }, b: { Title: "B" } },
    PingRequest: { URL: "http://x/ping" },
  });
  assertEquals(nm.extra.FutureField, { x: 1 });
  assertEquals(nm.extra.SSHPolicy, { rules: [] });
  assertEquals(nm.extra.Health, ["warn"]);
  assertEquals("PingRequest" in nm.extra, false);
  nm = applyMapResponse(nm, { Health: null, DisplayMessages: { a: null } });
  assertEquals(nm.extra.Health, ["warn"], "nil Health is unchanged");
  assertEquals(Object.keys(nm.extra.DisplayMessages as JsonObject), ["b"]);
  nm = applyMapResponse(nm, { Health: [], DisplayMessages: { "*": null } });
  assertEquals("Health" in nm.extra, false);
  assertEquals("DisplayMessages" in nm.extra, false);
  // Unknown fields on nodes survive in raw.
  nm = applyMapResponse(nm, { PeersChanged: [node(2, { NewNodeField: [1, 2] })] });
  assertEquals(nm.peers[0].raw.NewNodeField, [1, 2]);
});

Deno.test("mergeDerpMap() gives every region a Nodes array", () => {
  const m = mergeDerpMap(null, {
    Regions: { "7": { RegionID: 7 }, "8": { RegionID: 8, Nodes: [1, { Name: "8a" }] } },
  });
  assertEquals(m.Regions["7"].Nodes, []);
  assertEquals(m.Regions["8"].Nodes.map((n) => n.Name), ["8a"]);
});

Deno.test("applyMapResponse() rebuilds only the peers a delta names; the others stay the same objects", () => {
  const first = applyMapResponse(null, {
    Node: node(1),
    Peers: [node(2), node(3), node(4), node(5)],
    PacketFilter: [{ SrcIPs: ["*"], DstPorts: [{ IP: "*", Ports: { First: 0, Last: 65535 } }] }],
  }, { nowMs: T0 });
  const next = applyMapResponse(first, {
    PeersChanged: [node(6), node(3, { Addresses: ["100.64.0.33/32"] })],
    PeersRemoved: [5],
    OnlineChange: { "4": true },
  }, { nowMs: T0 });
  assertEquals(next.peers.map((p) => p.id), [2, 3, 4, 6]);
  assert(next.peers[0] === first.peers[0], "an unchanged peer is the same object");
  assertEquals(next.peers[1].addresses, ["100.64.0.33/32"]);
  assertEquals(next.peers[2].online, true);
  assert(next.peers[2] !== first.peers[2], "a peer whose online state changed is rebuilt");
  assert(next.self === first.self, "self is kept when the response has no Node");
  assert(next.packetFilter === first.packetFilter, "the filter is kept when none is sent");
  // Nothing about peers: the peer list itself is the same.
  const same = applyMapResponse(next, { Domain: "tailnet.test" }, { nowMs: T0 });
  assert(same.peers === next.peers);
  // A key that expires by control's clock is marked so on the next response, changed or not.
  const expiring = applyMapResponse(null, {
    Node: node(1),
    Peers: [node(2, { KeyExpiry: new Date(T0 + 60_000).toISOString() }), node(3)],
  }, { nowMs: T0 });
  assertEquals(expiring.peers[0].expired, false);
  const later = applyMapResponse(expiring, { Domain: "x" }, { nowMs: T0 + 120_000 });
  assertEquals(later.peers.map((p) => p.expired), [true, false]);
  assert(later.peers[1] === expiring.peers[1]);
});
