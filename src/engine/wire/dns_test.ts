import { assert, assertEquals, assertThrows } from "../base/testing/assert.ts";
import { fromHex, toHex } from "../base/bytes.ts";
import { ParseError } from "../base/errors.ts";
import {
  DNS_RCODE,
  DNS_TYPE,
  dnsQuery,
  emitDnsMessage,
  parseDnsHeader,
  parseDnsMessage,
} from "./dns.ts";
import { dnsRecordBody, dnsTypeFromName } from "./dns_text.ts";
import { dnsNameLabels } from "./dns_name.ts";
import {
  TAILSCALED_1102,
  TAILSCALED_1102_SOA_SERIAL,
  TAILSCALED_198,
  TAILSCALED_UPSTREAM_QUERY,
} from "./testing/dns_captures.ts";

const byName = (n: string) => [...TAILSCALED_198, ...TAILSCALED_1102].find((c) => c.name === n)!;

Deno.test("parseDnsMessage() reads tailscaled 1.98's A answer: header, question, one A record", () => {
  const m = parseDnsMessage(byName("ts-1.98-A-peer").bytes);
  assertEquals(m.header, {
    id: 1,
    response: true,
    opcode: 0,
    authoritative: true,
    truncated: false,
    recursionDesired: true,
    recursionAvailable: true,
    zBits: 0,
    rcode: 0,
  });
  assertEquals(m.questions, [{ name: "ts2.tailnet.test", type: DNS_TYPE.A, class: 1 }]);
  assertEquals(m.answers.length, 1);
  assertEquals(m.answers[0].ttl, 600);
  assertEquals(dnsRecordBody(m.answers[0]), "100.64.0.1");
  assertEquals([m.authorities.length, m.additionals.length], [0, 0]);
});

Deno.test("parseDnsMessage() reads tailscaled 1.102's negative answer with its SOA", () => {
  const m = parseDnsMessage(byName("ts-1.102-NXDOMAIN-soa").bytes);
  assertEquals(m.header.rcode, DNS_RCODE.NXDOMAIN);
  assertEquals(m.answers, []);
  assertEquals(m.authorities[0].name, "tailnet.test");
  assertEquals(m.authorities[0].ttl, 10);
  assertEquals(m.authorities[0].data, {
    kind: "soa",
    mname: "tailnet.test",
    rname: "tailnet.test",
    serial: TAILSCALED_1102_SOA_SERIAL,
    refresh: 10,
    retry: 10,
    expire: 10,
    minimum: 10,
  });
});

Deno.test("parseDnsMessage() reads a PTR answer and tailscaled's forwarded query", () => {
  const ptr = parseDnsMessage(byName("ts-1.102-PTR-self").bytes);
  assertEquals(ptr.answers[0].data, { kind: "name", name: "ts1.tailnet.test" });
  assertEquals(dnsRecordBody(ptr.answers[0]), "ts1.tailnet.test.");
  const q = parseDnsMessage(TAILSCALED_UPSTREAM_QUERY);
  assertEquals(q.header.recursionDesired, true);
  assertEquals(q.questions, [{ name: "outside.example", type: 1, class: 1 }]);
});

Deno.test("emitDnsMessage() re-emits every tailscaled capture byte for byte (no compression)", () => {
  for (const c of [...TAILSCALED_198, ...TAILSCALED_1102]) {
    const out = emitDnsMessage(parseDnsMessage(c.bytes), { compress: false });
    assertEquals(toHex(out), toHex(c.bytes), c.name);
  }
  assertEquals(toHex(dnsQuery(1, "outside.example", 1)), toHex(TAILSCALED_UPSTREAM_QUERY));
});

Deno.test("emitDnsMessage() compresses repeated names and parse follows the pointers back", () => {
  const m = parseDnsMessage(byName("ts-1.98-A-peer").bytes);
  m.answers.push({ ...m.answers[0], data: { kind: "a", addr: new Uint8Array([100, 64, 0, 9]) } });
  const plain = emitDnsMessage(m, { compress: false });
  const packed = emitDnsMessage(m);
  assert(packed.length < plain.length, `${packed.length} < ${plain.length}`);
  // The answers' owner names are pointers to the question's name at offset 12.
  assertEquals(toHex(packed.subarray(34, 36)), "c00c");
  assertEquals(parseDnsMessage(packed), parseDnsMessage(plain));
});

