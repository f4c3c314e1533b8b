/**
 * DERP frame codec speed: encode (emitFrame into a reused buffer) and decode (parseFrame) of a
 * 1,200-byte send/recv packet frame, beside a plain copy of the same bytes (the floor), so the
 * codec's overhead shows as a ratio. Also the stream reader reassembling frames from 16 KiB
 * chunks, as they come off a TLS socket.
 */
import type { NodePublic } from "../src/engine/key/keys.ts";
import { FrameReader, memoryStreamPair } from "../src/engine/derp/stream.ts";
import {
  type DerpFrame,
  emitFrame,
  encodeFrame,
  frameLen,
  MAX_FRAME_LEN,
  parseFrame,
} from "../src/engine/wire/derp_frames.ts";

const key = crypto.getRandomValues(new Uint8Array(32)) as NodePublic;
const packet = crypto.getRandomValues(new Uint8Array(1200));
const send: DerpFrame = { type: "send-packet", dst: key, packet };
const recv = encodeFrame({ type: "recv-packet", src: key, packet });
const out = new Uint8Array(frameLen(send));
const copyDst = new Uint8Array(recv.length);

Deno.bench("plain copy of a 1,237-byte frame (floor)", { group: "encode", baseline: true }, () => {
  copyDst.set(recv);
});
Deno.bench("emitFrame send-packet 1,200 B into a reused buffer", { group: "encode" }, () => {
  emitFrame(send, out, 0);
});
Deno.bench(
  "encodeFrame send-packet 1,200 B (allocating, as DerpClient.send)",
  { group: "encode" },
  () => {
    encodeFrame(send);
  },
);

Deno.bench("plain copy of a 1,237-byte frame (floor)", { group: "decode", baseline: true }, () => {
  copyDst.set(recv);
});
Deno.bench("parseFrame recv-packet 1,200 B", { group: "decode" }, () => {
  parseFrame(recv);
});

// 1,000 frames back to back, cut into 16 KiB chunks.
const stream = new Uint8Array(recv.length * 1000);
for (let i = 0; i < 1000; i++) stream.set(recv, i * recv.length);
const chunks: Uint8Array[] = [];
for (let i = 0; i < stream.length; i += 16384) chunks.push(stream.subarray(i, i + 16384));

Deno.bench(
  "FrameReader: 1,000 recv-packet frames from 16 KiB chunks",
  { group: "reader" },
  async () => {
    const [w, r] = memoryStreamPair();
    for (const c of chunks) await w.write(c);
    await w.close();
    const reader = new FrameReader(r, MAX_FRAME_LEN);
    let n = 0;
    while ((await reader.next()) !== null) n++;
    if (n !== 1000) throw new Error(`read ${n} frames`);
    await r.close();
  },
);
