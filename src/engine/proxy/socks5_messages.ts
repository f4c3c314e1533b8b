/**
 * SOCKS5 messages (RFC 1928) and the username/password subnegotiation (RFC 1929). No I/O.
 *
 * ```
 * greeting          VER=5 | NMETHODS | METHODS[NMETHODS]
 * method selection  VER=5 | METHOD
 * userpass request  VER=1 | ULEN | UNAME[ULEN] | PLEN | PASSWD[PLEN]
 * userpass reply    VER=1 | STATUS (0 = success)
 * request           VER=5 | CMD | RSV=0 | ATYP | DST.ADDR | DST.PORT (u16 BE)
 * reply             VER=5 | REP | RSV=0 | ATYP | BND.ADDR | BND.PORT
 * UDP header        RSV=0 (u16) | FRAG | ATYP | DST.ADDR | DST.PORT | DATA
 * address           ATYP=1: 4 bytes | ATYP=3: LEN, LEN bytes of name | ATYP=4: 16 bytes
 * ```
 *
 * Stream parsers (`parseGreeting`, `parseUserPass`, `parseRequest`, `parseReply`) return
 * `null` while the bytes end before the message does, so a server can read more and retry;
 * they throw {@linkcode Socks5ParseError} (a `ParseError` carrying the reply code to send)
 * once the bytes cannot become a valid message. Trailing bytes are left to the caller
 * (`end` says where the message stopped).
 * @module
 */
import { ParseError } from "../base/errors.ts";
import { formatIpAddrAt, parseIpv4Addr, parseIpv6Addr } from "../wire/mod.ts";
import { SOCKS5_MAX_FIELD_BYTES, SOCKS5_USERPASS_VERSION, SOCKS5_VERSION } from "./constants.ts";

const FORMAT = "socks5";

/** Authentication method: none. */
export const METHOD_NO_AUTH = 0x00;
/** Authentication method: GSSAPI (offered by curl; never selected here). */
export const METHOD_GSSAPI = 0x01;
/** Authentication method: username/password (RFC 1929). */
export const METHOD_USERPASS = 0x02;
/** Method selection reply: none of the offered methods is acceptable. */
export const METHOD_NO_ACCEPTABLE = 0xff;

/** Command: open a TCP connection to the destination. */
export const CMD_CONNECT = 1;
/** Command: accept one inbound TCP connection (not supported, as in tailscaled). */
export const CMD_BIND = 2;
/** Command: relay UDP datagrams. */
export const CMD_UDP_ASSOCIATE = 3;

/** Address type: IPv4, 4 bytes. */
export const ATYP_IPV4 = 1;
/** Address type: a domain name, length-prefixed. */
export const ATYP_DOMAIN = 3;
/** Address type: IPv6, 16 bytes. */
export const ATYP_IPV6 = 4;

/** Reply: succeeded. */
export const REP_SUCCEEDED = 0;
/** Reply: general SOCKS server failure (also malformed requests, as tailscaled does). */
export const REP_GENERAL_FAILURE = 1;
/** Reply: connection not allowed by ruleset. */
export const REP_NOT_ALLOWED = 2;
/** Reply: network unreachable. */
export const REP_NETWORK_UNREACHABLE = 3;
/** Reply: host unreachable (includes names that do not resolve). */
export const REP_HOST_UNREACHABLE = 4;
/** Reply: connection refused. */
export const REP_CONNECTION_REFUSED = 5;
/** Reply: TTL expired (we send it when a dial times out). */
export const REP_TTL_EXPIRED = 6;
/** Reply: command not supported. */
export const REP_COMMAND_NOT_SUPPORTED = 7;
/** Reply: address type not supported. */
export const REP_ADDRESS_TYPE_NOT_SUPPORTED = 8;

/** RFC 1929 status: success (any other value is a failure). */
export const USERPASS_SUCCESS = 0;
/** RFC 1929 status we send on failure. */
export const USERPASS_FAILURE = 1;

/** A destination or bound address with its port. */
export interface SocksAddr {
  /** How the address is carried on the wire. */
  type: "ipv4" | "ipv6" | "domain";
  /** Text form: dotted quad, RFC 5952 IPv6, or the name (bytes as Latin-1, so they round-trip). */
  host: string;
  /** 0 to 65535. */
  port: number;
}

