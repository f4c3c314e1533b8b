/**
 * A ts2021 Noise connection as a `node:stream` Duplex, so `node:http2` can run over it. Writes
 * are split into records of at most 4077 plaintext bytes and sealed; received records are
 * opened, the early payload is stripped, and the rest is pushed to the reader.
 *
 * The Duplex owns the transport it is given (a `Deno.Conn` fits {@linkcode ByteTransport}) and
 * closes it on destroy. Framing and crypto are in `noise_records.ts` and `crypto/noise_ik.ts`.
 * @module
 */
import { Duplex } from "node:stream";
import { Buffer } from "node:buffer";
import type { NoiseSession } from "../crypto/noise_ik.ts";
import { RecordCipher, RecordSplitter } from "./noise_records.ts";
import { type EarlyNoise, EarlyPayloadStripper } from "./early_payload.ts";

/** The byte stream under a Noise connection; `Deno.Conn` and `Deno.TlsConn` fit it. */
export interface ByteTransport {
  /** Reads into `p`; resolves the byte count, or null at EOF. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes some of `p`; resolves how many bytes were written. */
  write(p: Uint8Array): Promise<number>;
  /** Closes the transport; pending reads end. */
  close(): void;
}

const READ_BUF_LEN = 16 * 1024;

/**
 * Writes all of `data` to `t`.
 * @param t transport
 * @param data bytes
 */
export async function writeAll(t: ByteTransport, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await t.write(data.subarray(off));
}

/** A Duplex carrying plaintext over Noise records on a {@linkcode ByteTransport}. */
export class NoiseConn extends Duplex {
  readonly #transport: ByteTransport;
  readonly #tx: RecordCipher;
  readonly #rx: RecordCipher;
  readonly #splitter = new RecordSplitter();
  readonly #early = new EarlyPayloadStripper();
  readonly #loop: Promise<void>;
  #transportClosed = false;
  #wantMore: (() => void) | null = null;
  #earlyWaiters: ((e: EarlyNoise | null) => void)[] = [];
  #error: Error | null = null;
  /** The handshake hash of this session. */
  readonly handshakeHash: Uint8Array;

  /**
   * @param transport the stream after the handshake; owned from now on
   * @param session keys from the handshake
   * @param initial bytes already read past the handshake response
   */
  constructor(transport: ByteTransport, session: NoiseSession, initial: Uint8Array) {
    super({ allowHalfOpen: false });
    this.#transport = transport;
    this.#tx = new RecordCipher(session.sendKey);
    this.#rx = new RecordCipher(session.receiveKey);
    this.handshakeHash = session.handshakeHash;
    if (initial.length > 0) this.#splitter.push(initial);
    // Keep the first error for whoever owns this conn; an 'error' event with no listener would
    // otherwise be thrown as uncaught (a corrupt record from the server must not kill the process).
    this.on("error", (err: Error) => (this.#error ??= err));
    this.#loop = this.#readLoop();
  }

  /** The early payload, when the server sent one and it has been read. */
  get earlyNoise(): EarlyNoise | null {
    return this.#early.earlyNoise;
  }

  /** The first error that ended this connection, if any. */
  get error(): Error | null {
    return this.#error;
  }

  /** Resolves when the read loop has ended and the transport is closed. */
  get finished(): Promise<void> {
    return this.#loop;
  }

  /**
   * Waits until the server's first bytes decided whether an early payload was sent.
   * @returns the early payload, or null when none came (or the connection ended first)
   */
  waitEarlyNoise(): Promise<EarlyNoise | null> {
    if (this.#early.done || this.#transportClosed) return Promise.resolve(this.#early.earlyNoise);
    return new Promise((resolve) => this.#earlyWaiters.push(resolve));
  }

  #settleEarly(): void {
    const ws = this.#earlyWaiters;
    this.#earlyWaiters = [];
    for (const w of ws) w(this.#early.earlyNoise);
  }

  async #readLoop(): Promise<void> {
    const buf = new Uint8Array(READ_BUF_LEN);
    try {
      for (;;) {
        if (!this.#drainRecords()) return;
        const n = await this.#transport.read(buf);
        if (n === null) break;
        this.#splitter.push(buf.subarray(0, n));
      }
      if (this.#splitter.pending > 0) {
        this.destroy(new Error("Noise connection closed mid-record"));
      } else {
        this.push(null);
      }
    } catch (err) {
      if (!this.destroyed) this.destroy(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.#closeTransport();
      this.#settleEarly();
    }
  }

  /** Opens every whole record buffered; false when the stream is done. */
  #drainRecords(): boolean {
    for (;;) {
      if (this.destroyed) return false;
      const rec = this.#splitter.next();
      if (rec === null) return true;
      const plain = this.#rx.open(rec);
      const out = this.#early.push(plain);
      if (this.#early.done) this.#settleEarly();
      if (out.length > 0) this.push(Buffer.from(out));
    }
  }

  #closeTransport(): void {
    if (this.#transportClosed) return;
    this.#transportClosed = true;
    try {
      this.#transport.close();
    } catch {
      // Already closed.
    }
  }

  override _read(): void {
    const w = this.#wantMore;
    this.#wantMore = null;
    w?.();
  }

  override _write(
    chunk: Buffer | Uint8Array | string,
    encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk, encoding) : chunk;
    let sealed: Uint8Array;
    try {
      sealed = this.#tx.sealAll(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    } catch (err) {
      callback(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    writeAll(this.#transport, sealed).then(
      () => callback(),
      (err) => callback(err instanceof Error ? err : new Error(String(err))),
    );
  }

  override _final(callback: (error?: Error | null) => void): void {
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#closeTransport();
    callback(error);
  }

  // node:http2 calls these on its socket; a Noise conn has no socket options to set.
  /** No-op (socket API compatibility). @returns this */
  setNoDelay(): this {
    return this;
  }
  /** No-op (socket API compatibility). @returns this */
  setKeepAlive(): this {
    return this;
  }
  /** No-op (socket API compatibility). @returns this */
  setTimeout(): this {
    return this;
  }
}
