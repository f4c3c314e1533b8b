/**
 * HTTP/1.x as a forward proxy needs it (RFC 9110, RFC 9112): request and response heads,
 * request targets (authority form for CONNECT, absolute form for the rest), hop-by-hop
 * headers, and how a body is framed (`chunked_scanner.ts` finds where a chunked body ends).
 * No I/O.
 *
 * ```
 * request head   METHOD SP target SP HTTP/1.x CRLF *(name ":" OWS value OWS CRLF) CRLF
 * response head  HTTP/1.x SP 3DIGIT SP reason CRLF *(header CRLF) CRLF
 * chunked body   *(HEX[;ext] CRLF data CRLF) 0[;ext] CRLF *(trailer CRLF) CRLF
 * ```
 * Lines may end in a bare LF (RFC 9112 §2.2). Obsolete line folding, whitespace before a
 * colon, a Transfer-Encoding with a Content-Length, and conflicting Content-Lengths are
 * rejected: each is a request-smuggling vector. Parsers throw {@linkcode HttpParseError},
 * which carries the status a proxy answers with.
 * @module
 */
import { ParseError } from "../base/errors.ts";
import type { Parsed } from "./socks5_messages.ts";

const FORMAT = "http";

/** One header field, name as sent. */
export type HttpHeader = [name: string, value: string];

/** A request line and its headers. */
export interface HttpRequestHead {
  /** e.g. `GET`, `CONNECT`. */
  method: string;
  /** The request target as sent: `host:port` for CONNECT, `http://…` for a proxy request. */
  target: string;
  /** `HTTP/1.1` or `HTTP/1.0`. */
  version: string;
  /** Header fields in order. */
  headers: HttpHeader[];
}

/** A status line and its headers. */
export interface HttpResponseHead {
  /** `HTTP/1.1` or `HTTP/1.0`. */
  version: string;
  /** 100 to 599. */
  status: number;
  /** The reason phrase (may be empty). */
  reason: string;
  /** Header fields in order. */
  headers: HttpHeader[];
}

/** How a message body ends. */
export type BodyFraming =
  | { kind: "none" }
  | { kind: "length"; length: number }
  | { kind: "chunked" }
  | { kind: "until-close" };

/** Input that is not valid HTTP, with the status a proxy should answer. */
export class HttpParseError extends ParseError {
  /** 400 for a bad request, 501 for an unsupported transfer coding, 502 upstream. */
  readonly status: number;

  /** @param message what is wrong @param offset where @param status the answer */
  constructor(message: string, offset?: number, status = 400) {
    super(FORMAT, message, offset);
    this.name = "HttpParseError";
    this.status = status;
  }
}

/** Whether `s` holds a control character (tab allowed unless `strict`; strict also bans space and non-ASCII). */
function hasControl(s: string, strict: boolean): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x7f || (c < 0x20 && (strict || c !== 0x09))) return true;
    if (strict && (c === 0x20 || c > 0x7e)) return true;
  }
  return false;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const VERSION = /^HTTP\/1\.[01]$/;

/**
 * Finds the end of a head: the offset just past the empty line, or -1 if it has not
 * arrived yet.
 * @param b bytes @param off where the head starts @returns end offset or -1
 */
export function findHeadEnd(b: Uint8Array, off: number): number {
  for (let i = off; i < b.length; i++) {
    if (b[i] !== 0x0a) continue;
    // "\n\n" or "\n\r\n" ends the head.
    if (i + 1 < b.length && b[i + 1] === 0x0a) return i + 2;
    if (i + 2 < b.length && b[i + 1] === 0x0d && b[i + 2] === 0x0a) return i + 3;
  }
  return -1;
}

