/**
 * Opening a ts2021 connection: fetch control's Noise key from `/key`, then the HTTP/1.1 upgrade
 * on `/ts2021` with the Noise initiation in a header, then the handshake response. Connects by
 * the server URL's own scheme and port (Go races an extra port-80/443 candidate; not needed
 * for a compatible client). Errors are {@linkcode ControlError}s.
 * @module
 */
import { ControlError } from "./client.ts";
import {
  DIAL_TIMEOUT_MS,
  HANDSHAKE_HEADER,
  KEY_BODY_MAX_BYTES,
  MAX_UPGRADE_HEAD_BYTES,
  TS2021_PATH,
  TS2021_UPGRADE,
} from "./constants.ts";
import {
  MSG_ERROR,
  noiseErrorText,
  noiseFinish,
  noiseInitiate,
  RESPONSE_HEADER_LEN,
  RESPONSE_LEN,
} from "../crypto/noise_ik.ts";
import type { MachinePrivate, MachinePublic } from "../key/keys.ts";
import { publicFromText } from "../key/keys.ts";
import { type ByteTransport, NoiseConn, writeAll } from "./noise_conn.ts";
import { errorMessage } from "../base/errors.ts";
import { concat } from "../base/bytes.ts";
import {
  findHeadEnd,
  headerValues,
  HttpParseError,
  type HttpResponseHead,
  parseResponseHead,
} from "../wire/http1_head.ts";
import { timeoutSignal } from "./_timeout.ts";
import { type Clock, SYSTEM_CLOCK } from "../base/clock.ts";

/** Opens a byte stream to host:port (TLS when `tls`). Tests may inject one. */
export type Connector = (
  opts: { hostname: string; port: number; tls: boolean },
) => Promise<ByteTransport>;

/** The default connector: `Deno.connect` / `Deno.connectTls`. */
export const denoConnector: Connector = async ({ hostname, port, tls }) => {
  if (tls) return await Deno.connectTls({ hostname, port });
  return await Deno.connect({ hostname, port, transport: "tcp" });
};

/**
 * Classifies a network failure as a retryable `unreachable` ControlError.
 * @param serverUrl the URL, for the message
 * @param err what was thrown
 * @returns the error
 */
export function unreachable(serverUrl: string, err: unknown): ControlError {
  if (err instanceof ControlError) return err;
  return new ControlError(
    "unreachable",
    `Cannot reach control server ${serverUrl}: ${networkReason(err)}`,
    true,
  );
}

/**
 * The most specific one-line reason in an error's cause chain ("fetch failed" wraps the socket
 * error Deno reports as "… tcp connect error: Connection refused (os error 111)").
 * @param err what was thrown
 * @returns the reason
 */
export function networkReason(err: unknown): string {
  let msg = errorMessage(err);
  let e: unknown = err;
  for (let i = 0; i < 5 && e instanceof Error && e.cause !== undefined; i++) {
    e = e.cause;
    msg = errorMessage(e);
  }
  const m = /(?:tcp connect error|dns error|error trying to connect): (.*)$/i.exec(msg);
  return m ? m[1] : msg;
}

/**
 * Checks a server URL; throws a non-retryable ControlError `bad-server-url` when unusable.
 * @param serverUrl e.g. `http://127.0.0.1:8080`
 * @returns the parsed URL with its effective port
 */
