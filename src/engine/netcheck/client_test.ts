import { assert, assertEquals } from "../base/testing/assert.ts";
import { ManualClock } from "../base/testing/manual_clock.ts";
import { runFuzz } from "../base/testing/fuzz.ts";
import { writeU16be, writeU32be } from "../base/bytes.ts";
import type { DerpMap, DerpRegion } from "../wire/derp_map.ts";
import { formatIpAddr, parseIpAddr } from "../wire/ip_addr.ts";
import { STUN_MAGIC_COOKIE, stunTxid } from "../wire/stun.ts";
import { NetcheckClient, type StunTransport } from "./client.ts";
import { PeriodicNetcheck } from "./periodic.ts";

/** A binding success as derper writes it: XOR-MAPPED-ADDRESS (IPv4) and nothing else. */
function stunAnswer(txid: Uint8Array, ip: string, port: number): Uint8Array {
  const b = new Uint8Array(32);
  let o = writeU16be(b, 0, 0x0101);
  o = writeU16be(b, o, 12);
  o = writeU32be(b, o, STUN_MAGIC_COOKIE);
  b.set(txid, o);
  o += 12;
  o = writeU16be(b, o, 0x0020);
  o = writeU16be(b, o, 8);
  b[o] = 0;
  b[o + 1] = 1;
  writeU16be(b, o + 2, port ^ (STUN_MAGIC_COOKIE >>> 16));
  const a = parseIpAddr(ip);
  for (let i = 0; i < 4; i++) b[o + 4 + i] = a[i] ^ ((STUN_MAGIC_COOKIE >>> (24 - 8 * i)) & 0xff);
  return b;
}

interface Sent {
  ip: string;
  port: number;
  txid: Uint8Array;
}

/** A transport that records requests; the test answers them. */
function recordingTransport(): StunTransport & { sent: Sent[] } {
  const sent: Sent[] = [];
  return {
    sent,
    ipv6: false,
    send(ip, port, packet) {
      sent.push({ ip: formatIpAddr(ip), port, txid: stunTxid(packet).slice() });
      return true;
    },
  };
}

function region(id: number, ...stun: string[]): DerpRegion {
  return {
    RegionID: id,
    RegionCode: `r${id}`,
    RegionName: `Region ${id}`,
    Nodes: stun.map((ip, i) => ({
      Name: `${id}${"abc"[i]}`,
      RegionID: id,
      HostName: ip,
      IPv4: ip,
      IPv6: "none",
      STUNPort: 3478,
    })),
  };
}

function mapOf(...regions: DerpRegion[]): DerpMap {
  return { Regions: Object.fromEntries(regions.map((r) => [String(r.RegionID), r])) };
}

/** Answers every request sent so far to `ip` with `mapped` (ip:port). */
function answer(c: NetcheckClient, t: { sent: Sent[] }, ip: string, mapped: string): number {
  let n = 0;
  for (const s of t.sent.filter((s) => s.ip === ip)) {
    const [mip, mport] = mapped.split(":");
    if (c.receiveStun(stunAnswer(s.txid, mip, Number(mport)), parseIpAddr(ip), s.port)) n++;
  }
  return n;
}

Deno.test("NetcheckClient: one STUN server: UDP, IPv4, latency, home; mapping unknown", async () => {
  const clock = new ManualClock();
  const t = recordingTransport();
  const c = new NetcheckClient({ transport: t, clock, osHasIpv6: () => false });
  const done = c.getReport(mapOf(region(900, "10.0.0.1")));
  assertEquals(t.sent.length, 1);
  await clock.advanceAsync(12);
  assertEquals(answer(c, t, "10.0.0.1", "203.0.113.7:41641"), 1);
  const r = await done;
  assert(r.udp && r.ipv4 && r.ipv4CanSend && !r.ipv6);
  assertEquals(r.globalV4, "203.0.113.7:41641");
  assertEquals(r.regionLatencyMs.get(900), 12);
  assertEquals(r.regionV4LatencyMs.get(900), 12);
  assertEquals(r.preferredDerp, 900);
  assertEquals(r.mappingVariesByDestIp, "", "one server cannot tell");
  assertEquals([...(r.globalV4Counters ?? [])], [["203.0.113.7:41641", 1]]);
  assertEquals(c.stats.stunAnswers, 1);
});

Deno.test("NetcheckClient: two servers seeing different ports: MappingVariesByDestIP true", async () => {
  const clock = new ManualClock();
  const t = recordingTransport();
  const c = new NetcheckClient({ transport: t, clock });
  const done = c.getReport(mapOf(region(1, "10.0.0.1"), region(2, "10.0.0.2")));
  await clock.advanceAsync(5);
  answer(c, t, "10.0.0.1", "203.0.113.7:1000");
  await clock.advanceAsync(5);
  answer(c, t, "10.0.0.2", "203.0.113.7:2000");
  const r = await done;
  assertEquals(r.mappingVariesByDestIp, "true");
  assertEquals(r.globalV4, "203.0.113.7:1000", "the first mapping seen");
  assertEquals(r.preferredDerp, 1);
});

Deno.test("NetcheckClient: two servers seeing the same mapping: MappingVariesByDestIP false", async () => {
  const clock = new ManualClock();
  const t = recordingTransport();
  const c = new NetcheckClient({ transport: t, clock });
  const done = c.getReport(mapOf(region(1, "10.0.0.1"), region(2, "10.0.0.2")));
  await clock.advanceAsync(30);
  answer(c, t, "10.0.0.2", "203.0.113.7:1000");
  await clock.advanceAsync(1);
  answer(c, t, "10.0.0.1", "203.0.113.7:1000");
  const r = await done;
  assertEquals(r.mappingVariesByDestIp, "false");
  assertEquals(r.preferredDerp, 2, "region 2 answered first: lower latency");
});

