import { assert, assertEquals } from "../base/testing/assert.ts";
import { type DiscoPublic, generatePrivate, type NodePublic, publicOf } from "../key/keys.ts";
import { parseIpAddr } from "../wire/ip_addr.ts";
import { parseCandidates } from "./endpoint.ts";
import { addrPortKey, bytesKey, PeerMap } from "./peer_map.ts";

const nodeKey = (): NodePublic => publicOf(generatePrivate("node"));
const discoKey = (): DiscoPublic => publicOf(generatePrivate("disco"));

Deno.test("PeerMap finds a peer by node key, disco key and ip:port", () => {
  const m = new PeerMap();
  const nk = nodeKey(), dk = discoKey();
  m.replace([{
    nodeKey: nk,
    discoKey: dk,
    homeDerp: 900,
    candidates: parseCandidates(["192.0.2.1:41641", "[2001:db8::1]:41642"]),
  }]);
  const ep = m.byNodeKey(nk.slice() as NodePublic);
  if (ep === undefined) throw new Error("peer not found by node key");
  assertEquals(ep.homeDerp, 900);
  assertEquals(m.byDiscoKey(dk.slice() as DiscoPublic), ep);
  assertEquals(m.byAddrPort(parseIpAddr("192.0.2.1"), 41641), ep);
  assertEquals(m.byAddrPort(parseIpAddr("2001:db8::1"), 41642), ep);
  assertEquals(m.byAddrPort(parseIpAddr("192.0.2.1"), 41642), undefined);
  assertEquals(m.byNodeKey(nodeKey()), undefined);
});

Deno.test("PeerMap.replace() keeps a staying peer's endpoint object and returns the removed", () => {
  const m = new PeerMap();
  const a = nodeKey(), b = nodeKey();
  const dk = discoKey();
  m.replace([
    { nodeKey: a, discoKey: dk, homeDerp: 1, candidates: parseCandidates(["192.0.2.1:1"]) },
    { nodeKey: b, discoKey: null, homeDerp: 1, candidates: [] },
  ]);
  const epA = m.byNodeKey(a)!;
  const epB = m.byNodeKey(b)!;
  epA.candidates[0].lastPongAt = 123;
  const removed = m.replace([
    { nodeKey: a, discoKey: null, homeDerp: 2, candidates: parseCandidates(["192.0.2.1:1"]) },
  ]);
  assertEquals(removed, [epB]);
  assertEquals(m.byNodeKey(a), epA);
  assertEquals(epA.homeDerp, 2);
  assertEquals(epA.candidates[0].lastPongAt, 123, "a candidate still listed keeps its pong");
  assertEquals(m.byDiscoKey(dk), undefined, "the disco key went away");
  assertEquals(m.size, 1);
});

Deno.test("parseCandidates() reads v4 and bracketed v6, skips bad ones and duplicates", () => {
  const c = parseCandidates([
    "192.0.2.1:41641",
    "[2001:DB8:0:0::1]:7",
    "192.0.2.1:41641",
    "nonsense",
    "192.0.2.1:70000",
    "[::1]",
  ]);
  assertEquals(c.map((x) => x.text), ["192.0.2.1:41641", "[2001:db8::1]:7"]);
  assertEquals(c[1].ip.length, 16);
});

Deno.test("bytesKey() and addrPortKey() are exact and distinct per family and port", () => {
  assertEquals(bytesKey(new Uint8Array([0, 255, 1])), "\u0000\u00ff\u0001");
  const v4 = addrPortKey(parseIpAddr("10.0.0.1"), 1);
  assert(v4 !== addrPortKey(parseIpAddr("10.0.0.1"), 256));
  assert(v4 !== addrPortKey(parseIpAddr("::ffff:10.0.0.1"), 1));
});

Deno.test("PeerMap.update() changes and removes only the peers it names", () => {
  const m = new PeerMap();
  const a = nodeKey(), b = nodeKey(), c = nodeKey();
  const da = discoKey(), db = discoKey(), db2 = discoKey();
  m.replace([
    { nodeKey: a, discoKey: da, homeDerp: 1, candidates: parseCandidates(["192.0.2.1:1"]) },
    { nodeKey: b, discoKey: db, homeDerp: 1, candidates: parseCandidates(["192.0.2.2:2"]) },
    { nodeKey: c, discoKey: null, homeDerp: 1, candidates: parseCandidates(["192.0.2.3:3"]) },
  ]);
  const epA = m.byNodeKey(a)!;
  const epB = m.byNodeKey(b)!;
  const removed = m.update(
    [{ nodeKey: b, discoKey: db2, homeDerp: 2, candidates: parseCandidates(["192.0.2.9:9"]) }],
    [c],
  );
  assertEquals(removed.length, 1);
  assert(removed[0].nodeKey.every((x, i) => x === c[i]));
  assertEquals(m.size, 2);
  assert(m.byNodeKey(a) === epA, "an untouched peer keeps its endpoint");
  assertEquals(m.byDiscoKey(da), epA);
  assertEquals(m.byAddrPort(parseIpAddr("192.0.2.1"), 1), epA);
  assert(m.byNodeKey(b) === epB, "a changed peer is updated in place");
  assertEquals(epB.homeDerp, 2);
  assertEquals(m.byDiscoKey(db), undefined, "the old disco key is no longer indexed");
  assertEquals(m.byDiscoKey(db2), epB);
  assertEquals(m.byAddrPort(parseIpAddr("192.0.2.2"), 2), undefined);
  assertEquals(m.byAddrPort(parseIpAddr("192.0.2.9"), 9), epB);
  assertEquals(m.byAddrPort(parseIpAddr("192.0.2.3"), 3), undefined);
  assertEquals(m.byNodeKey(c), undefined);
});
