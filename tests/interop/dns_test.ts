/**
 * MagicDNS against the lab: headscale with MagicDNS on `tailnet.test`, an extra record, two
 * split-DNS routes and a global nameserver, one real tailscaled, and `tailnet daemon
 * --socks5-server … --dns-listen …`. Three small DNS servers run in the test (there is no
 * internet in the lab):
 * - `corp.test` at 127.0.0.2:53, reached over the host's network;
 * - `via.test` at the real peer's tailnet address (100.64.0.1, the first node headscale
 *   numbers): userspace tailscaled forwards its inbound UDP 53 to 127.0.0.1:53, where the
 *   third server listens, so our forwarder must go through the tailnet to reach it;
 * - the global nameserver at 127.0.0.3:53, for every other name.
 *
 * Checked: through our SOCKS5 (UDP ASSOCIATE to 100.100.100.100:53, and CONNECT for DNS over
 * TCP) the peer's FQDN and short name, PTR of its IPv4 and IPv6 addresses, the extra record, both split domains and an
 * outside name answer as expected; `tailnet dns query --json` gives the same answers as
 * `tailscale dns query --json` on the real node for each (tailnet names, PTR, extra record,
 * split domains, outside name, a missing tailnet name, a type tailscaled leaves unanswered);
 * the `--dns-listen` socket answers the same over UDP and TCP, both to a small client built on
 * our codec (malformed queries too) and to the real `dig`. Runs once per pinned tailscale release.
 * @module
 */
import { assert, assertEquals } from "../../src/engine/base/testing/assert.ts";
import {
  DNS_CLASS_INET,
  DNS_RCODE,
  DNS_TYPE,
  type DnsMessage,
  dnsQuery,
  emitDnsMessage,
  parseDnsMessage,
} from "../../src/engine/wire/dns.ts";
import { dnsRecordBody } from "../../src/engine/wire/dns_text.ts";
import { closedPort as freePort, readExactly } from "../../src/engine/proxy/testing/loopback.ts";
import { Lab, labAvailable, waitFor } from "../lab/mod.ts";
import { TAILSCALE_RELEASES } from "../lab/versions.ts";
import { TailnetDaemon } from "../lab/tailnet_daemon.ts";
import { tailscaleBin } from "../lab/paths.ts";
import { runCommand } from "../lab/run_command.ts";
import { socks5Connect } from "../lab/socks5.ts";

function report(line: string): void {
  // deno-lint-ignore no-console -- what was resolved, and by whom, is this test's output
  console.error(`[dns interop] ${line}`);
}

const EXTRA = { name: "grafana.tailnet.test", type: "A", value: "100.64.0.99" };
const CORP_ANSWER = "10.20.0.7";
const VIA_ANSWER = "10.30.0.8";
const GLOBAL_ANSWER = "203.0.113.9";

/** A tiny authoritative server: A queries under `zone` get `answer`, others NXDOMAIN. */
function startDnsServer(hostname: string, zone: string, answer: string) {
  const sock = Deno.listenDatagram({ transport: "udp", hostname, port: 53 });
  let queries = 0;
  const loop = (async () => {
    for (;;) {
      let data: Uint8Array, from: Deno.Addr;
      try {
        [data, from] = await sock.receive();
      } catch {
        return;
      }
      let q: DnsMessage;
      try {
        q = parseDnsMessage(data);
      } catch {
        continue;
      }
      queries++;
      const question = q.questions[0];
      const mine = question !== undefined &&
        (zone === "" || question.name === zone || question.name.endsWith("." + zone));
      const a = mine && question.type === DNS_TYPE.A;
      const out = emitDnsMessage({
        header: {
          ...q.header,
          response: true,
          authoritative: true,
          rcode: mine ? DNS_RCODE.NOERROR : DNS_RCODE.NXDOMAIN,
        },
        questions: q.questions,
        answers: a
          ? [{
            name: question.name,
            type: DNS_TYPE.A,
            class: DNS_CLASS_INET,
            ttl: 30,
            data: { kind: "a", addr: new Uint8Array(answer.split(".").map(Number)) },
          }]
          : [],
        authorities: [],
        additionals: [],
      });
      await sock.send(out, from).catch(() => {});
    }
  })();
  return {
    get queries() {
      return queries;
    },
    async close() {
      sock.close();
      await loop;
    },
  };
}

