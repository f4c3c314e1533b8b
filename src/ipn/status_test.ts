import { assert, assertEquals } from "../engine/base/testing/assert.ts";
import { applyMapResponse } from "../engine/control/netmap.ts";
import { chosenExitNode } from "./engine_config.ts";
import { defaultPrefs } from "./prefs.ts";
import { buildStatus, type StatusSnapshot } from "./status.ts";

const key = (c: string) => "nodekey:" + c.repeat(64);

Deno.test("buildStatus(): the chosen exit node is ExitNode, and ExitNodeStatus names it", () => {
  const nm = applyMapResponse(null, {
    Node: { ID: 1, StableID: "n1", Key: key("1"), Addresses: ["100.64.0.1/32"] },
    Peers: [
      {
        ID: 2,
        StableID: "n2",
        Key: key("2"),
        Addresses: ["100.64.0.2/32", "fd7a:115c:a1e0::2/128"],
        AllowedIPs: ["100.64.0.2/32", "fd7a:115c:a1e0::2/128", "0.0.0.0/0", "::/0"],
        Online: true,
      },
      { ID: 3, StableID: "n3", Key: key("3"), Addresses: ["100.64.0.3/32"] },
    ],
  });
  const snap = (exitNode: StatusSnapshot["exitNode"]): StatusSnapshot => ({
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
    exitNode,
  });
  const none = buildStatus(snap(null));
  assertEquals(none.ExitNodeStatus, undefined);
  assert(none.Peer![key("2")].ExitNodeOption, "offers exit node");
  assert(!none.Peer![key("2")].ExitNode);
  assert(!none.Peer![key("3")].ExitNodeOption);

  const chosen = chosenExitNode({ ...defaultPrefs(), ExitNodeIP: "100.64.0.2" }, nm.peers);
  const st = buildStatus(snap(chosen));
  assert(st.Peer![key("2")].ExitNode, "the chosen peer is ExitNode");
  assertEquals(st.ExitNodeStatus, {
    ID: "n2",
    Online: true,
    TailscaleIPs: ["100.64.0.2/32", "fd7a:115c:a1e0::2/128"],
  });
});
