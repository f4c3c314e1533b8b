/**
 * A small in-memory DERP server for this folder's tests: handshake, relaying between connected
 * clients, pongs, PeerGone to past senders on disconnect. Test code only.
 * @module
 */
import { boxOpen, boxSeal } from "../../crypto/nacl_box.ts";
import {
  generatePrivate,
  type NodePrivate,
  type NodePublic,
  publicOf,
  toHex,
} from "../../key/keys.ts";
import {
  type ClientInfo,
  encodeFrame,
  encodeServerInfoJson,
  MAX_FRAME_LEN,
  parseClientInfoJson,
} from "../../wire/derp_frames.ts";
import { type DerpStream, FrameReader, memoryStreamPair } from "../stream.ts";

interface Conn {
  key: NodePublic;
  stream: DerpStream;
  info: ClientInfo;
  /** Keys of clients that sent to this one; they hear PeerGone when it leaves. */
  sendersSeen: Set<string>;
  preferred: boolean | null;
}

/** An in-memory DERP server. */
export class TestDerpServer {
  readonly privateKey: NodePrivate = generatePrivate("node");
  readonly publicKey: NodePublic = publicOf(this.privateKey);
  readonly conns = new Map<string, Conn>();
  /** Every ClientInfo JSON received, as text. */
  readonly clientInfoJson: string[] = [];
  /** Split every server write into chunks of this many bytes (0: whole frames). */
  chunkSize = 0;
  /** Token bucket announced in ServerInfo (bytes/s, burst); zeros for none. */
  tokenBucket: [number, number] = [0, 0];
  /** Refuse new connections (closes them at once) while true. */
  refusing = false;
  #loops = new Set<Promise<void>>();
  #streams = new Set<DerpStream>();

  /** @returns a client end of a new connection to this server */
  connect(): DerpStream {
    const [client, server] = memoryStreamPair();
    this.#streams.add(server);
    const loop = this.#serve(server).finally(() => this.#loops.delete(loop));
    this.#loops.add(loop);
    return client;
  }

  /**
   * Writes raw bytes to the connected client with key `key`.
   * @param key the client's key
   * @param b bytes (any frames, well-formed or not)
   */
  async inject(key: NodePublic, b: Uint8Array): Promise<void> {
    const c = this.conns.get(toHex(key));
    if (!c) throw new Error(`no client ${toHex(key)}`);
    await this.#write(c.stream, b);
  }

  /** Closes every connection (a server crash, as clients see it). */
  async dropAll(): Promise<void> {
    await Promise.all([...this.#streams].map((s) => s.close()));
    await Promise.all([...this.#loops]);
  }

  /** Same as {@linkcode dropAll}. */
  close(): Promise<void> {
    return this.dropAll();
  }

  async #write(s: DerpStream, b: Uint8Array): Promise<void> {
    if (this.chunkSize <= 0) return s.write(b);
    for (let i = 0; i < b.length; i += this.chunkSize) {
      await s.write(b.subarray(i, i + this.chunkSize));
    }
  }

  async #serve(stream: DerpStream): Promise<void> {
    if (this.refusing) {
      await stream.close();
      this.#streams.delete(stream);
      return;
    }
    let me: Conn | null = null;
    try {
      await this.#write(stream, encodeFrame({ type: "server-key", serverKey: this.publicKey }));
      const reader = new FrameReader(stream, MAX_FRAME_LEN);
      const first = await reader.next();
      if (first?.frame?.type !== "client-info") return;
      const ci = first.frame;
      const json = boxOpen(ci.sealed, ci.nonce, ci.clientKey, this.privateKey);
      if (json === null) return;
      this.clientInfoJson.push(new TextDecoder().decode(json));
      me = {
        key: ci.clientKey,
        stream,
        info: parseClientInfoJson(json),
        sendersSeen: new Set(),
        preferred: null,
      };
      this.conns.set(toHex(me.key), me);
      const nonce = crypto.getRandomValues(new Uint8Array(24));
      const sealed = boxSeal(
        encodeServerInfoJson({
          version: 2,
          tokenBucketBytesPerSecond: this.tokenBucket[0],
          tokenBucketBytesBurst: this.tokenBucket[1],
        }),
        nonce,
        me.key,
        this.privateKey,
      );
      await this.#write(stream, encodeFrame({ type: "server-info", nonce, sealed }));
      for (;;) {
        const rf = await reader.next();
        if (rf === null || rf.frame === null) return;
        const f = rf.frame;
        if (f.type === "send-packet") {
          const dst = this.conns.get(toHex(f.dst));
          if (!dst) continue;
          dst.sendersSeen.add(toHex(me.key));
          await this.#write(
            dst.stream,
            encodeFrame({ type: "recv-packet", src: me.key, packet: f.packet }),
          );
        } else if (f.type === "ping") {
          await this.#write(stream, encodeFrame({ type: "pong", data: f.data }));
        } else if (f.type === "note-preferred") {
          me.preferred = f.preferred;
        }
      }
    } catch {
      // A client going away mid-frame ends its loop like a clean close.
    } finally {
      this.#streams.delete(stream);
      await stream.close();
      if (me !== null && this.conns.get(toHex(me.key)) === me) {
        this.conns.delete(toHex(me.key));
        // Like derper: a client that received packets from `me` hears that `me` left.
        for (const c of this.conns.values()) {
          if (c.sendersSeen.has(toHex(me.key))) {
            await this.#write(c.stream, encodeFrame({ type: "peer-gone", peer: me.key, reason: 0 }))
              .catch(() => {});
          }
        }
      }
    }
  }
}
