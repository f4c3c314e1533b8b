/**
 * HTTP/1.x message heads (RFC 9112): the request and response heads a forward proxy relays, and
 * the `101 Switching Protocols` answers to the DERP and ts2021 upgrades. No I/O.
 *
 * ```
 * request head   METHOD SP target SP HTTP/1.x CRLF *(name ":" OWS value OWS CRLF) CRLF
 * response head  HTTP/1.x SP 3DIGIT SP reason CRLF *(header CRLF) CRLF
 * ```
 * Lines may end in a bare LF (RFC 9112 §2.2). Obsolete line folding and whitespace before a
 * colon are rejected: each is a request-smuggling vector. Parsers throw
 * {@linkcode HttpParseError}, which carries the status a proxy answers with.
 * @module
 */
import { ParseError } from "../base/errors.ts";

const FORMAT = "http";

/** A parsed head and the offset just past its empty line. */
export interface ParsedHead<T> {
  /** The head. */
  value: T;
  /** Offset of the first byte after the head (the body's first byte). */
  end: number;
}

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
 * import { parseRequestHead } from "./http1_head.ts";
 * const b = new TextEncoder().encode("GET http://ts1:8080/p HTTP/1.1\r\nHost: ts1:8080\r\n\r\n");
 * const h = parseRequestHead(b, 0)!.value;
 * if (h.method !== "GET" || h.headers[0][1] !== "ts1:8080") throw new Error("head");
 * ```
 */
export function parseRequestHead(b: Uint8Array, off: number): ParsedHead<HttpRequestHead> | null {
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
export function parseResponseHead(b: Uint8Array, off: number): ParsedHead<HttpResponseHead> | null {
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
