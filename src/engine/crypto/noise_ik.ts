/**
 * The initiator side of Noise_IK_25519_ChaChaPoly_BLAKE2s as Tailscale's ts2021 control protocol
 * uses it (Go: `control/controlbase/handshake.go`). Pure functions: no sockets, no clock; the
 * ephemeral key may be passed in so a test can replay a recorded session.
 *
 * Initiation (client to server, 101 bytes, carried base64 in the `X-Tailscale-Handshake` header):
 * ```
 * version u16be | type u8 = 1 | length u16be = 96 | e (32) | enc(s) (32+16) | enc(empty) (16)
 * ```
 * Response (server to client, 51 bytes, the first bytes after the HTTP 101):
 * ```
 * type u8 = 2 | length u16be = 48 | e (32) | enc(empty) (16)
 * ```
 * Error (server to client): `type u8 = 3 | length u16be | UTF-8 text`.
 *
 * The client sends with the first split key and receives with the second.
 * @module
 */
import { AEAD_TAG_LEN, aeadOpen, aeadSeal } from "./aead.ts";
import { blake2sHash, hkdfBlake2s } from "./blake2s.ts";
import { X25519_KEY_LEN, x25519GeneratePrivate, x25519Public, x25519Shared } from "./x25519.ts";
import { ParseError } from "../base/errors.ts";

/** The Noise protocol name; hashed to form the initial state. */
export const NOISE_PROTOCOL_NAME = "Noise_IK_25519_ChaChaPoly_BLAKE2s";
/** The prologue prefix; the decimal protocol version follows it. */
export const NOISE_PROLOGUE_PREFIX = "Tailscale Control Protocol v";

/** Message type of the handshake initiation. */
export const MSG_INITIATION = 1;
/** Message type of the handshake response. */
export const MSG_RESPONSE = 2;
/** Message type of an (unauthenticated) error from the server. */
export const MSG_ERROR = 3;
/** Message type of a transport record. */
export const MSG_RECORD = 4;

/** Length of the initiation message. */
export const INITIATION_LEN = 101;
/** Length of the response message. */
export const RESPONSE_LEN = 51;
/** Length of the response header (type + length), also the error header. */
export const RESPONSE_HEADER_LEN = 3;

// Initiation field offsets.
const INIT_VERSION_AT = 0;
const INIT_TYPE_AT = 2;
const INIT_LENGTH_AT = 3;
const INIT_EPHEMERAL_AT = 5;
const INIT_MACHINE_AT = INIT_EPHEMERAL_AT + X25519_KEY_LEN; // 37
const INIT_TAG_AT = INIT_MACHINE_AT + X25519_KEY_LEN + AEAD_TAG_LEN; // 85
// Response field offsets.
const RESP_EPHEMERAL_AT = 3;
const RESP_TAG_AT = RESP_EPHEMERAL_AT + X25519_KEY_LEN; // 35

const ZERO_NONCE = new Uint8Array(12);
const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();

/** The handshake state the initiator keeps between sending the initiation and reading the response. */
export interface NoiseInitiatorState {
  /** Running handshake hash. */
  readonly h: Uint8Array;
  /** Chaining key. */
  readonly ck: Uint8Array;
  /** Our ephemeral private key. */
  readonly ephemeralPrivate: Uint8Array;
  /** Our static (machine) private key. */
  readonly staticPrivate: Uint8Array;
  /** The protocol version sent in the header and the prologue. */
  readonly version: number;
}

/** The result of a completed handshake. */
export interface NoiseSession {
  /** Key for records we send (nonces start at 0). */
  readonly sendKey: Uint8Array;
  /** Key for records we receive. */
  readonly receiveKey: Uint8Array;
  /** The final handshake hash (binds messages to this session; not sent on the wire). */
  readonly handshakeHash: Uint8Array;
}

/** Options for {@linkcode noiseInitiate}. */
export interface NoiseInitiateOptions {
  /** Our static key (the machine key). */
  staticPrivate: Uint8Array;
  /** The responder's static public key (control's key from `/key`). */
  remoteStaticPublic: Uint8Array;
  /** Protocol version for the header and prologue: the capability version, 0..65535. */
  version: number;
  /** The ephemeral key; a fresh random one when absent. Tests pass a fixed one. */
  ephemeralPrivate?: Uint8Array;
}

/**
 * The prologue bytes for `version`: `Tailscale Control Protocol v<version>`.
 * @param version protocol version
 * @returns ASCII bytes
 */
export function noisePrologue(version: number): Uint8Array {
  return encoder.encode(NOISE_PROLOGUE_PREFIX + String(version));
}

/**
 * The initial handshake hash, BLAKE2s of the protocol name (which is longer than 32 bytes).
 * @returns 32 bytes
 */
export function noiseInitialHash(): Uint8Array {
  return blake2sHash(encoder.encode(NOISE_PROTOCOL_NAME));
}

function mixHash(h: Uint8Array, data: Uint8Array): Uint8Array {
  return blake2sHash(h, data);
}

function mixDh(ck: Uint8Array, priv: Uint8Array, pub: Uint8Array): [Uint8Array, Uint8Array] {
  const [nextCk, k] = hkdfBlake2s(ck, x25519Shared(priv, pub), 2);
  return [nextCk, k];
}

