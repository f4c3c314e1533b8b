/**
 * The daemon's proxies against a real tailscaled in the lab: `tailnet daemon
 * --socks5-server … --outbound-http-proxy-listen …` joined to headscale beside one tailscaled
 * (userspace mode, which forwards inbound connections to this machine's 127.0.0.1). curl
 * reaches an HTTP server on 127.0.0.1 at the peer's tailnet IP and MagicDNS names through
 * both of our proxies; a Deno client relays UDP through SOCKS5 UDP ASSOCIATE into the
 * tailnet; the answers for a refused port are compared with tailscaled's own proxies (both
 * refuse; our codes are the more specific ones socks5_server.ts and http_proxy.ts document); and
 * 16 MiB move each way (ours → tailscaled, tailscaled's SOCKS5 → us) with SHA-256 checks.
 * Figures go to stderr as `[proxy interop] …`. Skipped with the reason when the lab is not built.
 * Runs once per pinned tailscale release (tests/lab/versions.ts, version in the test name).
 * @module
 */
import { createHash } from "node:crypto";
import { assertEquals, assertMatch } from "../../src/engine/base/testing/assert.ts";
import { Lab, labAvailable, waitFor } from "../lab/mod.ts";
import { TAILSCALE_RELEASES } from "../lab/versions.ts";
import { TailnetDaemon } from "../lab/tailnet_daemon.ts";
import { startUdpEcho } from "../lab/udp_echo.ts";
import { assertTransferWhole, socks5Transfer } from "../lab/transfer.ts";
import { connectRequest, dialProxy, socks5UdpExchange } from "../lab/socks5.ts";
import {
  closedPort as freePort,
  curl as loopbackCurl,
  readExactly,
} from "../../src/engine/proxy/testing/loopback.ts";

const MIB = 1 << 20;
/** Size of the bulk downloads through both proxies (PROXY_INTEROP_MIB, default 100). */
const BIG_MIB = Number(Deno.env.get("PROXY_INTEROP_MIB") ?? 100);

function report(line: string): void {
  // deno-lint-ignore no-console -- the measured numbers are the point of this test's output
  console.error(`[proxy interop] ${line}`);
}

/** curl as the proxy unit tests run it, with the longer limit this lab test has always used. */
const curl = (args: string[]) => loopbackCurl(args, 15);

/** The reply code (0 is success) `proxy` gives a SOCKS5 CONNECT to ip:port, no auth. */
async function socks5ReplyCode(proxy: string, ip: string, port: number): Promise<number> {
  const c = await dialProxy(proxy);
  try {
    await c.write(new Uint8Array([5, 1, 0]));
    assertEquals([...await readExactly(c, 2)], [5, 0], `${proxy}: no-auth method`);
    await c.write(connectRequest(ip, port));
    return (await readExactly(c, 2))[1];
  } finally {
    c.close();
  }
}

