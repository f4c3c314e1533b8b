/**
 * Opening a DERP connection as tailscaled does (`derp/derphttp/derphttp_client.go`,
 * `net/tlsdial`): pick the port and addresses from the DERPNode, dial TCP, run TLS, send the
 * HTTP/1.1 upgrade to `/derp`, and hand back a {@linkcode DerpStream} positioned at the first
 * DERP frame.
 *
 * TLS, by node:
 * - `InsecureForTests`: no certificate check at all;
 * - `CertName` = `sha256-raw:<hex>`: the one certificate that is not derper's `derpkey…` meta
 *   certificate must hash (SHA-256 of its DER) to `<hex>`, match `HostName` and be within its
 *   validity; nothing else is checked (self-signed is fine);
 * - other `CertName`: normal verification, with the name checked against `CertName`;
 * - otherwise: normal verification against `HostName`.
 *
 * SNI is `HostName` unless it is an IP literal (TLS sends no SNI for IPs). Plain HTTP only when
 * the caller passes `useHttp` (the `TS_DEBUG_USE_DERP_HTTP` knob, read by `src/cli`).
 *
 * Fast start, as tailscaled: when TLS 1.3 shows derper's meta certificate (CN `derpkey<hex>`,
 * serial = protocol version), the request carries `Derp-Fast-Start: 1`, the server writes no 101
 * response, and the key from the certificate is handed to the client.
 * @module
 */
import net from "node:net";
import tls from "node:tls";
import { createHash, X509Certificate } from "node:crypto";
import type { Logger } from "../base/logger.ts";
import { type Clock, SYSTEM_CLOCK } from "../base/clock.ts";
import { concat } from "../base/bytes.ts";
import { HttpParseError, parseResponseHead } from "../wire/http1_head.ts";
import type { DerpNode, DerpRegion } from "../wire/derp_map.ts";
import {
  CONNECT_TIMEOUT_MS,
  DEFAULT_DERP_HTTP_PORT,
  DEFAULT_DERP_PORT,
  DIAL_NODE_TIMEOUT_MS,
  MAX_UPGRADE_RESPONSE_BYTES,
} from "./constants.ts";
import { DerpError } from "./errors.ts";
import { ChunkQueue, type DerpStream } from "./stream.ts";
import { fromHex, type NodePublic } from "../key/keys.ts";
import { DERP_PROTOCOL_VERSION } from "../wire/derp_frames.ts";

/** Options for {@linkcode dialRegion} and {@linkcode dialNode}. */
export interface DialOptions {
  /** Plain HTTP instead of TLS: the `TS_DEBUG_USE_DERP_HTTP` knob. Default false. */
  useHttp?: boolean;
  /** Extra trusted roots (PEM) for normal verification, beside the system's. */
  caCerts?: string[];
  /** Aborts the dial. */
  signal?: AbortSignal;
  /** Budget for TCP + TLS + upgrade. Default {@linkcode CONNECT_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Per-node TCP connect budget. Default {@linkcode DIAL_NODE_TIMEOUT_MS}. */
  dialNodeTimeoutMs?: number;
  /**
   * Skip the HTTP 101 round trip when TLS 1.3 showed derper's meta certificate (its key and
   * protocol version), as tailscaled does. Default true.
   */
  fastStart?: boolean;
  /** Where dial timeouts run, and wall time for certificate validity. Default: system. */
  clock?: Clock;
  /** Logger. */
  log?: Logger;
}

/** An upgraded DERP connection, ready for `DerpClient.connect`. */
export interface DerpConnection {
  /** The byte stream, after the HTTP response. */
  stream: DerpStream;
  /** Bytes that came with the HTTP response: the start of the DERP frames. */
  initialBytes: Uint8Array;
  /** The node we reached. */
  node: DerpNode;
  /** Lowercase hex SHA-256 of the server's leaf certificate; null over plain HTTP. */
  certSha256: string | null;
  /**
   * The server's DERP key from its TLS meta certificate when fast start was used (pass it to
   * `DerpClient.connect` as `serverKey`); null when the 101 response was read instead.
   */
  serverKey: NodePublic | null;
}

/** One TCP dial target. */
export interface DialTarget {
  host: string;
  family: 4 | 6;
}

/**
 * The TCP port for `node`: `DERPPort` when set, else 443 (3340 with plain HTTP).
 * @param node the DERP node
 * @param useHttp the TS_DEBUG_USE_DERP_HTTP knob
 * @returns the port
 */