/**
 * Builds the 101-byte initiation message (`-> e, es, s, ss` with an empty payload).
 * @param options keys and version
 * @returns the message and the state to finish the handshake with
 * @example Initiation layout
 * ```ts
 * import { noiseInitiate } from "./noise_ik.ts";
 * import { x25519GeneratePrivate, x25519Public } from "./x25519.ts";
 * const { message } = noiseInitiate({
 *   staticPrivate: x25519GeneratePrivate(),
 *   remoteStaticPublic: x25519Public(x25519GeneratePrivate()),
 *   version: 130,
 * });
 * if (message.length !== 101 || message[2] !== 1 || message[4] !== 96) throw new Error("layout");
 * ```
 */
export function noiseInitiate(
  options: NoiseInitiateOptions,
): { message: Uint8Array; state: NoiseInitiatorState } {
  const { staticPrivate, remoteStaticPublic, version } = options;
  if (!Number.isInteger(version) || version < 0 || version > 0xffff) {
    throw new RangeError(`Cannot start Noise handshake: version ${version} is not a uint16`);
  }
  const ephemeralPrivate = options.ephemeralPrivate ?? x25519GeneratePrivate();
  const ephemeralPublic = x25519Public(ephemeralPrivate);
  const staticPublic = x25519Public(staticPrivate);

  let h = noiseInitialHash();
  let ck = h;
  h = mixHash(h, noisePrologue(version));
  h = mixHash(h, remoteStaticPublic);
  h = mixHash(h, ephemeralPublic);
  let k: Uint8Array;
  [ck, k] = mixDh(ck, ephemeralPrivate, remoteStaticPublic);
  const encStatic = aeadSeal(k, ZERO_NONCE, staticPublic, h);
  h = mixHash(h, encStatic);
  [ck, k] = mixDh(ck, staticPrivate, remoteStaticPublic);
  const tag = aeadSeal(k, ZERO_NONCE, EMPTY, h);
  h = mixHash(h, tag);

  const message = new Uint8Array(INITIATION_LEN);
  const view = new DataView(message.buffer);
  view.setUint16(INIT_VERSION_AT, version);
  message[INIT_TYPE_AT] = MSG_INITIATION;
  view.setUint16(INIT_LENGTH_AT, INITIATION_LEN - INIT_EPHEMERAL_AT);
  message.set(ephemeralPublic, INIT_EPHEMERAL_AT);
  message.set(encStatic, INIT_MACHINE_AT);
  message.set(tag, INIT_TAG_AT);
  return { message, state: { h, ck, ephemeralPrivate, staticPrivate, version } };
}

/**
 * Reads the server's 51-byte response (`<- e, ee, se`) and derives the transport keys.
 * Throws {@linkcode ParseError} (format `"noise-handshake"`) for a wrong type or length, an error
 * message from the server (its text in the message), or a tag that does not verify.
 * @param state from {@linkcode noiseInitiate}
 * @param response the response message, exactly 51 bytes (or an error message)
 * @returns the session keys
 */
export function noiseFinish(state: NoiseInitiatorState, response: Uint8Array): NoiseSession {
  if (response.length >= RESPONSE_HEADER_LEN && response[0] === MSG_ERROR) {
    throw new ParseError("noise-handshake", `Noise handshake refused: ${noiseErrorText(response)}`);
  }
  if (response.length !== RESPONSE_LEN) {
    throw new ParseError(
      "noise-handshake",
      `Cannot parse Noise response: want ${RESPONSE_LEN} bytes, got ${response.length}`,
    );
  }
  if (response[0] !== MSG_RESPONSE) {
    throw new ParseError(
      "noise-handshake",
      `Cannot parse Noise response: message type ${response[0]}, want ${MSG_RESPONSE}`,
      0,
    );
  }
  const len = (response[1] << 8) | response[2];
  if (len !== RESPONSE_LEN - RESPONSE_HEADER_LEN) {
    throw new ParseError("noise-handshake", `Cannot parse Noise response: length field ${len}`, 1);
  }
  const re = response.subarray(RESP_EPHEMERAL_AT, RESP_TAG_AT);
  const tag = response.subarray(RESP_TAG_AT, RESPONSE_LEN);
  let h = mixHash(state.h, re);
  let ck = state.ck;
  [ck] = mixDh(ck, state.ephemeralPrivate, re);
  let k: Uint8Array;
  [ck, k] = mixDh(ck, state.staticPrivate, re);
  if (aeadOpen(k, ZERO_NONCE, tag, h) === null) {
    throw new ParseError("noise-handshake", "Noise handshake failed: response tag does not verify");
  }
  h = mixHash(h, tag);
  const [sendKey, receiveKey] = hkdfBlake2s(ck, EMPTY, 2);
  return { sendKey, receiveKey, handshakeHash: h };
}

/**
 * The text of a type-3 error message (header included in `msg`), truncated to what is present.
 * @param msg the error message bytes
 * @returns the text
 */
export function noiseErrorText(msg: Uint8Array): string {
  const len = (msg[1] << 8) | msg[2];
  return new TextDecoder().decode(msg.subarray(RESPONSE_HEADER_LEN, RESPONSE_HEADER_LEN + len));
}
