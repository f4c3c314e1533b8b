import { assert, assertEquals, assertThrows } from "../base/testing/assert.ts";
import {
  INITIATION_LEN,
  noiseFinish,
  noiseInitialHash,
  noiseInitiate,
  noisePrologue,
  RESPONSE_LEN,
} from "./noise_ik.ts";
import { fromHex, toHex } from "../key/keys.ts";
import { ParseError } from "../base/errors.ts";
import { x25519GeneratePrivate, x25519Public, x25519Shared } from "./x25519.ts";
import { blake2sHash, hkdfBlake2s } from "./blake2s.ts";
import { aeadOpen, aeadSeal } from "./aead.ts";
import { NOISE_SESSION as session } from "./testing/noise_session.ts";

Deno.test("noiseInitialHash() is BLAKE2s of the protocol name (PROTOCOL §2.4 vector)", () => {
  assertEquals(
    toHex(noiseInitialHash()),
    "bbea022b948cf3bc5857d70804229179e1116bc40cb8cc074835349c464bca36",
  );
});

Deno.test("noisePrologue() is the version in decimal with no newline", () => {
  assertEquals(new TextDecoder().decode(noisePrologue(113)), "Tailscale Control Protocol v113");
});

Deno.test("noiseInitiate() reproduces the initiation headscale accepted", () => {
  const { message } = noiseInitiate({
    staticPrivate: fromHex(session.machinePrivate),
    remoteStaticPublic: fromHex(session.controlPublic),
    version: Number(session.version),
    ephemeralPrivate: fromHex(session.ephemeralPrivate),
  });
  assertEquals(message.length, INITIATION_LEN);
  assertEquals(toHex(message), session.initiation);
  // Header: version 113 big-endian, type 1, length 96 big-endian.
  assertEquals([...message.subarray(0, 5)], [0, 113, 1, 0, 96]);
  assertEquals(
    toHex(message.subarray(5, 37)),
    toHex(x25519Public(fromHex(session.ephemeralPrivate))),
  );
});

Deno.test("noiseFinish() derives the keys that open headscale's records", () => {
  const { state } = noiseInitiate({
    staticPrivate: fromHex(session.machinePrivate),
    remoteStaticPublic: fromHex(session.controlPublic),
    version: Number(session.version),
    ephemeralPrivate: fromHex(session.ephemeralPrivate),
  });
  const s = noiseFinish(state, fromHex(session.response));
  assertEquals(toHex(s.sendKey), session.sendKey);
  assertEquals(toHex(s.receiveKey), session.receiveKey);
  assertEquals(toHex(s.handshakeHash), session.handshakeHash);
});

Deno.test("noiseFinish() rejects a tampered response, a wrong type and a wrong length", () => {
  const mk = () =>
    noiseInitiate({
      staticPrivate: fromHex(session.machinePrivate),
      remoteStaticPublic: fromHex(session.controlPublic),
      version: Number(session.version),
      ephemeralPrivate: fromHex(session.ephemeralPrivate),
    }).state;
  const bad = fromHex(session.response);
  bad[RESPONSE_LEN - 1] ^= 1;
  assertThrows(() => noiseFinish(mk(), bad), ParseError, "does not verify");
  const wrongType = fromHex(session.response);
  wrongType[0] = 4;
  assertThrows(() => noiseFinish(mk(), wrongType), ParseError, "message type 4");
  assertThrows(() => noiseFinish(mk(), fromHex(session.response).subarray(0, 50)), ParseError);
});

Deno.test("noiseFinish() surfaces the text of a type-3 error message", () => {
  const text = new TextEncoder().encode("wrong handshake initiation size");
  const msg = new Uint8Array(3 + text.length);
  msg[0] = 3;
  msg[2] = text.length;
  msg.set(text, 3);
  const { state } = noiseInitiate({
    staticPrivate: x25519GeneratePrivate(),
    remoteStaticPublic: x25519Public(x25519GeneratePrivate()),
    version: 113,
  });
  assertThrows(() => noiseFinish(state, msg), ParseError, "wrong handshake initiation size");
});

