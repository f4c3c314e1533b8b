/**
 * Prefs decide what a real peer's routes become in our data plane: a real tailscaled advertises
 * an exit node and a subnet route, the lab's headscale approves both, and control hands them to
 * us in the peer's AllowedIPs. Our engine (`engineConfig()` then `Engine.reconfig()`) programs
 * WireGuard with the peer's own addresses only, until prefs choose it as exit node and accept
 * routes. The packet-level half (a packet from such a peer with another source address is
 * dropped and counted) is `src/ipn/engine_reconfig_test.ts`, with two of our engines.
 * Skipped with the reason when the lab is not built.
 * @module
 */
import { assert, assertEquals } from "../../src/engine/base/testing/assert.ts";
import { publicFromText } from "../../src/engine/key/keys.ts";
import { engineConfig } from "../../src/ipn/engine_config.ts";
import { defaultPrefs } from "../../src/ipn/prefs.ts";
import { Lab, labAvailable, waitFor } from "../lab/mod.ts";
import { InProcessNode } from "./_in_process_node.ts";

const available = labAvailable();
const SUBNET = "10.99.0.0/24";

interface HsNode {
  id: number | string;
  node_key: string;
}

Deno.test({
  name:
    "engine: a real tailscaled's approved exit node and subnet route reach WireGuard only as prefs choose",
  ignore: !available.ok,
  async fn() {
    if (!available.ok) return;
    await using lab = await Lab.start({ tailscaleds: 1 });
    const ts1 = lab.nodes[0];
    await ts1.cliOk(["set", "--advertise-exit-node", `--advertise-routes=${SUBNET}`]);
    const tsKey = (await ts1.status()).Self.PublicKey;
    let hsId = "";
    await waitFor("headscale to see the advertised routes", async () => {
      const nodes = await lab.headscale(["nodes", "list"]) as HsNode[];
      const n = nodes.find((x) => x.node_key === tsKey);
      if (n === undefined) return false;
      hsId = String(n.id);
      return true;
    }, { timeoutMs: 20_000 });
    await lab.headscale([
      "nodes",
      "approve-routes",
      "-i",
      hsId,
      "-r",
      `0.0.0.0/0,::/0,${SUBNET}`,
    ]);

    await using node = await InProcessNode.start({
      lab,
      hostname: "tailnet-exit-node",
      minPeers: 1,
      timeoutMs: 20_000,
    });
    const peerOf = () => node.statuses.at(-1)?.netmap?.peers.find((p) => p.key === tsKey);
    await waitFor("control to offer the exit node and the subnet route", () => {
      const p = peerOf();
      return p !== undefined && p.allowedIps.includes("0.0.0.0/0") &&
        p.allowedIps.includes(SUBNET);
    }, { timeoutMs: 20_000 });
    const peer = peerOf()!;
    const own = peer.addresses;
    const wgAllowed = () => {
      const st = node.engine.peerStatus(publicFromText("node", tsKey));
      assert(st.wg !== null, "the peer is configured in WireGuard");
      return [...st.wg.allowedIps].sort();
    };

    // Default prefs (what the in-process node runs): its own addresses only.
    assertEquals(wgAllowed(), [...own].sort());

    // Chosen as exit node, with accept-routes: the default routes and the subnet too.
    const nm = node.statuses.at(-1)!.netmap!;
    node.engine.reconfig(
      engineConfig({ ...defaultPrefs(), ExitNodeID: peer.stableId, RouteAll: true }, nm),
    );
    assertEquals(wgAllowed(), [...own, "0.0.0.0/0", "::/0", SUBNET].sort());

    // Back to defaults: gone again.
    node.engine.reconfig(engineConfig(defaultPrefs(), nm));
    assertEquals(wgAllowed(), [...own].sort());
  },
});
