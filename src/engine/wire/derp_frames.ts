/**
 * DERP frames (tailscale `derp/derp.go`, protocol version 2). Every frame is
 *
 * ```
 * +------+----------------+----------------------+
 * | type | length (u32 BE)| body (length bytes)  |
 * | 1 B  | 4 B            |                      |
 * +------+----------------+----------------------+
 * ```
 *
 * Bodies by type (keys are 32 raw bytes, nonces 24):
 * - 0x01 ServerKey     magic "DERP🔑" (8) | server public key (32) | ignored future bytes
 * - 0x02 ClientInfo    client node key (32) | nonce (24) | box(JSON ClientInfo)
 * - 0x03 ServerInfo    nonce (24) | box(JSON ServerInfo)
 * - 0x04 SendPacket    destination key (32) | packet
 * - 0x05 RecvPacket    source key (32) | packet
 * - 0x06 KeepAlive     empty
 * - 0x07 NotePreferred 1 byte, 0x01 home / 0x00 not
 * - 0x08 PeerGone      key (32) [| reason (1): 0x00 disconnected, 0x01 not here]
 * - 0x09 PeerPresent   key (32) [| IPv6 or mapped IPv4 (16) | port u16 BE [| flags (1)]]
 * - 0x0a ForwardPacket source key (32) | destination key (32) | packet
 * - 0x10 WatchConns    empty
 * - 0x11 ClosePeer     key (32)
 * - 0x12 Ping          8 bytes (more are allowed and ignored)
 * - 0x13 Pong          8 bytes echoed
 * - 0x14 Health        UTF-8 problem text; empty means healthy again
 * - 0x15 Restarting    reconnect-in ms (u32 BE) | try-for ms (u32 BE)
 *
 * Like Go's client, parsing ignores trailing bytes after the fields it knows, so a newer server may
 * add some. Frame types this codec does not know parse as `{ type: "unknown" }` so a reader can
 * skip them. Parsed keys are copies; packet and box bytes are views into the input.
 * No I/O, no sealing: the DERP client in `derp/` seals and opens the boxes.
 * @module
 */
import { ParseError } from "../base/errors.ts";
import type { NodePublic } from "../key/keys.ts";

/** The DERP protocol version we speak (2: received packets carry the source key). */
export const DERP_PROTOCOL_VERSION = 2;
/** "DERP🔑": the magic at the start of the ServerKey frame. */
export const DERP_MAGIC: Uint8Array = new Uint8Array([
  0x44,
  0x45,
  0x52,
  0x50,
  0xf0,
  0x9f,
  0x94,
  0x91,
]);
/** Type byte plus big-endian u32 length. */
export const FRAME_HEADER_LEN = 5;
/** Length of every key in a frame. */
export const DERP_KEY_LEN = 32;
/** Length of the nonce in ClientInfo and ServerInfo. */
export const DERP_NONCE_LEN = 24;
/** Largest packet DERP relays, not counting the 32-byte key (`derp.MaxPacketSize`). */
export const MAX_PACKET_SIZE = 64 << 10;
/** Largest frame body a client accepts; Go's client tears the connection down past this. */
export const MAX_FRAME_LEN = 1 << 20;
/** Largest ClientInfo body derper accepts. */
export const MAX_CLIENT_INFO_LEN = 256 << 10;
/** Length of a Ping or Pong payload. */
export const PING_DATA_LEN = 8;

const BOX_TAG_LEN = 16;
const PEER_PRESENT_ADDR_LEN = 16 + 2;

/** Frame type bytes. */
export const FRAME_TYPE = {
  serverKey: 0x01,
  clientInfo: 0x02,
  serverInfo: 0x03,
  sendPacket: 0x04,
  recvPacket: 0x05,
  keepAlive: 0x06,
  notePreferred: 0x07,
  peerGone: 0x08,
  peerPresent: 0x09,
  forwardPacket: 0x0a,
  watchConns: 0x10,
  closePeer: 0x11,
  ping: 0x12,
  pong: 0x13,
  health: 0x14,
  restarting: 0x15,
} as const;

