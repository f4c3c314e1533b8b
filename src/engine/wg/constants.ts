/**
 * WireGuard timers and limits, in two blocks as wireguard-go's `device/constants.go` keeps them:
 * the numbers the protocol fixes, then the numbers this implementation chose. Times are in
 * milliseconds of the injected monotonic clock.
 * @module
 */

// ---- Protocol (WireGuard paper §6, wireguard-go device/constants.go) ----

/** Start a new handshake after sending this many messages on one keypair. */
export const REKEY_AFTER_MESSAGES = 2 ** 60;
/**
 * Refuse to use a keypair after this many messages: 2^64 − 2^13 − 1. As a JS number this is
 * rounded; counters are exact only below 2^53 (see {@linkcode MAX_COUNTER}).
 */
export const REJECT_AFTER_MESSAGES = 2 ** 64 - 2 ** 13 - 1;
/** The initiator of a keypair rekeys after sending on a keypair this old. */
export const REKEY_AFTER_TIME_MS = 120_000;
/** Give up retrying a handshake after this long. */
export const REKEY_ATTEMPT_TIME_MS = 90_000;
/** Retransmit a handshake initiation after this long without a response. */
export const REKEY_TIMEOUT_MS = 5_000;
/** Upper bound (exclusive) of the random jitter added to handshake retransmits. */
export const REKEY_TIMEOUT_JITTER_MAX_MS = 334;
/** A keypair older than this is not used to send or receive. */
export const REJECT_AFTER_TIME_MS = 180_000;
/** Send a passive keepalive this long after receiving data without sending any. */
export const KEEPALIVE_TIMEOUT_MS = 10_000;
/** A cookie (and a responder's cookie secret) is good for this long. */
export const COOKIE_REFRESH_TIME_MS = 120_000;
/** Initiations from one peer closer together than this are dropped (50 per second). */
export const HANDSHAKE_INITIATION_RATE_MS = 20;
/** Transport plaintext is zero-padded to a multiple of this (not beyond the MTU). */
export const PADDING_MULTIPLE = 16;
/** Replay window, in counters: 127 blocks of 64 bits, as wireguard-go's replay filter. */
export const REPLAY_WINDOW = 8128;

// ---- Ours ----

/** Largest counter we accept or send: JS numbers are exact up to 2^53 − 1. */
export const MAX_COUNTER = Number.MAX_SAFE_INTEGER;
/** Packets held per peer while a handshake is in progress (wireguard-go QueueStagedSize). */
export const MAX_STAGED_PACKETS = 128;
/** Default tunnel MTU, Tailscale's "safe" 1280. */
export const DEFAULT_MTU = 1280;
/** Largest IP packet we take or hand up. */
export const MAX_PACKET_BYTES = 65_535;
/**
 * Handshake messages per second beyond which the device counts as under load and demands
 * MAC2 (wireguard-go: handshake queue fuller than 1/8 of its 1024 slots; we process
 * synchronously, so we measure the arrival rate instead).
 */
export const UNDER_LOAD_HANDSHAKES_PER_SECOND = 128;
/** How long the device stays under load after the rate last exceeded the limit. */
export const UNDER_LOAD_AFTER_TIME_MS = 1_000;
/** Most peers one device accepts (wireguard-go MaxPeers). */
export const MAX_PEERS = 1 << 16;

/** The timings a device runs with. Tests shorten them; production uses {@linkcode WG_TIMINGS}. */
export interface WgTimings {
  /** See {@linkcode REKEY_AFTER_TIME_MS}. */
  readonly rekeyAfterTimeMs: number;
  /** See {@linkcode REJECT_AFTER_TIME_MS}. */
  readonly rejectAfterTimeMs: number;
  /** See {@linkcode REKEY_ATTEMPT_TIME_MS}. */
  readonly rekeyAttemptTimeMs: number;
  /** See {@linkcode REKEY_TIMEOUT_MS}. */
  readonly rekeyTimeoutMs: number;
  /** See {@linkcode KEEPALIVE_TIMEOUT_MS}. */
  readonly keepaliveTimeoutMs: number;
  /** See {@linkcode REKEY_AFTER_MESSAGES}. */
  readonly rekeyAfterMessages: number;
  /** See {@linkcode REJECT_AFTER_MESSAGES}. */
  readonly rejectAfterMessages: number;
}

/** The protocol's timings. */
export const WG_TIMINGS: WgTimings = Object.freeze({
  rekeyAfterTimeMs: REKEY_AFTER_TIME_MS,
  rejectAfterTimeMs: REJECT_AFTER_TIME_MS,
  rekeyAttemptTimeMs: REKEY_ATTEMPT_TIME_MS,
  rekeyTimeoutMs: REKEY_TIMEOUT_MS,
  keepaliveTimeoutMs: KEEPALIVE_TIMEOUT_MS,
  rekeyAfterMessages: REKEY_AFTER_MESSAGES,
  rejectAfterMessages: REJECT_AFTER_MESSAGES,
});