export function parseServerUrl(serverUrl: string): { url: URL; port: number; tls: boolean } {
  let url: URL;
  try {
    url = new URL(serverUrl);
  } catch {
    throw new ControlError(
      "bad-server-url",
      `Cannot use control URL ${serverUrl}: not a URL`,
      false,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ControlError(
      "bad-server-url",
      `Cannot use control URL ${serverUrl}: scheme must be http or https`,
      false,
    );
  }
  const tls = url.protocol === "https:";
  const port = url.port ? Number(url.port) : tls ? 443 : 80;
  return { url, port, tls };
}

/**
 * `GET <server>/key?v=<capver>`: control's Noise public key.
 * @param serverUrl control URL
 * @param capver our capability version
 * @param signal cancels the request
 * @param clock where the timeout runs; default the system clock
 * @returns the key
 */
export async function fetchServerKey(
  serverUrl: string,
  capver: number,
  signal?: AbortSignal,
  clock: Clock = SYSTEM_CLOCK,
): Promise<MachinePublic> {
  const { url } = parseServerUrl(serverUrl);
  const keyUrl = new URL(`/key?v=${capver}`, url);
  let res: Response;
  let body: string;
  const t = timeoutSignal(clock, signal, DIAL_TIMEOUT_MS, "GET /key timed out");
  try {
    res = await fetch(keyUrl, { signal: t.signal });
    body = await readLimited(res, KEY_BODY_MAX_BYTES);
  } catch (err) {
    throw unreachable(serverUrl, t.signal.aborted ? t.signal.reason : err);
  } finally {
    t.clear();
  }
  if (res.status !== 200) {
    const retryable = res.status >= 500 || res.status === 429;
    throw new ControlError(
      retryable ? "server-error" : "not-tailscale-control",
      `Cannot use control server ${serverUrl}: GET /key answered HTTP ${res.status}` +
        (retryable ? "" : " (is it a Tailscale control server?)"),
      retryable,
      res.status,
    );
  }
  let text: unknown;
  try {
    text = (JSON.parse(body) as Record<string, unknown>)?.publicKey;
  } catch {
    text = undefined;
  }
  if (typeof text !== "string") {
    throw new ControlError(
      "not-tailscale-control",
      `Cannot use control server ${serverUrl}: GET /key gave no Noise public key`,
      false,
      res.status,
    );
  }
  let key: MachinePublic;
  try {
    key = publicFromText("machine", text);
  } catch (err) {
    throw new ControlError(
      "not-tailscale-control",
      `Cannot use control server ${serverUrl}: bad key from /key: ${errorMessage(err)}`,
      false,
    );
  }
  if (key.every((b) => b === 0)) {
    throw new ControlError(
      "not-tailscale-control",
      `Cannot use control server ${serverUrl}: control server is too old; no noise key`,
      false,
    );
  }
  return key;
}

/** Options for {@linkcode dialNoise}. */
export interface DialNoiseOptions {
  /** Control URL. */
  serverUrl: string;
  /** Our machine key. */
  machineKey: MachinePrivate;
  /** Control's Noise key from {@linkcode fetchServerKey}. */
  controlKey: MachinePublic;
  /** Protocol version (our capver). */
  version: number;
  /** Cancels the dial. */
  signal?: AbortSignal;
  /** Byte-stream opener; default {@linkcode denoConnector}. */
  connect?: Connector;
  /** Where the dial timeout runs; default the system clock. */
  clock?: Clock;
}

/**
 * Dials `/ts2021`, upgrades, runs the Noise handshake and returns the Noise connection.
 * @param options URL, keys, version
 * @returns the connection, with the early payload not yet read
 */
export async function dialNoise(options: DialNoiseOptions): Promise<NoiseConn> {
  const { serverUrl } = options;
  const { url, port, tls } = parseServerUrl(serverUrl);
  const t = timeoutSignal(
    options.clock ?? SYSTEM_CLOCK,
    options.signal,
    DIAL_TIMEOUT_MS,
    "ts2021 dial timed out",
  );
  const signal = t.signal;
  const connect = options.connect ?? denoConnector;
  let transport: ByteTransport;
  try {
    transport = await connect({ hostname: url.hostname.replace(/^\[|\]$/g, ""), port, tls });
  } catch (err) {
    t.clear();
    throw unreachable(serverUrl, err);
  }
  const onAbort = () => {
    try {
      transport.close();
    } catch {
      // already closed
    }
  };
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    const { message, state } = noiseInitiate({
      staticPrivate: options.machineKey,
      remoteStaticPublic: options.controlKey,
      version: options.version,
    });
    const hostHeader = url.port ? `${url.hostname}:${url.port}` : url.hostname;
    const req = `POST ${TS2021_PATH} HTTP/1.1\r\n` +
      `Host: ${hostHeader}\r\n` +
      `Upgrade: ${TS2021_UPGRADE}\r\n` +
      `Connection: upgrade\r\n` +
      `${HANDSHAKE_HEADER}: ${btoa(String.fromCharCode(...message))}\r\n` +
      `\r\n`;
    await writeAll(transport, new TextEncoder().encode(req));
    const reader = new Reader(transport);
    const head = await reader.readHead(MAX_UPGRADE_HEAD_BYTES);
    if (head === null) {
      throw new ControlError(
        "not-tailscale-control",
        `Cannot upgrade to ts2021 at ${serverUrl}: connection closed before a response`,
        true,
      );
    }
    checkUpgradeResponse(serverUrl, head);
    const first = await reader.readExactly(RESPONSE_HEADER_LEN);
    if (first === null) {
      throw new ControlError(
        "handshake-refused",
        `Noise handshake with ${serverUrl} refused: connection closed after the upgrade ` +
          `(headscale does this to clients below its minimum version; we sent ${options.version})`,
        true,
      );
    }
    if (first[0] === MSG_ERROR) {
      const len = (first[1] << 8) | first[2];
      const rest = await reader.readExactly(len);
      const text = rest === null ? "(truncated)" : noiseErrorText(concat([first, rest]));
      throw new ControlError(
        "handshake-refused",
        `Noise handshake with ${serverUrl} refused: ${text}`,
        false,
      );
    }
    const rest = await reader.readExactly(RESPONSE_LEN - RESPONSE_HEADER_LEN);
    const response = rest === null ? null : concat([first, rest]);
    if (response === null) {
      throw new ControlError(
        "handshake-refused",
        `Noise handshake with ${serverUrl} refused: connection closed mid-response`,
        true,
      );
    }
    let session;
    try {
      session = noiseFinish(state, response);
    } catch (err) {
      throw new ControlError(
        "handshake-failed",
        `Noise handshake with ${serverUrl} failed: ${errorMessage(err)}`,
        true,
      );
    }
    signal.removeEventListener("abort", onAbort);
    t.clear();
    return new NoiseConn(transport, session, reader.leftover());
  } catch (err) {
    signal.removeEventListener("abort", onAbort);
    t.clear();
    onAbort();
    if (signal.aborted && !(err instanceof ControlError)) {
      throw new ControlError(
        "unreachable",
        `Cannot reach control server ${serverUrl}: ts2021 dial timed out or was cancelled`,
        true,
      );
    }
    throw unreachable(serverUrl, err);
  }
}

