/**
 * HTTP/1.x as a forward proxy needs it (RFC 9110, RFC 9112), above the heads that
 * `wire/http1_head.ts` parses and writes: request targets (authority form for CONNECT, absolute
 * form for the rest), hop-by-hop headers, and how a body is framed (`chunked_scanner.ts` finds
 * where a chunked body ends). No I/O.
 *
 * ```
 * chunked body   *(HEX[;ext] CRLF data CRLF) 0[;ext] CRLF *(trailer CRLF) CRLF
 * ```
 * A Transfer-Encoding with a Content-Length and conflicting Content-Lengths are rejected: each
 * is a request-smuggling vector. Parsers throw {@linkcode HttpParseError}, which carries the
 * status a proxy answers with.
 * @module
 */
import {
  headerValues,
  type HttpHeader,
  HttpParseError,
  type HttpRequestHead,
  type HttpResponseHead,
} from "../wire/http1_head.ts";

/** How a message body ends. */
export type BodyFraming =
  | { kind: "none" }
  | { kind: "length"; length: number }
  | { kind: "chunked" }
  | { kind: "until-close" };

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
