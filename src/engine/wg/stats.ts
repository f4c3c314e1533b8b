/**
 * Counters: per-peer traffic and handshakes, and device-wide drops by reason. The hot path
 * bumps these instead of throwing or logging.
 * @module
 */

/** Why packets were dropped, device-wide. */
export interface DropCounters {
  /** Too short, unknown type, wrong handshake size, bad IP header, or not IP. */
  malformed: number;
  /** MAC1 wrong on a handshake message, or a transport packet failed authentication. */
  badMac: number;
  /** Counter already seen or older than the replay window. */
  replay: number;
  /** Keypair expired or zeroed, or nothing to send with and no way to handshake. */
  noSession: number;
  /** Receiver index we do not know (or that names a handshake, not a keypair). */
  unknownIndex: number;
  /** Inner source address not in the sending peer's allowed IPs. */
  badAllowedIp: number;
  /** Handshake did not authenticate, came from an unknown key, or was replayed or flooded. */
  badHandshake: number;
  /** Handshake dropped under load for lack of a valid MAC2 (a cookie reply went back). */
  cookieRequired: number;
  /** Handshake dropped under load because its source exceeded 20 per second. */
  rateLimited: number;
  /** Cookie reply that did not open or named no handshake of ours. */
  badCookie: number;
  /** Outbound packet whose destination matches no peer's allowed IPs. */
  noRoute: number;
  /** Outbound packet for a peer with no endpoint. */
  noEndpoint: number;
  /** Outbound packet pushed out of a full staging queue. */
  stagedOverflow: number;
  /** Inbound packet whose `onPacket` handler threw. */
  handlerError: number;
}

/** A fresh set of zero drop counters. */
export function newDropCounters(): DropCounters {
  return {
    malformed: 0,
    badMac: 0,
    replay: 0,
    noSession: 0,
    unknownIndex: 0,
    badAllowedIp: 0,
    badHandshake: 0,
    cookieRequired: 0,
    rateLimited: 0,
    badCookie: 0,
    noRoute: 0,
    noEndpoint: 0,
    stagedOverflow: 0,
    handlerError: 0,
  };
}

/** One peer's counters. */
export interface PeerStats {
  /** Bytes received from the peer: handshake messages, and transport plaintext plus 32. */
  rxBytes: number;
  /** Bytes sent to the peer (whole datagrams). */
  txBytes: number;
  /** Transport messages received and accepted (keepalives included). */
  rxPackets: number;
  /** Transport messages sent (keepalives included). */
  txPackets: number;
  /** Wall-clock ms of the last completed handshake, 0 when none. */
  lastHandshakeWallMs: number;
  /** Handshakes completed (as initiator or responder). */
  handshakes: number;
  /** Handshake initiations sent. */
  initiationsSent: number;
  /** Cookie replies accepted from the peer. */
  cookiesReceived: number;
}

/** A fresh set of zero peer counters. */
export function newPeerStats(): PeerStats {
  return {
    rxBytes: 0,
    txBytes: 0,
    rxPackets: 0,
    txPackets: 0,
    lastHandshakeWallMs: 0,
    handshakes: 0,
    initiationsSent: 0,
    cookiesReceived: 0,
  };
}