// The same checks against every pinned tailscale release (tailscaled, its CLI and derper from
// that release); the bulk downloads are BIG_MIB against the default release, 1 MiB against others.
for (const release of TAILSCALE_RELEASES) {
  const available = labAvailable(release.version);
  const bigMib = release === TAILSCALE_RELEASES[0] ? BIG_MIB : 1;
  Deno.test({
    name:
      `tailnet daemon's SOCKS5 and HTTP proxies reach a real tailscaled ${release.version} (curl, UDP, 16 MiB, ${bigMib} MiB, IPv6)`,
    ignore: !available.ok,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      if (!available.ok) return;
      await using lab = await Lab.start({ tailscaleds: 1, tailscaleVersion: release.version });
      const ts1 = lab.nodes[0];
      const socksPort = freePort(), httpPort = freePort();
      await using tn = await TailnetDaemon.create({
        args: [
          `--socks5-server=127.0.0.1:${socksPort}`,
          `--outbound-http-proxy-listen=127.0.0.1:${httpPort}`,
        ],
      });
      const { v4: ours4 } = await tn.up(lab.controlUrl, lab.authKey, "tn1");
      const peer4 = (await ts1.ips()).find((i) => i.includes("."))!;
      const peer6 = (await ts1.ips()).find((i) => i.includes(":"))!;
      const st = await ts1.status();
      const fqdn = String((st as unknown as { Self: { DNSName: string } }).Self.DNSName)
        .replace(/\.$/, "");
      const short = fqdn.split(".")[0];

      // An HTTP origin and a UDP echo on this machine's loopback: the peer forwards to them.
      const ac = new AbortController();
      // `/big` is bigMib of deterministic bytes, for the bulk downloads through both proxies.
      const big = new Uint8Array(bigMib * MIB);
      for (let i = 0; i < big.length; i += 4093) big[i] = (i * 31) & 0xff;
      const bigSha = createHash("sha256").update(big).digest("hex");
      const origin = Deno.serve(
        { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
        async (req) => {
          const path = new URL(req.url).pathname;
          if (path === "/big") return new Response(big);
          return new Response(`origin ${path} ${await req.text()}`);
        },
      );
      await using udpEcho = startUdpEcho();
      const port = origin.addr.port;
      const socks = ["--socks5-hostname", `127.0.0.1:${socksPort}`];
      const http = ["-x", `http://127.0.0.1:${httpPort}`];
      try {
        const t0 = performance.now();
        await waitFor(
          "a first connection through our SOCKS5 to the peer",
          async () => (await curl([...socks, `http://${peer4}:${port}/first`])).code === 0,
          { timeoutMs: 30_000, intervalMs: 500 },
        );
        report(
          `first CONNECT to ${peer4} answered after ${(performance.now() - t0).toFixed(0)} ms`,
        );
        const cases: [string, string[], string][] = [
          ["SOCKS5, short name", [...socks, `http://${short}:${port}/a`], "origin /a "],
          ["SOCKS5, FQDN", [...socks, `http://${fqdn}:${port}/b`], "origin /b "],
          [
            "SOCKS5, IP",
            ["--socks5", `127.0.0.1:${socksPort}`, `http://${peer4}:${port}/c`],
            "origin /c ",
          ],
          ["HTTP absolute URI, FQDN", [...http, `http://${fqdn}:${port}/d`], "origin /d "],
          [
            "HTTP POST, short name",
            [...http, "--data", "x=1", `http://${short}:${port}/e`],
            "origin /e x=1",
          ],
          ["HTTP CONNECT, IP", ["-p", ...http, `http://${peer4}:${port}/f`], "origin /f "],
          ["SOCKS5 to the host side", [...socks, `http://127.0.0.1:${port}/g`], "origin /g "],
        ];
        for (const [what, args, want] of cases) {
          const r = await curl(args);
          assertEquals(r.code, 0, `${what}: ${r.err}`);
          assertEquals(r.out, want, what);
        }
        report(`curl through both proxies: ${cases.length} cases ok`);

        // A port nothing listens on, on this machine, reached through each node's proxies at the
        // other node's tailnet IP: each dial is refused. tailscaled answers every SOCKS5 dial
        // failure with 1 (general failure) and a failed HTTP CONNECT with 500; ours say 5
        // (refused) and 502, as socks5_server.ts and http_proxy.ts document. A failed
        // absolute-URI request is 502 from both.
        const dead = freePort();
        const ours = await curl(["--socks5", `127.0.0.1:${socksPort}`, `http://${peer4}:${dead}/`]);
        assertEquals(ours.code, 97, ours.err);
        const httpStatus = async (proxy: string, ip: string, connect: boolean) =>
          (await curl([
            ...(connect ? ["-p"] : []),
            "-x",
            `http://${proxy}`,
            "-o",
            "/dev/null",
            "-w",
            connect ? "%{http_connect}" : "%{http_code}",
            `http://${ip}:${dead}/`,
          ])).out;
        const refused = {
          socks5: [
            await socks5ReplyCode(`127.0.0.1:${socksPort}`, peer4, dead),
            await socks5ReplyCode(ts1.socks5Addr, ours4, dead),
          ],
          httpConnect: [
            await httpStatus(`127.0.0.1:${httpPort}`, peer4, true),
            await httpStatus(ts1.httpProxyAddr, ours4, true),
          ],
          httpAbsolute: [
            await httpStatus(`127.0.0.1:${httpPort}`, peer4, false),
            await httpStatus(ts1.httpProxyAddr, ours4, false),
          ],
        };
        report(`refused port, [ours, tailscaled's]: ${JSON.stringify(refused)}`);
        assertEquals(refused, {
          socks5: [5, 1],
          httpConnect: ["502", "500"],
          httpAbsolute: ["502", "502"],
        });

        // UDP ASSOCIATE into the tailnet: the datagram goes to the peer, which forwards it.
        const answer = await socks5UdpExchange(
          socksPort,
          peer4,
          udpEcho.port,
          "ping",
        );
        assertEquals(answer, "echo:ping");
        report("UDP ASSOCIATE: datagram to the peer's tailnet IP answered through the tailnet");

        // 16 MiB each way, SHA-256 checked at both ends.
        const out = await socks5Transfer(`127.0.0.1:${socksPort}`, peer4, 16 * MIB);
        assertTransferWhole(out, "ours to the peer");
        const back = await socks5Transfer(ts1.socks5Addr, ours4, 16 * MIB);
        assertTransferWhole(back, "the peer to us");
        const mbps = (r: { bytes: number; ms: number }) =>
          `${((r.bytes * 8) / (r.ms / 1000) / 1e6).toFixed(1)} Mbit/s`;
        report(
          `16 MiB our SOCKS5 -> tailscaled: ${mbps(out)}; tailscaled SOCKS5 -> us: ${mbps(back)}`,
        );

        // bigMib downloads from the peer's machine with curl, through our SOCKS5 (by short
        // name) and our HTTP proxy (by FQDN), SHA-256 checked.
        for (
          const [what, args] of [
            ["SOCKS5", [...socks, `http://${short}:${port}/big`]],
            ["HTTP proxy", [...http, `http://${fqdn}:${port}/big`]],
            ["SOCKS5 over IPv6", ["-g", ...socks, `http://[${peer6}]:${port}/big`]],
          ] as const
        ) {
          const t = performance.now();
          const r = await new Deno.Command("/usr/bin/curl", {
            args: ["-sS", "--max-time", "600", ...args],
            stdout: "piped",
            stderr: "piped",
          }).output();
          const secs = (performance.now() - t) / 1000;
          assertEquals(r.code, 0, new TextDecoder().decode(r.stderr));
          assertEquals(r.stdout.length, big.length, `${what}: length`);
          assertEquals(
            createHash("sha256").update(r.stdout).digest("hex"),
            bigSha,
            `${what}: SHA-256`,
          );
          report(
            `${bigMib} MiB through our ${what} from the peer: ${
              (bigMib * 8 * 1.048576 / secs).toFixed(1)
            } Mbit/s, SHA-256 ok`,
          );
        }
      } finally {
        ac.abort();
        await origin.finished;
      }
    },
  });
}

Deno.test("tailnet daemon --socks5-server with a bad address exits 2 naming the flag", async () => {
  const main = new URL("../../main.ts", import.meta.url).pathname;
  for (
    const [flag, value] of [["socks5-server", "1080"], ["outbound-http-proxy-listen", "x:99999"]]
  ) {
    const r = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        "--unstable-net",
        main,
        "daemon",
        "--state",
        "mem:",
        `--${flag}`,
        value,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(r.stderr);
    assertEquals(r.code, 2, err);
    assertEquals(err.trim().split("\n").length, 1, err);
    assertMatch(err, new RegExp(`--${flag}`));
  }
});
