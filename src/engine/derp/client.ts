/**
 * The DERP client: frames over a stream it is handed (it never dials; see `dial.ts`).
 *
 * Handshake, in order (tailscale `derp/derp_client.go`):
 * 1. read the server's ServerKey frame (type 0x01, at least 40 bytes, the magic);
 * 2. send ClientInfo: our node key, a random nonce, and the NaCl box of
 *    `{"version":2,"CanAckPings":true}` sealed to the server key;
 * 3. return at once; the server's ServerInfo is opened when {@linkcode DerpClient.recv} reads it.
 *
 * Then {@linkcode DerpClient.recv} yields relayed packets and control messages, answering server
 * pings by itself. Bad frames are counted in `stats.drops` and skipped; an oversized frame, a
 * ServerInfo that does not open, or silence past {@linkcode RECV_TIMEOUT_MS} ends the connection.
 * @module
 */
import type { Logger } from "../base/logger.ts";
import { boxOpen, boxSeal } from "../crypto/nacl_box.ts";
import { keysEqual, type NodePrivate, type NodePublic, publicOf, shortKey } from "../key/keys.ts";
import {
  DERP_KEY_LEN,
  DERP_NONCE_LEN,
  DERP_PROTOCOL_VERSION,
  type DerpFrame,
  emitFrame,
  encodeClientInfoJson,
  FRAME_HEADER_LEN,
  FRAME_TYPE,
  frameLen,
  MAX_FRAME_LEN,
  MAX_PACKET_SIZE,
  parseServerInfoJson,
  PING_DATA_LEN,
  type ServerInfo,
} from "../wire/derp_frames.ts";
import type {
  HealthFrame,
  KeepAliveFrame,
  PeerGoneFrame,
  PeerPresentFrame,
  PingFrame,
  PongFrame,
  RecvPacketFrame,
  RestartingFrame,
} from "../wire/derp_frames.ts";
import { type Clock, SYSTEM_CLOCK, type TimerId } from "../base/clock.ts";
import { RECV_TIMEOUT_MS, RECV_WATCHDOG_INTERVAL_MS } from "./constants.ts";
import { DerpError } from "./errors.ts";
import { type DerpStream, FrameReader } from "./stream.ts";

/** The server's ServerInfo, opened and parsed. */
export interface ServerInfoMessage {
  type: "server-info";
  info: ServerInfo;
}

/** What {@linkcode DerpClient.recv} yields. Pings have already been answered when seen. */
export type DerpMessage =
  | RecvPacketFrame
  | PeerGoneFrame
  | PeerPresentFrame
  | KeepAliveFrame
  | PingFrame
  | PongFrame
  | HealthFrame
  | RestartingFrame
  | ServerInfoMessage;

/** Counters of one client; `drops` are frames read and skipped, `sendsRateLimited` sends dropped. */
export interface DerpClientStats {
  framesIn: number;
  framesOut: number;
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
  pingsAnswered: number;
  /** Sends dropped to honour the server's token bucket (ServerInfo), as Go's client does. */
  sendsRateLimited: number;
  drops: {
    /** A known frame type whose body did not parse. */
    malformed: number;
    /** A frame type we do not know (skipped, as the protocol asks). */
    unknownType: number;
    /** A known type a server should not send to a client (client info, send packet, …). */
    unexpectedType: number;
  };
}

/** Options for {@linkcode DerpClient.connect}. */
export interface DerpClientOptions {
  /** Our node private key: our DERP identity. */
  privateKey: NodePrivate;
  /** Logger, e.g. `log.child("derp-900")`. */
  log?: Logger;
  /** Clock for the receive watchdog. Default: the system clock. */
  clock?: Clock;
  /** Random bytes for the ClientInfo nonce and pings. Default: `crypto.getRandomValues`. */
  randomBytes?: (n: number) => Uint8Array;
  /** Whether we say we answer pings. Default true, as tailscaled. */
  canAckPings?: boolean;
  /** Mesh key (64 hex digits); empty for ordinary clients. */
  meshKey?: string;
  /** Declare ourselves a prober. Default false. */
  isProber?: boolean;
  /** The server key when already known (fast start); then no ServerKey frame is read. */
  serverKey?: NodePublic;
  /** Largest frame body accepted. Default {@linkcode MAX_FRAME_LEN}, as Go's client. */
  maxFrameLen?: number;
  /** Silence after which the connection is dead. Default {@linkcode RECV_TIMEOUT_MS}. */
  recvTimeoutMs?: number;
  /** Bytes already read past the HTTP upgrade response (the start of the frame stream). */
  initialBytes?: Uint8Array;
  /** Aborts the handshake (closes the stream). */
  signal?: AbortSignal;
}