Deno.test("parseDnsMessage() rejects compression loops and forward pointers", () => {
  // A name that points at itself, then two names pointing at each other.
  const self = fromHex("000c01000001000000000000c00c00010001");
  const e1 = assertThrows(() => parseDnsMessage(self), ParseError);
  assert(e1.message.includes("does not point back"), e1.message);
  const pair = fromHex("000c0100000100000000000003616263c01400010001c00c");
  assertThrows(() => parseDnsMessage(pair), ParseError);
  // A pointer to a later label, even one that ends properly.
  const fwd = fromHex("000c01000001000000000000c0120001000100");
  assertThrows(() => parseDnsMessage(fwd), ParseError);
});

Deno.test("parseDnsMessage() rejects cut-short, over-long and badly labelled messages", () => {
  const q = dnsQuery(5, "peer.tailnet.test", 1);
  for (let n = 0; n < q.length; n++) {
    assertThrows(() => parseDnsMessage(q.subarray(0, n)), ParseError);
  }
  // 5 labels of 63 bytes: 321 bytes on the wire, over the 255 limit.
  const long = new Uint8Array([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  const labels = Array.from({ length: 5 }, () => [63, ...new Array(63).fill(0x61)]).flat();
  const tooLong = new Uint8Array([...long, ...labels, 0, 0, 1, 0, 1]);
  assert(assertThrows(() => parseDnsMessage(tooLong), ParseError).message.includes("longer"));
  // 0x40 and 0x80 label types (EDNS0 extended labels, reserved).
  const ext = new Uint8Array([...long, 0x41, 0, 0, 1, 0, 1]);
  assertThrows(() => parseDnsMessage(ext), ParseError);
  // A record whose data runs past the end; an A record of 5 bytes.
  const a = parseDnsMessage(byName("ts-1.98-A-peer").bytes);
  const bytes = emitDnsMessage(a, { compress: false });
  assertThrows(() => parseDnsMessage(bytes.subarray(0, bytes.length - 1)), ParseError);
  const bad = bytes.slice();
  bad[bytes.length - 5] = 5;
  assertThrows(() => parseDnsMessage(bad), ParseError);
  assertThrows(() => parseDnsHeader(new Uint8Array(11)), ParseError);
});

Deno.test("parseDnsMessage() keeps unknown types opaque and ignores trailing bytes", () => {
  const m = parseDnsMessage(byName("ts-1.98-A-peer").bytes);
  m.answers[0] = { ...m.answers[0], type: 99, data: { kind: "opaque", bytes: fromHex("0102") } };
  const out = emitDnsMessage(m);
  const back = parseDnsMessage(new Uint8Array([...out, 0xff, 0xee]));
  assertEquals(back.answers[0].data, { kind: "opaque", bytes: fromHex("0102") });
});

Deno.test("DNS names: escapes survive a round trip; bad names are RangeErrors", () => {
  const weird = new Uint8Array([
    0,
    1,
    1,
    0,
    0,
    1,
    0,
    0,
    0,
    0,
    0,
    0,
    3,
    0x61,
    0x2e,
    0x00,
    0,
    0,
    1,
    0,
    1,
  ]);
  const m = parseDnsMessage(weird);
  assertEquals(m.questions[0].name, "a\\046\\000");
  assertEquals(toHex(emitDnsMessage(m)), toHex(weird));
  assertEquals(dnsNameLabels("Peer.tailnet.test.").map((l) => l.length), [4, 7, 4]);
  assertThrows(() => dnsNameLabels("a..b"), RangeError);
  assertThrows(() => dnsNameLabels("x".repeat(64)), RangeError);
  assertThrows(() => dnsNameLabels(Array(130).fill("ab").join(".")), RangeError);
  assertEquals([dnsTypeFromName("aaaa"), dnsTypeFromName("TYPE65"), dnsTypeFromName("X")], [
    28,
    65,
    null,
  ]);
});