/** Reasons in a PeerGone frame. */
export const PEER_GONE_REASON = {
  /** The peer disconnected from this server. */
  disconnected: 0x00,
  /** The server does not know the peer. */
  notHere: 0x01,
} as const;

/** The server's greeting. */
export interface ServerKeyFrame {
  type: "server-key";
  /** The server's public key (a node-style X25519 key). */
  serverKey: NodePublic;
}
/** Our identity and sealed ClientInfo JSON. */
export interface ClientInfoFrame {
  type: "client-info";
  clientKey: NodePublic;
  /** 24 bytes. */
  nonce: Uint8Array;
  /** NaCl box (tag first) of the ClientInfo JSON, sealed to the server key. */
  sealed: Uint8Array;
}
/** The server's sealed ServerInfo JSON. */
export interface ServerInfoFrame {
  type: "server-info";
  nonce: Uint8Array;
  sealed: Uint8Array;
}
/** A packet to relay to `dst`. */
export interface SendPacketFrame {
  type: "send-packet";
  dst: NodePublic;
  packet: Uint8Array;
}
/** A relayed packet from `src`. */
export interface RecvPacketFrame {
  type: "recv-packet";
  src: NodePublic;
  packet: Uint8Array;
}
/** The server is still there; no reply needed. */
export interface KeepAliveFrame {
  type: "keep-alive";
}
/** Whether this connection is the client's home region. */
export interface NotePreferredFrame {
  type: "note-preferred";
  preferred: boolean;
}
/** A peer the client talked to is gone, or unknown to the server. */
export interface PeerGoneFrame {
  type: "peer-gone";
  peer: NodePublic;
  /** A {@linkcode PEER_GONE_REASON} value; 0 when the frame has no reason byte. */
  reason: number;
}
/** A peer connected (mesh watchers only). */
export interface PeerPresentFrame {
  type: "peer-present";
  peer: NodePublic;
  /** 16-byte address (IPv4 as ::ffff:a.b.c.d) and port, when the server sent them. */
  addr: { ip: Uint8Array; port: number } | null;
  /** PeerPresent flag bits, null when absent. */
  flags: number | null;
}
/** Mesh forwarding of a packet. */
export interface ForwardPacketFrame {
  type: "forward-packet";
  src: NodePublic;
  dst: NodePublic;
  packet: Uint8Array;
}
/** Mesh: subscribe to connects and disconnects. */
export interface WatchConnsFrame {
  type: "watch-conns";
}
/** Mesh: close a peer's connection. */
export interface ClosePeerFrame {
  type: "close-peer";
  peer: NodePublic;
}
/** A ping, to be answered with a pong of the same 8 bytes. */
export interface PingFrame {
  type: "ping";
  data: Uint8Array;
}
/** The answer to a ping. */
export interface PongFrame {
  type: "pong";
  data: Uint8Array;
}
/** Connection health text; empty means healthy again. */
export interface HealthFrame {
  type: "health";
  problem: string;
}
/** The server is restarting: reconnect after `reconnectInMs`, keep trying for `tryForMs`. */
export interface RestartingFrame {
  type: "restarting";
  reconnectInMs: number;
  tryForMs: number;
}
/** A frame type this codec does not know; readers skip it. */
export interface UnknownFrame {
  type: "unknown";
  frameType: number;
  body: Uint8Array;
}

/** Every DERP frame. */
export type DerpFrame =
  | ServerKeyFrame
  | ClientInfoFrame
  | ServerInfoFrame
  | SendPacketFrame
  | RecvPacketFrame
  | KeepAliveFrame
  | NotePreferredFrame
  | PeerGoneFrame
  | PeerPresentFrame
  | ForwardPacketFrame
  | WatchConnsFrame
  | ClosePeerFrame
  | PingFrame
  | PongFrame
  | HealthFrame
  | RestartingFrame
  | UnknownFrame;

/** A frame header. */
export interface FrameHeader {
  /** The type byte. */
  frameType: number;
  /** Body length in bytes. */
  bodyLen: number;
}

const KNOWN_TYPES: ReadonlySet<number> = new Set(Object.values(FRAME_TYPE));

function fail(message: string, offset?: number): never {
  throw new ParseError("derp-frame", `Cannot parse DERP frame: ${message}`, offset);
}