export function derpPort(node: DerpNode, useHttp = false): number {
  if (node.DERPPort !== undefined && node.DERPPort !== 0) return node.DERPPort;
  return useHttp ? DEFAULT_DERP_HTTP_PORT : DEFAULT_DERP_PORT;
}

/**
 * Where to dial `node`, IPv6 first: `IPv4`/`IPv6` when set to an address of that family, the
 * `HostName` (resolved by the system) when empty; anything else (such as `"none"`) disables
 * that family, as Go's `shouldDialProto` does.
 * @param node the DERP node
 * @returns the targets; empty when both families are disabled
 */
export function dialTargets(node: DerpNode): DialTarget[] {
  const out: DialTarget[] = [];
  for (const family of [6, 4] as const) {
    const forced = family === 4 ? node.IPv4 ?? "" : node.IPv6 ?? "";
    let host: string;
    if (forced === "") host = node.HostName;
    else if (net.isIP(forced) === family) host = forced;
    else continue;
    // An IP-literal HostName only dials in its own family.
    const literal = net.isIP(host);
    if (literal !== 0 && literal !== family) continue;
    out.push({ host, family });
  }
  return out;
}

/**
 * The HTTP/1.1 upgrade request tailscaled sends. The Host header carries the port only when it
 * is not the scheme's default (tailscale HEAD; v1.98 never sends one).
 * @param node the DERP node
 * @param opts `useHttp`; `idealNode`: the region's first node's name when we reached another;
 * `fastStart`: ask the server to skip its 101 response
 * @returns the request text
 */
export function upgradeRequest(
  node: DerpNode,
  opts: { useHttp?: boolean; idealNode?: string; fastStart?: boolean } = {},
): string {
  const defaultPort = opts.useHttp ? 80 : 443;
  let host = node.HostName;
  if (node.DERPPort && node.DERPPort !== defaultPort) {
    host = net.isIPv6(host) ? `[${host}]:${node.DERPPort}` : `${host}:${node.DERPPort}`;
  }
  let req = `GET /derp HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: tailnet\r\n` +
    `Upgrade: DERP\r\nConnection: Upgrade\r\n`;
  if (opts.idealNode !== undefined) req += `Ideal-Node: ${opts.idealNode}\r\n`;
  if (opts.fastStart) req += "Derp-Fast-Start: 1\r\n";
  return req + "\r\n";
}

/** A parsed HTTP response head. */
export interface UpgradeResponse {
  status: number;
  statusText: string;
  /** Header names lowercased. */
  headers: Map<string, string>;
  /** Bytes of the head, including the blank line. */
  headLen: number;
}

/**
 * Parses an HTTP/1.1 response head from `b`; null when the blank line has not arrived yet.
 * Throws {@linkcode DerpError} when it is not HTTP.
 * @param b bytes read so far
 * @returns the head, or null
 */
export function parseUpgradeResponse(b: Uint8Array): UpgradeResponse | null {
  let parsed;
  try {
    parsed = parseResponseHead(b, 0);
  } catch (err) {
    if (!(err instanceof HttpParseError)) throw err;
    const firstLine = new TextDecoder().decode(b.subarray(0, 200)).split(/\r?\n/)[0];
    throw new DerpError(
      "derp-upgrade",
      /^HTTP\/1\.[01] \d{3}/.test(firstLine)
        ? `DERP upgrade: ${err.message}`
        : `DERP upgrade: not an HTTP response: ${JSON.stringify(firstLine)}`,
    );
  }
  if (parsed === null) return null;
  const { status, reason, headers } = parsed.value;
  const byName = new Map<string, string>();
  for (const [name, value] of headers) byName.set(name.toLowerCase(), value);
  return { status, statusText: reason, headers: byName, headLen: parsed.end };
}

/**
 * Reads derper's meta certificate as tailscale's `parseMetaCert` does: the first certificate whose
 * subject CN is `derpkey<64 hex>` gives the server key, its serial number the protocol version.
 * @param chain DER certificates as presented
 * @returns key and version, or null when there is no usable meta certificate
 */
export function parseMetaCert(
  chain: Uint8Array[],
): { serverKey: NodePublic; protocolVersion: number } | null {
  for (const der of chain) {
    let x: X509Certificate;
    try {
      x = new X509Certificate(der);
    } catch {
      continue;
    }
    const m = /(?:^|\n)CN=derpkey([0-9a-f]{64})(?:\n|$)/.exec(x.subject);
    if (!m) continue;
    const version = parseInt(x.serialNumber, 16);
    return { serverKey: fromHex(m[1]) as NodePublic, protocolVersion: version };
  }
  return null;
}

