/**
 * Re-captures `noise_headscale_session.json`: one ts2021 handshake with real headscale (started
 * in a lab) using fixed machine and ephemeral private keys, then the server's first records (the
 * early payload) and its answer to our sealed HTTP/2 preface. The unit tests replay it.
 *
 *   deno run -A tests/testdata/control/capture_noise.ts > src/engine/crypto/testing/noise_headscale_session.json
 * @module
 */
import { Lab } from "../../lab/mod.ts";
import { fetchServerKey } from "../../../src/engine/control/dial.ts";
import { noiseFinish, noiseInitiate } from "../../../src/engine/crypto/noise_ik.ts";
import { RecordCipher, RecordSplitter } from "../../../src/engine/control/noise_records.ts";
import { fromHex, toHex } from "../../../src/engine/key/keys.ts";
import { CAPABILITY_VERSION } from "../../../src/version.ts";

await using lab = await Lab.start({ tailscaleds: 0 });
const version = CAPABILITY_VERSION;
const machinePrivate = fromHex("a8".repeat(32));
const ephemeralPrivate = fromHex("5c".repeat(32));
const controlKey = await fetchServerKey(lab.controlUrl, version);
const { message, state } = noiseInitiate({
  staticPrivate: machinePrivate,
  remoteStaticPublic: controlKey,
  version,
  ephemeralPrivate,
});
const u = new URL(lab.controlUrl);
const conn = await Deno.connect({ hostname: u.hostname, port: Number(u.port) });
try {
  await conn.write(new TextEncoder().encode(
    `POST /ts2021 HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: tailscale-control-protocol\r\n` +
      `Connection: upgrade\r\nX-Tailscale-Handshake: ${btoa(String.fromCharCode(...message))}\r\n\r\n`,
  ));
  let buf = new Uint8Array(0);
  const tmp = new Uint8Array(8192);
  const readMore = async () => {
    const n = await conn.read(tmp);
    if (n === null) throw new Error("EOF from headscale");
    const next = new Uint8Array(buf.length + n);
    next.set(buf);
    next.set(tmp.subarray(0, n), buf.length);
    buf = next;
  };
  let headEnd = -1;
  while (headEnd < 0) {
    await readMore();
    headEnd = new TextDecoder().decode(buf).indexOf("\r\n\r\n");
  }
  const head = new TextDecoder().decode(buf.subarray(0, headEnd));
  buf = buf.subarray(headEnd + 4);
  while (buf.length < 51) await readMore();
  const response = buf.slice(0, 51);
  const session = noiseFinish(state, response);
  const rx = new RecordCipher(session.receiveKey);
  const tx = new RecordCipher(session.sendKey);
  const split = new RecordSplitter();
  split.push(buf.subarray(51));
  const serverRecords: string[] = [];
  const serverPlaintexts: string[] = [];
  const need = async (count: number) => {
    while (serverRecords.length < count) {
      const r = split.next();
      if (r) {
        serverRecords.push(toHex(r));
        serverPlaintexts.push(toHex(rx.open(r)));
        continue;
      }
      const n = await conn.read(tmp);
      if (n === null) throw new Error("EOF from headscale");
      split.push(tmp.subarray(0, n));
    }
  };
  await need(3); // the early payload: magic, length, JSON
  const preface = new Uint8Array([
    ...new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
    ...[0, 0, 0, 4, 0, 0, 0, 0, 0], // an empty SETTINGS frame
  ]);
  const clientRecord = tx.sealAll(preface);
  await conn.write(clientRecord);
  await need(4); // headscale's first HTTP/2 bytes, in answer
  const out = {
    how: "Captured by tests/testdata/control/capture_noise.ts on " +
      new Date().toISOString().slice(0, 10) +
      " against real headscale v0.29.2 in the lab (plain HTTP on 127.0.0.1): fixed machine and " +
      "ephemeral private keys; noiseInitiate() built the initiation, headscale accepted it " +
      "(HTTP 101) and sent the response and the records below; clientRecord is our sealed " +
      "HTTP/2 preface + SETTINGS, which headscale answered with serverRecords[3].",
    version,
    machinePrivate: toHex(machinePrivate),
    ephemeralPrivate: toHex(ephemeralPrivate),
    controlPublic: toHex(controlKey),
    upgradeResponseHead: head,
    initiation: toHex(message),
    response: toHex(response),
    serverRecords,
    serverPlaintexts,
    clientPlaintext: toHex(preface),
    clientRecord: toHex(clientRecord),
    sendKey: toHex(session.sendKey),
    receiveKey: toHex(session.receiveKey),
    handshakeHash: toHex(session.handshakeHash),
  };
  await Deno.stdout.write(new TextEncoder().encode(JSON.stringify(out, null, 2) + "\n"));
} finally {
  conn.close();
}
