/**
 * The DERP layer's error: a {@linkcode TailnetError} whose `code` says what failed, so callers
 * (the region manager, magicsock) can tell a refused certificate from a dropped connection.
 * @module
 */
import { TailnetError, type TailnetErrorOptions } from "../base/errors.ts";

/** Stable reasons a DERP connection fails. */
export type DerpErrorCode =
  | "derp-dial"
  | "derp-tls"
  | "derp-cert-pin"
  | "derp-upgrade"
  | "derp-handshake"
  | "derp-protocol"
  | "derp-timeout"
  | "derp-closed";

/** A DERP connection failed or was closed. */
export class DerpError extends TailnetError {
  /**
   * @param code stable reason
   * @param message one line, std style ("DERP TLS: …")
   * @param options `cause`, and `retryable`: default true here, since most DERP failures pass
   *   (false for a refused certificate or pin)
   */
  constructor(code: DerpErrorCode, message: string, options?: TailnetErrorOptions) {
    super(code, message, { ...options, retryable: options?.retryable ?? true });
    this.name = "DerpError";
  }
}