/** The client's first message: the methods it offers. */
export interface Socks5Greeting {
  /** Method numbers in the order sent. */
  methods: number[];
}

/** RFC 1929 credentials, as raw bytes (the RFC leaves their encoding open). */
export interface Socks5UserPass {
  /** 1 to 255 bytes. */
  username: Uint8Array;
  /** 1 to 255 bytes. */
  password: Uint8Array;
}

/** A request: what to do and where. */
export interface Socks5Request {
  /** CMD_CONNECT, CMD_BIND, CMD_UDP_ASSOCIATE, or any other byte as sent. */
  command: number;
  /** The destination (for UDP ASSOCIATE: where the client will send from, often zero). */
  dest: SocksAddr;
}

/** The server's reply to a request. */
export interface Socks5Reply {
  /** One of the `REP_*` codes. */
  reply: number;
  /** The bound address (for UDP ASSOCIATE, where to send datagrams). */
  bind: SocksAddr;
}

/** The header in front of every datagram relayed through a UDP association. */
export interface Socks5UdpHeader {
  /** Fragment number; 0 for a whole datagram (the only kind we relay). */
  frag: number;
  /** Where the datagram goes (client to server) or came from (server to client). */
  addr: SocksAddr;
}

/** A parsed message and the offset just past it. */
export interface Parsed<T> {
  /** The message. */
  value: T;
  /** Offset of the first byte after the message. */
  end: number;
}

/** A SOCKS5 message that cannot be valid, with the reply code a server should answer with. */
export class Socks5ParseError extends ParseError {
  /** The `REP_*` code to send for a bad request (`REP_GENERAL_FAILURE` unless more specific). */
  readonly reply: number;

  /**
   * @param message what is wrong
   * @param offset where
   * @param reply the reply code a server sends for it
   */
  constructor(message: string, offset: number, reply = REP_GENERAL_FAILURE) {
    super(FORMAT, message, offset);
    this.name = "Socks5ParseError";
    this.reply = reply;
  }
}

/** The zero address 0.0.0.0:0, which error replies carry. */
export const ZERO_ADDR: Readonly<SocksAddr> = Object.freeze({
  type: "ipv4",
  host: "0.0.0.0",
  port: 0,
});

/**
 * Parses a greeting.
 * @param b bytes received so far @param off where the greeting starts
 * @returns the greeting, or `null` when more bytes are needed
 * @throws {Socks5ParseError} when the version is not 5 or no method is offered
 * @example curl's greeting
 * ```ts
 * import { parseGreeting } from "./socks5_messages.ts";
 * const g = parseGreeting(new Uint8Array([5, 2, 0, 1]), 0);
 * if (g === null || g.value.methods.join() !== "0,1" || g.end !== 4) throw new Error("greeting");
 * ```
 */
export function parseGreeting(b: Uint8Array, off: number): Parsed<Socks5Greeting> | null {
  if (b.length - off < 1) return null;
  if (b[off] !== SOCKS5_VERSION) {
    throw new Socks5ParseError(`Cannot parse SOCKS5 greeting: version ${b[off]}`, off);
  }
  if (b.length - off < 2) return null;
  const n = b[off + 1];
  if (n === 0) throw new Socks5ParseError("Cannot parse SOCKS5 greeting: no methods", off + 1);
  if (b.length - off < 2 + n) return null;
  return { value: { methods: Array.from(b.subarray(off + 2, off + 2 + n)) }, end: off + 2 + n };
}

/** Bytes a greeting takes. @param g the greeting @returns its length */
export function greetingLen(g: Socks5Greeting): number {
  return 2 + g.methods.length;
}

/**
 * Writes a greeting. @param g 1 to 255 methods @param out buffer @param off where
 * @returns the offset after it
 * @throws {RangeError} for 0 or more than 255 methods
 */
export function emitGreeting(g: Socks5Greeting, out: Uint8Array, off: number): number {
  if (g.methods.length === 0 || g.methods.length > 255) {
    throw new RangeError(`Cannot emit SOCKS5 greeting: ${g.methods.length} methods`);
  }
  out[off] = SOCKS5_VERSION;
  out[off + 1] = g.methods.length;
  out.set(g.methods, off + 2);
  return off + 2 + g.methods.length;
}

/**
 * Writes the 2-byte method selection. @param method chosen method or METHOD_NO_ACCEPTABLE
 * @param out buffer @param off where @returns the offset after it
 */