/**
 * Reads a frame header at `off`. Returns null when fewer than 5 bytes are there; throws
 * {@linkcode ParseError} when the body length exceeds `maxFrameLen`.
 * @param b input
 * @param off where the frame starts
 * @param maxFrameLen largest body accepted
 * @returns the header, or null when incomplete
 */
export function readFrameHeader(
  b: Uint8Array,
  off = 0,
  maxFrameLen: number = MAX_FRAME_LEN,
): FrameHeader | null {
  if (b.length - off < FRAME_HEADER_LEN) return null;
  const bodyLen = ((b[off + 1] << 24) | (b[off + 2] << 16) | (b[off + 3] << 8) | b[off + 4]) >>> 0;
  if (bodyLen > maxFrameLen) {
    fail(`body length ${bodyLen} exceeds ${maxFrameLen}`, off + 1);
  }
  return { frameType: b[off], bodyLen };
}

/**
 * Writes a frame header.
 * @param frameType type byte
 * @param bodyLen body length
 * @param out buffer
 * @param off where to write
 * @returns offset after the header
 */
export function emitFrameHeader(
  frameType: number,
  bodyLen: number,
  out: Uint8Array,
  off: number,
): number {
  out[off] = frameType;
  out[off + 1] = bodyLen >>> 24;
  out[off + 2] = (bodyLen >>> 16) & 0xff;
  out[off + 3] = (bodyLen >>> 8) & 0xff;
  out[off + 4] = bodyLen & 0xff;
  return off + FRAME_HEADER_LEN;
}

/**
 * Whether `b` starts with a well-formed ServerKey frame (type, length ≥ 40, magic).
 * @param b input
 * @returns true when it does
 */
export function isServerKeyFrame(b: Uint8Array): boolean {
  if (b.length < FRAME_HEADER_LEN + DERP_MAGIC.length + DERP_KEY_LEN) return false;
  if (b[0] !== FRAME_TYPE.serverKey) return false;
  const h = readFrameHeader(b, 0, Number.MAX_SAFE_INTEGER);
  if (h === null || h.bodyLen < DERP_MAGIC.length + DERP_KEY_LEN) return false;
  for (let i = 0; i < DERP_MAGIC.length; i++) {
    if (b[FRAME_HEADER_LEN + i] !== DERP_MAGIC[i]) return false;
  }
  return true;
}

/**
 * Parses one complete frame at `off`: header and the whole body must be there. Throws
 * {@linkcode ParseError} on truncation, an oversized body or a malformed body of a known type.
 * @param b input
 * @param off where the frame starts
 * @param maxFrameLen largest body accepted
 * @returns the frame
 */
export function parseFrame(b: Uint8Array, off = 0, maxFrameLen: number = MAX_FRAME_LEN): DerpFrame {
  const h = readFrameHeader(b, off, maxFrameLen);
  if (h === null) fail(`need ${FRAME_HEADER_LEN} header bytes, have ${b.length - off}`, off);
  const start = off + FRAME_HEADER_LEN;
  if (b.length - start < h.bodyLen) {
    fail(`body of ${h.bodyLen} bytes truncated to ${b.length - start}`, start);
  }
  return parseFrameBody(h.frameType, b.subarray(start, start + h.bodyLen), start);
}

/**
 * Parses a frame body of type `frameType`. Throws {@linkcode ParseError} when malformed.
 * @param frameType the type byte
 * @param body exactly the body bytes
 * @param at offset of the body in the caller's input, for error messages
 * @returns the frame
 */
