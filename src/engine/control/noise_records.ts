/**
 * ts2021 Noise transport records (Go: `control/controlbase/conn.go`), as a codec plus the two
 * per-direction cipher states. No I/O.
 *
 * ```
 * type u8 = 4 | length u16be (ciphertext incl. 16-byte tag) | ciphertext
 * ```
 * At most 4096 bytes per record including the header, so at most 4077 bytes of plaintext.
 * The 12-byte nonce is 4 zero bytes then a 64-bit **big-endian** counter from 0, per direction.
 * @module
 */
import { AEAD_TAG_LEN, aeadOpen, aeadSeal } from "../crypto/aead.ts";
import { MSG_RECORD } from "../crypto/noise_ik.ts";
import { ParseError } from "../base/errors.ts";
import { concat } from "../base/bytes.ts";

/** Record header length: type and length. */
export const RECORD_HEADER_LEN = 3;
/** Largest record on the wire, header included. */
export const MAX_RECORD_LEN = 4096;
/** Largest ciphertext in one record. */
export const MAX_CIPHERTEXT_LEN = MAX_RECORD_LEN - RECORD_HEADER_LEN;
/** Largest plaintext in one record. */
export const MAX_PLAINTEXT_LEN = MAX_CIPHERTEXT_LEN - AEAD_TAG_LEN;

/** A record header as read from the wire. */
export interface RecordHeader {
  /** Message type (4 for a transport record). */
  type: number;
  /** Bytes after the header. */
  length: number;
}

/**
 * Parses a record header at `off`; null when fewer than 3 bytes are there.
 * @param b buffer
 * @param off offset of the header
 * @returns the header or null
 */
export function parseRecordHeader(b: Uint8Array, off = 0): RecordHeader | null {
  if (b.length - off < RECORD_HEADER_LEN) return null;
  return { type: b[off], length: (b[off + 1] << 8) | b[off + 2] };
}

/**
 * Bytes one record holding `plaintextLen` bytes takes on the wire.
 * @param plaintextLen 0..4077
 * @returns header + ciphertext + tag
 */
export function recordLen(plaintextLen: number): number {
  return RECORD_HEADER_LEN + plaintextLen + AEAD_TAG_LEN;
}

/**
 * Bytes needed to send `plaintextLen` bytes split into as many records as it takes.
 * @param plaintextLen any length
 * @returns total wire bytes
 */
export function recordsLen(plaintextLen: number): number {
  const full = Math.floor(plaintextLen / MAX_PLAINTEXT_LEN);
  const rest = plaintextLen % MAX_PLAINTEXT_LEN;
  return full * MAX_RECORD_LEN + (rest > 0 || full === 0 ? recordLen(rest) : 0);
}

/**
 * Writes the 12-byte ts2021 nonce for `counter` (big-endian in the last 8 bytes).
 * @param counter 0 .. 2^53-1
 * @param out 12-byte buffer, overwritten
 * @returns `out`
 */
export function recordNonce(counter: number, out: Uint8Array = new Uint8Array(12)): Uint8Array {
  out.fill(0, 0, 4);
  const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
  v.setUint32(4, Math.floor(counter / 0x1_0000_0000));
  v.setUint32(8, counter >>> 0);
  return out;
}

/**
 * One direction's cipher: a key and a nonce counter. The counter stops at 2^53-1 (far below
 * Go's 2^64-1); a connection that reached it would have moved 2^65 bytes.
 */
export class RecordCipher {
  readonly #key: Uint8Array;
  #counter = 0;
  readonly #nonce = new Uint8Array(12);

  /** @param key 32-byte key from the handshake split */
  constructor(key: Uint8Array) {
    this.#key = key;
  }

  /** How many records this cipher has processed. */
  get counter(): number {
    return this.#counter;
  }

  #next(): Uint8Array {
    if (this.#counter >= Number.MAX_SAFE_INTEGER) {
      throw new RangeError("Cannot use Noise cipher: nonce counter exhausted");
    }
    return recordNonce(this.#counter++, this.#nonce);
  }

