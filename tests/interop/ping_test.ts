/**
 * Issue 6, "Reach peers", with the real `tailnet daemon` and CLI beside a real tailscaled in
 * the lab: WireGuard over the real derper, pings both ways (ICMP v4 and v6, TSMP, disco), the
 * handshake as tailscaled reports it, rekeys crossed during a run of pings (TAILNET_SOAK_SECONDS,
 * default 40, lengthened when needed so that at least one rekey falls inside it; our
 * rekey-after-time shortened to TAILNET_SOAK_REKEY_SECONDS, default 10, through the daemon's
 * TAILNET_DEBUG_REKEY_AFTER_SECONDS knob; 0 keeps WireGuard's 120 s), and recovery after
 * derper is down for TAILNET_DERP_OUTAGE_SECONDS (default 20 s).
 * Measured figures go to stderr as `[ping interop] …`.
 * Runs once per pinned tailscale release (tests/lab/versions.ts, version in the test name); the
 * soak and the derper outage against the default release only.
 * @module
 */
import { assert, assertEquals, assertMatch } from "../../src/engine/base/testing/assert.ts";
import { Lab, LAB_DERP_REGION_CODE, labAvailable, sleep, waitFor } from "../lab/mod.ts";
import { TAILSCALE_RELEASES } from "../lab/versions.ts";
import { TailnetDaemon } from "../lab/tailnet_daemon.ts";
import { LocalApiClient } from "../../src/localapi/client.ts";

const SOAK_S = Number(Deno.env.get("TAILNET_SOAK_SECONDS") ?? 40);
const OUTAGE_S = Number(Deno.env.get("TAILNET_DERP_OUTAGE_SECONDS") ?? 20);
const REKEY_S = Number(Deno.env.get("TAILNET_SOAK_REKEY_SECONDS") ?? 10);
/** The rekey interval in force: ours shortened, or WireGuard's 120 s (tailscaled's then). */
const REKEY_EVERY_S = REKEY_S > 0 ? REKEY_S : 120;
/** The soak: as asked, but long enough to cross at least one rekey (with 15 s to spare). */
const SOAK_RUN_S = Math.max(SOAK_S, REKEY_EVERY_S + 15);

