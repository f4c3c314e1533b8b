/**
 * WireGuard data-path and handshake speed, one core:
 * - seal+open of one 1420-byte packet through the Device path (route by allowed IPs, seal in
 *   place, memory hand-off, index lookup, open, replay check, allowed-IPs check, hand up),
 * - the same with node:crypto chacha20-poly1305 alone (seal + open: the ceiling),
 * - full handshakes (initiation, response, both keypairs) between two devices.
 *
 * Run: `deno bench --allow-all --unstable-net bench/wg_bench.ts`
 */
import { AllowedIps, parsePrefix } from "../src/engine/wg/allowed_ips.ts";
import { createCipheriv, createDecipheriv, createSecretKey } from "node:crypto";
import { ManualClock } from "../src/engine/base/testing/manual_clock.ts";
import { devicePair } from "./_wg_pair.ts";

const PACKET_BYTES = 1420;
function pair(clock: ManualClock, onPacketB: () => void) {
  return devicePair({
    clock,
    mtu: PACKET_BYTES,
    aIps: ["10.0.0.1/32"],
    bIps: ["10.0.0.2/32"],
    onPacketB,
  });
}

function ipv4(len: number): Uint8Array {
  const p = new Uint8Array(len);
  p[0] = 0x45;
  p[2] = len >> 8;
  p[3] = len & 0xff;
  p[9] = 17;
  p.set([10, 0, 0, 1], 12);
  p.set([10, 0, 0, 2], 16);
  return p;
}

// Data path: a session is set up once; each iteration seals one packet at a and opens it at b.
const clock = new ManualClock();
let delivered = 0;
const { a } = pair(clock, () => delivered++);
const template = ipv4(PACKET_BYTES);
a.sendPacket(template); // handshake + first packet
if (delivered !== 1) throw new Error("bench setup: no session");
addEventListener("unload", () => {
  // Every iteration must have reached b; a silent drop would flatter the figure.
  if (delivered < 2) throw new Error(`bench: only ${delivered} packets delivered`);
});
const buf = new Uint8Array(16 + PACKET_BYTES + 16);

Deno.bench("wg Device seal+open 1420 B (route, seal in place, open, replay, allowed IPs)", {
  group: "data",
}, () => {
  buf.set(template, 16);
  a.send(buf, 16, PACKET_BYTES);
});

const key = crypto.getRandomValues(new Uint8Array(32));
const keyObject = createSecretKey(key);
const nonce = new Uint8Array(12);
const packet = crypto.getRandomValues(new Uint8Array(PACKET_BYTES));
let counter = 0;

function sealOpen(k: Uint8Array | ReturnType<typeof createSecretKey>): void {
  new DataView(nonce.buffer).setUint32(4, counter++, true);
  const c = createCipheriv("chacha20-poly1305", k, nonce, { authTagLength: 16 });
  const body = c.update(packet);
  c.final();
  const tag = c.getAuthTag();
  const d = createDecipheriv("chacha20-poly1305", k, nonce, { authTagLength: 16 });
  d.setAuthTag(tag);
  d.update(body);
  d.final();
}

Deno.bench("node:crypto chacha20-poly1305 seal+open 1420 B, raw key (ceiling)", {
  group: "data",
  baseline: true,
}, () => sealOpen(key));

Deno.bench("node:crypto chacha20-poly1305 seal+open 1420 B, KeyObject (ceiling, as wg keys)", {
  group: "data",
}, () => sealOpen(keyObject));

// Handshakes: fresh device pair each time would measure key generation; instead one pair,
// and the clock moves past the initiation rate limits between handshakes.
const hsClock = new ManualClock();
const hs = pair(hsClock, () => {});
Deno.bench("wg handshake (initiation + response + keypairs, both sides)", {
  group: "handshake",
}, () => {
  hsClock.advance(6000);
  hs.a.initiateHandshake(hs.b.publicKey);
});

// A netmap change re-sets every peer: the allowed-IPs table of 10,000 peers (two host prefixes
// each), each peer's prefixes removed and inserted again, then every peer's listed (status).
const TABLE_PEERS = 10_000;
const tablePrefixes = Array.from({ length: TABLE_PEERS }, (_, i) => [
  parsePrefix(`100.65.${i >> 8}.${i & 255}/32`),
  parsePrefix(`fd7a:115c:a1e0::2:${i.toString(16)}/128`),
]);
const table = new AllowedIps<number>();
for (let i = 0; i < TABLE_PEERS; i++) for (const p of tablePrefixes[i]) table.insert(p, i);
Deno.bench("AllowedIps: re-set and list 10,000 peers' prefixes (one netmap change)", {
  group: "control-scale",
}, () => {
  for (let i = 0; i < TABLE_PEERS; i++) {
    table.removePeer(i);
    for (const p of tablePrefixes[i]) table.insert(p, i);
  }
  for (let i = 0; i < TABLE_PEERS; i++) table.prefixesOf(i);
});
