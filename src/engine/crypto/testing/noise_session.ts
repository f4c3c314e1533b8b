/**
 * One ts2021 session with headscale v0.29.2 (`noise_headscale_session.json` beside this file;
 * `tests/testdata/control/capture_noise.ts` recorded it, as its "how" field says): fixed machine
 * and ephemeral keys, the handshake both ways, the upgrade answer and the first records. Read by
 * the Noise, record, early-payload and HTTP/1 head tests.
 * @module
 */

/** The capture's fields: hex strings unless said otherwise. */
export interface NoiseSessionCapture {
  /** How and when it was captured. */
  how: string;
  /** The capability version we sent. */
  version: number;
  machinePrivate: string;
  ephemeralPrivate: string;
  controlPublic: string;
  /** headscale's answer to the upgrade request, as text without the blank line. */
  upgradeResponseHead: string;
  initiation: string;
  response: string;
  /** headscale's first records, sealed. */
  serverRecords: string[];
  /** The same records opened. */
  serverPlaintexts: string[];
  clientPlaintext: string;
  clientRecord: string;
  sendKey: string;
  receiveKey: string;
  handshakeHash: string;
}

/** The session, parsed once. */
export const NOISE_SESSION: NoiseSessionCapture = JSON.parse(
  await Deno.readTextFile(new URL("./noise_headscale_session.json", import.meta.url)),
);