export function emitMethodSelection(method: number, out: Uint8Array, off: number): number {
  out[off] = SOCKS5_VERSION;
  out[off + 1] = method;
  return off + 2;
}

/**
 * Parses a method selection (the client side).
 * @param b bytes @param off where @returns the method, or `null` when more bytes are needed
 * @throws {Socks5ParseError} when the version is not 5
 */
export function parseMethodSelection(b: Uint8Array, off: number): Parsed<number> | null {
  if (b.length - off < 2) return null;
  if (b[off] !== SOCKS5_VERSION) {
    throw new Socks5ParseError(`Cannot parse SOCKS5 method selection: version ${b[off]}`, off);
  }
  return { value: b[off + 1], end: off + 2 };
}

/**
 * Parses an RFC 1929 username/password request.
 * @param b bytes @param off where
 * @returns the credentials (views into `b`), or `null` when more bytes are needed
 * @throws {Socks5ParseError} when the subnegotiation version is not 1 or a field is empty
 */
export function parseUserPass(b: Uint8Array, off: number): Parsed<Socks5UserPass> | null {
  if (b.length - off < 1) return null;
  if (b[off] !== SOCKS5_USERPASS_VERSION) {
    throw new Socks5ParseError(`Cannot parse SOCKS5 username/password: version ${b[off]}`, off);
  }
  if (b.length - off < 2) return null;
  const ulen = b[off + 1];
  if (ulen === 0) throw new Socks5ParseError("Cannot parse SOCKS5 username: empty", off + 1);
  const pAt = off + 2 + ulen;
  if (b.length < pAt + 1) return null;
  const plen = b[pAt];
  if (plen === 0) throw new Socks5ParseError("Cannot parse SOCKS5 password: empty", pAt);
  if (b.length < pAt + 1 + plen) return null;
  return {
    value: { username: b.subarray(off + 2, pAt), password: b.subarray(pAt + 1, pAt + 1 + plen) },
    end: pAt + 1 + plen,
  };
}

/** Bytes an RFC 1929 request takes. @param u the credentials @returns its length */
export function userPassLen(u: Socks5UserPass): number {
  return 3 + u.username.length + u.password.length;
}

/**
 * Writes an RFC 1929 request. @param u credentials, 1 to 255 bytes each
 * @param out buffer @param off where @returns the offset after it
 * @throws {RangeError} when a field is empty or longer than 255 bytes
 */
export function emitUserPass(u: Socks5UserPass, out: Uint8Array, off: number): number {
  for (const f of [u.username, u.password]) {
    if (f.length === 0 || f.length > SOCKS5_MAX_FIELD_BYTES) {
      throw new RangeError(`Cannot emit SOCKS5 username/password: field of ${f.length} bytes`);
    }
  }
  out[off] = SOCKS5_USERPASS_VERSION;
  out[off + 1] = u.username.length;
  out.set(u.username, off + 2);
  let at = off + 2 + u.username.length;
  out[at++] = u.password.length;
  out.set(u.password, at);
  return at + u.password.length;
}

/**
 * Writes the 2-byte RFC 1929 reply. @param status USERPASS_SUCCESS or USERPASS_FAILURE
 * @param out buffer @param off where @returns the offset after it
 */
export function emitUserPassReply(status: number, out: Uint8Array, off: number): number {
  out[off] = SOCKS5_USERPASS_VERSION;
  out[off + 1] = status;
  return off + 2;
}

/**
 * Parses an address and port (ATYP onwards).
 * @param b bytes @param off where ATYP is
 * @returns the address, or `null` when more bytes are needed
 * @throws {Socks5ParseError} with REP_ADDRESS_TYPE_NOT_SUPPORTED for an unknown ATYP, or
 * REP_GENERAL_FAILURE for an empty domain name
 */
