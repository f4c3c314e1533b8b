/**
 * The inbound path, the twin of `send.ts`. {@linkcode receiveDatagram} switches on the
 * message type and demands exact sizes for handshake messages, then:
 *
 * - transport: find the keypair by receiver index, check its age, open, check the counter
 *   against the replay window, confirm a responder's new keypair, check the inner source
 *   address against the peer's allowed IPs, hand the packet up;
 * - initiation and response: check MAC1, and MAC2 when under load (else answer with a cookie
 *   reply), consume, answer or install the keypair;
 * - cookie reply: hand it to the peer whose handshake it names.
 *
 * Anything wrong bumps a drop counter and returns; nothing throws, nothing logs per packet.
 * @module
 */
import type { BindEndpoint } from "./bind.ts";
import { consumeInitiation, consumeResponse, deriveTransportKeys } from "./handshake.ts";
import {
  checkMessage,
  COOKIE_RECEIVER_AT,
  INIT_SENDER_AT,
  MSG_COOKIE_REPLY,
  MSG_INITIATION,
  MSG_RESPONSE,
  MSG_TRANSPORT,
  readU32le,
  RESP_RECEIVER_AT,
  RESP_SENDER_AT,
  TRANSPORT_MIN_LEN,
  TRANSPORT_RECEIVER_AT,
  transportCounter,
} from "./messages.ts";
import { beginSymmetricSession, type Peer, receivedWithKeypair } from "./peer.ts";
import {
  sendCookieReply,
  sendHandshakeInitiation,
  sendHandshakeResponse,
  sendKeepalive,
  sendStagedPackets,
} from "./send.ts";
import { sourceIp } from "./ratelimiter.ts";
import type { WgCore } from "./_core.ts";

/**
 * Processes one datagram from the bind.
 * @param core the device
 * @param data the datagram
 * @param from who sent it
 */
export function receiveDatagram(core: WgCore, data: Uint8Array, from: BindEndpoint): void {
  switch (checkMessage(data)) {
    case MSG_TRANSPORT:
      return receiveTransport(core, data, from);
    case MSG_INITIATION:
      return receiveInitiation(core, data, from);
    case MSG_RESPONSE:
      return receiveResponse(core, data, from);
    case MSG_COOKIE_REPLY:
      return receiveCookieReply(core, data);
    default:
      core.drops.malformed++;
  }
}

/** MAC1 always; under load MAC2 too, answering a missing one with a cookie reply. */
function admitHandshake(
  core: WgCore,
  msg: Uint8Array,
  senderIndex: number,
  from: BindEndpoint,
): boolean {
  // Every handshake-sized message counts toward load, as every one fills wireguard-go's
  // handshake queue, whether or not its MAC1 is good.
  const now = core.clock.now();
  const underLoad = core.underLoad(now);
  if (!core.cookieChecker.checkMac1(msg)) {
    core.drops.badMac++;
    return false;
  }
  if (!underLoad) return true;
  if (!core.cookieChecker.checkMac2(msg, from.addrBytes, now)) {
    sendCookieReply(core, msg, senderIndex, from);
    core.drops.cookieRequired++;
    return false;
  }
  if (!core.rateLimiter.allow(sourceIp(from.addrBytes), now)) {
    core.drops.rateLimited++;
    return false;
  }
  return true;
}

function receiveInitiation(core: WgCore, msg: Uint8Array, from: BindEndpoint): void {
  if (!admitHandshake(core, msg, readU32le(msg, INIT_SENDER_AT), from)) return;
  const now = core.clock.now();
  const peer = consumeInitiation(core.local, msg, (k) => core.peerByKey(k), now);
  if (peer === null) {
    core.drops.badHandshake++;
    return;
  }
  peer.timers.onAnyAuthenticatedPacketTraversal();
  peer.timers.onAnyAuthenticatedPacketReceived();
  if (core.roaming || peer.endpoint === null) peer.endpoint = from;
  peer.stats.rxBytes += msg.length;
  sendHandshakeResponse(core, peer);
}

function receiveResponse(core: WgCore, msg: Uint8Array, from: BindEndpoint): void {
  if (!admitHandshake(core, msg, readU32le(msg, RESP_SENDER_AT), from)) return;
  const entry = core.indexTable.lookup(readU32le(msg, RESP_RECEIVER_AT));
  if (entry === undefined || entry.keypair !== null) {
    core.drops.badHandshake++;
    return;
  }
  const peer = entry.peer;
  if (!consumeResponse(core.local, msg, peer.handshake)) {
    core.drops.badHandshake++;
    return;
  }
  const now = core.clock.now();
  if (core.roaming || peer.endpoint === null) peer.endpoint = from;
  peer.stats.rxBytes += msg.length;
  peer.timers.onAnyAuthenticatedPacketTraversal();
  peer.timers.onAnyAuthenticatedPacketReceived();
  const keys = deriveTransportKeys(peer.handshake);
  if (keys === null) return;
  beginSymmetricSession(core.indexTable, peer, keys, now);
  peer.timers.onSessionDerived();
  handshakeComplete(core, peer);
  core.log.debug("handshake complete (initiator) with", peer.keyHex.slice(0, 8));
  sendKeepalive(core, peer);
}