/** One DNS query to 100.100.100.100:53 through our SOCKS5 UDP ASSOCIATE. */
async function queryViaSocks(socksPort: number, query: Uint8Array): Promise<DnsMessage> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port: socksPort });
  const u = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  try {
    await c.write(new Uint8Array([5, 1, 0, 5, 3, 0, 1, 0, 0, 0, 0, 0, 0]));
    assertEquals([...await readExactly(c, 2)], [5, 0], "no-auth method");
    const r = await readExactly(c, 10);
    assertEquals(r[1], 0, "UDP ASSOCIATE succeeded");
    const relayPort = (r[8] << 8) | r[9];
    const d = new Uint8Array(10 + query.length);
    d.set([0, 0, 0, 1, 100, 100, 100, 100, 0, 53]);
    d.set(query, 10);
    const to = { transport: "udp" as const, hostname: "127.0.0.1", port: relayPort };
    for (let i = 0; i < 10; i++) {
      await u.send(d, to);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const got = await Promise.race([
        u.receive(),
        new Promise<null>((res) => timer = setTimeout(() => res(null), 1500)),
      ]);
      clearTimeout(timer);
      if (got !== null) return parseDnsMessage(got[0].subarray(10));
    }
    throw new Error("no DNS answer through the association");
  } finally {
    c.close();
    u.close();
  }
}

/** One DNS query to host:port over UDP (retried) or TCP: what `dig` would do. */
async function queryHost(port: number, query: Uint8Array, tcp: boolean): Promise<DnsMessage> {
  if (tcp) {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await c.write(new Uint8Array([query.length >> 8, query.length & 0xff, ...query]));
      const len = await readExactly(c, 2);
      return parseDnsMessage(await readExactly(c, (len[0] << 8) | len[1]));
    } finally {
      c.close();
    }
  }
  const u = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  try {
    for (let i = 0; i < 5; i++) {
      await u.send(query, { transport: "udp", hostname: "127.0.0.1", port });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const got = await Promise.race([
        u.receive(),
        new Promise<null>((res) => timer = setTimeout(() => res(null), 1500)),
      ]);
      clearTimeout(timer);
      if (got !== null) return parseDnsMessage(got[0]);
    }
    throw new Error("no DNS answer from --dns-listen");
  } finally {
    u.close();
  }
}

/** Whether `v1.2.3` is older than major.minor. */
function olderThan(version: string, [major, minor]: [number, number]): boolean {
  const [a, b] = version.replace(/^v/, "").split(".").map(Number);
  return a < major || (a === major && b < minor);
}

/** rcode and answer bodies, for comparing answers from different paths. */
const DIG_TYPES: Record<number, string> = { 1: "A", 2: "NS", 12: "PTR", 28: "AAAA" };
const DIG_STATUS: Record<string, number> = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
};

/**
 * `dig @127.0.0.1 -p PORT NAME TYPE [+tcp]`, summed up as {@linkcode summary} does: the
 * status and the answer section's values.
 */
async function dig(port: number, name: string, type: number, tcp: boolean): Promise<string> {
  const r = await runCommand("dig", {
    args: [
      "@127.0.0.1",
      "-p",
      String(port),
      name,
      DIG_TYPES[type],
      "+tries=1",
      "+time=5",
      ...(tcp ? ["+tcp"] : []),
    ],
  }, 20_000);
  const status = r.stdout.match(/status: ([A-Z]+)/)?.[1] ?? `exit ${r.code}: ${r.stderr}`;
  const answer = r.stdout.split(";; ANSWER SECTION:\n")[1]?.split("\n\n")[0] ?? "";
  const values = answer.split("\n").filter((l) => l.trim() !== "").map((l) =>
    l.trim().split(/\s+/).slice(4).join(" ")
  );
  return `${DIG_STATUS[status] ?? status}:${values.join(",")}`;
}