/** A certificate as node:tls shows it. */
interface PeerCert {
  raw: Uint8Array;
  issuerCertificate?: PeerCert;
}

/** The certificates the server presented, leaf first, following node's issuer links. */
function presentedChain(sock: tls.TLSSocket): PeerCert[] {
  const out: PeerCert[] = [];
  let c = sock.getPeerCertificate(true) as unknown as PeerCert | undefined;
  while (c && c.raw && out.length < 10 && !out.includes(c)) {
    out.push(c);
    c = c.issuerCertificate;
  }
  return out;
}

/**
 * Checks a presented chain against a `sha256-raw:` pin as tailscale's tlsdial does. Pure
 * except for X.509 parsing.
 * @param chain DER certificates, leaf first
 * @param wantHex the pinned SHA-256, hex
 * @param hostName the name the certificate must match (an IP literal is matched against IP SANs)
 * @param now the time for validity
 * @returns null when acceptable, else why not
 */
export function checkPinnedChain(
  chain: Uint8Array[],
  wantHex: string,
  hostName: string,
  now: Date,
): string | null {
  let good = false;
  for (const der of chain) {
    let x: X509Certificate;
    try {
      x = new X509Certificate(der);
    } catch (err) {
      return `unparsable certificate: ${(err as Error).message}`;
    }
    if (/(^|\n)CN=derpkey/.test(x.subject)) continue; // derper's meta certificate
    if (good) return "unexpected multiple certs presented";
    const got = createHash("sha256").update(der).digest("hex");
    if (got !== wantHex.toLowerCase()) {
      return `certificate hash ${got} does not match pinned ${wantHex.toLowerCase()}`;
    }
    if (hostName !== "") {
      const ok = net.isIP(hostName) !== 0 ? x.checkIP(hostName) : x.checkHost(hostName);
      if (ok === undefined) return `certificate does not match server name "${hostName}"`;
    }
    if (now.getTime() > Date.parse(x.validTo)) return `certificate expired ${x.validTo}`;
    if (now.getTime() < Date.parse(x.validFrom)) {
      return `certificate not yet valid until ${x.validFrom}; is your clock correct?`;
    }
    good = true;
  }
  return good ? null : "expected cert not presented";
}

/**
 * Whether a TLS error is the certificate being refused (node's error codes: `CERT_*`,
 * `*_SELF_SIGNED_*`, `UNABLE_TO_*`, `ERR_TLS_CERT_ALTNAME_INVALID`), which retrying soon will
 * not fix, as opposed to the connection failing.
 */
function isCertificateRejection(err: Error): boolean {
  const code = (err as Error & { code?: unknown }).code;
  return typeof code === "string" &&
    /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY|DECRYPT|DECODE)|ALTNAME/.test(code);
}