function defaultRandom(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

/**
 * One DERP connection, after the handshake.
 *
 * @example Over an in-memory stream (a real one comes from `dialRegion`)
 * ```ts
 * import { DerpClient } from "./client.ts";
 * import { memoryStreamPair } from "./stream.ts";
 * import { generatePrivate } from "../key/keys.ts";
 * const [ours, server] = memoryStreamPair();
 * await server.close(); // no server here: the handshake fails with a DerpError
 * let failed = false;
 * try {
 *   await DerpClient.connect(ours, { privateKey: generatePrivate("node") });
 * } catch (err) {
 *   failed = (err as Error).name === "DerpError";
 * }
 * if (!failed) throw new Error("expected a DerpError");
 * ```
 */
export class DerpClient {
  /** The server's public key, from its ServerKey frame. */
  readonly serverKey: NodePublic;
  /** Our node public key. */
  readonly publicKey: NodePublic;
  /** Counters; read at any time. */
  readonly stats: DerpClientStats = {
    framesIn: 0,
    framesOut: 0,
    packetsIn: 0,
    packetsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    pingsAnswered: 0,
    sendsRateLimited: 0,
    drops: { malformed: 0, unknownType: 0, unexpectedType: 0 },
  };

  readonly #stream: DerpStream;
  readonly #reader: FrameReader;
  readonly #privateKey: NodePrivate;
  readonly #log: Logger | undefined;
  readonly #clock: Clock;
  readonly #random: (n: number) => Uint8Array;
  readonly #recvTimeoutMs: number;
  #serverInfo: ServerInfo | null = null;
  /** Whether the ServerKey frame was read (at once, or later under fast start). */
  #sawServerKey = false;
  #tokens = 0;
  #tokensAt: number | null = null;
  #lastRecvAt: number;
  #watchdog: TimerId | null = null;
  #closed = false;
  #failure: DerpError | null = null;
  #closing: Promise<void> | null = null;
  #pings = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();

  private constructor(
    stream: DerpStream,
    reader: FrameReader,
    serverKey: NodePublic,
    opts: DerpClientOptions,
  ) {
    this.#stream = stream;
    this.#reader = reader;
    this.serverKey = serverKey;
    this.#privateKey = opts.privateKey;
    this.publicKey = publicOf(opts.privateKey);
    this.#log = opts.log;
    this.#clock = opts.clock ?? SYSTEM_CLOCK;
    this.#random = opts.randomBytes ?? defaultRandom;
    this.#recvTimeoutMs = opts.recvTimeoutMs ?? RECV_TIMEOUT_MS;
    this.#lastRecvAt = this.#clock.now();
    this.#armWatchdog();
  }

  /**
   * Runs the handshake over `stream` and returns the connected client. On failure the stream is
   * closed and a {@linkcode DerpError} is thrown.
   * @param stream an open stream, positioned at the start of the DERP frames
   * @param opts our key and options
   * @returns the client
   */
  static async connect(stream: DerpStream, opts: DerpClientOptions): Promise<DerpClient> {
    const reader = new FrameReader(stream, opts.maxFrameLen ?? MAX_FRAME_LEN, opts.initialBytes);
    const onAbort = () => void stream.close();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      if (opts.signal?.aborted) throw opts.signal.reason;
      let serverKey = opts.serverKey;
      if (serverKey === undefined) {
        const first = await reader.next();
        if (first === null) {
          throw new DerpError("derp-handshake", "DERP handshake: server closed before its key");
        }
        if (first.frameType !== FRAME_TYPE.serverKey || first.frame?.type !== "server-key") {
          throw new DerpError(
            "derp-handshake",
            `DERP handshake: invalid server greeting (frame type 0x${
              first.frameType.toString(16)
            }, ${first.bodyLen} bytes${first.error ? `: ${first.error.message}` : ""})`,
          );
        }
        serverKey = first.frame.serverKey;
      }
      const client = new DerpClient(stream, reader, serverKey, opts);
      client.#sawServerKey = opts.serverKey === undefined;
      try {
        await client.#sendClientInfo(opts);
      } catch (err) {
        await client.close();
        throw err;
      }
      opts.log?.debug(`connected; server key ${shortKey(serverKey)}`);
      return client;
    } catch (err) {
      await stream.close();
      if (opts.signal?.aborted) {
        throw new DerpError("derp-handshake", "DERP handshake aborted", { cause: err });
      }
      if (err instanceof DerpError) throw err;
      throw new DerpError("derp-handshake", `DERP handshake: ${(err as Error).message}`, {
        cause: err,
      });
    } finally {
      opts.signal?.removeEventListener("abort", onAbort);
    }
  }

  async #sendClientInfo(opts: DerpClientOptions): Promise<void> {
    const json = encodeClientInfoJson({
      version: DERP_PROTOCOL_VERSION,
      meshKey: opts.meshKey ?? "",
      canAckPings: opts.canAckPings ?? true,
      isProber: opts.isProber ?? false,
      appName: "",
    });
    const nonce = this.#random(DERP_NONCE_LEN);
    let sealed: Uint8Array;
    try {
      sealed = boxSeal(json, nonce, this.serverKey, this.#privateKey);
    } catch (err) {
      throw new DerpError(
        "derp-handshake",
        `DERP handshake: bad server key: ${(err as Error).message}`,
      );
    }
    await this.#write({ type: "client-info", clientKey: this.publicKey, nonce, sealed });
  }

  /** The server's ServerInfo once {@linkcode recv} has read it, else null. */
  get serverInfo(): ServerInfo | null {
    return this.#serverInfo;
  }

  /** Whether the connection is closed (by us, the server, or a failure). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends `packet` to the node `dst` through the server.
   * Throws `RangeError` past 64 KiB and {@linkcode DerpError} when the connection is closed.
   * @param dst the destination node key
   * @param packet up to {@linkcode MAX_PACKET_SIZE} bytes
   */
  async send(dst: NodePublic, packet: Uint8Array): Promise<void> {
    if (packet.length > MAX_PACKET_SIZE) {
      throw new RangeError(
        `Cannot send DERP packet: ${packet.length} bytes exceeds ${MAX_PACKET_SIZE}`,
      );
    }
    if (!this.#allowSend(FRAME_HEADER_LEN + DERP_KEY_LEN + packet.length)) {
      this.stats.sendsRateLimited++;
      return;
    }
    await this.#write({ type: "send-packet", dst, packet });
    this.stats.packetsOut++;
  }

  /** Token bucket from ServerInfo (bytes/s and burst); refilled from the clock. */
  #allowSend(frameBytes: number): boolean {
    const info = this.#serverInfo;
    if (info === null || info.tokenBucketBytesPerSecond <= 0) return true;
    const now = this.#clock.now();
    const burst = Math.max(info.tokenBucketBytesBurst, 0);
    if (this.#tokensAt === null) {
      this.#tokens = burst;
    } else {
      this.#tokens = Math.min(
        burst,
        this.#tokens + ((now - this.#tokensAt) / 1000) * info.tokenBucketBytesPerSecond,
      );
    }
    this.#tokensAt = now;
    if (this.#tokens < frameBytes) return false;
    this.#tokens -= frameBytes;
    return true;
  }

  /**
   * Tells the server whether this is our home region connection (for its stats).
   * @param preferred true on the home region
   */
  async notePreferred(preferred: boolean): Promise<void> {
    await this.#write({ type: "note-preferred", preferred });
  }

  /**
   * Pings the server and resolves when its pong arrives; someone must be calling
   * {@linkcode recv} for that. Rejects with {@linkcode DerpError} when the connection closes.
   * @param signal aborts the wait
   */
  async ping(signal?: AbortSignal): Promise<void> {
    const data = this.#random(PING_DATA_LEN);
    const id = data.join();
    const wait = new Promise<void>((resolve, reject) => {
      this.#pings.set(id, { resolve, reject });
    });
    const onAbort = () => {
      const p = this.#pings.get(id);
      this.#pings.delete(id);
      p?.reject(signal?.reason ?? new DerpError("derp-closed", "DERP ping aborted"));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await this.#write({ type: "ping", data });
      await wait;
    } finally {
      this.#pings.delete(id);
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /**
   * Reads until the next message for the caller. Answers pings, opens ServerInfo, counts and
   * skips bad frames. Rejects with {@linkcode DerpError} once the connection is over (code
   * `"derp-closed"` after our own {@linkcode close}). One reader at a time: a second call while
   * one is waiting throws `TypeError`.
   * @returns the next message
   */
  async recv(): Promise<DerpMessage> {
    if (this.#receiving) {
      throw new TypeError("Cannot call DerpClient.recv(): another recv() is still waiting");
    }
    this.#receiving = true;
    try {
      return await this.#recv();
    } finally {
      this.#receiving = false;
    }
  }

  #receiving = false;

  async #recv(): Promise<DerpMessage> {
    for (;;) {
      if (this.#failure) throw this.#failure;
      let rf;
      try {
        rf = await this.#reader.next();
      } catch (err) {
        throw await this.#fail(
          err instanceof DerpError
            ? err
            : new DerpError("derp-closed", `DERP read failed: ${(err as Error).message}`, {
              cause: err,
            }),
        );
      }
      if (rf === null) {
        throw await this.#fail(new DerpError("derp-closed", "DERP server closed the connection"));
      }
      this.#lastRecvAt = this.#clock.now();
      this.stats.framesIn++;
      this.stats.bytesIn += 5 + rf.bodyLen;
      if (rf.frame === null) {
        this.stats.drops.malformed++;
        this.#log?.debug(
          `dropping malformed frame 0x${rf.frameType.toString(16)}: ${rf.error?.message}`,
        );
        continue;
      }
      const m = await this.#handle(rf.frame);
      if (m !== null) return m;
    }
  }

  /** Yields messages until the connection ends; ends quietly after our own close(). */
  async *[Symbol.asyncIterator](): AsyncGenerator<DerpMessage, void, undefined> {
    for (;;) {
      try {
        yield await this.recv();
      } catch (err) {
        if (err instanceof DerpError && err.code === "derp-closed" && this.#closedByUs) return;
        throw err;
      }
    }
  }

  #closedByUs = false;

  async #handle(f: DerpFrame): Promise<DerpMessage | null> {
    switch (f.type) {
      case "recv-packet":
        this.stats.packetsIn++;
        return f;
      case "ping":
        if (!this.#closed) {
          try {
            await this.#write({ type: "pong", data: f.data });
            this.stats.pingsAnswered++;
          } catch {
            // The write failure ends the connection; the next read reports it.
          }
        }
        return f;
      case "pong": {
        const id = f.data.join();
        const p = this.#pings.get(id);
        if (p) {
          this.#pings.delete(id);
          p.resolve();
        }
        return f;
      }
      case "server-info": {
        const json = boxOpen(f.sealed, f.nonce, this.serverKey, this.#privateKey);
        if (json === null) {
          throw await this.#fail(
            new DerpError("derp-protocol", "DERP server info does not open with the server key"),
          );
        }
        try {
          this.#serverInfo = parseServerInfoJson(json);
          this.#tokensAt = null;
        } catch (err) {
          throw await this.#fail(
            new DerpError("derp-protocol", `DERP server info: ${(err as Error).message}`),
          );
        }
        return { type: "server-info", info: this.#serverInfo };
      }
      case "keep-alive":
      case "peer-gone":
      case "peer-present":
      case "health":
      case "restarting":
        return f;
      case "server-key":
        // Under fast start we knew the key from TLS; derper still sends its greeting first.
        if (!this.#sawServerKey && keysEqual(f.serverKey, this.serverKey)) {
          this.#sawServerKey = true;
          return null;
        }
        this.stats.drops.unexpectedType++;
        return null;
      case "unknown":
        this.stats.drops.unknownType++;
        return null;
      default:
        this.stats.drops.unexpectedType++;
        return null;
    }
  }

  async #write(f: DerpFrame): Promise<void> {
    if (this.#failure) throw this.#failure;
    if (this.#closed) throw new DerpError("derp-closed", "DERP connection is closed");
    const out = new Uint8Array(frameLen(f));
    emitFrame(f, out, 0);
    try {
      await this.#stream.write(out);
    } catch (err) {
      throw await this.#fail(
        new DerpError("derp-closed", `DERP write failed: ${(err as Error).message}`, {
          cause: err,
        }),
      );
    }
    this.stats.framesOut++;
    this.stats.bytesOut += out.length;
  }

  #armWatchdog(): void {
    this.#watchdog = this.#clock.setTimeout(() => {
      this.#watchdog = null;
      if (this.#closed) return;
      const silentMs = this.#clock.now() - this.#lastRecvAt;
      if (silentMs >= this.#recvTimeoutMs) {
        void this.#fail(
          new DerpError("derp-timeout", `DERP server silent for ${Math.round(silentMs)} ms`),
        );
        return;
      }
      this.#armWatchdog();
    }, Math.min(RECV_WATCHDOG_INTERVAL_MS, this.#recvTimeoutMs));
  }

  /** Records the first failure, closes everything, and returns the failure to throw. */
  async #fail(err: DerpError): Promise<DerpError> {
    if (this.#failure === null) {
      this.#failure = this.#closedByUs
        ? new DerpError("derp-closed", "DERP connection is closed")
        : err;
      if (!this.#closedByUs) this.#log?.debug(`connection ended: ${err.message}`);
    }
    await this.#shutdown();
    return this.#failure;
  }

  #shutdown(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    if (this.#watchdog !== null) {
      this.#clock.clearTimeout(this.#watchdog);
      this.#watchdog = null;
    }
    const err = this.#failure ?? new DerpError("derp-closed", "DERP connection is closed");
    for (const p of this.#pings.values()) p.reject(err);
    this.#pings.clear();
    this.#closing = this.#stream.close();
    return this.#closing;
  }

  /** Closes the connection; a pending {@linkcode recv} rejects with code `"derp-closed"`. */
  close(): Promise<void> {
    if (!this.#closed) this.#closedByUs = true;
    if (this.#failure === null) {
      this.#failure = new DerpError("derp-closed", "DERP connection is closed");
    }
    return this.#shutdown();
  }

  /** Same as {@linkcode close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