export function parseFrameBody(frameType: number, body: Uint8Array, at = 0): DerpFrame {
  const n = body.length;
  switch (frameType) {
    case FRAME_TYPE.serverKey: {
      need(n, DERP_MAGIC.length + DERP_KEY_LEN, "server key", at);
      for (let i = 0; i < DERP_MAGIC.length; i++) {
        if (body[i] !== DERP_MAGIC[i]) fail("server key frame lacks the DERP magic", at + i);
      }
      return { type: "server-key", serverKey: key(body, DERP_MAGIC.length) };
    }
    case FRAME_TYPE.clientInfo:
      need(n, DERP_KEY_LEN + DERP_NONCE_LEN + BOX_TAG_LEN, "client info", at);
      if (n > MAX_CLIENT_INFO_LEN) {
        fail(`client info of ${n} bytes exceeds ${MAX_CLIENT_INFO_LEN}`, at);
      }
      return {
        type: "client-info",
        clientKey: key(body, 0),
        nonce: body.subarray(DERP_KEY_LEN, DERP_KEY_LEN + DERP_NONCE_LEN),
        sealed: body.subarray(DERP_KEY_LEN + DERP_NONCE_LEN),
      };
    case FRAME_TYPE.serverInfo:
      need(n, DERP_NONCE_LEN + BOX_TAG_LEN, "server info", at);
      return {
        type: "server-info",
        nonce: body.subarray(0, DERP_NONCE_LEN),
        sealed: body.subarray(DERP_NONCE_LEN),
      };
    case FRAME_TYPE.sendPacket:
      need(n, DERP_KEY_LEN, "send packet", at);
      packetLimit(n - DERP_KEY_LEN, at);
      return { type: "send-packet", dst: key(body, 0), packet: body.subarray(DERP_KEY_LEN) };
    case FRAME_TYPE.recvPacket:
      need(n, DERP_KEY_LEN, "recv packet", at);
      packetLimit(n - DERP_KEY_LEN, at);
      return { type: "recv-packet", src: key(body, 0), packet: body.subarray(DERP_KEY_LEN) };
    case FRAME_TYPE.keepAlive:
      return { type: "keep-alive" };
    case FRAME_TYPE.notePreferred:
      need(n, 1, "note preferred", at);
      return { type: "note-preferred", preferred: body[0] !== 0 };
    case FRAME_TYPE.peerGone:
      need(n, DERP_KEY_LEN, "peer gone", at);
      return {
        type: "peer-gone",
        peer: key(body, 0),
        reason: n > DERP_KEY_LEN ? body[DERP_KEY_LEN] : PEER_GONE_REASON.disconnected,
      };
    case FRAME_TYPE.peerPresent: {
      need(n, DERP_KEY_LEN, "peer present", at);
      let addr: PeerPresentFrame["addr"] = null;
      let flags: number | null = null;
      if (n >= DERP_KEY_LEN + PEER_PRESENT_ADDR_LEN) {
        const p = DERP_KEY_LEN + 16;
        addr = { ip: body.slice(DERP_KEY_LEN, p), port: (body[p] << 8) | body[p + 1] };
        if (n > DERP_KEY_LEN + PEER_PRESENT_ADDR_LEN) {
          flags = body[DERP_KEY_LEN + PEER_PRESENT_ADDR_LEN];
        }
      }
      return { type: "peer-present", peer: key(body, 0), addr, flags };
    }
    case FRAME_TYPE.forwardPacket:
      need(n, 2 * DERP_KEY_LEN, "forward packet", at);
      packetLimit(n - 2 * DERP_KEY_LEN, at);
      return {
        type: "forward-packet",
        src: key(body, 0),
        dst: key(body, DERP_KEY_LEN),
        packet: body.subarray(2 * DERP_KEY_LEN),
      };
    case FRAME_TYPE.watchConns:
      return { type: "watch-conns" };
    case FRAME_TYPE.closePeer:
      if (n !== DERP_KEY_LEN) fail(`close peer body is ${n} bytes, want ${DERP_KEY_LEN}`, at);
      return { type: "close-peer", peer: key(body, 0) };
    case FRAME_TYPE.ping:
      need(n, PING_DATA_LEN, "ping", at);
      return { type: "ping", data: body.slice(0, PING_DATA_LEN) };
    case FRAME_TYPE.pong:
      need(n, PING_DATA_LEN, "pong", at);
      return { type: "pong", data: body.slice(0, PING_DATA_LEN) };
    case FRAME_TYPE.health:
      return { type: "health", problem: new TextDecoder().decode(body) };
    case FRAME_TYPE.restarting: {
      need(n, 8, "restarting", at);
      const v = new DataView(body.buffer, body.byteOffset, 8);
      return { type: "restarting", reconnectInMs: v.getUint32(0), tryForMs: v.getUint32(4) };
    }
    default:
      return { type: "unknown", frameType, body };
  }
}