  /**
   * Seals `plaintext` (at most 4077 bytes) as one record into `out` at `off`.
   * @param plaintext data
   * @param out destination, at least {@linkcode recordLen} bytes from `off`
   * @param off where to write
   * @returns the offset after the record
   */
  seal(plaintext: Uint8Array, out: Uint8Array, off = 0): number {
    if (plaintext.length > MAX_PLAINTEXT_LEN) {
      throw new RangeError(
        `Cannot seal Noise record: ${plaintext.length} bytes exceeds ${MAX_PLAINTEXT_LEN}`,
      );
    }
    const sealed = aeadSeal(this.#key, this.#next(), plaintext);
    out[off] = MSG_RECORD;
    out[off + 1] = sealed.length >> 8;
    out[off + 2] = sealed.length & 0xff;
    out.set(sealed, off + RECORD_HEADER_LEN);
    return off + RECORD_HEADER_LEN + sealed.length;
  }

  /**
   * Seals any amount of data as consecutive records.
   * @param data plaintext of any length (empty gives one empty record)
   * @returns the records, concatenated
   */
  sealAll(data: Uint8Array): Uint8Array {
    const out = new Uint8Array(recordsLen(data.length));
    let off = 0;
    let pos = 0;
    do {
      const chunk = data.subarray(pos, pos + MAX_PLAINTEXT_LEN);
      off = this.seal(chunk, out, off);
      pos += chunk.length;
    } while (pos < data.length);
    return out;
  }

  /**
   * Opens one whole record (header included). Throws {@linkcode ParseError} (format
   * `"noise-record"`) on a wrong type, a bad length or a tag that does not verify; any of these
   * is fatal to the connection.
   * @param record header and ciphertext
   * @returns the plaintext
   */
  open(record: Uint8Array): Uint8Array {
    const hdr = parseRecordHeader(record);
    if (hdr === null || hdr.length + RECORD_HEADER_LEN !== record.length) {
      throw new ParseError("noise-record", "Cannot parse Noise record: truncated");
    }
    if (hdr.type !== MSG_RECORD) {
      throw new ParseError(
        "noise-record",
        `Cannot parse Noise record: message type ${hdr.type}, want ${MSG_RECORD}`,
        0,
      );
    }
    const plain = aeadOpen(this.#key, this.#next(), record.subarray(RECORD_HEADER_LEN));
    if (plain === null) {
      throw new ParseError("noise-record", "Cannot open Noise record: authentication failed");
    }
    return plain;
  }
}

/**
 * Collects bytes from a stream and hands out whole records. Rejects records over 4096 bytes.
 */
export class RecordSplitter {
  #buf: Uint8Array = new Uint8Array(0);

  /**
   * Adds received bytes.
   * @param chunk bytes from the transport
   */
  push(chunk: Uint8Array): void {
    if (this.#buf.length === 0) {
      this.#buf = chunk.slice();
      return;
    }
    this.#buf = concat([this.#buf, chunk]);
  }

  /** Bytes held that do not yet form a whole record. */
  get pending(): number {
    return this.#buf.length;
  }

  /**
   * The next whole record (header included), or null when more bytes are needed.
   * Throws {@linkcode ParseError} when the header announces more than 4096 bytes.
   * @returns a record or null
   */
  next(): Uint8Array | null {
    const hdr = parseRecordHeader(this.#buf);
    if (hdr === null) return null;
    const total = RECORD_HEADER_LEN + hdr.length;
    if (total > MAX_RECORD_LEN) {
      throw new ParseError(
        "noise-record",
        `Cannot parse Noise record: ${total} bytes exceeds ${MAX_RECORD_LEN}`,
        1,
      );
    }
    if (this.#buf.length < total) return null;
    const rec = this.#buf.subarray(0, total);
    this.#buf = this.#buf.subarray(total);
    return rec;
  }
}