/**
 * Checks the HTTP response head of the upgrade: status 101 and the right Upgrade value.
 * @param serverUrl for messages
 * @param head the response head as bytes or text; the blank line that ends it may be left off
 */
export function checkUpgradeResponse(serverUrl: string, head: Uint8Array | string): void {
  let bytes = typeof head === "string" ? new TextEncoder().encode(head) : head;
  if (findHeadEnd(bytes, 0) < 0) bytes = concat([bytes, HEAD_END]);
  let parsed: HttpResponseHead | undefined;
  try {
    parsed = parseResponseHead(bytes, 0)?.value;
  } catch (err) {
    if (!(err instanceof HttpParseError)) throw err;
  }
  if (parsed === undefined) {
    throw new ControlError(
      "not-tailscale-control",
      `Cannot upgrade to ts2021 at ${serverUrl}: not an HTTP response`,
      false,
    );
  }
  const status = parsed.status;
  if (status !== 101) {
    const retryable = status >= 500 || status === 429;
    throw new ControlError(
      retryable ? "server-error" : "not-tailscale-control",
      `Cannot upgrade to ts2021 at ${serverUrl}: HTTP ${status}, want 101`,
      retryable,
      status,
    );
  }
  const upgrade = headerValues(parsed.headers, "upgrade")[0];
  if (upgrade !== TS2021_UPGRADE) {
    throw new ControlError(
      "not-tailscale-control",
      `Cannot upgrade to ts2021 at ${serverUrl}: Upgrade is ${
        JSON.stringify(upgrade ?? "")
      }, want ${TS2021_UPGRADE}`,
      false,
      101,
    );
  }
}

/** The empty line that ends an HTTP head. */
const HEAD_END = new Uint8Array([13, 10, 13, 10]);

/** Buffered reads over a transport, for the upgrade response and the handshake. */
class Reader {
  readonly #t: ByteTransport;
  #buf: Uint8Array = new Uint8Array(0);
  constructor(t: ByteTransport) {
    this.#t = t;
  }
  async #fill(): Promise<boolean> {
    const chunk = new Uint8Array(4096);
    const n = await this.#t.read(chunk);
    if (n === null) return false;
    this.#buf = concat([this.#buf, chunk.subarray(0, n)]);
    return true;
  }
  /** The response head, blank line included, or null when the stream ends before it. */
  async readHead(max: number): Promise<Uint8Array | null> {
    for (;;) {
      const end = findHeadEnd(this.#buf, 0);
      if (end >= 0) {
        const head = this.#buf.subarray(0, end);
        this.#buf = this.#buf.subarray(end);
        return head;
      }
      if (this.#buf.length > max) {
        throw new ControlError("not-tailscale-control", "Upgrade response head too large", false);
      }
      if (!await this.#fill()) return null;
    }
  }
  async readExactly(n: number): Promise<Uint8Array | null> {
    while (this.#buf.length < n) if (!await this.#fill()) return null;
    const out = this.#buf.slice(0, n);
    this.#buf = this.#buf.subarray(n);
    return out;
  }
  leftover(): Uint8Array {
    return this.#buf;
  }
}

async function readLimited(res: Response, max: number): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const room = max - total;
      chunks.push(value.subarray(0, room));
      total += Math.min(value.length, room);
      if (value.length >= room) break;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return new TextDecoder().decode(concat(chunks));
}