export function parseSocksAddr(b: Uint8Array, off: number): Parsed<SocksAddr> | null {
  if (b.length - off < 1) return null;
  const atyp = b[off];
  let host: string, type: SocksAddr["type"], at: number;
  if (atyp === ATYP_IPV4) {
    if (b.length - off < 1 + 4 + 2) return null;
    type = "ipv4";
    host = formatIpAddrAt(b, off + 1, 4);
    at = off + 5;
  } else if (atyp === ATYP_IPV6) {
    if (b.length - off < 1 + 16 + 2) return null;
    type = "ipv6";
    host = formatIpAddrAt(b, off + 1, 16);
    at = off + 17;
  } else if (atyp === ATYP_DOMAIN) {
    if (b.length - off < 2) return null;
    const n = b[off + 1];
    if (n === 0) throw new Socks5ParseError("Cannot parse SOCKS5 address: empty name", off + 1);
    if (b.length - off < 2 + n + 2) return null;
    type = "domain";
    host = String.fromCharCode(...b.subarray(off + 2, off + 2 + n));
    at = off + 2 + n;
  } else {
    throw new Socks5ParseError(
      `Cannot parse SOCKS5 address: address type ${atyp}`,
      off,
      REP_ADDRESS_TYPE_NOT_SUPPORTED,
    );
  }
  return { value: { type, host, port: (b[at] << 8) | b[at + 1] }, end: at + 2 };
}

/**
 * Bytes an address and port take.
 * @param a the address @returns its length
 * @throws {RangeError} for a domain name over 255 bytes or empty
 */
export function socksAddrLen(a: SocksAddr): number {
  if (a.type === "ipv4") return 1 + 4 + 2;
  if (a.type === "ipv6") return 1 + 16 + 2;
  if (a.host.length === 0 || a.host.length > SOCKS5_MAX_FIELD_BYTES) {
    throw new RangeError(`Cannot emit SOCKS5 address: name of ${a.host.length} bytes`);
  }
  return 2 + a.host.length + 2;
}

/**
 * Writes an address and port.
 * @param a the address @param out buffer @param off where @returns the offset after it
 * @throws {RangeError} for a bad port, a name over 255 bytes or with a character over U+00FF
 * @throws {ParseError} when an `ipv4`/`ipv6` host is not an address of that family
 */
export function emitSocksAddr(a: SocksAddr, out: Uint8Array, off: number): number {
  if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65535) {
    throw new RangeError(`Cannot emit SOCKS5 address: port ${a.port}`);
  }
  let at: number;
  if (a.type === "ipv4") {
    out[off] = ATYP_IPV4;
    out.set(parseIpv4Addr(a.host), off + 1);
    at = off + 5;
  } else if (a.type === "ipv6") {
    out[off] = ATYP_IPV6;
    out.set(parseIpv6Addr(a.host), off + 1);
    at = off + 17;
  } else {
    const n = socksAddrLen(a) - 4;
    out[off] = ATYP_DOMAIN;
    out[off + 1] = n;
    for (let i = 0; i < n; i++) {
      const c = a.host.charCodeAt(i);
      if (c > 0xff) throw new RangeError(`Cannot emit SOCKS5 address: character U+${c}`);
      out[off + 2 + i] = c;
    }
    at = off + 2 + n;
  }
  out[at] = a.port >> 8;
  out[at + 1] = a.port & 0xff;
  return at + 2;
}

/**
 * Parses a request.
 * @param b bytes @param off where @returns the request, or `null` when more bytes are needed
 * @throws {Socks5ParseError} for a version other than 5, a bad address (see
 * {@linkcode parseSocksAddr}); the command is not checked here
 * @example curl --socks5-hostname to ts1.tailnet.test:8080
 * ```ts
 * import { parseRequest } from "./socks5_messages.ts";
 * const b = new Uint8Array([5, 1, 0, 3, 3, 0x74, 0x73, 0x31, 0x1f, 0x90]);
 * const r = parseRequest(b, 0)!.value;
 * if (r.dest.host !== "ts1" || r.dest.port !== 8080 || r.command !== 1) throw new Error("req");
 * ```
 */
export function parseRequest(b: Uint8Array, off: number): Parsed<Socks5Request> | null {
  if (b.length - off < 1) return null;
  if (b[off] !== SOCKS5_VERSION) {
    throw new Socks5ParseError(`Cannot parse SOCKS5 request: version ${b[off]}`, off);
  }
  if (b.length - off < 3) return null;
  const a = parseSocksAddr(b, off + 3);
  if (a === null) return null;
  return { value: { command: b[off + 1], dest: a.value }, end: a.end };
}

/** Bytes a request takes. @param r the request @returns its length */
export function requestLen(r: Socks5Request): number {
  return 3 + socksAddrLen(r.dest);
}

