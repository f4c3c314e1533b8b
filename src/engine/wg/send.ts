/**
 * The outbound path, in the order a packet takes it:
 *
 * 1. {@linkcode routeAndStage}: find the peer by destination address; stage the packet.
 * 2. {@linkcode sendStagedPackets}: with a usable current keypair, seal each staged packet in
 *    place (header written into the 16 bytes in front, tag after the padded plaintext) and
 *    hand it to the bind; without one, start a handshake and leave the packets staged.
 * 3. {@linkcode keepKeyFreshSending}: rekey when the keypair is old or used a lot.
 *
 * Handshake messages go out through {@linkcode sendHandshakeInitiation},
 * {@linkcode sendHandshakeResponse} and {@linkcode sendCookieReply}. Nothing here throws or
 * logs per packet.
 * @module
 */
import type { BindEndpoint } from "./bind.ts";
import { MAX_COUNTER, MAX_STAGED_PACKETS, PADDING_MULTIPLE } from "./constants.ts";
import { createInitiation, createResponse, deriveTransportKeys } from "./handshake.ts";
import type { Keypair } from "./keypair.ts";
import { emitTransportHeader, TAG_LEN, TRANSPORT_HEADER_LEN } from "./messages.ts";
import { beginSymmetricSession, type Peer } from "./peer.ts";
import type { WgCore } from "./_core.ts";

/**
 * Zero bytes to add after a plaintext of `len` bytes: up to a multiple of 16, never beyond
 * the MTU (wireguard-go's `calculatePaddingSize`).
 * @param len plaintext length
 * @param mtu tunnel MTU (0: no limit)
 * @returns padding length
 */
export function paddingFor(len: number, mtu: number): number {
  const up = (n: number) => Math.ceil(n / PADDING_MULTIPLE) * PADDING_MULTIPLE;
  if (mtu === 0) return up(len) - len;
  let last = len;
  if (last > mtu) last %= mtu;
  return Math.min(up(last), mtu) - last;
}

/**
 * Sends a handshake initiation, unless one went out less than the rekey timeout ago.
 * @param core the device
 * @param peer to whom
 * @param isRetry true from the retransmit timer; false resets the attempt count
 */
export function sendHandshakeInitiation(core: WgCore, peer: Peer, isRetry: boolean): void {
  const now = core.clock.now();
  if (!isRetry) peer.timers.handshakeAttempts = 0;
  const hs = peer.handshake;
  if (now - hs.lastSentHandshakeAt < core.timings.rekeyTimeoutMs) return;
  hs.lastSentHandshakeAt = now;
  if (hs.localIndex !== 0) core.indexTable.delete(hs.localIndex);
  const index = core.indexTable.newIndexForHandshake(peer);
  const msg = createInitiation(core.local, hs, index, core.clock.wallNow());
  if (msg === null) {
    core.indexTable.delete(index);
    hs.localIndex = 0;
    return;
  }
  peer.cookieGenerator.addMacs(msg, now);
  peer.timers.onAnyAuthenticatedPacketTraversal();
  peer.timers.onAnyAuthenticatedPacketSent();
  peer.stats.initiationsSent++;
  if (peer.endpoint !== null) {
    core.bind.send(msg, peer.endpoint);
    peer.stats.txBytes += msg.length;
  } else {
    core.drops.noEndpoint++;
  }
  peer.timers.onHandshakeInitiated();
}

/**
 * Answers a consumed initiation and derives the (not yet confirmed) keypair.
 * @param core the device
 * @param peer whose initiation was consumed
 */
export function sendHandshakeResponse(core: WgCore, peer: Peer): void {
  const now = core.clock.now();
  const hs = peer.handshake;
  hs.lastSentHandshakeAt = now;
  if (hs.localIndex !== 0) core.indexTable.delete(hs.localIndex);
  const index = core.indexTable.newIndexForHandshake(peer);
  const msg = createResponse(hs, index);
  if (msg === null) {
    core.indexTable.delete(index);
    hs.localIndex = 0;
    core.drops.badHandshake++;
    return;
  }
  peer.cookieGenerator.addMacs(msg, now);
  const keys = deriveTransportKeys(hs);
  if (keys === null) return;
  beginSymmetricSession(core.indexTable, peer, keys, now);
  peer.timers.onSessionDerived();
  peer.timers.onAnyAuthenticatedPacketTraversal();
  peer.timers.onAnyAuthenticatedPacketSent();
  if (peer.endpoint !== null) {
    core.bind.send(msg, peer.endpoint);
    peer.stats.txBytes += msg.length;
  } else {
    core.drops.noEndpoint++;
  }
}

/**
 * Sends a cookie reply to a handshake message that arrived under load without a valid MAC2.
 * @param core the device
 * @param msg the handshake message
 * @param senderIndex its sender index
 * @param to where it came from
 */
export function sendCookieReply(
  core: WgCore,
  msg: Uint8Array,
  senderIndex: number,
  to: BindEndpoint,
): void {
  const reply = core.cookieChecker.createReply(msg, senderIndex, to.addrBytes, core.clock.now());
  core.bind.send(reply, to);
}

/**
 * Queues a keepalive (only when nothing else waits) and sends what is staged.
 * @param core the device
 * @param peer to whom
 */
export function sendKeepalive(core: WgCore, peer: Peer): void {
  if (peer.staged.length === 0) {
    peer.staged.push({ buf: new Uint8Array(TRANSPORT_HEADER_LEN + TAG_LEN), off: 16, len: 0 });
  }
  sendStagedPackets(core, peer);
}

