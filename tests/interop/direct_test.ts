/**
 * Issue 13, direct paths, first acceptance: our daemon and a real tailscaled on one host, no
 * NAT. Disco finds the direct UDP path both ways: `tailnet ping` ends `via ADDR:PORT` within
 * 5 s, tailscaled's status shows us `direct`, `tailscale ping` to us ends `via ADDR:PORT`,
 * our status shows `CurAddr`, and 10 MiB each way through the SOCKS5 proxies arrive whole
 * with most datagrams over UDP. Figures go to stderr as `[direct interop] …`. Runs once per
 * pinned tailscale release; skipped with the reason when the lab is not built.
 * @module
 */
import { assert, assertEquals, assertMatch } from "../../src/engine/base/testing/assert.ts";
import { Lab, LAB_DERP_REGION_CODE, labAvailable, waitFor } from "../lab/mod.ts";
import { TAILSCALE_RELEASES } from "../lab/versions.ts";
import { TailnetDaemon } from "../lab/tailnet_daemon.ts";
import { assertTransferWhole, socks5Transfer } from "../lab/transfer.ts";
import { closedPort as freePort } from "../../src/engine/proxy/testing/loopback.ts";

const MIB = 1 << 20;
const ADDR_PORT = String.raw`(\d+\.\d+\.\d+\.\d+|\[[0-9a-f:]+\]):\d+`;

function report(line: string): void {
  // deno-lint-ignore no-console -- the measured numbers are the point of this test's output
  console.error(`[direct interop] ${line}`);
}

interface PathStats {
  sentUdp: number;
  sentDerp: number;
  receivedUdp: number;
  receivedDerp: number;
}

for (const release of TAILSCALE_RELEASES) {
  const available = labAvailable(release.version);
  Deno.test({
    name: `tailnet daemon finds a direct UDP path to a real tailscaled ${release.version}`,
    ignore: !available.ok,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn(t) {
      if (!available.ok) return;
      await using lab = await Lab.start({ tailscaleds: 1, tailscaleVersion: release.version });
      const ts1 = lab.nodes[0];
      const socksPort = freePort();
      await using tn = await TailnetDaemon.create({
        args: ["--port=0", `--socks5-server=127.0.0.1:${socksPort}`],
      });
      const { v4: ours4 } = await tn.up(lab.controlUrl, lab.authKey, "tn1");
      const peer4 = (await ts1.ips()).find((i) => i.includes("."))!;
      const ourKey = (await tn.status()).Self!.PublicKey;
      const ourPeer = async () => {
        const st = await ts1.status();
        return Object.values(st.Peer ?? {}).find((p) => p.PublicKey === ourKey) as
          | Record<string, unknown>
          | undefined;
      };
      // tailscaled's status lists no peer endpoints (Addrs is its own only): wait until it has
      // our node with its home region; its pings below show it has our endpoints too.
      await waitFor("tailscaled to learn our node", async () => {
        const p = await ourPeer();
        return p !== undefined && p.Relay === LAB_DERP_REGION_CODE;
      }, { timeoutMs: 20_000 });

      await t.step("tailnet ping goes direct within 5 s", async () => {
        const t0 = performance.now();
        const r = await tn.cli(["ping", "-c", "10", "--timeout", "2s", peer4], 30_000);
        const s = (performance.now() - t0) / 1000;
        report(`tailnet ping (${s.toFixed(1)} s):\n${r.stdout.trim()}`);
        assertEquals(r.code, 0, r.stdout + r.stderr);
        const lines = r.stdout.trim().split("\n");
        assertMatch(lines[lines.length - 1], new RegExp(`via ${ADDR_PORT} in \\d+ms$`));
        assert(s < 5, `direct after ${s.toFixed(1)} s`);
      });

      await t.step("tailscale ping to us ends direct; tailscaled shows us direct", async () => {
        const r = await ts1.cli(["ping", "-c", "10", "--timeout", "2s", ours4]);
        report(`tailscale ping:\n${r.stdout.trim()}`);
        assertEquals(r.code, 0, r.stdout + r.stderr);
        const lines = r.stdout.trim().split("\n");
        assertMatch(lines[lines.length - 1], new RegExp(`via ${ADDR_PORT} in \\d+ms$`));
        await waitFor("tailscaled to show us direct", async () => {
          const p = await ourPeer();
          return typeof p?.CurAddr === "string" && p.CurAddr !== "";
        }, { timeoutMs: 10_000 });
        const text = await ts1.cliOk(["status"]);
        report(`tailscale status: ${text.trim().split("\n").find((l) => l.includes("tn1"))}`);
        assertMatch(text, new RegExp(`tn1 .*direct ${ADDR_PORT}`));
      });

      await t.step("10 MiB each way through the proxies over the direct path", async () => {
        const stats = async () =>
          ((await tn.status()) as unknown as { TailnetEngine: { path: PathStats } })
            .TailnetEngine.path;
        const before = await stats();
        const out = await socks5Transfer(`127.0.0.1:${socksPort}`, peer4, 10 * MIB);
        assertTransferWhole(out, "ours to the peer");
        const back = await socks5Transfer(ts1.socks5Addr, ours4, 10 * MIB);
        assertTransferWhole(back, "the peer to us");
        const after = await stats();
        const d = (k: keyof PathStats) => after[k] - before[k];
        const mibs = (r: { bytes: number; ms: number }) =>
          `${(r.bytes / MIB / (r.ms / 1000)).toFixed(1)} MiB/s`;
        report(
          `10 MiB ours -> tailscaled ${mibs(out)}, tailscaled -> ours ${mibs(back)}; datagrams ` +
            `sent UDP ${d("sentUdp")} DERP ${d("sentDerp")}, received UDP ${
              d("receivedUdp")
            } DERP ${d("receivedDerp")}`,
        );
        assert(d("sentUdp") > 10 * d("sentDerp"), "most sent over UDP");
        assert(d("receivedUdp") > 10 * d("receivedDerp"), "most received over UDP");
      });

      await t.step("our status shows the direct path (the session active)", async () => {
        const st = await tn.status();
        const p = Object.values(st.Peer ?? {})[0] as unknown as Record<string, string>;
        assertMatch(p.CurAddr, new RegExp(`^${ADDR_PORT}$`));
        const text = (await tn.cli(["status"])).stdout;
        report(`tailnet status: ${text.trim().split("\n").find((l) => l.includes("ts1"))}`);
        assertMatch(text, new RegExp(`ts1 .*direct ${ADDR_PORT}`));
      });
    },
  });
}