/** Adapts a node socket to {@linkcode DerpStream}, with read backpressure. */
function socketStream(sock: net.Socket): DerpStream {
  const HIGH_WATER = 1 << 20;
  const q = new ChunkQueue();
  let paused = false;
  const closed = new Promise<void>((resolve) => sock.once("close", () => resolve()));
  sock.on("data", (d: Uint8Array) => {
    q.push(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    if (!paused && q.queuedBytes > HIGH_WATER) {
      paused = true;
      sock.pause();
    }
  });
  sock.on("end", () => q.end());
  sock.on("close", () => q.end());
  sock.on(
    "error",
    (err: Error) => q.fail(new DerpError("derp-closed", `DERP socket: ${err.message}`)),
  );
  let drained: Promise<void> | null = null;
  return {
    async read() {
      const c = await q.take();
      if (paused && q.queuedBytes < HIGH_WATER / 2) {
        paused = false;
        sock.resume();
      }
      return c;
    },
    write(b) {
      if (sock.destroyed) {
        return Promise.reject(new DerpError("derp-closed", "Cannot write: DERP socket closed"));
      }
      if (sock.write(b)) return Promise.resolve();
      // Every writer that found the buffer full waits on the same drain: one listener pair
      // however many packets are in flight.
      drained ??= new Promise<void>((resolve, reject) => {
        const done = () => {
          sock.off("drain", done);
          sock.off("close", done);
          drained = null;
          if (sock.destroyed) {
            reject(new DerpError("derp-closed", "DERP socket closed while writing"));
          } else resolve();
        };
        sock.once("drain", done);
        sock.once("close", done);
      });
      return drained;
    },
    async close() {
      q.end(true);
      if (!sock.destroyed) sock.destroy();
      await closed;
    },
  };
}

function tcpConnect(
  t: DialTarget,
  port: number,
  timeoutMs: number,
  signal: AbortSignal,
  clock: Clock,
): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: t.host, port, family: t.family });
    const fail = (msg: string) => {
      cleanup();
      sock.destroy();
      reject(new DerpError("derp-dial", msg));
    };
    const timer = clock.setTimeout(
      () => fail(`DERP dial ${t.host}:${port}: timed out after ${timeoutMs} ms`),
      timeoutMs,
    );
    const onAbort = () => fail(`DERP dial ${t.host}:${port}: aborted`);
    const onError = (err: Error) => fail(`DERP dial ${t.host}:${port}: ${err.message}`);
    const cleanup = () => {
      clock.clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      sock.off("error", onError);
      sock.off("connect", onConnect);
    };
    const onConnect = () => {
      cleanup();
      sock.setNoDelay(true);
      resolve(sock);
    };
    if (signal.aborted) {
      queueMicrotask(onAbort);
    } else {
      signal.addEventListener("abort", onAbort, { once: true });
    }
    sock.once("error", onError);
    sock.once("connect", onConnect);
  });
}

async function destroyed(sock: net.Socket): Promise<void> {
  if (sock.destroyed && sock.closed) return;
  const closed = new Promise<void>((resolve) => sock.once("close", () => resolve()));
  sock.destroy();
  await closed;
}

async function dialTcp(
  node: DerpNode,
  port: number,
  timeoutMs: number,
  signal: AbortSignal,
  clock: Clock,
): Promise<net.Socket> {
  const targets = dialTargets(node);
  if (targets.length === 0) {
    throw new DerpError("derp-dial", `DERP node ${node.Name}: both IPv4 and IPv6 are disabled`);
  }
  // Race the families as Go does; the first connected socket wins, the others are closed.
  const race = new AbortController();
  const onAbort = () => race.abort();
  signal.addEventListener("abort", onAbort, { once: true });
  const attempts = targets.map((t) => tcpConnect(t, port, timeoutMs, race.signal, clock));
  try {
    return await Promise.any(attempts);
  } catch (err) {
    const first = (err as AggregateError).errors[0];
    throw first instanceof Error ? first : new DerpError("derp-dial", String(first));
  } finally {
    signal.removeEventListener("abort", onAbort);
    const settled = await Promise.allSettled(attempts);
    let winner = true;
    for (const s of settled) {
      if (s.status !== "fulfilled") continue;
      if (winner) winner = false;
      else await destroyed(s.value);
    }
  }
}