function need(have: number, want: number, what: string, at: number): void {
  if (have < want) fail(`${what} body is ${have} bytes, want at least ${want}`, at);
}

function packetLimit(len: number, at: number): void {
  if (len > MAX_PACKET_SIZE) fail(`packet of ${len} bytes exceeds ${MAX_PACKET_SIZE}`, at);
}

function key(body: Uint8Array, at: number): NodePublic {
  return body.slice(at, at + DERP_KEY_LEN) as NodePublic;
}

/**
 * Body length of a frame.
 * @param f the frame
 * @returns body bytes, without the header
 */
export function frameBodyLen(f: DerpFrame): number {
  switch (f.type) {
    case "server-key":
      return DERP_MAGIC.length + DERP_KEY_LEN;
    case "client-info":
      return DERP_KEY_LEN + DERP_NONCE_LEN + f.sealed.length;
    case "server-info":
      return DERP_NONCE_LEN + f.sealed.length;
    case "send-packet":
      return DERP_KEY_LEN + f.packet.length;
    case "recv-packet":
      return DERP_KEY_LEN + f.packet.length;
    case "keep-alive":
    case "watch-conns":
      return 0;
    case "note-preferred":
      return 1;
    case "peer-gone":
      return DERP_KEY_LEN + 1;
    case "peer-present":
      return DERP_KEY_LEN +
        (f.addr === null ? 0 : PEER_PRESENT_ADDR_LEN + (f.flags === null ? 0 : 1));
    case "forward-packet":
      return 2 * DERP_KEY_LEN + f.packet.length;
    case "close-peer":
      return DERP_KEY_LEN;
    case "ping":
    case "pong":
      return PING_DATA_LEN;
    case "health":
      return new TextEncoder().encode(f.problem).length;
    case "restarting":
      return 8;
    case "unknown":
      return f.body.length;
  }
}

/**
 * Bytes {@linkcode emitFrame} writes for `f`, header included.
 * @param f the frame
 * @returns length in bytes
 */
export function frameLen(f: DerpFrame): number {
  return FRAME_HEADER_LEN + frameBodyLen(f);
}

/**
 * Writes `f` (header and body) into `out` at `off`. Throws `RangeError` when a field has the
 * wrong size, a packet exceeds {@linkcode MAX_PACKET_SIZE}, or `out` is too short.
 * @param f the frame
 * @param out buffer, at least {@linkcode frameLen} bytes from `off`
 * @param off where to write
 * @returns offset after the frame
 */
export function emitFrame(f: DerpFrame, out: Uint8Array, off = 0): number {
  const bodyLen = frameBodyLen(f);
  if (out.length - off < FRAME_HEADER_LEN + bodyLen) {
    throw new RangeError(
      `Cannot emit DERP frame: need ${FRAME_HEADER_LEN + bodyLen} bytes, have ${out.length - off}`,
    );
  }
  const typeByte = f.type === "unknown" ? f.frameType : FRAME_TYPE[TYPE_KEY[f.type]];
  let p = emitFrameHeader(typeByte, bodyLen, out, off);
  switch (f.type) {
    case "server-key":
      out.set(DERP_MAGIC, p);
      return putKey(f.serverKey, out, p + DERP_MAGIC.length);
    case "client-info":
      p = putKey(f.clientKey, out, p);
      p = putFixed(f.nonce, DERP_NONCE_LEN, "nonce", out, p);
      out.set(f.sealed, p);
      return p + f.sealed.length;
    case "server-info":
      p = putFixed(f.nonce, DERP_NONCE_LEN, "nonce", out, p);
      out.set(f.sealed, p);
      return p + f.sealed.length;
    case "send-packet":
      checkPacket(f.packet);
      p = putKey(f.dst, out, p);
      out.set(f.packet, p);
      return p + f.packet.length;
    case "recv-packet":
      checkPacket(f.packet);
      p = putKey(f.src, out, p);
      out.set(f.packet, p);
      return p + f.packet.length;
    case "keep-alive":
    case "watch-conns":
      return p;
    case "note-preferred":
      out[p] = f.preferred ? 1 : 0;
      return p + 1;
    case "peer-gone":
      p = putKey(f.peer, out, p);
      out[p] = f.reason;
      return p + 1;
    case "peer-present":
      p = putKey(f.peer, out, p);
      if (f.addr === null) return p;
      p = putFixed(f.addr.ip, 16, "address", out, p);
      out[p] = f.addr.port >>> 8;
      out[p + 1] = f.addr.port & 0xff;
      p += 2;
      if (f.flags === null) return p;
      out[p] = f.flags;
      return p + 1;
    case "forward-packet":
      checkPacket(f.packet);
      p = putKey(f.src, out, p);
      p = putKey(f.dst, out, p);
      out.set(f.packet, p);
      return p + f.packet.length;
    case "close-peer":
      return putKey(f.peer, out, p);
    case "ping":
    case "pong":
      return putFixed(f.data, PING_DATA_LEN, f.type, out, p);
    case "health": {
      const text = new TextEncoder().encode(f.problem);
      out.set(text, p);
      return p + text.length;
    }
    case "restarting": {
      const v = new DataView(out.buffer, out.byteOffset + p, 8);
      v.setUint32(0, f.reconnectInMs);
      v.setUint32(4, f.tryForMs);
      return p + 8;
    }
    case "unknown":
      out.set(f.body, p);
      return p + f.body.length;
  }
}