Deno.test("NetcheckClient: retries 100 ms apart, cycling through the region's nodes", async () => {
  const clock = new ManualClock();
  const t = recordingTransport();
  const c = new NetcheckClient({ transport: t, clock });
  const done = c.getReport(mapOf(region(1, "10.0.0.1", "10.0.0.2")));
  await clock.advanceAsync(250);
  assertEquals(t.sent.map((s) => s.ip), ["10.0.0.1", "10.0.0.2", "10.0.0.1"]);
  answer(c, t, "10.0.0.2", "203.0.113.7:1000");
  const r = await done;
  assertEquals(r.regionLatencyMs.get(1), 150, "latency of the try that was answered");
});

Deno.test("NetcheckClient: no UDP answer: UDP false after 3 s, DERP latency over HTTPS", async () => {
  const clock = new ManualClock();
  const t = recordingTransport();
  const asked: number[] = [];
  const c = new NetcheckClient({
    transport: t,
    clock,
    httpsLatency: (reg) => {
      asked.push(reg.RegionID);
      return Promise.resolve({ latencyMs: 42, family: 4 });
    },
  });
  const done = c.getReport(mapOf(region(1, "10.0.0.1")));
  await clock.advanceAsync(2_999);
  assertEquals(asked, [], "HTTPS only once STUN gave up");
  await clock.advanceAsync(1);
  const r = await done;
  assertEquals(r.udp, false);
  assertEquals(r.ipv4, true, "an HTTPS answer over IPv4 counts, as Go's");
  assertEquals(r.globalV4, "");
  assertEquals(r.regionLatencyMs.get(1), 42);
  assertEquals(r.regionV4LatencyMs.size, 0);
  assertEquals(r.preferredDerp, 1);
  assertEquals(t.sent.length, 3);
});

Deno.test("NetcheckClient: answers from elsewhere, or for other txids, move nothing", async () => {
  const clock = new ManualClock();
  const t = recordingTransport();
  const c = new NetcheckClient({ transport: t, clock });
  const done = c.getReport(mapOf(region(1, "10.0.0.1")));
  const s = t.sent[0];
  // From another address than the one asked.
  assert(!c.receiveStun(stunAnswer(s.txid, "198.51.100.1", 1), parseIpAddr("10.0.0.9"), 3478));
  // Another transaction.
  assert(
    !c.receiveStun(
      stunAnswer(new Uint8Array(12), "198.51.100.1", 1),
      parseIpAddr("10.0.0.1"),
      3478,
    ),
  );
  assertEquals(c.stats.stunBad, 2);
  await clock.advanceAsync(3_000);
  const r = await done;
  assertEquals(r.udp, false);
  assertEquals(r.globalV4, "");
});

Deno.test("NetcheckClient: one report at a time", async () => {
  const clock = new ManualClock();
  const c = new NetcheckClient({ transport: recordingTransport(), clock });
  const map = mapOf(region(1, "10.0.0.1"));
  const first = c.getReport(map);
  let refused = false;
  await c.getReport(map).catch(() => refused = true);
  assert(refused);
  await clock.advanceAsync(3_000);
  await first;
});

Deno.test("PeriodicNetcheck: a report at start, the next 20-26 s later", async () => {
  const clock = new ManualClock();
  const t = recordingTransport();
  const c = new NetcheckClient({ transport: t, clock });
  const reports: number[] = [];
  const p = new PeriodicNetcheck({
    client: c,
    clock,
    derpMap: () => mapOf(region(1, "10.0.0.1")),
    onReport: () => reports.push(clock.now()),
    random: () => 0.5,
  });
  p.start();
  await clock.advanceAsync(3_000); // unanswered: STUN gives up
  assertEquals(reports, [3_000]);
  await clock.advanceAsync(22_999);
  assertEquals(reports.length, 1);
  await clock.advanceAsync(1 + 3_000);
  assertEquals(reports, [3_000, 29_000]);
  p.close();
});

Deno.test("NetcheckClient.receiveStun() fuzzed: never throws, accepts only from the server asked", (t) => {
  const clock = new ManualClock();
  const tr = recordingTransport();
  const map = mapOf(region(1, "10.0.0.1"));
  let c = new NetcheckClient({ transport: tr, clock });
  void c.getReport(map);
  const seeds = [
    stunAnswer(tr.sent[0].txid, "203.0.113.7", 41641),
    stunAnswer(tr.sent[0].txid, "0.0.0.0", 0),
  ];
  runFuzz(t, "receiveStun", seeds, (input, rnd) => {
    // Mostly the transaction in flight, so that the checks past the txid are reached.
    if (input.length >= 20 && rnd() < 0.8) input.set(tr.sent[tr.sent.length - 1].txid, 8);
    const fromServer = rnd() < 0.7;
    const from = parseIpAddr(fromServer ? "10.0.0.1" : "10.0.0.2");
    const accepted = c.receiveStun(input, from, 3478);
    assert(!accepted || fromServer, "accepted an answer from an address not asked");
    if (accepted) {
      // A fresh client and report: a new request in flight for the next rounds.
      c = new NetcheckClient({ transport: tr, clock });
      void c.getReport(map);
    }
    return accepted;
  }, { minShare: 0 });
});
