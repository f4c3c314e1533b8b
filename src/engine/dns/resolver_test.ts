import { assert, assertEquals } from "../base/testing/assert.ts";
import { toHex } from "../base/bytes.ts";
import type { DnsConfig } from "./config.ts";
import {
  DNS_RCODE,
  DNS_TYPE,
  dnsQuery,
  emitDnsMessage,
  emptyDnsHeader,
  parseDnsMessage,
} from "../wire/dns.ts";
import { dnsRecordBody } from "../wire/dns_text.ts";
import { TAILSCALED_1102, TAILSCALED_1102_SOA_SERIAL } from "../wire/testing/dns_captures.ts";
import { type DnsUpstream, MagicDnsResolver } from "./resolver.ts";
import { MAX_INFLIGHT_FORWARDS } from "./constants.ts";

const REVERSE_ZONES = [
  "0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa",
  ...Array.from({ length: 64 }, (_, i) => `${64 + i}.100.in-addr.arpa`),
];

/** The lab's tailnet when the 1.102 captures were taken. */
function labConfig(over: Partial<DnsConfig> = {}): DnsConfig {
  return {
    magicDns: true,
    resolvers: [{ addr: "127.0.0.3", bootstrap: [] }],
    fallbackResolvers: [],
    routes: [
      { suffix: "corp.test", resolvers: [{ addr: "127.0.0.2", bootstrap: [] }] },
      { suffix: "db.corp.test", resolvers: [{ addr: "[fd00::53]:5353", bootstrap: [] }] },
    ],
    searchDomains: ["tailnet.test"],
    certDomains: [],
    extraRecords: [],
    hosts: [
      {
        name: "ts1.tailnet.test",
        addrs: ["100.64.0.1"],
        ptrAddrs: ["100.64.0.1", "fd7a:115c:a1e0::1"],
      },
      {
        name: "ts2.tailnet.test",
        addrs: ["100.64.0.2"],
        ptrAddrs: ["100.64.0.2", "fd7a:115c:a1e0::2"],
      },
      { name: "grafana.tailnet.test", addrs: ["100.64.0.99"], ptrAddrs: ["100.64.0.99"] },
    ],
    localDomains: ["tailnet.test", ...REVERSE_ZONES],
    acceptDns: true,
    ...over,
  };
}

/** An upstream that records each exchange and answers with `answer(query)` (or fails). */
function fakeUpstream(answer: (q: Uint8Array, ip: string) => Uint8Array | null) {
  const calls: string[] = [];
  const up: DnsUpstream = {
    exchange(ip, port, query) {
      calls.push(`${ip}:${port}`);
      const a = answer(query, ip);
      return a === null ? Promise.reject(new Error("unreachable")) : Promise.resolve(a);
    },
  };
  return { up, calls };
}

function answerA(query: Uint8Array, ip: string): Uint8Array {
  const q = parseDnsMessage(query);
  const addr = new Uint8Array(ip.includes(":") ? [10, 0, 0, 6] : ip.split(".").map(Number));
  return emitDnsMessage({
    ...q,
    header: { ...q.header, response: true },
    answers: [{ name: q.questions[0].name, type: 1, class: 1, ttl: 30, data: { kind: "a", addr } }],
  });
}

function resolver(opts: { upstream?: DnsUpstream; host?: string[]; cfg?: DnsConfig | null } = {}) {
  const r = new MagicDnsResolver({
    upstream: opts.upstream ?? fakeUpstream(() => null).up,
    hostResolvers: () => opts.host ?? [],
    clock: { wallNow: () => TAILSCALED_1102_SOA_SERIAL * 1000 },
    forwardTimeoutMs: 2_000,
  });
  r.setConfig(opts.cfg === undefined ? labConfig() : opts.cfg);
  return r;
}

async function ask(r: MagicDnsResolver, name: string, type: number, udp = false) {
  const a = await r.query(dnsQuery(1, name, type), udp ? "udp" : "tcp");
  assert(a !== null, `${name}: answered`);
  return parseDnsMessage(a);
}

Deno.test("MagicDnsResolver answers byte for byte as tailscaled 1.102 did in the lab", async () => {
  const r = resolver();
  for (const c of TAILSCALED_1102) {
    const a = await r.query(dnsQuery(1, c.qname, c.qtype), "tcp");
    assertEquals(toHex(a!), toHex(c.bytes), c.name);
  }
  assertEquals(r.stats.local, TAILSCALED_1102.length);
});

