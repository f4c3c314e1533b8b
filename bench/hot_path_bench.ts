/**
 * The per-packet hot path of our daemon end to end, in one process with no network: a peer
 * (a WireGuard device and a TCP stack, standing in for real tailscaled) sends through the
 * tunnel to our side, where each sealed datagram goes WireGuard open -> the packet pipeline
 * (parse, filter, local handlers) -> our stack -> the proxy's end of the connection (the
 * `ProxyConn` streams the SOCKS5 and HTTP proxies pipe to the client's socket), and the reply
 * goes back the same way (proxy write -> stack -> pipeline -> seal -> the peer).
 *
 * - a 64-byte request from the peer and its echo back from our proxy end (one round trip);
 * - 1 MiB from the peer read by our proxy end (the receive direction of a bulk transfer);
 * - 1 MiB written by our proxy end and read at the peer (the send direction).
 * The UDP socket itself is left out (its cost per datagram is the floor `deno task bench`
 * measures); wg_bench, stack_bench, proxy_bench and wire_bench time the steps one by one.
 *
 * Run: `deno task bench:micro` (all) or `deno bench --allow-all --unstable-net bench/hot_path_bench.ts`
 */
import { IpPinger } from "../src/engine/ping/pinger.ts";
import { Responder } from "../src/engine/ping/responder.ts";
import { PacketPipeline } from "../src/engine/pipeline.ts";
import type { NodePublic } from "../src/engine/key/keys.ts";
import { proxyConnFromDeno } from "../src/engine/proxy/_deno_conn.ts";
import { Stack } from "../src/engine/stack/mod.ts";
import { devicePair } from "./_wg_pair.ts";

const PEER_IP = "100.64.0.1";
const OUR_IP = "100.64.0.2";
const PORT = 7;
const MIB = 1 << 20;

// The peer's stack sends through device a; our pipeline sends through device b.
let peerStack: Stack | null = null;
let pipeline: PacketPipeline | null = null;
const { a, b } = devicePair({
  aIps: [`${PEER_IP}/32`],
  bIps: [`${OUR_IP}/32`],
  onPacketA: (p) => peerStack!.input(p),
  onPacketB: (p, key) => pipeline!.inbound(p, key as NodePublic),
});
peerStack = new Stack({ addresses: [PEER_IP], output: (buf, off, len) => a.send(buf, off, len) });
const ourStack = new Stack({
  addresses: [OUR_IP],
  output: (buf, off, len) => pipeline!.outbound(buf, off, len),
});
pipeline = new PacketPipeline({
  send: (buf, off, len) => b.send(buf, off, len),
  sendCopy: (packet) => b.sendPacket(packet),
  stackInput: (packet, info) => ourStack.inputParsed(packet, info),
  pinger: new IpPinger(),
  responder: new Responder(),
});

// Our proxy dials the peer through our stack, as a SOCKS5 CONNECT does.
const listener = peerStack.listenTcp({ port: PORT });
const accepted = listener.accept();
const proxyConn = proxyConnFromDeno(await ourStack.connectTcp(PEER_IP, PORT));
const peerConn = await accepted;
const proxyReader = proxyConn.readable.getReader();
const proxyWriter = proxyConn.writable.getWriter();
const peerReader = peerConn.readable.getReader();
const peerWriter = peerConn.writable.getWriter();

/** Reads until `n` bytes came; returns the last chunk (the whole echo for 64 bytes). */
async function readN(r: ReadableStreamDefaultReader<Uint8Array>, n: number): Promise<Uint8Array> {
  let got = 0;
  let last: Uint8Array = new Uint8Array(0);
  while (got < n) {
    const { value, done } = await r.read();
    if (done) throw new Error(`closed after ${got} of ${n} bytes`);
    last = value;
    got += value.byteLength;
  }
  return last;
}

const request = crypto.getRandomValues(new Uint8Array(64));
const chunk = new Uint8Array(MIB).map((_, i) => (i * 2654435761) >>> 24);

Deno.bench("hot path: 64 B request from the peer, echoed back by our proxy end", {
  group: "round trip",
}, async () => {
  await peerWriter.write(request.slice());
  const got = await readN(proxyReader, 64);
  await proxyWriter.write(got);
  await readN(peerReader, 64);
});

Deno.bench("hot path: 1 MiB peer -> our proxy end (open, pipeline, stack, read)", {
  group: "bulk",
}, async () => {
  await Promise.all([peerWriter.write(chunk.slice()), readN(proxyReader, MIB)]);
});

Deno.bench("hot path: 1 MiB our proxy end -> peer (write, stack, pipeline, seal)", {
  group: "bulk",
}, async () => {
  await Promise.all([proxyWriter.write(chunk.slice()), readN(peerReader, MIB)]);
});
