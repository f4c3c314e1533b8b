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
import { Logger } from "../src/engine/base/logger.ts";
import { generatePrivate } from "../src/engine/key/keys.ts";
import type { Bind, BindEndpoint, BindReceived } from "../src/engine/wg/bind.ts";
import { ManualClock } from "../src/engine/base/testing/manual_clock.ts";
import { Device } from "../src/engine/wg/device.ts";

const PACKET_BYTES = 1420;
const SILENT = new Logger({ sink: () => {} });

/** A bind that hands each datagram straight to the other device, synchronously. */
class DirectBind implements Bind {
  other: Device | null = null;
  readonly self: BindEndpoint;
  constructor(id: number) {
    this.self = { addrBytes: new Uint8Array([id]), toString: () => `direct${id}` };
  }
  send(datagram: Uint8Array): void {
    this.other?.receiveDatagram(datagram, this.self);
  }
  receive(): Promise<BindReceived | null> {
    return Promise.resolve(null);
  }
  close(): void {}
}

function pair(clock: ManualClock, onPacketB: () => void) {
  const ba = new DirectBind(1);
  const bb = new DirectBind(2);
  const a = new Device({
    privateKey: generatePrivate("node"),
    bind: ba,
    clock,
    log: SILENT,
    mtu: PACKET_BYTES,
  });
  const b = new Device({
    privateKey: generatePrivate("node"),
    bind: bb,
    clock,
    log: SILENT,
    mtu: PACKET_BYTES,
    onPacket: onPacketB,
  });
  ba.other = b;
  bb.other = a;
  a.setPeer({ publicKey: b.publicKey, allowedIps: ["10.0.0.2/32"], endpoint: bb.self });
  b.setPeer({ publicKey: a.publicKey, allowedIps: ["10.0.0.1/32"], endpoint: ba.self });
  return { a, b };
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
