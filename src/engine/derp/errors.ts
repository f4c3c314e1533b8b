/**
 * The DERP layer's error: a {@linkcode TailnetError} whose `code` says what failed, so callers
 * (the region manager, magicsock) can tell a refused certificate from a dropped connection.
 * @module
 */
import { TailnetError } from "../base/errors.ts";

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
  /** Whether trying again later may succeed (false for a refused certificate or pin). */
  readonly retryable: boolean;

  /**
   * @param code stable reason
   * @param message one line, std style ("DERP TLS: …")
   * @param options `cause`, and `retryable` (default true)
   */
  constructor(
    code: DerpErrorCode,
    message: string,
    options?: ErrorOptions & { retryable?: boolean },
  ) {
    super(code, message, options);
    this.name = "DerpError";
    this.retryable = options?.retryable ?? true;
  }
}
