/**
 * The engine (DERP path layer, WireGuard device, disco) against a real tailscaled through the
 * lab's real derper and headscale: our node registers with our control client, homes on the
 * lab's DERP region, tells control, and then disco pings cross DERP both ways. Skipped with the
 * reason when the lab is not built. Measured figures go to stderr as `[engine interop] …`.
 * @module
 */
import { assert, assertEquals, assertMatch } from "../../src/engine/base/testing/assert.ts";
import {
  Lab,
  LAB_DERP_REGION_CODE,
  LAB_DERP_REGION_ID,
  labAvailable,
  waitFor,
} from "../lab/mod.ts";
import { publicToText } from "../../src/engine/key/keys.ts";
import { InProcessNode } from "./_in_process_node.ts";

const available = labAvailable();

function report(line: string): void {
  // deno-lint-ignore no-console -- the measured numbers are the point of this test's output
  console.error(`[engine interop] ${line}`);
}

Deno.test({
  name: "engine: disco pings cross the real derper both ways with a real tailscaled",
  ignore: !available.ok,
  async fn() {
    if (!available.ok) return;
    await using lab = await Lab.start({ tailscaleds: 1 });
    const ts1 = lab.nodes[0];
    await using node = await InProcessNode.start({
      lab,
      hostname: "tailnet-engine",
      minPeers: 1,
      timeoutMs: 20_000,
    });
    const eng = node.engine;
    assertEquals(eng.homeDerp, LAB_DERP_REGION_ID);
    const ourKey = publicToText("node", eng.nodePublic);
    const ourIp = node.ips()[0];
    const peerIp = (await ts1.ips()).find((ip) => ip.includes("."))!;

    // The real node must learn our home DERP region from control before it can reach us.
    const t0 = performance.now();
    await waitFor("tailscaled sees our home DERP", async () => {
      const st = await ts1.status();
      const us = Object.values(st.Peer ?? {}).find((p) => p.PublicKey === ourKey);
      return us !== undefined && us.Relay === LAB_DERP_REGION_CODE;
    }, { timeoutMs: 20_000 });
    report(`home DERP learned by tailscaled in ${(performance.now() - t0).toFixed(0)} ms`);

    const ours = await eng.pingDisco(peerIp, 5_000);
    assertEquals(ours.Err, undefined, JSON.stringify(ours));
    assertEquals(ours.DERPRegionCode, LAB_DERP_REGION_CODE);
    report(
      `our disco ping to tailscaled: ${(ours.LatencySeconds! * 1000).toFixed(1)} ms via DERP`,
    );

    const theirs = await ts1.cli([
      "ping",
      "-c",
      "3",
      "--until-direct=false",
      "--timeout",
      "5s",
      ourIp,
    ]);
    assertEquals(theirs.code, 0, theirs.stdout + theirs.stderr);
    assertMatch(
      theirs.stdout,
      new RegExp(
        `pong from .* \\(${
          ourIp.replaceAll(".", "\\.")
        }\\) via DERP\\(${LAB_DERP_REGION_CODE}\\) in`,
      ),
    );
    report(`tailscale ping from tailscaled: ${theirs.stdout.trim().split("\n").join(" | ")}`);

    // Through WireGuard: the real node handshakes with us over DERP, we answer its pings.
    const ourIp6 = node.ips().find((a) => a.includes(":"))!;
    for (
      const [flag, ip] of [["--tsmp", ourIp], ["--icmp", ourIp], ["--icmp", ourIp6], [
        "--tsmp",
        ourIp6,
      ]]
    ) {
      const r = await ts1.cli(["ping", flag, "-c", "1", "--timeout", "5s", ip]);
      assertEquals(r.code, 0, `${flag} ${ip}: ${r.stdout}${r.stderr}`);
      assertMatch(
        r.stdout,
        new RegExp(`pong from tailnet-engine \\(${ip.replaceAll(".", "\\.")}`),
      );
      report(`tailscale ping ${flag} ${ip}: ${r.stdout.trim()}`);
    }
    const peerIp6 = (await ts1.ips()).find((ip) => ip.includes(":"))!;
    for (const [kind, ip] of [["ICMP", peerIp], ["TSMP", peerIp], ["ICMP", peerIp6]] as const) {
      const r = await eng.ping(ip, kind, 5_000);
      assertEquals(r.Err, undefined, `${kind} ${ip}: ${JSON.stringify(r)}`);
      assertEquals(r.DERPRegionCode, LAB_DERP_REGION_CODE);
      report(`our ${kind} ping to ${ip}: ${(r.LatencySeconds! * 1000).toFixed(1)} ms via DERP`);
    }
    const st = await ts1.status();
    const usSeen = Object.values(st.Peer ?? {}).find((p) => p.PublicKey === ourKey) as
      | Record<string, unknown>
      | undefined;
    assert(usSeen !== undefined);
    const lastHandshake = Date.parse(String(usSeen.LastHandshake));
    assert(Date.now() - lastHandshake < 60_000, `LastHandshake ${usSeen.LastHandshake}`);
    report(
      `tailscaled sees our handshake at ${usSeen.LastHandshake}, rx ${usSeen.RxBytes} tx ${usSeen.TxBytes}`,
    );
    assertEquals(eng.inbound.dropped, 0);
  },
});
