import { assert, assertEquals } from "../engine/base/testing/assert.ts";
import { applyMapResponse } from "../engine/control/netmap.ts";
import type { NetworkMap } from "../engine/control/types.ts";
import { chosenExitNode } from "./engine_config.ts";
import { defaultPrefs } from "./prefs.ts";
import { buildStatus, statusJsonPieces, type StatusSnapshot } from "./status.ts";

const key = (c: string) => "nodekey:" + c.repeat(64);

/** Our node, 100.64.0.1. */
const SELF = { ID: 1, StableID: "n1", Key: key("1"), Addresses: ["100.64.0.1/32"] };
/** A peer offering itself as exit node, with an IPv6 address. */
const EXIT_OFFER = {
  ID: 2,
  StableID: "n2",
  Key: key("2"),
  Addresses: ["100.64.0.2/32", "fd7a:115c:a1e0::2/128"],
  AllowedIPs: ["100.64.0.2/32", "fd7a:115c:a1e0::2/128", "0.0.0.0/0", "::/0"],
  Online: true,
};
/** A plain peer. */
const plainPeer = (id: number) => ({
  ID: id,
  StableID: `n${id}`,
  Key: key(String(id)),
  Addresses: [`100.64.0.${id}/32`],
});

/** A Running node's snapshot of `nm`, peers included, as the backend makes it. */
function snapshotOf(nm: NetworkMap, more: Partial<StatusSnapshot> = {}): StatusSnapshot {
  return {
    version: "0",
    state: "Running",
    haveNodeKey: true,
    nodeKey: key("1"),
    authUrl: null,
    netmap: nm,
    hostname: "me",
    os: "linux",
    health: [],
    peers: true,
    ...more,
  };
}

Deno.test("buildStatus(): the chosen exit node is ExitNode, and ExitNodeStatus names it", () => {
  const nm = applyMapResponse(null, { Node: SELF, Peers: [EXIT_OFFER, plainPeer(3)] });
  const none = buildStatus(snapshotOf(nm, { exitNode: null }));
  assertEquals(none.ExitNodeStatus, undefined);
  assert(none.Peer![key("2")].ExitNodeOption, "offers exit node");
  assert(!none.Peer![key("2")].ExitNode);
  assert(!none.Peer![key("3")].ExitNodeOption);

  const chosen = chosenExitNode({ ...defaultPrefs(), ExitNodeIP: "100.64.0.2" }, nm.peers);
  const st = buildStatus(snapshotOf(nm, { exitNode: chosen }));
  assert(st.Peer![key("2")].ExitNode, "the chosen peer is ExitNode");
  assertEquals(st.ExitNodeStatus, {
    ID: "n2",
    Online: true,
    TailscaleIPs: ["100.64.0.2/32", "fd7a:115c:a1e0::2/128"],
  });
});

Deno.test("statusJsonPieces(): joined, the pieces are buildStatus's tab-indented JSON", () => {
  const nm = applyMapResponse(null, {
    Node: SELF,
    Peers: [
      {
        ...EXIT_OFFER,
        Name: 'ünï-"quoted"\n😀.tailnet.',
        Tags: ["tag:a"],
        Hostinfo: { Hostname: "emoji 😀", OS: "linux" },
      },
      plainPeer(3),
      plainPeer(4),
    ],
    UserProfiles: [{ ID: 7, LoginName: "a@b", DisplayName: "A" }],
  });
  const base = snapshotOf(nm, {
    health: ["one warning"],
    exitNode: nm.peers[0],
    engineStats: { drops: { a: 1 }, nested: [{ b: [1, 2] }] },
    decoratePeer: (n, ps) => {
      ps.RxBytes = n.id * 10;
    },
  });
  const whole = (s: StatusSnapshot) => JSON.stringify(buildStatus(s), null, "\t") + "\n";
  const cases: [string, StatusSnapshot][] = [
    ["peers", base],
    ["peers=false", { ...base, peers: false }],
    ["no netmap", { ...base, netmap: null, exitNode: null }],
    ["no peers", { ...base, netmap: { ...nm, peers: [] }, exitNode: null }],
    // Two peers with one key: the object keeps one entry, so the text is made whole.
    ["one key twice", { ...base, netmap: { ...nm, peers: [...nm.peers, nm.peers[1]] } }],
  ];
  for (const [what, s] of cases) {
    const pieces = [...statusJsonPieces(s)];
    assertEquals(pieces.join(""), whole(s), what);
    JSON.parse(pieces.join(""));
  }
  // With peers, one piece per peer besides the head and tail.
  assertEquals([...statusJsonPieces(base)].length, nm.peers.length + 2);
});
