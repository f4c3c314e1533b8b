/**
 * The packet filter against real peers: headscale v0.29.2 with an ACL policy file, real
 * tailscaled A and B as clients, and two targets side by side: our `tailnet daemon` (N) and a
 * real tailscaled (T). Both targets forward inbound connections to this machine's 127.0.0.1,
 * where an HTTP origin listens on two ports, WEB and SSH (free ports standing in for 8080 and
 * 22), and a UDP echo on a third.
 *
 * 1. Policy 1: A may reach N and T on WEB only; B nothing; N and T may reach A and B. A's curl
 *    (through A's SOCKS5) to WEB works, to SSH fails, B fails on both; N's and T's outbound
 *    curl to A works, and N's UDP through its SOCKS5 gets A's echo back (conntrack). N counts
 *    B's SYNs as dropped by the filter and sends TSMP rejects.
 * 2. Policy 2, headscale reloaded by SIGHUP: A may reach SSH only, B may reach WEB. The new
 *    rules apply on N without a restart (same PID).
 * 3. `set --shields-up` on N and T: nothing gets in, outbound still works.
 *
 * Every phase's table of outcomes is asserted against the expected table for N and for T:
 * they must agree. N's and T's compiled filters (`debug packet-filter-matches`, read from both
 * through our CLI) must be equal once each node's own address is written as SELF, for each
 * policy and for the allow-all one the lab starts with (headscale sends `*` as IP ranges).
 * Both count the refused packets in `tailscaled_inbound_dropped_packets_total{reason="acl"}`.
 * Runs once per pinned tailscale release.
 * @module
 */
import { assert, assertEquals } from "../../src/engine/base/testing/assert.ts";
import { LocalApiClient } from "../../src/localapi/client.ts";
import type { EngineStats } from "../../src/engine/engine.ts";
import { Lab, labAvailable, type LabNode, waitFor } from "../lab/mod.ts";
import { TAILSCALE_RELEASES } from "../lab/versions.ts";
import { TailnetDaemon } from "../lab/tailnet_daemon.ts";
import { socks5UdpExchange } from "../lab/socks5.ts";
import { runTailnet } from "../lab/tailnet_process.ts";
import { startUdpEcho } from "../lab/udp_echo.ts";
import { closedPort as freePort, curl } from "../../src/engine/proxy/testing/loopback.ts";

const ALLOW_ALL = '{"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}]}';

function report(line: string): void {
  // deno-lint-ignore no-console -- the outcome tables are this test's evidence
  console.error(`[filter interop] ${line}`);
}

/** The policy of a phase: who may reach which port of N and T, and N, T reaching A and B. */
function policy(ips: Record<string, string>, grants: [string, number][]): string {
  return JSON.stringify(
    {
      hosts: ips,
      acls: [
        ...grants.map(([src, port]) => ({
          action: "accept",
          src: [src],
          dst: [`n:${port}`, `t:${port}`],
        })),
        { action: "accept", src: ["n", "t"], dst: ["a:*", "b:*"] },
      ],
    },
    null,
    2,
  );
}

