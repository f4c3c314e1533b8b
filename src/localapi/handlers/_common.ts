/**
 * What every LocalAPI handler shares: method checks, JSON body decoding, and the mapping of
 * backend errors to HTTP statuses. Each failure is one line and changes nothing.
 * @module
 */
import { BackendError, type BackendErrorReason } from "../../ipn/backend.ts";
import { LocalApiError } from "../server.ts";

/** Largest JSON body a handler reads. */
export const MAX_BODY_BYTES = 1 << 20;

/**
 * Throws unless the request uses one of `methods`, with tailscaled's answer for that endpoint:
 * 400 "want POST" for some, 405 with a message of the endpoint's own for others.
 * @param req the request
 * @param methods allowed methods
 * @param status 400 for tailscaled's "want X" endpoints, 405 otherwise
 * @param message the 405 body (tailscaled's `servePrefs` says "unsupported method")
 */
export function requireMethod(
  req: Request,
  methods: readonly string[],
  status = 405,
  message = "unsupported method",
): void {
  if (methods.includes(req.method)) return;
  if (status === 400) throw new LocalApiError(400, `want ${methods.join(" or ")}`);
  throw new LocalApiError(405, message);
}

/**
 * Go's error for JSON of the wrong kind: `json: cannot unmarshal array into Go value of type
 * ipn.Options`.
 * @param value the parsed body
 * @param goType the Go type the endpoint decodes into
 * @returns the 400 error
 */
export function wrongJsonKind(value: unknown, goType: string): LocalApiError {
  const kind = Array.isArray(value)
    ? "array"
    : value === null || value === undefined
    ? "null"
    : typeof value === "boolean"
    ? "bool"
    : typeof value;
  return new LocalApiError(400, `json: cannot unmarshal ${kind} into Go value of type ${goType}`);
}

/**
 * Reads a JSON body; an empty body is `undefined`.
 * @param req the request
 * @returns the parsed value
 * @throws {LocalApiError} 400 on bad JSON or a body that is too large
 */
export async function readJson(req: Request): Promise<unknown> {
  const text = await req.text();
  if (text.length > MAX_BODY_BYTES) throw new LocalApiError(413, "request body too large");
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new LocalApiError(
      400,
      `invalid JSON body: ${err instanceof Error ? err.message.split("\n")[0] : err}`,
    );
  }
}

const STATUS_OF: Record<BackendErrorReason, number> = {
  invalid: 400,
  "not-started": 409,
  unhealthy: 503,
  "not-built": 501,
  failed: 500,
};

/**
 * Runs `fn`, turning a {@linkcode BackendError} into a {@linkcode LocalApiError}.
 * @param fn the backend call
 * @returns its result
 */
export async function callBackend<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof BackendError) throw new LocalApiError(STATUS_OF[err.reason], err.message);
    throw err;
  }
}

/** An empty 204 reply. */
export function noContent(): Response {
  return new Response(null, { status: 204 });
}