function tlsHandshake(
  tcp: net.Socket,
  node: DerpNode,
  opts: DialOptions,
  signal: AbortSignal,
): Promise<{ sock: tls.TLSSocket; certSha256: string; meta: ReturnType<typeof parseMetaCert> }> {
  const pin = node.CertName?.startsWith("sha256-raw:")
    ? node.CertName.slice("sha256-raw:".length)
    : null;
  const skipVerify = node.InsecureForTests === true || pin !== null;
  const verifyName = node.CertName && pin === null ? node.CertName : node.HostName;
  return new Promise((resolve, reject) => {
    const sock = tls.connect({
      socket: tcp,
      servername: net.isIP(node.HostName) === 0 ? node.HostName : undefined,
      rejectUnauthorized: !skipVerify,
      ca: opts.caCerts && opts.caCerts.length > 0
        ? [...tls.rootCertificates, ...opts.caCerts]
        : undefined,
      checkServerIdentity: (_host: string, cert: tls.PeerCertificate) =>
        tls.checkServerIdentity(verifyName, cert),
    });
    const fail = (err: DerpError) => {
      cleanup();
      sock.destroy();
      tcp.destroy();
      reject(err);
    };
    const onError = (err: Error) =>
      fail(
        new DerpError("derp-tls", `DERP TLS to ${node.HostName}: ${err.message}`, {
          cause: err,
          retryable: !isCertificateRejection(err),
        }),
      );
    const onAbort = () => fail(new DerpError("derp-tls", `DERP TLS to ${node.HostName}: aborted`));
    const cleanup = () => {
      sock.off("error", onError);
      sock.off("secureConnect", onSecure);
      signal.removeEventListener("abort", onAbort);
    };
    const onSecure = () => {
      const chain = presentedChain(sock);
      const leaf = chain[0];
      if (leaf === undefined) {
        fail(new DerpError("derp-tls", `DERP TLS to ${node.HostName}: no certificate presented`));
        return;
      }
      const certSha256 = createHash("sha256").update(leaf.raw).digest("hex");
      if (pin !== null) {
        const why = checkPinnedChain(
          chain.map((c) => new Uint8Array(c.raw)),
          pin,
          node.HostName,
          new Date((opts.clock ?? SYSTEM_CLOCK).wallNow()),
        );
        if (why !== null) {
          fail(
            new DerpError("derp-cert-pin", `DERP TLS to ${node.HostName}: ${why}`, {
              retryable: false,
            }),
          );
          return;
        }
      } else if (!skipVerify && node.CertName) {
        // Belt and braces for CertName: the runtime verified the chain; check the name ourselves.
        const x = new X509Certificate(new Uint8Array(leaf.raw));
        const ok = net.isIP(verifyName) !== 0 ? x.checkIP(verifyName) : x.checkHost(verifyName);
        if (ok === undefined) {
          fail(
            new DerpError(
              "derp-tls",
              `DERP TLS to ${node.HostName}: certificate is not for "${verifyName}"`,
              {
                retryable: false,
              },
            ),
          );
          return;
        }
      }
      cleanup();
      // Like Go, trust the meta certificate only under TLS 1.3, where certificates are encrypted.
      const meta = sock.getProtocol() === "TLSv1.3"
        ? parseMetaCert(chain.map((c) => new Uint8Array(c.raw)))
        : null;
      resolve({ sock, certSha256, meta });
    };
    signal.addEventListener("abort", onAbort, { once: true });
    sock.once("error", onError);
    sock.once("secureConnect", onSecure);
  });
}

async function readUpgrade(stream: DerpStream, node: DerpNode): Promise<Uint8Array> {
  let buf: Uint8Array = new Uint8Array(0);
  for (;;) {
    const head = parseUpgradeResponse(buf);
    if (head !== null) {
      if (head.status !== 101) {
        const body = new TextDecoder().decode(buf.subarray(head.headLen, head.headLen + 200))
          .trim();
        throw new DerpError(
          "derp-upgrade",
          `DERP upgrade at ${node.HostName}: server answered ${head.status} ${head.statusText}${
            body ? `: ${body}` : ""
          }`,
        );
      }
      return buf.slice(head.headLen);
    }
    if (buf.length > MAX_UPGRADE_RESPONSE_BYTES) {
      throw new DerpError(
        "derp-upgrade",
        `DERP upgrade at ${node.HostName}: response head too long`,
      );
    }
    const chunk = await stream.read();
    if (chunk === null) {
      throw new DerpError("derp-upgrade", `DERP upgrade at ${node.HostName}: connection closed`);
    }
    buf = concat([buf, chunk]);
  }
}

/**
 * Dials one DERP node over TCP and TLS, always TLS (`useHttp` ignored), and stops there: for
 * netcheck's HTTPS latency check, which Go runs over `DialRegionTLS`.
 * @param node the node
 * @param opts options (TLS trust, timeouts, clock, signal)
 * @returns the TLS socket, and the address family of the peer reached
 */
export async function dialNodeTls(
  node: DerpNode,
  opts: DialOptions = {},
): Promise<{ sock: tls.TLSSocket; family: 4 | 6 }> {
  const clock = opts.clock ?? SYSTEM_CLOCK;
  const deadline = new AbortController();
  const timer = clock.setTimeout(() => deadline.abort(), opts.timeoutMs ?? CONNECT_TIMEOUT_MS);
  const budget = opts.signal ? AbortSignal.any([opts.signal, deadline.signal]) : deadline.signal;
  try {
    const port = derpPort(node, false);
    const tcp = await dialTcp(
      node,
      port,
      opts.dialNodeTimeoutMs ?? DIAL_NODE_TIMEOUT_MS,
      budget,
      clock,
    );
    const family = net.isIPv6(tcp.remoteAddress ?? "") &&
        !(tcp.remoteAddress ?? "").startsWith("::ffff:")
      ? 6
      : 4;
    try {
      const t = await tlsHandshake(tcp, node, opts, budget);
      return { sock: t.sock, family };
    } catch (err) {
      await destroyed(tcp);
      throw err;
    }
  } finally {
    clock.clearTimeout(timer);
  }
}