Deno.test("MagicDnsResolver: short names, PTR for IPv6 and 100.100.100.100, .onion", async () => {
  const r = resolver();
  const short = await ask(r, "TS2", DNS_TYPE.A);
  assertEquals([short.answers[0].name, dnsRecordBody(short.answers[0])], ["TS2", "100.64.0.2"]);
  const v6 = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa";
  assertEquals(dnsRecordBody((await ask(r, v6, DNS_TYPE.PTR)).answers[0]), "ts1.tailnet.test.");
  const q100 = await ask(r, "100.100.100.100.in-addr.arpa", DNS_TYPE.PTR);
  assertEquals(dnsRecordBody(q100.answers[0]), "magicdns.localhost-tailscale-daemon.");
  const unknown = await ask(r, "9.9.64.100.in-addr.arpa", DNS_TYPE.PTR);
  assertEquals([unknown.header.rcode, unknown.authorities[0].name], [
    DNS_RCODE.NXDOMAIN,
    "64.100.in-addr.arpa",
  ]);
  assertEquals((await ask(r, "x.onion", DNS_TYPE.A)).header.rcode, DNS_RCODE.NXDOMAIN);
  assertEquals(r.resolve("ts1"), "100.64.0.1");
  assertEquals(r.resolve("grafana.tailnet.test."), "100.64.0.99");
  assertEquals(r.resolve("example.com"), null);
});

Deno.test("MagicDnsResolver forwards by the longest split-DNS route, else the global resolver", async () => {
  const { up, calls } = fakeUpstream(answerA);
  const r = resolver({ upstream: up });
  assertEquals(dnsRecordBody((await ask(r, "wiki.corp.test", 1)).answers[0]), "127.0.0.2");
  assertEquals(dnsRecordBody((await ask(r, "x.db.corp.test", 1)).answers[0]), "10.0.0.6");
  assertEquals(dnsRecordBody((await ask(r, "example.com", 1)).answers[0]), "127.0.0.3");
  // PTR outside the tailnet's ranges is not ours either.
  await ask(r, "1.0.0.10.in-addr.arpa", DNS_TYPE.PTR);
  assertEquals(calls, ["127.0.0.2:53", "fd00::53:5353", "127.0.0.3:53", "127.0.0.3:53"]);
  assertEquals(r.stats.forwarded, 4);
  assertEquals(r.upstreamsFor("a.corp.test").map((x) => x.addr), ["127.0.0.2"]);
  assertEquals(r.upstreamsFor("ts1.tailnet.test").map((x) => x.addr), ["127.0.0.3"]);
});

Deno.test("MagicDnsResolver uses the host's resolvers when control names none", async () => {
  const { up, calls } = fakeUpstream(answerA);
  const r = resolver({ upstream: up, host: ["192.0.2.53"], cfg: labConfig({ resolvers: [] }) });
  assertEquals(dnsRecordBody((await ask(r, "example.com", 1)).answers[0]), "192.0.2.53");
  assertEquals(calls, ["192.0.2.53:53"]);
  assertEquals(r.upstreamsFor("example.com"), [{ addr: "192.0.2.53", bootstrap: [] }]);
});

Deno.test("MagicDnsResolver answers SERVFAIL when upstreams fail, lie about the id, or are none", async () => {
  const failing = resolver({ upstream: fakeUpstream(() => null).up });
  assertEquals((await ask(failing, "example.com", 1)).header.rcode, DNS_RCODE.SERVFAIL);
  const liar = resolver({
    upstream: fakeUpstream((q, ip) => {
      const a = answerA(q, ip);
      a[0] ^= 0xff;
      return a;
    }).up,
  });
  assertEquals((await ask(liar, "example.com", 1)).header.rcode, DNS_RCODE.SERVFAIL);
  const none = resolver({ cfg: labConfig({ resolvers: [] }) });
  assertEquals((await ask(none, "example.com", 1)).header.rcode, DNS_RCODE.SERVFAIL);
  assertEquals(failing.stats.upstreamErrors, 1);
});