/**
 * Adds a packet to the peer's staging queue, dropping the oldest when full.
 * @param core the device
 * @param peer the peer
 * @param buf buffer with 16 free bytes before `off`
 * @param off start of the IP packet
 * @param len its length
 */
export function stagePacket(
  core: WgCore,
  peer: Peer,
  buf: Uint8Array,
  off: number,
  len: number,
): void {
  if (peer.staged.length >= MAX_STAGED_PACKETS) {
    peer.staged.shift();
    core.drops.stagedOverflow++;
  }
  peer.staged.push({ buf, off, len });
}

/**
 * Finds the peer for the IP packet at `buf[off .. off+len]` by its destination and stages it.
 * @param core the device
 * @param buf buffer with 16 free bytes before `off`
 * @param off start of the IP packet
 * @param len its length
 * @returns the peer, or null (counted as noRoute or malformed)
 */
export function routeAndStage(
  core: WgCore,
  buf: Uint8Array,
  off: number,
  len: number,
): Peer | null {
  if (len < 1 || off < TRANSPORT_HEADER_LEN || off + len > buf.length) {
    core.drops.malformed++;
    return null;
  }
  const version = buf[off] >> 4;
  let peer: Peer | null;
  if (version === 4 && len >= 20) peer = core.allowedIps.lookup(buf, off + 16, 4);
  else if (version === 6 && len >= 40) peer = core.allowedIps.lookup(buf, off + 24, 16);
  else {
    core.drops.malformed++;
    return null;
  }
  if (peer === null) {
    core.drops.noRoute++;
    return null;
  }
  stagePacket(core, peer, buf, off, len);
  return peer;
}

function usable(core: WgCore, kp: Keypair | null, now: number): kp is Keypair {
  return kp !== null && !kp.zeroed &&
    kp.sendNonce < Math.min(core.timings.rejectAfterMessages, MAX_COUNTER) &&
    now - kp.createdAt < core.timings.rejectAfterTimeMs;
}

/**
 * Seals and sends every staged packet with the current keypair; without a usable one, starts
 * a handshake (rate-limited) and keeps them staged.
 * @param core the device
 * @param peer the peer
 */
export function sendStagedPackets(core: WgCore, peer: Peer): void {
  if (peer.staged.length === 0) return;
  const now = core.clock.now();
  const kp = peer.keypairs.current;
  if (!usable(core, kp, now)) {
    sendHandshakeInitiation(core, peer, false);
    return;
  }
  const staged = peer.staged;
  peer.staged = [];
  for (let i = 0; i < staged.length; i++) {
    const p = staged[i];
    if (!sealAndSend(core, peer, kp, p.buf, p.off, p.len)) {
      // Keypair ran out of messages mid-batch: keep the rest for the next session.
      peer.staged = staged.slice(i);
      sendHandshakeInitiation(core, peer, false);
      return;
    }
  }
  keepKeyFreshSending(core, peer);
}

function sealAndSend(
  core: WgCore,
  peer: Peer,
  kp: Keypair,
  buf: Uint8Array,
  off: number,
  len: number,
): boolean {
  const counter = kp.sendNonce;
  if (counter >= core.timings.rejectAfterMessages || counter >= MAX_COUNTER) return false;
  const padded = len + paddingFor(len, core.mtu);
  if (buf.length < off + padded + TAG_LEN) {
    // Not enough room behind the packet: copy once into a buffer that has it.
    const big = new Uint8Array(TRANSPORT_HEADER_LEN + padded + TAG_LEN);
    big.set(buf.subarray(off, off + len), TRANSPORT_HEADER_LEN);
    buf = big;
    off = TRANSPORT_HEADER_LEN;
  } else if (padded > len) {
    buf.fill(0, off + len, off + padded);
  }
  kp.sendNonce = counter + 1;
  const head = off - TRANSPORT_HEADER_LEN;
  emitTransportHeader(buf, head, kp.remoteIndex, counter);
  const nonce = core.nonce;
  nonce[4] = counter;
  nonce[5] = counter >>> 8;
  nonce[6] = counter >>> 16;
  nonce[7] = counter >>> 24;
  const hi = Math.floor(counter / 0x100000000);
  nonce[8] = hi;
  nonce[9] = hi >>> 8;
  nonce[10] = hi >>> 16;
  nonce[11] = hi >>> 24;
  if (!kp.sealInPlace(core.aead, nonce, buf, off, padded)) return false;
  const datagram = buf.subarray(head, off + padded + TAG_LEN);
  peer.timers.onAnyAuthenticatedPacketTraversal();
  peer.timers.onAnyAuthenticatedPacketSent();
  if (peer.endpoint === null) {
    core.drops.noEndpoint++;
    return true;
  }
  core.bind.send(datagram, peer.endpoint);
  peer.stats.txBytes += datagram.length;
  peer.stats.txPackets++;
  if (len > 0) peer.timers.onDataSent();
  return true;
}

/**
 * Starts a new handshake when the current keypair has sent too many messages, or when we
 * initiated it more than the rekey time ago.
 * @param core the device
 * @param peer the peer
 */
export function keepKeyFreshSending(core: WgCore, peer: Peer): void {
  const kp = peer.keypairs.current;
  if (kp === null) return;
  const now = core.clock.now();
  if (
    kp.sendNonce > core.timings.rekeyAfterMessages ||
    (kp.isInitiator && now - kp.createdAt > core.timings.rekeyAfterTimeMs)
  ) {
    sendHandshakeInitiation(core, peer, false);
  }
}