for (const release of TAILSCALE_RELEASES) {
  const available = labAvailable(release.version);
  Deno.test({
    name:
      `packet filter: headscale ACLs, a change and shields-up give the same reach on tailnet as on a real tailscaled ${release.version}`,
    ignore: !available.ok,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      if (!available.ok) return;
      await using lab = await Lab.start({
        tailscaleds: 3,
        tailscaleVersion: release.version,
        policy: ALLOW_ALL,
      });
      const [a, b, t] = lab.nodes;
      const socksPort = freePort();
      await using tn = await TailnetDaemon.create({
        args: [`--socks5-server=127.0.0.1:${socksPort}`],
      });
      const { v4: ipN } = await tn.up(lab.controlUrl, lab.authKey, "tn1");
      const pid = tn.pid;
      const v4 = async (n: LabNode) => (await n.ips()).find((i) => i.includes("."))!;
      const ips = { a: await v4(a), b: await v4(b), n: ipN, t: await v4(t) };
      report(`A ${ips.a}, B ${ips.b}, N (tailnet) ${ips.n}, T (tailscaled) ${ips.t}`);

      const ac = new AbortController();
      const origin = Deno.serve(
        { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
        (req) => new Response(`origin ${new URL(req.url).pathname}`),
      );
      const second = Deno.serve(
        { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
        (req) => new Response(`origin ${new URL(req.url).pathname}`),
      );
      const WEB = origin.addr.port, SSH = second.addr.port;
      await using udpEcho = startUdpEcho();
      const UDP = udpEcho.port;

      /** Whether `socks` gets the origin's answer for ip:port (a short curl). */
      const reach = async (socks: string, ip: string, port: number, path: string) => {
        const r = await curl(["--socks5", socks, `http://${ip}:${port}/${path}`], 4);
        return r.code === 0 && r.out === `origin /${path}` ? "ok" : "fail";
      };
      const ourSocks = `127.0.0.1:${socksPort}`;
      /** One phase's outcomes, for a target: who gets in, and whether it gets out. */
      const table = async (target: "n" | "t") => {
        const ip = ips[target];
        const out = target === "n" ? ourSocks : t.socks5Addr;
        const [aWeb, aSsh, bWeb, bSsh, outA] = await Promise.all([
          reach(a.socks5Addr, ip, WEB, "a-web"),
          reach(a.socks5Addr, ip, SSH, "a-ssh"),
          reach(b.socks5Addr, ip, WEB, "b-web"),
          reach(b.socks5Addr, ip, SSH, "b-ssh"),
          reach(out, ips.a, WEB, "out"),
        ]);
        return { "A->WEB": aWeb, "A->SSH": aSsh, "B->WEB": bWeb, "B->SSH": bSsh, "out->A": outA };
      };
      /** Waits until both targets show `want` twice in a row, then asserts they agree. */
      const phase = async (name: string, want: Record<string, string>) => {
        let last: Record<string, unknown> = {};
        let streak = 0;
        const t0 = performance.now();
        await waitFor(`${name}: the expected reach on N and T`, async () => {
          const [n, tt] = await Promise.all([table("n"), table("t")]);
          last = { tailnet: n, tailscaled: tt };
          const same = JSON.stringify(n) === JSON.stringify(want) &&
            JSON.stringify(tt) === JSON.stringify(want);
          streak = same ? streak + 1 : 0;
          return streak >= 2;
        }, { timeoutMs: 60_000, intervalMs: 500, details: () => JSON.stringify(last) });
        report(
          `${name}: after ${(performance.now() - t0).toFixed(0)} ms, tailnet and tailscaled: ${
            JSON.stringify(last.tailnet)
          }`,
        );
      };
      const stats = () => new LocalApiClient(tn.socket).json<EngineStats>("GET", "engine-stats");
      /** `debug packet-filter-matches` of a node (ours or tailscaled's) with its own IP as SELF. */
      const matches = async (socket: string, self: string) => {
        const r = await runTailnet(["--socket", socket, "debug", "packet-filter-matches"]);
        assertEquals(r.code, 0, r.stderr);
        return r.stdout.replaceAll(`${self}/32`, "SELF");
      };
      /** Waits until N's compiled filter shows `marks` (the new policy) and equals T's. */
      const sameFilters = async (name: string, marks: string[]) => {
        let last = "";
        await waitFor(`${name}: N's compiled filter has the new rules and equals T's`, async () => {
          const [n, tt] = [await matches(tn.socket, ips.n), await matches(t.socket, ips.t)];
          last = `tailnet ${n}\ntailscaled ${tt}`;
          return marks.every((m) => n.includes(m)) && n === tt;
        }, { timeoutMs: 30_000, intervalMs: 500, details: () => last });
      };

      try {
        // 0. headscale's "*" is the tailnet ranges as IP ranges (CGNAT without the ChromeOS
        // /23): our range-to-prefix compile must give tailscaled's prefixes.
        await sameFilters("allow-all policy", ['"100.115.94.0/23"', '"fd7a:115c:a1e0::/48"']);
        // 1. A reaches WEB only, B nothing.
        await lab.setPolicy(policy(ips, [["a", WEB]]));
        await sameFilters("policy 1", [`"${ips.a}/32"`, `"First": ${WEB}`]);
        report(
          `policy 1 compiled on both: ${(await matches(tn.socket, ips.n)).replace(/\s+/g, " ")}`,
        );
        const before = await stats();
        await phase("policy 1", {
          "A->WEB": "ok",
          "A->SSH": "fail",
          "B->WEB": "fail",
          "B->SSH": "fail",
          "out->A": "ok",
        });
        const after = await stats();
        const dropped = after.filter.inbound.drops.noRulesMatched -
          before.filter.inbound.drops.noRulesMatched;
        report(
          `N's filter: ${dropped} SYNs dropped by the rules, ${after.filter.rejectsSent} TSMP rejects, ${after.filter.inbound.accepts.tcpRule} SYNs let in by a rule, ${after.filter.inbound.accepts.tcpNonSyn} later TCP segments`,
        );
        assert(dropped >= 3, `N dropped ${dropped} SYNs by the rules`);
        assert(after.filter.rejectsSent > 0, "no TSMP reject sent");
        assertEquals(after.inbound.drops.filtered, after.filter.inbound.dropped);
        // Both count the refused packets in tailscaled's user metric.
        for (const [who, socket] of [["tailnet", tn.socket], ["tailscaled", t.socket]]) {
          const m = await runTailnet(["--socket", socket, "metrics", "print"]);
          const acl = /^tailscaled_inbound_dropped_packets_total\{reason="acl"\} (\d+)$/m
            .exec(m.stdout);
          report(`${who}: inbound packets dropped by the filter (acl): ${acl?.[1]}`);
          assert(acl !== null && Number(acl[1]) > 0, `${who}: no acl drops in metrics`);
        }
        // Our UDP out and its reply back in (a flow we opened; no rule lets A's UDP in).
        const echo = await socks5UdpExchange(socksPort, ips.a, UDP, "ping through N");
        assertEquals(echo, "echo:ping through N");
        assert(
          (await stats()).filter.inbound.accepts.flowReply > 0,
          "the UDP reply was not a flow reply",
        );

        // 2. The policy changes: applied live.
        await lab.setPolicy(policy(ips, [["a", SSH], ["b", WEB]]));
        await sameFilters("policy 2", [`"${ips.b}/32"`, `"First": ${SSH}`]);
        await phase("policy 2 (headscale reloaded)", {
          "A->WEB": "fail",
          "A->SSH": "ok",
          "B->WEB": "ok",
          "B->SSH": "fail",
          "out->A": "ok",
        });
        assertEquals(tn.pid, pid, "our daemon restarted");

        // 3. Shields up on both targets: nothing in, outbound unaffected.
        const up = await tn.cli(["set", "--shields-up"]);
        assertEquals(up.code, 0, up.stderr);
        await t.cliOk(["set", "--shields-up"]);
        await phase("shields-up", {
          "A->WEB": "fail",
          "A->SSH": "fail",
          "B->WEB": "fail",
          "B->SSH": "fail",
          "out->A": "ok",
        });
        assert((await stats()).filter.inbound.drops.shieldsUp > 0, "no drop counted as shields-up");
        assertEquals(
          await socks5UdpExchange(socksPort, ips.a, UDP, "shields up"),
          "echo:shields up",
        );
        assertEquals(tn.pid, pid, "our daemon restarted");
      } finally {
        ac.abort();
        await origin.finished;
        await second.finished;
      }
    },
  });
}
