/**
 * Typed errors shared by every layer. Each carries a stable `code` that callers switch on;
 * messages say what failed, a colon, then the state ("Cannot read state file: bad JSON").
 * @module
 */

/** The base of every error tailnet throws on purpose. */
export class TailnetError extends Error {
  /** A stable, machine-readable reason, e.g. `"bad-state-file"`. */
  readonly code: string;

  /**
   * @param code stable reason
   * @param message human-readable, one line
   * @param options standard error options (`cause`)
   */
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TailnetError";
    this.code = code;
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