/**
 * Encodes `f` into a new buffer of exactly {@linkcode frameLen} bytes.
 * @param f the frame
 * @returns the frame's bytes
 *
 * @example A keep-alive is five bytes
 * ```ts
 * import { encodeFrame } from "./derp_frames.ts";
 * const b = encodeFrame({ type: "keep-alive" });
 * if (b.join() !== "6,0,0,0,0") throw new Error(b.join());
 * ```
 */
export function encodeFrame(f: DerpFrame): Uint8Array {
  const out = new Uint8Array(frameLen(f));
  emitFrame(f, out, 0);
  return out;
}

const TYPE_KEY: Record<Exclude<DerpFrame["type"], "unknown">, keyof typeof FRAME_TYPE> = {
  "server-key": "serverKey",
  "client-info": "clientInfo",
  "server-info": "serverInfo",
  "send-packet": "sendPacket",
  "recv-packet": "recvPacket",
  "keep-alive": "keepAlive",
  "note-preferred": "notePreferred",
  "peer-gone": "peerGone",
  "peer-present": "peerPresent",
  "forward-packet": "forwardPacket",
  "watch-conns": "watchConns",
  "close-peer": "closePeer",
  "ping": "ping",
  "pong": "pong",
  "health": "health",
  "restarting": "restarting",
};

function putKey(k: Uint8Array, out: Uint8Array, p: number): number {
  return putFixed(k, DERP_KEY_LEN, "key", out, p);
}

function putFixed(v: Uint8Array, len: number, what: string, out: Uint8Array, p: number): number {
  if (v.length !== len) {
    throw new RangeError(`Cannot emit DERP frame: ${what} is ${v.length} bytes, want ${len}`);
  }
  out.set(v, p);
  return p + len;
}

function checkPacket(packet: Uint8Array): void {
  if (packet.length > MAX_PACKET_SIZE) {
    throw new RangeError(
      `Cannot emit DERP frame: packet of ${packet.length} bytes exceeds ${MAX_PACKET_SIZE}`,
    );
  }
}

/**
 * Whether `frameType` is one this codec parses into a named variant.
 * @param frameType type byte
 * @returns true when known
 */
export function isKnownFrameType(frameType: number): boolean {
  return KNOWN_TYPES.has(frameType);
}

// ---- The JSON inside the boxes ----

/** What a client tells the server about itself (Go `derp.ClientInfo`). */
export interface ClientInfo {
  /** DERP protocol version; 0 is omitted from the JSON as Go does. */
  version: number;
  /** Mesh key as 64 hex digits; empty for ordinary clients (omitted). */
  meshKey: string;
  /** Whether we answer server pings (always sent). */
  canAckPings: boolean;
  /** Whether we are a prober (omitted when false). */
  isProber: boolean;
  /** Optional app name for the server's stats (omitted when empty). */
  appName: string;
}