function report(line: string): void {
  // deno-lint-ignore no-console -- the measured numbers are the point of this test's output
  console.error(`[ping interop] ${line}`);
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// The core of this file runs against every pinned tailscale release (tailscaled, its CLI and
// derper from that release); the soak and the derper outage, a minute together, against the
// default release only.
for (const release of TAILSCALE_RELEASES) {
  const available = labAvailable(release.version);
  const long = release === TAILSCALE_RELEASES[0];
  Deno.test({
    name: `tailnet daemon reaches a real tailscaled ${release.version} through DERP and WireGuard`,
    ignore: !available.ok,
    sanitizeResources: false,
    async fn(t) {
      if (!available.ok) return;
      // DERP only on both sides (tailscaled's knob, which our daemon follows too): this file
      // proves the relayed path; tests/interop/direct_test.ts proves the direct one.
      const derpOnly = { TS_DEBUG_NEVER_DIRECT_UDP: "1" };
      await using lab = await Lab.start({
        tailscaleds: 1,
        tailscaleVersion: release.version,
        nodeEnv: derpOnly,
      });
      const ts1 = lab.nodes[0];
      await using tn = await TailnetDaemon.create({
        env: {
          ...derpOnly,
          ...(REKEY_S > 0 ? { TAILNET_DEBUG_REKEY_AFTER_SECONDS: String(REKEY_S) } : {}),
        },
      });
      const { v4: our4, v6: our6 } = await tn.up(lab.controlUrl, lab.authKey, "tn1");
      const peerIps = await ts1.ips();
      const [peer4, peer6] = [
        peerIps.find((i) => i.includes("."))!,
        peerIps.find((i) => i.includes(":"))!,
      ];
      const ourKey = JSON.parse((await tn.cli(["status", "--json"])).stdout).Self
        .PublicKey as string;
      await waitFor("tailscaled to learn our home DERP", async () => {
        const st = await ts1.status();
        return Object.values(st.Peer ?? {}).some((p) =>
          p.PublicKey === ourKey && p.Relay === LAB_DERP_REGION_CODE
        );
      }, { timeoutMs: 20_000 });

      const theirPing = (flag: string, ip: string) =>
        ts1.cli(["ping", flag, "-c", "1", "--timeout", "5s", ip]);
      const ourPing = (flag: string[], ip: string) =>
        tn.cli(["ping", ...flag, "-c", "1", "--timeout", "5s", ip]);

      const ts1Key = (await ts1.status()).Self.PublicKey;
      /** Handshakes our side has completed with ts1, from our status --json. */
      const ourHandshakes = async () => {
        const st = JSON.parse((await tn.cli(["status", "--json"])).stdout);
        const peers = st.TailnetEngine.wireguard.peers as Record<string, { handshakes: number }>;
        return peers[ts1Key]?.handshakes ?? 0;
      };

      if (long) {
        await t.step(
          `pings both ways every second for ${SOAK_RUN_S} s cross rekeys with no loss`,
          async () => {
            const handshakes = new Set<string>();
            let lost = 0;
            let sent = 0;
            let oursAtStart = -1;
            const end = Date.now() + SOAK_RUN_S * 1000;
            while (Date.now() < end) {
              // With our rekey timer shortened, ours go first: the session is then ours and we
              // initiate every rekey, which tailscaled must accept. With WireGuard's real timers
              // (TAILNET_SOAK_REKEY_SECONDS=0) theirs go first, so tailscaled initiates the session
              // and its rekeys, every 120 s, are the ones crossed.
              const order = REKEY_S > 0
                ? [() => ourPing(["--tsmp"], peer4), () => theirPing("--tsmp", our4)]
                : [() => theirPing("--tsmp", our4), () => ourPing(["--tsmp"], peer4)];
              for (const ping of order) {
                sent++;
                if ((await ping()).code !== 0) lost++;
              }
              // The first session's handshake is done once the first pings are answered.
              if (oursAtStart < 0) oursAtStart = await ourHandshakes();
              const st = await ts1.status();
              const us = Object.values(st.Peer ?? {}).find((p) => p.PublicKey === ourKey) as Record<
                string,
                unknown
              >;
              handshakes.add(String(us.LastHandshake));
              await sleep(1000);
            }
            const ourRekeys = (await ourHandshakes()) - oursAtStart;
            // tailscaled's LastHandshake took one value per session: the first, then one per rekey.
            const theirRekeys = handshakes.size - 1;
            report(
              `${sent} pings over ${SOAK_RUN_S} s, ${lost} lost; rekeys: ${ourRekeys} counted by us, ${theirRekeys} seen by tailscaled`,
            );
            assertEquals(lost, 0);
            // One rekey per interval after the first session's, less one for the edges.
            const want = Math.max(1, Math.floor(SOAK_RUN_S / REKEY_EVERY_S) - 1);
            assert(ourRekeys >= want, `we completed ${ourRekeys} rekeys, want ${want}`);
            assert(theirRekeys >= want, `tailscaled saw ${theirRekeys} rekeys, want ${want}`);
          },
        );
      }

      await t.step("tailscale ping --icmp and --tsmp reach us (v4 and v6)", async () => {
        for (
          const [flag, ip] of [["--icmp", our4], ["--icmp", our6], ["--tsmp", our4], [
            "--tsmp",
            our6,
          ]]
        ) {
          const r = await theirPing(flag, ip);
          assertEquals(r.code, 0, `${flag} ${ip}: ${r.stdout}${r.stderr}`);
          assertMatch(r.stdout, new RegExp(`^pong from tn1 \\(${escapeRe(ip)}\\)`));
          report(`tailscale ping ${flag} ${ip}: ${r.stdout.trim()}`);
        }
      });

      await t.step("tailnet ping reaches the real node via DERP (ICMP, TSMP, disco)", async () => {
        for (
          const [flag, ip] of [[["--icmp"], peer4], [["--icmp"], peer6], [["--tsmp"], peer4], [
            [],
            peer4,
          ]] as const
        ) {
          const r = await ourPing(
            flag.length ? [...flag] : ["--until-direct=false"],
            ip,
          );
          assertEquals(r.code, 0, `${flag} ${ip}: ${r.stdout}${r.stderr}`);
          assertMatch(
            r.stdout,
            new RegExp(
              `^pong from ts1 \\(${
                escapeRe(ip)
              }(, \\d+)?\\) via DERP\\(${LAB_DERP_REGION_CODE}\\) in \\d+ms`,
            ),
          );
          report(`tailnet ping ${flag.join(" ") || "(disco)"} ${ip}: ${r.stdout.trim()}`);
        }
        const byName = await ourPing(["--tsmp"], "ts1");
        assertEquals(byName.code, 0, byName.stderr);
      });

      await t.step(
        "tailscaled reports a recent handshake with us; our status has counters",
        async () => {
          const st = await ts1.status();
          const us = Object.values(st.Peer ?? {}).find((p) => p.PublicKey === ourKey) as Record<
            string,
            unknown
          >;
          // A live session's handshake is never older than reject-after-time (180 s); rekeys
          // come every 120 s, so after a long soak it may well be over a minute old.
          assert(
            Date.now() - Date.parse(String(us.LastHandshake)) < 180_000,
            `LastHandshake ${us.LastHandshake}`,
          );
          const ours = JSON.parse((await tn.cli(["status", "--json"])).stdout);
          const peer = Object.values(ours.Peer as Record<string, Record<string, unknown>>)[0];
          assert(
            (peer.RxBytes as number) > 0 && (peer.TxBytes as number) > 0,
            JSON.stringify(peer),
          );
          assertEquals(peer.Relay, LAB_DERP_REGION_CODE);
          // Counters: per-peer packets and drops by reason in status --json and the LocalAPI.
          const engine = ours.TailnetEngine as {
            wireguard: {
              drops: Record<string, number>;
              peers: Record<string, { rxPackets: number; txPackets: number }>;
            };
          };
          const wgPeer = engine.wireguard.peers[peer.PublicKey as string];
          assert(wgPeer.rxPackets > 0 && wgPeer.txPackets > 0, JSON.stringify(wgPeer));
          assertEquals(engine.wireguard.drops.badMac, 0);
          const api = await new LocalApiClient(tn.socket).json<
            { derp: { regions: { connects: number } } }
          >(
            "GET",
            "engine-stats",
          );
          assert(api.derp.regions.connects >= 1, JSON.stringify(api.derp));
        },
      );

      if (long) {
        await t.step(
          `derper down for ${OUTAGE_S} s: pings stop, then resume within 10 s of its return`,
          async () => {
            await lab.stopDerper();
            const during = await ourPing(["--tsmp"], peer4);
            assert(during.code !== 0, "a ping crossed a stopped derper");
            await sleep(OUTAGE_S * 1000);
            await lab.startDerper();
            const back = performance.now();
            let oursAt = 0;
            let theirsAt = 0;
            await waitFor("pings to resume both ways", async () => {
              if (oursAt === 0 && (await ourPing(["--tsmp"], peer4)).code === 0) {
                oursAt = performance.now();
              }
              if (theirsAt === 0 && (await theirPing("--tsmp", our4)).code === 0) {
                theirsAt = performance.now();
              }
              return oursAt !== 0 && theirsAt !== 0;
            }, { timeoutMs: 30_000, intervalMs: 200 });
            const ours = (oursAt - back) / 1000;
            const theirs = (theirsAt - back) / 1000;
            report(
              `after derper's return: our ping back in ${ours.toFixed(1)} s, tailscaled's in ${
                theirs.toFixed(1)
              } s`,
            );
            assert(ours < 10 && theirs < 10, `resumed after ${ours} s / ${theirs} s`);
          },
        );
      }
    },
  });
}
