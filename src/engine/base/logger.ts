/**
 * The logger: levels, verbosity, timestamps and a subsystem prefix, written to stderr only.
 * Every layer receives a {@linkcode Logger} and calls `child("derp")` for its own prefix;
 * nothing in the engine writes to the console directly.
 * @module
 */

/** Log levels, from always shown to shown only at `--verbose 2`. */
export type LogLevel = "error" | "warn" | "info" | "debug" | "trace";

const LEVEL_VERBOSITY: Record<LogLevel, number> = {
  error: -1,
  warn: -1,
  info: 0,
  debug: 1,
  trace: 2,
};

/** Where log lines go; tests pass a function that collects them. */
export type LogSink = (line: string) => void;

/** Options for {@linkcode Logger}. */
export interface LoggerOptions {
  /** 0 shows info and above, 1 adds debug, 2 adds trace. Default 0. */
  verbosity?: number;
  /** Receives each formatted line without the newline. Default: stderr. */
  sink?: LogSink;
  /** Prefix each line with an ISO timestamp. Default true. */
  timestamps?: boolean;
  /** Returns the wall-clock time for timestamps. Default `() => new Date()`. */
  now?: () => Date;
}

const encoder = new TextEncoder();

function stderrSink(line: string): void {
  try {
    Deno.stderr.writeSync(encoder.encode(line + "\n"));
  } catch {
    // stderr closed: nothing useful to do with a log line.
  }
}

/**
 * A logger with a subsystem prefix.
 *
 * @example Collecting lines in a test
 * ```ts
 * import { Logger } from "./logger.ts";
 * const lines: string[] = [];
 * const log = new Logger({ sink: (l) => lines.push(l), timestamps: false }).child("derp");
 * log.info("connected to region", 900);
 * if (lines[0] !== "derp: connected to region 900") throw new Error(lines[0]);
 * ```
 */
export class Logger {
  readonly #verbosity: number;
  readonly #sink: LogSink;
  readonly #timestamps: boolean;
  readonly #now: () => Date;
  readonly #prefix: string;

  /**
   * @param options verbosity, sink and timestamp settings
   * @param prefix subsystem path such as `"control"`; use {@linkcode Logger.child} instead
   */
  constructor(options: LoggerOptions = {}, prefix = "") {
    this.#verbosity = options.verbosity ?? 0;
    this.#sink = options.sink ?? stderrSink;
    this.#timestamps = options.timestamps ?? true;
    this.#now = options.now ?? (() => new Date());
    this.#prefix = prefix;
  }

  /**
   * Returns a logger whose lines carry `name` after this logger's prefix (`"magicsock/derp"`).
   * @param name the subsystem name
   * @returns the child logger
   */
  child(name: string): Logger {
    const prefix = this.#prefix ? `${this.#prefix}/${name}` : name;
    return new Logger({
      verbosity: this.#verbosity,
      sink: this.#sink,
      timestamps: this.#timestamps,
      now: this.#now,
    }, prefix);
  }

  /** The verbosity this logger was made with. */
  get verbosity(): number {
    return this.#verbosity;
  }

  /**
   * Whether a line at `level` would be written; use it to skip building costly messages.
   * @param level the level to test
   * @returns true when enabled
   */
  enabled(level: LogLevel): boolean {
    return LEVEL_VERBOSITY[level] <= this.#verbosity;
  }

  /** Logs an error. @param parts joined with spaces */
  error(...parts: unknown[]): void {
    this.#write("error", parts);
  }
  /** Logs a warning. @param parts joined with spaces */
  warn(...parts: unknown[]): void {
    this.#write("warn", parts);
  }
  /** Logs at info (always shown). @param parts joined with spaces */
  info(...parts: unknown[]): void {
    this.#write("info", parts);
  }
  /** Logs at debug (`--verbose 1`). @param parts joined with spaces */
  debug(...parts: unknown[]): void {
    this.#write("debug", parts);
  }
  /** Logs at trace (`--verbose 2`). @param parts joined with spaces */
  trace(...parts: unknown[]): void {
    this.#write("trace", parts);
  }

  #write(level: LogLevel, parts: unknown[]): void {
    if (!this.enabled(level)) return;
    const text = parts.map(formatPart).join(" ");
    const tag = level === "error" ? "error: " : level === "warn" ? "warning: " : "";
    const prefix = this.#prefix ? `${this.#prefix}: ` : "";
    const stamp = this.#timestamps ? `${this.#now().toISOString()} ` : "";
    this.#sink(`${stamp}${prefix}${tag}${text}`);
  }
}

function formatPart(part: unknown): string {
  if (typeof part === "string") return part;
  if (part instanceof Error) return part.message;
  if (typeof part === "object" && part !== null) {
    try {
      return JSON.stringify(part);
    } catch {
      return String(part);
    }
  }
  return String(part);
}