/** What the server tells a client (Go `derp.ServerInfo`). */
export interface ServerInfo {
  version: number;
  /** Send rate limit in bytes per second, 0 when none. */
  tokenBucketBytesPerSecond: number;
  /** Burst for the rate limit, 0 when none. */
  tokenBucketBytesBurst: number;
}

/**
 * The ClientInfo JSON exactly as Go's `json.Marshal` writes it (same keys, order and omissions),
 * e.g. `{"version":2,"CanAckPings":true}`.
 * @param info the client info
 * @returns UTF-8 JSON
 */
export function encodeClientInfoJson(info: ClientInfo): Uint8Array {
  const o: Record<string, unknown> = {};
  if (info.meshKey !== "") o.meshKey = info.meshKey;
  if (info.version !== 0) o.version = info.version;
  o.CanAckPings = info.canAckPings;
  if (info.isProber) o.IsProber = true;
  if (info.appName !== "") o.AppName = info.appName;
  return new TextEncoder().encode(JSON.stringify(o));
}

/**
 * Parses ClientInfo JSON, matching keys case-insensitively as Go does.
 * @param b UTF-8 JSON
 * @returns the client info
 */
export function parseClientInfoJson(b: Uint8Array): ClientInfo {
  const o = jsonObject(b, "client info");
  return {
    version: num(field(o, "version"), "version"),
    meshKey: str(field(o, "meshKey"), "meshKey"),
    canAckPings: bool(field(o, "CanAckPings"), "CanAckPings"),
    isProber: bool(field(o, "IsProber"), "IsProber"),
    appName: str(field(o, "AppName"), "AppName"),
  };
}

/**
 * The ServerInfo JSON as Go writes it (zero fields omitted).
 * @param info the server info
 * @returns UTF-8 JSON
 */
export function encodeServerInfoJson(info: ServerInfo): Uint8Array {
  const o: Record<string, number> = {};
  if (info.version !== 0) o.version = info.version;
  if (info.tokenBucketBytesPerSecond !== 0) {
    o.TokenBucketBytesPerSecond = info.tokenBucketBytesPerSecond;
  }
  if (info.tokenBucketBytesBurst !== 0) o.TokenBucketBytesBurst = info.tokenBucketBytesBurst;
  return new TextEncoder().encode(JSON.stringify(o));
}

/**
 * Parses ServerInfo JSON (keys case-insensitive, unknown keys ignored).
 * @param b UTF-8 JSON
 * @returns the server info
 */
export function parseServerInfoJson(b: Uint8Array): ServerInfo {
  const o = jsonObject(b, "server info");
  return {
    version: num(field(o, "version"), "version"),
    tokenBucketBytesPerSecond: num(
      field(o, "TokenBucketBytesPerSecond"),
      "TokenBucketBytesPerSecond",
    ),
    tokenBucketBytesBurst: num(field(o, "TokenBucketBytesBurst"), "TokenBucketBytesBurst"),
  };
}

function jsonObject(b: Uint8Array, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(b));
  } catch (err) {
    throw new ParseError("derp-json", `Cannot parse DERP ${what}: ${(err as Error).message}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new ParseError("derp-json", `Cannot parse DERP ${what}: not a JSON object`);
  }
  return v as Record<string, unknown>;
}

function field(o: Record<string, unknown>, name: string): unknown {
  if (name in o) return o[name];
  const lower = name.toLowerCase();
  for (const k of Object.keys(o)) if (k.toLowerCase() === lower) return o[k];
  return undefined;
}

function num(v: unknown, name: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== "number" || !Number.isInteger(v)) {
    throw new ParseError("derp-json", `Cannot parse DERP info: ${name} is not an integer`);
  }
  return v;
}

function str(v: unknown, name: string): string {
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") {
    throw new ParseError("derp-json", `Cannot parse DERP info: ${name} is not a string`);
  }
  return v;
}

function bool(v: unknown, name: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== "boolean") {
    throw new ParseError("derp-json", `Cannot parse DERP info: ${name} is not a boolean`);
  }
  return v;
}