Deno.test("noiseInitiate() rejects a version that is not a uint16", () => {
  const opts = {
    staticPrivate: x25519GeneratePrivate(),
    remoteStaticPublic: x25519Public(x25519GeneratePrivate()),
  };
  assertThrows(() => noiseInitiate({ ...opts, version: 70000 }), RangeError);
  assertThrows(() => noiseInitiate({ ...opts, version: -1 }), RangeError);
});

/**
 * A responder written from the Noise spec (IK, responder side), independent of noise_ik.ts,
 * as the second implementation: it must accept our initiation, and we must accept its response.
 */
function specResponder(staticPrivate: Uint8Array, init: Uint8Array, version: number) {
  const enc = new TextEncoder();
  const zero = new Uint8Array(12);
  let h = blake2sHash(enc.encode("Noise_IK_25519_ChaChaPoly_BLAKE2s"));
  let ck = h;
  const mixHash = (d: Uint8Array) => (h = blake2sHash(h, d));
  const mixKey = (dh: Uint8Array) => {
    const [a, b] = hkdfBlake2s(ck, dh, 2);
    ck = a;
    return b;
  };
  mixHash(enc.encode(`Tailscale Control Protocol v${version}`));
  mixHash(x25519Public(staticPrivate));
  const ie = init.subarray(5, 37);
  mixHash(ie);
  let k = mixKey(x25519Shared(staticPrivate, ie));
  const encS = init.subarray(37, 85);
  const is = aeadOpen(k, zero, encS, h);
  assert(is !== null, "responder: cannot decrypt initiator static");
  mixHash(encS);
  k = mixKey(x25519Shared(staticPrivate, is));
  const tag = init.subarray(85, 101);
  assert(aeadOpen(k, zero, tag, h) !== null, "responder: initiation tag");
  mixHash(tag);
  const re = x25519GeneratePrivate();
  const rePub = x25519Public(re);
  mixHash(rePub);
  mixKey(x25519Shared(re, ie));
  k = mixKey(x25519Shared(re, is));
  const rtag = aeadSeal(k, zero, new Uint8Array(0), h);
  mixHash(rtag);
  const [c1, c2] = hkdfBlake2s(ck, new Uint8Array(0), 2);
  const resp = new Uint8Array(51);
  resp[0] = 2;
  resp[2] = 48;
  resp.set(rePub, 3);
  resp.set(rtag, 35);
  return { resp, initiatorStatic: is, recvKey: c1, sendKey: c2, h };
}

Deno.test("noiseInitiate()/noiseFinish() agree with an independent spec responder", () => {
  const serverPriv = x25519GeneratePrivate();
  const machinePriv = x25519GeneratePrivate();
  const { message, state } = noiseInitiate({
    staticPrivate: machinePriv,
    remoteStaticPublic: x25519Public(serverPriv),
    version: 130,
  });
  const r = specResponder(serverPriv, message, 130);
  assertEquals(toHex(r.initiatorStatic), toHex(x25519Public(machinePriv)));
  const s = noiseFinish(state, r.resp);
  assertEquals(toHex(s.sendKey), toHex(r.recvKey));
  assertEquals(toHex(s.receiveKey), toHex(r.sendKey));
  assertEquals(toHex(s.handshakeHash), toHex(r.h));
});

Deno.test("noiseInitiate() with a different version is rejected by the responder's prologue", () => {
  const serverPriv = x25519GeneratePrivate();
  const { message } = noiseInitiate({
    staticPrivate: x25519GeneratePrivate(),
    remoteStaticPublic: x25519Public(serverPriv),
    version: 113,
  });
  assertThrows(() => specResponder(serverPriv, message, 114), Error, "responder");
});