function receiveCookieReply(core: WgCore, msg: Uint8Array): void {
  const entry = core.indexTable.lookup(readU32le(msg, COOKIE_RECEIVER_AT));
  if (entry === undefined) {
    core.drops.unknownIndex++;
    return;
  }
  if (!entry.peer.cookieGenerator.consumeReply(msg, core.clock.now())) {
    core.drops.badCookie++;
    return;
  }
  entry.peer.stats.cookiesReceived++;
}

function handshakeComplete(core: WgCore, peer: Peer): void {
  peer.timers.onHandshakeComplete();
  peer.stats.lastHandshakeWallMs = core.clock.wallNow();
  peer.stats.handshakes++;
}

function receiveTransport(core: WgCore, msg: Uint8Array, from: BindEndpoint): void {
  const entry = core.indexTable.lookup(readU32le(msg, TRANSPORT_RECEIVER_AT));
  const kp = entry?.keypair ?? null;
  if (entry === undefined || kp === null) {
    core.drops.unknownIndex++;
    return;
  }
  const now = core.clock.now();
  if (kp.zeroed || now - kp.createdAt >= core.timings.rejectAfterTimeMs) {
    core.drops.noSession++;
    return;
  }
  const counter = transportCounter(msg);
  if (counter < 0) {
    core.drops.replay++;
    return;
  }
  const nonce = core.nonce;
  nonce.set(msg.subarray(8, 16), 4);
  const plain = kp.open(core.aead, nonce, msg, core.takeBytes);
  if (plain === null) {
    core.drops.badMac++;
    return;
  }
  if (!kp.replay.validate(counter, core.timings.rejectAfterMessages)) {
    core.drops.replay++;
    return;
  }
  const peer = entry.peer;
  if (receivedWithKeypair(core.indexTable, peer, kp)) {
    if (core.roaming || peer.endpoint === null) peer.endpoint = from;
    handshakeComplete(core, peer);
    core.log.debug("handshake complete (responder) with", peer.keyHex.slice(0, 8));
    sendStagedPackets(core, peer);
  }
  peer.stats.rxBytes += plain.length + TRANSPORT_MIN_LEN;
  peer.stats.rxPackets++;
  if (core.roaming) peer.endpoint = from;
  keepKeyFreshReceiving(core, peer);
  peer.timers.onAnyAuthenticatedPacketTraversal();
  peer.timers.onAnyAuthenticatedPacketReceived();
  if (plain.length === 0) return; // keepalive
  peer.timers.onDataReceived();
  const packet = checkInner(core, peer, plain);
  if (packet !== null) core.deliver(packet, peer);
}

/** Trims padding by the IP length field and checks the source against allowed IPs. */
function checkInner(core: WgCore, peer: Peer, p: Uint8Array): Uint8Array | null {
  const version = p[0] >> 4;
  if (version === 4) {
    if (p.length < 20) return malformed(core);
    const total = (p[2] << 8) | p[3];
    if (total > p.length || total < 20) return malformed(core);
    if (core.allowedIps.lookup(p, 12, 4) !== peer) return badSource(core);
    return total === p.length ? p : p.subarray(0, total);
  }
  if (version === 6) {
    if (p.length < 40) return malformed(core);
    const total = ((p[4] << 8) | p[5]) + 40;
    if (total > p.length) return malformed(core);
    if (core.allowedIps.lookup(p, 8, 16) !== peer) return badSource(core);
    return total === p.length ? p : p.subarray(0, total);
  }
  return malformed(core);
}

function malformed(core: WgCore): null {
  core.drops.malformed++;
  return null;
}

function badSource(core: WgCore): null {
  core.drops.badAllowedIp++;
  return null;
}

/**
 * Rekeys once, shortly before the keypair would be rejected, when we initiated it and are
 * still receiving on it (reject time − keepalive timeout − rekey timeout).
 * @param core the device
 * @param peer the peer
 */
export function keepKeyFreshReceiving(core: WgCore, peer: Peer): void {
  if (peer.timers.sentLastMinuteHandshake) return;
  const kp = peer.keypairs.current;
  const t = core.timings;
  if (
    kp !== null && kp.isInitiator &&
    core.clock.now() - kp.createdAt > t.rejectAfterTimeMs - t.keepaliveTimeoutMs - t.rekeyTimeoutMs
  ) {
    peer.timers.sentLastMinuteHandshake = true;
    sendHandshakeInitiation(core, peer, false);
  }
}