/**
 * Writes a request. @param r the request @param out buffer @param off where
 * @returns the offset after it
 */
export function emitRequest(r: Socks5Request, out: Uint8Array, off: number): number {
  out[off] = SOCKS5_VERSION;
  out[off + 1] = r.command;
  out[off + 2] = 0;
  return emitSocksAddr(r.dest, out, off + 3);
}

/**
 * Parses a reply (the client side).
 * @param b bytes @param off where @returns the reply, or `null` when more bytes are needed
 * @throws {Socks5ParseError} for a version other than 5 or a bad address
 */
export function parseReply(b: Uint8Array, off: number): Parsed<Socks5Reply> | null {
  if (b.length - off < 1) return null;
  if (b[off] !== SOCKS5_VERSION) {
    throw new Socks5ParseError(`Cannot parse SOCKS5 reply: version ${b[off]}`, off);
  }
  if (b.length - off < 3) return null;
  const a = parseSocksAddr(b, off + 3);
  if (a === null) return null;
  return { value: { reply: b[off + 1], bind: a.value }, end: a.end };
}

/** Bytes a reply takes. @param r the reply @returns its length */
export function replyLen(r: Socks5Reply): number {
  return 3 + socksAddrLen(r.bind);
}

/**
 * Writes a reply. @param r the reply @param out buffer @param off where
 * @returns the offset after it
 * @example An error reply, as sent for a refused connection
 * ```ts
 * import { emitReply, REP_CONNECTION_REFUSED, ZERO_ADDR } from "./socks5_messages.ts";
 * const out = new Uint8Array(10);
 * emitReply({ reply: REP_CONNECTION_REFUSED, bind: ZERO_ADDR }, out, 0);
 * if (out.join() !== "5,5,0,1,0,0,0,0,0,0") throw new Error("reply");
 * ```
 */
export function emitReply(r: Socks5Reply, out: Uint8Array, off: number): number {
  out[off] = SOCKS5_VERSION;
  out[off + 1] = r.reply;
  out[off + 2] = 0;
  return emitSocksAddr(r.bind, out, off + 3);
}

/**
 * Parses the header of a UDP association datagram. The datagram is whole, so truncation
 * is an error here, not a wait.
 * @param b the datagram @param off where it starts
 * @returns the header and the offset of the payload
 * @throws {Socks5ParseError} for a short datagram, nonzero reserved bytes or a bad address
 */
export function parseUdpHeader(b: Uint8Array, off: number): Parsed<Socks5UdpHeader> {
  if (b.length - off < 4) {
    throw new Socks5ParseError(`Cannot parse SOCKS5 UDP header: ${b.length - off} bytes`, off);
  }
  if (b[off] !== 0 || b[off + 1] !== 0) {
    throw new Socks5ParseError("Cannot parse SOCKS5 UDP header: reserved bytes not zero", off);
  }
  const a = parseSocksAddr(b, off + 3);
  if (a === null) {
    throw new Socks5ParseError("Cannot parse SOCKS5 UDP header: address truncated", off + 3);
  }
  return { value: { frag: b[off + 2], addr: a.value }, end: a.end };
}

/** Bytes a UDP header takes. @param h the header @returns its length */
export function udpHeaderLen(h: Socks5UdpHeader): number {
  return 3 + socksAddrLen(h.addr);
}

/**
 * Writes a UDP header (the payload goes after it).
 * @param h the header @param out buffer @param off where @returns the offset of the payload
 */
export function emitUdpHeader(h: Socks5UdpHeader, out: Uint8Array, off: number): number {
  out[off] = 0;
  out[off + 1] = 0;
  out[off + 2] = h.frag;
  return emitSocksAddr(h.addr, out, off + 3);
}

/**
 * The SOCKS address for a host and port: an IP literal becomes `ipv4`/`ipv6`, anything else
 * a domain name.
 * @param host an address or name (IPv6 without brackets) @param port the port
 * @returns the address
 */
export function socksAddrOf(host: string, port: number): SocksAddr {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) {
    try {
      parseIpv4Addr(host);
      return { type: "ipv4", host, port };
    } catch { /* not an address after all: a name */ }
  }
  if (host.includes(":")) {
    return { type: "ipv6", host: formatIpAddrAt(parseIpv6Addr(host), 0, 16), port };
  }
  return { type: "domain", host, port };
}