Deno.test("MagicDnsResolver: malformed queries get FORMERR, non-queries are dropped and counted", async () => {
  const r = resolver();
  const q = dnsQuery(0x4242, "ts1.tailnet.test", 1);
  // Cut inside the question: FORMERR with the id, no question (tsdns marshals none).
  const cut = parseDnsMessage((await r.query(q.subarray(0, 20), "udp"))!);
  assertEquals([cut.header.id, cut.header.rcode, cut.questions.length], [0x4242, 1, 0]);
  const loop = new Uint8Array([0, 9, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
  assertEquals(parseDnsMessage((await r.query(loop, "udp"))!).header.rcode, DNS_RCODE.FORMERR);
  const noQuestion = emitDnsMessage({
    header: emptyDnsHeader(3),
    questions: [],
    answers: [],
    authorities: [],
    additionals: [],
  });
  assertEquals(parseDnsMessage((await r.query(noQuestion, "udp"))!).header.rcode, 1);
  assertEquals(await r.query(q.subarray(0, 11), "udp"), null);
  const response = q.slice();
  response[2] |= 0x80;
  assertEquals(await r.query(response, "udp"), null);
  assertEquals(r.stats.drops, { short: 1, notQuery: 1, flood: 0 });
  assertEquals(r.stats.rcodes.FORMERR, 3);
});

Deno.test("MagicDnsResolver cuts a UDP answer over 512 bytes (TC) unless EDNS allows more", async () => {
  const big = (q: Uint8Array, ip: string) => {
    const m = parseDnsMessage(answerA(q, ip));
    m.answers = Array.from({ length: 40 }, () => m.answers[0]);
    return emitDnsMessage(m, { compress: false });
  };
  const r = resolver({ upstream: fakeUpstream(big).up });
  const udp = await ask(r, "example.com", 1, true);
  assertEquals([udp.header.truncated, udp.answers.length, udp.questions.length], [true, 0, 1]);
  assertEquals((await ask(r, "example.com", 1)).answers.length, 40);
  const edns = parseDnsMessage(dnsQuery(1, "example.com", 1));
  edns.additionals.push({
    name: "",
    type: DNS_TYPE.OPT,
    class: 4096,
    ttl: 0,
    data: { kind: "opaque", bytes: new Uint8Array(0) },
  });
  const a = parseDnsMessage((await r.query(emitDnsMessage(edns), "udp"))!);
  assertEquals([a.header.truncated, a.answers.length], [false, 40]);
  assertEquals(r.stats.truncated, 1);
});

Deno.test("MagicDnsResolver drops a flood of forwarded queries past its limit; close() ends them", async () => {
  const pending: (() => void)[] = [];
  const up: DnsUpstream = {
    exchange: (_ip, _port, _q, signal) =>
      new Promise((_, reject) => {
        const stop = () => reject(signal.reason);
        signal.addEventListener("abort", stop, { once: true });
        pending.push(stop);
      }),
  };
  const r = resolver({ upstream: up });
  const inflight = Array.from(
    { length: MAX_INFLIGHT_FORWARDS },
    (_, i) => r.query(dnsQuery(i, `n${i}.example.com`, 1), "udp"),
  );
  assertEquals(await r.query(dnsQuery(9999, "one.more.example", 1), "udp"), null);
  assertEquals(r.stats.drops.flood, 1);
  // Local names still answer during the flood.
  assertEquals((await ask(r, "ts1.tailnet.test", 1)).answers.length, 1);
  r.close();
  const answers = await Promise.all(inflight);
  assert(
    answers.every((a) => a !== null && parseDnsMessage(a).header.rcode === DNS_RCODE.SERVFAIL),
  );
  assertEquals(pending.length, MAX_INFLIGHT_FORWARDS);
});

Deno.test("MagicDnsResolver follows setConfig (a new netmap) at once", async () => {
  const r = resolver();
  assertEquals((await ask(r, "ts3.tailnet.test", 1)).header.rcode, DNS_RCODE.NXDOMAIN);
  const cfg = labConfig();
  r.setConfig({
    ...cfg,
    hosts: [...cfg.hosts, { name: "ts3.tailnet.test", addrs: ["100.64.0.3"], ptrAddrs: [] }],
  });
  assertEquals(dnsRecordBody((await ask(r, "ts3.tailnet.test", 1)).answers[0]), "100.64.0.3");
  r.setConfig(null);
  assertEquals(r.resolve("ts3"), null);
});