function summary(m: DnsMessage): string {
  return `${m.header.rcode}:${m.answers.map((a) => dnsRecordBody(a)).join(",")}`;
}

function ptrName(ip: string): string {
  if (ip.includes(".")) return ip.split(".").reverse().join(".") + ".in-addr.arpa";
  const groups = ip.split("::");
  const head = groups[0] === "" ? [] : groups[0].split(":");
  const tail = groups.length > 1 && groups[1] !== "" ? groups[1].split(":") : [];
  const full = [...head, ...Array(8 - head.length - tail.length).fill("0"), ...tail];
  const hex = full.map((g) => g.padStart(4, "0")).join("");
  return [...hex].reverse().join(".") + ".ip6.arpa";
}

for (const release of TAILSCALE_RELEASES) {
  const available = labAvailable(release.version);
  Deno.test({
    name:
      `MagicDNS of tailnet daemon answers as a real tailscaled ${release.version} does (SOCKS5 to 100.100.100.100, dns query, --dns-listen UDP/TCP)`,
    ignore: !available.ok,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      if (!available.ok) return;
      // 127.0.0.1:53 answers via.test: the peer's userspace netstack forwards its UDP 53 here.
      const via = startDnsServer("127.0.0.1", "via.test", VIA_ANSWER);
      const corp = startDnsServer("127.0.0.2", "corp.test", CORP_ANSWER);
      const global = startDnsServer("127.0.0.3", "", GLOBAL_ANSWER);
      try {
        await using lab = await Lab.start({
          tailscaleds: 1,
          tailscaleVersion: release.version,
          headscaleDns: {
            global: ["127.0.0.3"],
            split: { "corp.test": ["127.0.0.2"], "via.test": ["100.64.0.1"] },
            extraRecords: [EXTRA],
          },
        });
        const ts1 = lab.nodes[0];
        const peerIps = await ts1.ips();
        const peer4 = peerIps.find((i) => i.includes("."))!;
        const peer6 = peerIps.find((i) => i.includes(":"))!;
        assertEquals(peer4, "100.64.0.1", "headscale numbers the first node 100.64.0.1");
        const socksPort = freePort(), dnsPort = freePort();
        // The config file adds a name for this node alone (tailnet's LocalDNSRecords).
        const configDir = await Deno.makeTempDir({ prefix: "tailnet-dns-test-" });
        const configFile = `${configDir}/tailnet.json`;
        await Deno.writeTextFile(
          configFile,
          JSON.stringify({
            Version: "alpha0",
            Locked: false,
            Enabled: false,
            LocalDNSRecords: [{ Name: "nas.home.arpa", Type: "A", Value: "192.168.7.7" }],
          }),
        );
        await using tn = await TailnetDaemon.create({
          args: [
            `--socks5-server=127.0.0.1:${socksPort}`,
            `--dns-listen=127.0.0.1:${dnsPort}`,
            `--config=${configFile}`,
          ],
        });
        await tn.up(lab.controlUrl, lab.authKey, "tn1");
        const st = await ts1.status();
        const fqdn = st.Self.DNSName.replace(/\.$/, "");
        const short = fqdn.split(".")[0];
        assertEquals(fqdn, `${short}.tailnet.test`);

        // Through our SOCKS5 to 100.100.100.100:53 (the proxies' UDP path into our stack).
        const ask = (name: string, type: number) =>
          queryViaSocks(socksPort, dnsQuery(7, name, type));
        await waitFor("the peer's FQDN through SOCKS5", async () => {
          const m = await ask(fqdn, DNS_TYPE.A);
          return m.answers.length === 1;
        }, { timeoutMs: 30_000, intervalMs: 500 });
        const socksCases: [string, string, number, string][] = [
          ["FQDN A", fqdn, DNS_TYPE.A, `0:${peer4}`],
          [
            "FQDN with trailing dot, upper case",
            fqdn.toUpperCase() + ".",
            DNS_TYPE.A,
            `0:${peer4}`,
          ],
          ["short name A", short, DNS_TYPE.A, `0:${peer4}`],
          // tailscaled leaves peers' IPv6 out of MagicDNS unless control grants magicdns-aaaa.
          ["FQDN AAAA", fqdn, DNS_TYPE.AAAA, "0:"],
          ["PTR v4", ptrName(peer4), DNS_TYPE.PTR, `0:${fqdn}.`],
          // ...but since 1.102 its reverse map has them (1.98: NXDOMAIN).
          ["PTR v6", ptrName(peer6), DNS_TYPE.PTR, `0:${fqdn}.`],
          ["extra record", EXTRA.name, DNS_TYPE.A, `0:${EXTRA.value}`],
          ["split over the host", "db.corp.test", DNS_TYPE.A, `0:${CORP_ANSWER}`],
          ["split through the tailnet", "db.via.test", DNS_TYPE.A, `0:${VIA_ANSWER}`],
          ["global", "outside.example", DNS_TYPE.A, `0:${GLOBAL_ANSWER}`],
          ["missing tailnet name", "nobody.tailnet.test", DNS_TYPE.A, "3:"],
          ["NS of a tailnet name", fqdn, DNS_TYPE.NS, "4:"],
          ["local record from the config file", "nas.home.arpa", DNS_TYPE.A, "0:192.168.7.7"],
        ];
        for (const [what, name, type, want] of socksCases) {
          const m = await ask(name, type);
          assertEquals(summary(m), want, `SOCKS5 ${what} (${name})`);
          assertEquals(m.header.id, 7, `${what}: id echoed`);
        }
        // TCP to 100.100.100.100:53 through SOCKS5 CONNECT: two queries on one connection.
        const tcp = await socks5Connect(`127.0.0.1:${socksPort}`, "100.100.100.100", 53);
        try {
          for (const [name, want] of [[fqdn, `0:${peer4}`], ["db.via.test", `0:${VIA_ANSWER}`]]) {
            const q = dnsQuery(21, name, DNS_TYPE.A);
            await tcp.write(new Uint8Array([q.length >> 8, q.length & 0xff, ...q]));
            const len = await readExactly(tcp, 2);
            const m = parseDnsMessage(await readExactly(tcp, (len[0] << 8) | len[1]));
            assertEquals(summary(m), want, `TCP via SOCKS5 CONNECT: ${name}`);
          }
        } finally {
          tcp.close();
        }
        report(
          `${socksCases.length} UDP and 2 TCP queries through our SOCKS5 to 100.100.100.100:53 answered`,
        );
        assert(via.queries > 0, "the via.test server was asked (through the peer)");
        assert(corp.queries > 0 && global.queries > 0, "corp and global servers were asked");

        // `tailnet dns query --json` against `tailscale dns query --json` on the real node.
        const compared: [string, string][] = [
          [fqdn, "A"],
          [fqdn, "AAAA"],
          [ptrName(peer4), "PTR"],
          [ptrName(peer6), "PTR"],
          [short, "A"],
          [EXTRA.name, "A"],
          ["db.corp.test", "A"],
          ["outside.example", "A"],
          ["nobody.tailnet.test", "A"],
          [fqdn, "TXT"],
          [fqdn, "NS"],
        ];
        // We answer as tailscaled 1.102 does. Against 1.98 two known differences are
        // allowed: its positive TTL was 600 s (now 5 s), and its PTR missed IPv6 addresses.
        const before102 = olderThan(release.version, [1, 102]);
        for (const [name, type] of compared) {
          const ours = await tn.cli(["dns", "query", "--json", name, type]);
          assertEquals(ours.code, 0, `tailnet dns query ${name} ${type}: ${ours.stderr}`);
          const theirs = await ts1.cli(["dns", "query", "--json", name, type]);
          assertEquals(theirs.code, 0, `tailscale dns query ${name} ${type}: ${theirs.stderr}`);
          const want = JSON.parse(theirs.stdout) as {
            ResponseCode: string;
            Answers?: { TTL: number }[];
          };
          if (before102 && name === ptrName(peer6)) {
            assertEquals(want.ResponseCode, "RCodeNameError", "1.98: no PTR for IPv6");
            continue;
          }
          if (before102 && name === short) {
            // 1.98 forwards a bare name to the global resolver; 1.102 and we answer it.
            assertEquals(want.Answers?.length, 1, "1.98: forwarded");
            continue;
          }
          for (const a of want.Answers ?? []) if (before102 && a.TTL === 600) a.TTL = 5;
          assertEquals(
            JSON.parse(ours.stdout),
            want,
            `dns query ${name} ${type}: ours vs tailscaled ${release.version}`,
          );
        }
        report(`tailnet dns query == tailscale dns query for ${compared.length} questions`);
        const text = await tn.cli(["dns", "query", short]);
        assertEquals(text.code, 0, text.stderr);
        assert(text.stdout.includes(`Response code: RCodeSuccess`), text.stdout);
        assert(text.stdout.includes(`${short}.  5    ClassINET  TypeA  ${peer4}`), text.stdout);
        // The real CLI against our socket: its dns-query decodes our LocalAPI's answer, and its
        // dns status prints what ours does.
        const realCli = (args: string[]) =>
          runCommand(
            tailscaleBin("tailscale", release.version),
            { args: ["--socket", tn.socket, ...args] },
            30_000,
          );
        for (const [name, type] of [[fqdn, "A"], ["db.via.test", "A"], [ptrName(peer4), "PTR"]]) {
          const real = await realCli(["dns", "query", name, type]);
          const ours = await tn.cli(["dns", "query", name, type]);
          assertEquals(real.code, 0, real.stderr);
          assertEquals(ours.stdout, real.stdout, `dns query ${name} ${type}: our CLI vs theirs`);
        }
        for (const args of [["dns", "status"], ["dns", "status", "--all"]]) {
          const real = await realCli(args);
          const ours = await tn.cli(args);
          assertEquals([ours.code, real.code], [0, 0], real.stderr + ours.stderr);
          assertEquals(ours.stdout, real.stdout, `${args.join(" ")}: our CLI vs tailscale's`);
        }
        assert(
          (await tn.cli(["dns", "status"])).stdout.includes(
            `  - ${"corp.test".padEnd(30)} -> 127.0.0.2`,
          ),
          "split route listed",
        );

        // `--dns-listen`: what dig @127.0.0.1 -p PORT would get, over UDP and TCP.
        let hostCases = 0;
        for (const [what, name, type, want] of socksCases) {
          for (const tcp of [false, true]) {
            const m = await queryHost(dnsPort, dnsQuery(9, name, type), tcp);
            assertEquals(summary(m), want, `--dns-listen ${tcp ? "TCP" : "UDP"} ${what}`);
            hostCases++;
          }
        }
        // A cut-short query and a compression loop: FORMERR with the id, no crash.
        const cut = dnsQuery(11, fqdn, DNS_TYPE.A).slice(0, 20);
        assertEquals((await queryHost(dnsPort, cut, false)).header.rcode, DNS_RCODE.FORMERR);
        const loop = new Uint8Array([0, 12, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
        const looped = await queryHost(dnsPort, loop, true);
        assertEquals([looped.header.id, looped.header.rcode], [12, DNS_RCODE.FORMERR]);
        report(`--dns-listen answered ${hostCases} queries (UDP and TCP) and 2 malformed ones`);
        // And the real dig (Debian bind9-dnsutils) against it, as a user would ask.
        let digCases = 0;
        for (const [what, name, type, want] of socksCases) {
          for (const tcp of [false, true]) {
            const got = await dig(dnsPort, name, type, tcp);
            assertEquals(got, want, `dig ${tcp ? "+tcp " : ""}${what} (${name})`);
            digCases++;
          }
        }
        report(`dig @127.0.0.1 -p ${dnsPort}: ${digCases} answers (UDP and +tcp) as expected`);

        // A flood: 3012 datagrams of junk and 1000 valid queries for outside names at
        // once. Each is answered or dropped and counted; the daemon keeps answering.
        const flood = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
        const to = { transport: "udp" as const, hostname: "127.0.0.1", port: dnsPort };
        let seed = 0x2545f491;
        const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
        // Shorter than a header first (dropped and counted), then random lengths.
        for (let i = 0; i < 12; i++) await flood.send(new Uint8Array(i).fill(0xa5), to);
        for (let i = 0; i < 3000; i++) {
          const junk = Uint8Array.from({ length: Math.floor(rnd() * 600) }, () => rnd() * 256);
          await flood.send(junk, to);
        }
        for (let i = 0; i < 1000; i++) {
          await flood.send(dnsQuery(i, `n${i}.outside.example`, DNS_TYPE.A), to);
        }
        flood.close();
        assertEquals(
          summary(await queryHost(dnsPort, dnsQuery(13, fqdn, DNS_TYPE.A), false)),
          `0:${peer4}`,
          "answers after the flood",
        );
        // The kernel drops what the socket buffer cannot hold; every datagram that reached the
        // resolver ends in exactly one answer (counted by rcode) or one counted drop.
        type DnsStatsJson = {
          queries: number;
          rcodes: Record<string, number>;
          drops: Record<string, number>;
        };
        let dns: DnsStatsJson | null = null;
        const sum = (o: Record<string, number>) => Object.values(o).reduce((x, y) => x + y, 0);
        await waitFor("every query answered or counted as dropped", async () => {
          const stats = await runCommand("curl", {
            args: [
              "-s",
              "--unix-socket",
              tn.socket,
              "http://local-tailscaled.sock/localapi/v0/engine-stats",
            ],
          }, 10_000);
          dns = (JSON.parse(stats.stdout) as { dns: DnsStatsJson }).dns;
          return dns.queries === sum(dns.rcodes) + sum(dns.drops);
        }, { timeoutMs: 20_000, intervalMs: 500 });
        const d = dns as DnsStatsJson | null;
        assert(d !== null && d.rcodes.FORMERR > 0, `junk answered FORMERR: ${JSON.stringify(d)}`);
        assert(d.drops.short > 0, "short datagrams dropped and counted");
        report(
          `flood of 3012 junk and 1000 valid datagrams: ${d.queries} reached the resolver; rcodes ${
            JSON.stringify(d.rcodes)
          }, drops ${JSON.stringify(d.drops)}`,
        );

        // Live on a netmap change: a node that joins now resolves without a restart.
        const ts2 = await lab.addTailscaled();
        const ts2Name = (await ts2.status()).Self.DNSName.replace(/\.$/, "");
        const ts2Ip = (await ts2.ips()).find((i) => i.includes("."))!;
        await waitFor(`${ts2Name} resolves once it joins`, async () => {
          const m = await ask(ts2Name, DNS_TYPE.A);
          return summary(m) === `0:${ts2Ip}`;
        }, { timeoutMs: 30_000, intervalMs: 500 });
        report(`a node joining later (${ts2Name}) resolved without a restart`);
        await Deno.remove(configDir, { recursive: true });
      } finally {
        await via.close();
        await corp.close();
        await global.close();
      }
    },
  });
}