/**
 * Dials one DERP node: TCP, TLS (or plain HTTP with `useHttp`), and the upgrade.
 * Throws {@linkcode DerpError}: `derp-dial`, `derp-tls`, `derp-cert-pin` or `derp-upgrade`.
 * @param node the node
 * @param opts options
 * @param idealNode the region's first node's name when `node` is not it
 * @returns the connection
 */
export async function dialNode(
  node: DerpNode,
  opts: DialOptions = {},
  idealNode?: string,
): Promise<DerpConnection> {
  const timeoutMs = opts.timeoutMs ?? CONNECT_TIMEOUT_MS;
  const clock = opts.clock ?? SYSTEM_CLOCK;
  const deadline = new AbortController();
  const timer = clock.setTimeout(() => deadline.abort(), timeoutMs);
  const budget = opts.signal ? AbortSignal.any([opts.signal, deadline.signal]) : deadline.signal;
  try {
    return await dialNodeWithin(node, opts, idealNode, budget);
  } finally {
    clock.clearTimeout(timer);
  }
}

async function dialNodeWithin(
  node: DerpNode,
  opts: DialOptions,
  idealNode: string | undefined,
  budget: AbortSignal,
): Promise<DerpConnection> {
  const port = derpPort(node, opts.useHttp);
  const tcp = await dialTcp(
    node,
    port,
    opts.dialNodeTimeoutMs ?? DIAL_NODE_TIMEOUT_MS,
    budget,
    opts.clock ?? SYSTEM_CLOCK,
  );
  let sock: net.Socket = tcp;
  let certSha256: string | null = null;
  let serverKey: NodePublic | null = null;
  try {
    if (!opts.useHttp) {
      const t = await tlsHandshake(tcp, node, opts, budget);
      sock = t.sock;
      certSha256 = t.certSha256;
      if (
        (opts.fastStart ?? true) && t.meta !== null &&
        t.meta.protocolVersion === DERP_PROTOCOL_VERSION
      ) {
        serverKey = t.meta.serverKey;
      }
    }
  } catch (err) {
    await destroyed(tcp);
    throw err;
  }
  const stream = socketStream(sock);
  const onAbort = () => void stream.close();
  budget.addEventListener("abort", onAbort, { once: true });
  try {
    const fastStart = serverKey !== null;
    await stream.write(
      new TextEncoder().encode(
        upgradeRequest(node, { useHttp: opts.useHttp, idealNode, fastStart }),
      ),
    );
    // With fast start the server writes no HTTP response: DERP frames follow at once.
    const initialBytes = fastStart ? new Uint8Array(0) : await readUpgrade(stream, node);
    opts.log?.debug(
      `upgraded to DERP at ${node.HostName}:${port}${certSha256 ? " (TLS)" : " (plain HTTP)"}${
        fastStart ? " (fast start)" : ""
      }`,
    );
    return { stream, initialBytes, node, certSha256, serverKey };
  } catch (err) {
    await stream.close();
    if (budget.aborted && !(err instanceof DerpError && err.code === "derp-upgrade")) {
      throw new DerpError(
        "derp-upgrade",
        `DERP upgrade at ${node.HostName}: timed out or aborted`,
        { cause: err },
      );
    }
    throw err;
  } finally {
    budget.removeEventListener("abort", onAbort);
  }
}

/**
 * Dials a region: its nodes in order, skipping STUN-only ones, until one connects.
 * Throws the first node's {@linkcode DerpError} when none does.
 * @param region the region
 * @param opts options
 * @returns the connection
 */
export async function dialRegion(
  region: DerpRegion,
  opts: DialOptions = {},
): Promise<DerpConnection> {
  let firstErr: unknown = null;
  const nodes = region.Nodes ?? [];
  for (const node of nodes) {
    if (node.STUNOnly) continue;
    try {
      return await dialNode(node, opts, node === nodes[0] ? undefined : nodes[0].Name);
    } catch (err) {
      firstErr ??= err;
      if (err instanceof DerpError && !err.retryable) break;
      if (opts.signal?.aborted) break;
    }
  }
  if (firstErr !== null) throw firstErr;
  throw new DerpError("derp-dial", `DERP region ${region.RegionID}: no nodes to dial`);
}
