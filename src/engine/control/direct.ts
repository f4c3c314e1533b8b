/**
 * Single control requests over a Noise HTTP/2 session (Go: `control/controlclient/direct.go`):
 * register, the map poll, lite updates and ping answers. No retries here; `auto.ts` owns them.
 * Every failure is a {@linkcode ControlError} whose `retryable` says what auto.ts may do.
 * @module
 */
import type { NoiseH2 } from "./h2.ts";
import { ControlError } from "./client.ts";
import { MAX_MAP_FRAME_BYTES, PING_REQUEST_TIMEOUT_MS } from "./constants.ts";
import { MapFrameSplitter } from "./map_frames.ts";
import {
  type MapRequest,
  type MapResponse,
  parseMapResponse,
  type PingRequest,
  type RegisterRequest,
  type RegisterResponse,
} from "./tailcfg.ts";
import { errorMessage } from "../base/errors.ts";
import { timeoutSignal } from "./_timeout.ts";
import { type Clock, SYSTEM_CLOCK } from "../base/clock.ts";

/** Path of the register call. */
export const REGISTER_PATH = "/machine/register";
/** Path of the map call. */
export const MAP_PATH = "/machine/map";

/**
 * The ControlError for a non-200 HTTP status: 429 and 5xx are retryable, other codes are not.
 * A `Retry-After` in seconds (429) is kept in `retryAfterMs`.
 * @param what the call, e.g. "register"
 * @param status HTTP status
 * @param body the response text (first line is used)
 * @param retryAfter the Retry-After header, if any
 * @returns the error
 */
export function httpError(
  what: string,
  status: number,
  body: string,
  retryAfter?: string,
): ControlError {
  const retryable = status >= 500 || status === 429 || status === 408;
  const text = body.trim().split("\n")[0].slice(0, 200);
  const err = new ControlError(
    status === 429 ? "rate-limited" : retryable ? "server-error" : `${what}-rejected`,
    `Control ${what} failed: HTTP ${status}${text ? `: ${text}` : ""}`,
    retryable,
    status,
  );
  const secs = retryAfter !== undefined && /^\d+$/.test(retryAfter.trim())
    ? Number(retryAfter.trim())
    : NaN;
  if (Number.isFinite(secs)) err.retryAfterMs = secs * 1000;
  return err;
}

/**
 * `POST /machine/register`. Resolves with the response even when it carries `Error` (callers
 * decide what that means); rejects on transport failures and non-200 statuses.
 * @param h2 the session
 * @param req the request
 * @param signal cancels (used for the Followup long-poll)
 * @returns the decoded response
 */
export async function register(
  h2: NoiseH2,
  req: RegisterRequest,
  signal?: AbortSignal,
): Promise<RegisterResponse> {
  const res = await h2.request({
    method: "POST",
    path: REGISTER_PATH,
    body: JSON.stringify(req),
    signal,
  });
  const text = await res.text();
  if (res.status !== 200) {
    throw httpError("register", res.status, text, res.headers["retry-after"]);
  }
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new SyntaxError();
    return v as RegisterResponse;
  } catch {
    throw new ControlError(
      "bad-register-response",
      "Control register failed: response is not a JSON object",
      true,
      res.status,
    );
  }
}

/**
 * `POST /machine/map` and its framed responses, one decoded MapResponse at a time (keep-alives
 * included, so the caller can feed its watchdog). Ends when the server ends the body.
 * @param h2 the session
 * @param req the map request (Stream true for the long poll)
 * @param signal cancels the poll
 * @returns the responses
 */
export async function* mapPoll(
  h2: NoiseH2,
  req: MapRequest,
  signal?: AbortSignal,
): AsyncGenerator<MapResponse> {
  const res = await h2.request({
    method: "POST",
    path: MAP_PATH,
    body: JSON.stringify(req),
    signal,
  });
  if (res.status !== 200) {
    throw httpError("map", res.status, await res.text(), res.headers["retry-after"]);
  }
  const frames = new MapFrameSplitter(MAX_MAP_FRAME_BYTES);
  const decoder = new TextDecoder();
  try {
    for await (const chunk of res.body) {
      frames.push(chunk);
      for (;;) {
        let body: Uint8Array | null;
        let msg: MapResponse;
        try {
          body = frames.next();
          if (body === null) break;
          msg = parseMapResponse(decoder.decode(body));
        } catch (err) {
          throw new ControlError(
            "bad-map-response",
            `Cannot read map response: ${errorMessage(err)}`,
            true,
          );
        }
        yield msg;
      }
    }
  } finally {
    res.cancel();
  }
  if (frames.pending > 0) {
    throw new ControlError("connection-lost", "Map response ended mid-frame", true);
  }
}

/**
 * Sends a lite update (`Stream: false, OmitPeers: true`): Hostinfo and endpoints without
 * opening a new session; only the status matters.
 * @param h2 the session
 * @param req the request (Stream and OmitPeers are forced)
 * @param signal cancels
 */
export async function sendLiteUpdate(
  h2: NoiseH2,
  req: MapRequest,
  signal?: AbortSignal,
): Promise<void> {
  const body = JSON.stringify({ ...req, Stream: false, OmitPeers: true });
  const res = await h2.request({ method: "POST", path: MAP_PATH, body, signal });
  const text = await res.text();
  if (res.status !== 200) throw httpError("map update", res.status, text);
}

/**
 * Answers a PingRequest with empty `Types`: an HTTP HEAD to its URL, over Noise when
 * `URLIsNoise`, else plain HTTP(S). Other ping types are not handled here.
 * @param ping the request
 * @param h2 the session (for Noise URLs)
 * @param signal cancels
 * @param clock where the timeout runs; default the system clock
 * @returns the HTTP status
 */
export async function answerPing(
  ping: PingRequest,
  h2: NoiseH2 | null,
  signal?: AbortSignal,
  clock: Clock = SYSTEM_CLOCK,
): Promise<number> {
  const t = timeoutSignal(clock, signal, PING_REQUEST_TIMEOUT_MS, "ping answer timed out");
  try {
    if (ping.URLIsNoise) {
      if (!h2) throw new ControlError("connection-lost", "No control connection for ping", true);
      const u = new URL(ping.URL);
      const res = await h2.request({
        method: "HEAD",
        path: u.pathname + u.search,
        signal: t.signal,
      });
      await res.text();
      return res.status;
    }
    const res = await fetch(ping.URL, { method: "HEAD", signal: t.signal });
    await res.body?.cancel();
    return res.status;
  } finally {
    t.clear();
  }
}
