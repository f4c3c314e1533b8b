/**
 * The packet codecs on the data path: inspecting and parsing a 1420-byte TCP/IPv4 packet (the
 * size tailscaled's MTU gives), verifying its checksums, and the raw internet-checksum rate.
 * Hot-path calls (isIpv4/inspectIp/accessors) beside the control-path parse that builds a
 * value, so the cost of the object shows as a ratio. And a packet's buffer: a fresh
 * `Uint8Array` beside a view of a `ByteSlab`, which the data path takes its buffers from.
 * Run: `deno bench --allow-all bench/wire_bench.ts`.
 */
import { ByteSlab } from "../src/engine/base/slab.ts";
import { checksumAdd, checksumFinish, pseudoHeaderSumAt } from "../src/engine/wire/checksum.ts";
import { inspectIp, newIpInfo } from "../src/engine/wire/ip.ts";
import { emitIpv4, ipv4ChecksumOk, parseIpv4 } from "../src/engine/wire/ipv4.ts";
import {
  emitTcp,
  parseTcp,
  tcpAck,
  tcpChecksumOk,
  tcpDstPort,
  tcpFlags,
  tcpSeq,
  tcpSrcPort,
} from "../src/engine/wire/tcp.ts";

const PACKET_LEN = 1420;
const src = new Uint8Array([100, 64, 0, 1]);
const dst = new Uint8Array([100, 64, 0, 2]);
const options = [
  { kind: "nop" as const },
  { kind: "nop" as const },
  { kind: "timestamps" as const, tsVal: 1037157906, tsEcr: 170233362 },
];
const payload = crypto.getRandomValues(new Uint8Array(PACKET_LEN - 20 - 32));
const packet = new Uint8Array(PACKET_LEN);
emitIpv4(
  {
    tos: 0,
    id: 1,
    dontFragment: true,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 64,
    protocol: 6,
    src,
    dst,
    options: new Uint8Array(0),
    payloadLen: PACKET_LEN - 20,
  },
  packet,
  0,
);
emitTcp(
  {
    srcPort: 37918,
    dstPort: 8080,
    seq: 1,
    ack: 1,
    flags: 0x18,
    window: 63,
    urgent: 0,
    options,
    payload,
  },
  packet,
  20,
  { src, dst },
);

const info = newIpInfo();
let sink = 0;

Deno.bench("inspectIp + TCP accessors, 1420 B TCP/IPv4 (hot path)", {
  group: "parse",
  baseline: true,
}, () => {
  if (!inspectIp(packet, 0, PACKET_LEN, info)) throw new Error("bad packet");
  const o = info.payloadOff;
  sink ^= tcpSrcPort(packet, o) ^ tcpDstPort(packet, o) ^ tcpSeq(packet, o) ^ tcpAck(packet, o) ^
    tcpFlags(packet, o);
});

Deno.bench("inspectIp + IPv4 and TCP checksum verify, 1420 B", { group: "parse" }, () => {
  if (!inspectIp(packet, 0, PACKET_LEN, info) || !ipv4ChecksumOk(packet, 0)) {
    throw new Error("bad packet");
  }
  const ps = pseudoHeaderSumAt(
    packet,
    info.srcOff,
    info.dstOff,
    4,
    6,
    info.payloadEnd - info.payloadOff,
  );
  if (!tcpChecksumOk(packet, info.payloadOff, info.payloadEnd, ps)) throw new Error("bad checksum");
});

Deno.bench("parseIpv4 + parseTcp values (control path), 1420 B", { group: "parse" }, () => {
  const h = parseIpv4(packet, 0);
  const s = parseTcp(packet, 20, 20 + h.payloadLen);
  sink ^= s.seq;
});

for (const n of [64, 1420, 65535]) {
  const buf = crypto.getRandomValues(new Uint8Array(n));
  Deno.bench(`internet checksum ${n} B`, { group: "checksum", n: 1 }, () => {
    sink ^= checksumFinish(checksumAdd(0, buf, 0, n));
  });
}

globalThis.addEventListener("unload", () => {
  if (sink === 0.5) throw new Error("unreachable; keeps `sink` alive");
});

const slab = new ByteSlab();
const packetBytes = new Uint8Array(1420).fill(7);
Deno.bench("copy of a 1420 B packet into a ByteSlab view", { group: "packet buffer" }, () => {
  slab.copyOf(packetBytes);
});
Deno.bench(
  "copy of a 1420 B packet into a fresh Uint8Array (slice)",
  { group: "packet buffer", baseline: true },
  () => {
    packetBytes.slice();
  },
);
