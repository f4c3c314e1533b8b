/**
 * Typed errors shared by every layer. Each carries a stable `code` that callers switch on;
 * messages say what failed, a colon, then the state ("Cannot read state file: bad JSON").
 * @module
 */

/** Options every {@linkcode TailnetError} takes: the standard `cause`, and `retryable`. */
export interface TailnetErrorOptions extends ErrorOptions {
  /** Whether the same operation may succeed later (default false). */
  retryable?: boolean;
}

/** The base of every error tailnet throws on purpose. */
export class TailnetError extends Error {
  /** A stable, machine-readable reason, e.g. `"bad-state-file"`. */
  readonly code: string;
  /**
   * Whether trying the same thing again later may succeed: callers back off on this, never on
   * message text.
   */
  readonly retryable: boolean;

  /**
   * @param code stable reason
   * @param message human-readable, one line
   * @param options `cause`, and `retryable` (default false)
   */
  constructor(code: string, message: string, options?: TailnetErrorOptions) {
    super(message, options);
    this.name = "TailnetError";
    this.code = code;
    this.retryable = options?.retryable ?? false;
  }
}

/** Input that will not parse: a packet, a frame, a state file, a flag value. */
export class ParseError extends SyntaxError {
  /** The format being parsed, e.g. `"derp-frame"`. */
  readonly format: string;
  /** Byte (or character) offset of the problem, when known. */
  readonly offset: number | undefined;

  /**
   * @param format what was being parsed
   * @param message what is wrong with it
   * @param offset where, when known
   */
  constructor(format: string, message: string, offset?: number) {
    super(message);
    this.name = "ParseError";
    this.format = format;
    this.offset = offset;
  }
}

/** A wrong command line: the CLI prints it on one line and exits 2. */
export class UsageError extends TailnetError {
  /** @param message one line naming the bad flag or argument */
  constructor(message: string) {
    super("usage", message);
    this.name = "UsageError";
  }
}

/** Returns a one-line description of any thrown value, for the CLI and logs. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message.split("\n")[0];
  return String(err);
}