/** Splits a complete head into lines (CRLF or LF), the empty last line removed. */
function headLines(b: Uint8Array, off: number, end: number): string[] {
  let text = "";
  for (let i = off; i < end; i++) text += String.fromCharCode(b[i]);
  const lines = text.split("\n").map((l) => l.endsWith("\r") ? l.slice(0, -1) : l);
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

function parseHeaders(lines: string[], off: number): HttpHeader[] {
  const headers: HttpHeader[] = [];
  for (const line of lines) {
    if (line.startsWith(" ") || line.startsWith("\t")) {
      throw new HttpParseError("Cannot parse HTTP header: obsolete line folding", off);
    }
    const colon = line.indexOf(":");
    const name = colon < 0 ? "" : line.slice(0, colon);
    if (!TOKEN.test(name)) {
      throw new HttpParseError(
        `Cannot parse HTTP header: ${JSON.stringify(line.slice(0, 40))}`,
        off,
      );
    }
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    if (hasControl(value, false)) {
      throw new HttpParseError(`Cannot parse HTTP header ${name}: control character`, off);
    }
    headers.push([name, value]);
  }
  return headers;
}

/**
 * Parses a request head.
 * @param b bytes received so far @param off where the head starts
 * @returns the head, or `null` when its end has not arrived
 * @throws {HttpParseError} for anything that is not an HTTP/1.0 or 1.1 request head
 * @example curl -x http://proxy http://ts1.tailnet.test:8080/path?q=1
 * ```ts
 * import { parseRequestHead } from "./http_proxy_messages.ts";
 * const b = new TextEncoder().encode("GET http://ts1:8080/p HTTP/1.1\r\nHost: ts1:8080\r\n\r\n");
 * const h = parseRequestHead(b, 0)!.value;
 * if (h.method !== "GET" || h.headers[0][1] !== "ts1:8080") throw new Error("head");
 * ```
 */
export function parseRequestHead(b: Uint8Array, off: number): Parsed<HttpRequestHead> | null {
  // Tolerate the empty lines RFC 9112 §2.2 lets a server skip before a request line.
  let start = off;
  while (start < b.length && (b[start] === 0x0d || b[start] === 0x0a)) start++;
  if (start < b.length && (b[start] < 0x21 || b[start] > 0x7e)) {
    throw new HttpParseError("Cannot parse HTTP request: not a request line", start);
  }
  const end = findHeadEnd(b, start);
  if (end < 0) return null;
  const lines = headLines(b, start, end);
  const parts = (lines[0] ?? "").split(" ");
  if (parts.length !== 3 || !TOKEN.test(parts[0]) || parts[1] === "" || !VERSION.test(parts[2])) {
    throw new HttpParseError(
      `Cannot parse HTTP request line: ${JSON.stringify((lines[0] ?? "").slice(0, 60))}`,
      start,
    );
  }
  if (hasControl(parts[1], true)) {
    throw new HttpParseError("Cannot parse HTTP request target: bad character", start);
  }
  return {
    value: {
      method: parts[0],
      target: parts[1],
      version: parts[2],
      headers: parseHeaders(lines.slice(1), start),
    },
    end,
  };
}

/**
 * Parses a response head.
 * @param b bytes @param off where it starts @returns the head, or `null` when incomplete
 * @throws {HttpParseError} (status 502) when it is not an HTTP/1.x response head
 */
export function parseResponseHead(b: Uint8Array, off: number): Parsed<HttpResponseHead> | null {
  if (b.length - off >= 5 && String.fromCharCode(...b.subarray(off, off + 5)) !== "HTTP/") {
    throw new HttpParseError("Cannot parse HTTP response: no status line", off, 502);
  }
  const end = findHeadEnd(b, off);
  if (end < 0) return null;
  const lines = headLines(b, off, end);
  const m = /^(HTTP\/1\.[01]) ([1-5][0-9][0-9])(?: (.*))?$/.exec(lines[0] ?? "");
  if (m === null) {
    throw new HttpParseError(
      `Cannot parse HTTP status line: ${JSON.stringify((lines[0] ?? "").slice(0, 60))}`,
      off,
      502,
    );
  }
  let headers: HttpHeader[];
  try {
    headers = parseHeaders(lines.slice(1), off);
  } catch (err) {
    throw new HttpParseError((err as Error).message, off, 502);
  }
  return {
    value: { version: m[1], status: Number(m[2]), reason: m[3] ?? "", headers },
    end,
  };
}

/**
 * The values of header `name` (case-insensitive), in order.
 * @param headers fields @param name the name @returns its values
 */
export function headerValues(headers: readonly HttpHeader[], name: string): string[] {
  const lower = name.toLowerCase();
  return headers.filter(([n]) => n.toLowerCase() === lower).map(([, v]) => v);
}

/** Comma-separated tokens of a header, lowercased. */
function headerTokens(headers: readonly HttpHeader[], name: string): string[] {
  return headerValues(headers, name).flatMap((v) => v.split(",")).map((t) => t.trim().toLowerCase())
    .filter((t) => t !== "");
}

/** Header names that describe one connection only (RFC 9110 §7.6.1, plus Proxy-*). */
const HOP_BY_HOP = new Set([
  "connection",
  "proxy-connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "upgrade",
]);

/**
 * Removes hop-by-hop headers: the fixed set and every name listed in Connection.
 * Transfer-Encoding is kept, because the proxy passes chunked bodies through unchanged.
 * @param headers fields @returns the end-to-end fields, in order
 */
export function stripHopByHop(headers: readonly HttpHeader[]): HttpHeader[] {
  const listed = new Set(headerTokens(headers, "connection"));
  return headers.filter(([n]) => {
    const l = n.toLowerCase();
    return l === "transfer-encoding" || (!HOP_BY_HOP.has(l) && !listed.has(l));
  });
}

/**
 * Whether the client wants its connection kept after this request (HTTP/1.1 unless
 * `close`; HTTP/1.0 only with `keep-alive`; Proxy-Connection counts as Connection).
 * @param head the request @returns true to keep the connection
 */
export function wantsKeepAlive(head: { version: string; headers: readonly HttpHeader[] }): boolean {
  const t = [
    ...headerTokens(head.headers, "connection"),
    ...headerTokens(head.headers, "proxy-connection"),
  ];
  if (t.includes("close")) return false;
  return head.version === "HTTP/1.1" || t.includes("keep-alive");
}

function contentLength(headers: readonly HttpHeader[], status: number): number | null {
  const values = headerValues(headers, "content-length").flatMap((v) => v.split(",")).map((v) =>
    v.trim()
  );
  if (values.length === 0) return null;
  if (!values.every((v) => /^[0-9]{1,15}$/.test(v)) || new Set(values.map(Number)).size !== 1) {
    throw new HttpParseError(
      `Cannot parse Content-Length: ${JSON.stringify(values.join(","))}`,
      undefined,
      status,
    );
  }
  return Number(values[0]);
}

/**
 * How a request body is framed.
 * @param head the request @returns none, a length, or chunked
 * @throws {HttpParseError} 400 for a Transfer-Encoding with a Content-Length or a bad
 * Content-Length, 501 for a transfer coding other than chunked
 */
export function requestFraming(head: HttpRequestHead): BodyFraming {
  const te = headerTokens(head.headers, "transfer-encoding");
  const cl = contentLength(head.headers, 400);
  if (te.length > 0) {
    if (cl !== null) {
      throw new HttpParseError("Cannot frame HTTP request: Transfer-Encoding with Content-Length");
    }
    if (te.length !== 1 || te[0] !== "chunked") {
      throw new HttpParseError(
        `Cannot frame HTTP request: transfer coding ${te.join(", ")}`,
        undefined,
        501,
      );
    }
    return { kind: "chunked" };
  }
  return cl === null || cl === 0 ? { kind: "none" } : { kind: "length", length: cl };
}

/**
 * How a response body is framed (RFC 9112 §6.3).
 * @param head the response @param requestMethod the request's method (HEAD has no body)
 * @returns the framing
 * @throws {HttpParseError} 502 for a bad Content-Length or an unknown final coding with
 * a Content-Length
 */
export function responseFraming(head: HttpResponseHead, requestMethod: string): BodyFraming {
  if (
    requestMethod === "HEAD" || head.status < 200 || head.status === 204 || head.status === 304
  ) {
    return { kind: "none" };
  }
  const te = headerTokens(head.headers, "transfer-encoding");
  if (te.length > 0) {
    return te[te.length - 1] === "chunked" ? { kind: "chunked" } : { kind: "until-close" };
  }
  const cl = contentLength(head.headers, 502);
  if (cl === null) return { kind: "until-close" };
  return cl === 0 ? { kind: "none" } : { kind: "length", length: cl };
}

/** A host and port from a request target. */
export interface HostPort {
  /** Name or address; IPv6 without brackets. */
  host: string;
  /** 1 to 65535. */
  port: number;
}

function splitAuthority(authority: string, defaultPort: number | null): HostPort | null {
  let host: string, portText: string | undefined;
  if (authority.startsWith("[")) {
    const close = authority.indexOf("]");
    if (close < 0) return null;
    host = authority.slice(1, close);
    const rest = authority.slice(close + 1);
    if (rest !== "" && !rest.startsWith(":")) return null;
    portText = rest === "" ? undefined : rest.slice(1);
    if (!host.includes(":")) return null;
  } else {
    const colon = authority.lastIndexOf(":");
    host = colon < 0 ? authority : authority.slice(0, colon);
    portText = colon < 0 ? undefined : authority.slice(colon + 1);
    if (host.includes(":")) return null;
  }
  if (host === "" || !/^[A-Za-z0-9._~%!$&'()*+,;=:-]+$/.test(host)) return null;
  let port: number;
  if (portText === undefined) {
    if (defaultPort === null) return null;
    port = defaultPort;
  } else {
    if (!/^[0-9]{1,5}$/.test(portText)) return null;
    port = Number(portText);
  }
  if (port < 1 || port > 65535) return null;
  return { host, port };
}

/**
 * Parses a CONNECT target (`host:port`, `[v6]:port`); the port is required.
 * @param target the request target @returns host and port
 * @throws {HttpParseError} 400 when it is not one
 */
export function parseConnectTarget(target: string): HostPort {
  const hp = splitAuthority(target, null);
  if (hp === null) {
    throw new HttpParseError(`Cannot parse CONNECT target: ${JSON.stringify(target.slice(0, 80))}`);
  }
  return hp;
}

/** An absolute-form target split for forwarding. */
export interface AbsoluteTarget extends HostPort {
  /** `http` or `https`. */
  scheme: string;
  /** The origin-form target to send upstream: path and query, at least `/`. */
  path: string;
  /** The authority as written (for a missing Host header). */
  authority: string;
}

/**
 * Parses an absolute-form target (`http://host[:port]/path?query`).
 * @param target the request target @returns its parts
 * @throws {HttpParseError} 400 for an origin-form or `*` target (a proxy needs absolute
 * form) or a malformed URI
 */
export function parseAbsoluteTarget(target: string): AbsoluteTarget {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^#]*)/.exec(target);
  if (m === null) {
    throw new HttpParseError(
      `Cannot proxy request target ${
        JSON.stringify(target.slice(0, 80))
      }: must be absolute URL or CONNECT`,
    );
  }
  const scheme = m[1].toLowerCase();
  const authority = m[2].slice(m[2].lastIndexOf("@") + 1);
  const hp = splitAuthority(authority, scheme === "https" ? 443 : 80);
  if (hp === null) {
    throw new HttpParseError(
      `Cannot parse request target host: ${JSON.stringify(authority.slice(0, 80))}`,
    );
  }
  let path = m[3] === "" ? "/" : m[3];
  if (path.startsWith("?")) path = "/" + path;
  return { scheme, ...hp, path, authority };
}

/**
 * Serialises a request head. @param h the head @returns its bytes
 */
export function formatRequestHead(h: HttpRequestHead): Uint8Array {
  return latin1(`${h.method} ${h.target} ${h.version}\r\n${formatHeaders(h.headers)}\r\n`);
}

/**
 * Serialises a response head. @param h the head @returns its bytes
 */
export function formatResponseHead(h: HttpResponseHead): Uint8Array {
  return latin1(`${h.version} ${h.status} ${h.reason}\r\n${formatHeaders(h.headers)}\r\n`);
}

function formatHeaders(headers: readonly HttpHeader[]): string {
  return headers.map(([n, v]) => `${n}: ${v}\r\n`).join("");
}

function latin1(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
