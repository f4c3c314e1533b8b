/**
 * The shape every CLI command has, and the parseArgs wrapper that turns a bad flag into a
 * one-line {@linkcode UsageError}.
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "../engine/base/errors.ts";

/** What a command receives besides its own arguments. */
export interface CommandContext {
  /** The LocalAPI socket named by the global `--socket` flag, or the default. */
  socketPath: string;
  /** Writes a line to stdout (the command's output, never diagnostics). */
  out(line: string): void;
  /** Writes a line to stderr (prompts such as an auth URL; errors go through exceptions). */
  err(line: string): void;
}

/** One subcommand of `tailnet`. */
export interface Command {
  /** The word after `tailnet`. */
  name: string;
  /** One line for `tailnet --help`. */
  summary: string;
  /** Full usage text for `tailnet help <name>`. */
  usage: string;
  /**
   * Runs the command.
   * @param args the arguments after the command word
   * @param ctx shared context
   * @returns the process exit code
   */
  run(args: string[], ctx: CommandContext): Promise<number>;
}

/** The options object of a parseArgs config. */
export type FlagSpec = NonNullable<ParseArgsConfig["options"]>;

/**
 * Parses `args` strictly; an unknown flag or a missing value becomes a {@linkcode UsageError}
 * that names the flag.
 * @param args the arguments
 * @param options the flag spec
 * @param allowPositionals whether bare words are allowed
 * @returns parsed values and positionals
 */
export function parseFlags<T extends FlagSpec>(
  args: string[],
  options: T,
  allowPositionals = false,
): ReturnType<
  typeof parseArgs<{ args: string[]; options: T; allowPositionals: boolean; strict: true }>
> {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError(describeParseError(err));
  }
}

function describeParseError(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: string }).code;
  const flag = msg.match(/'(-[^' ]+)/)?.[1];
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `unknown flag: ${flag ?? msg}`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return flag ? `flag ${flag} needs a value` : msg.split("\n")[0];
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL": {
      const word = msg.match(/'([^']+)'/)?.[1];
      return `unexpected argument: ${word ?? msg}`;
    }
    default:
      return msg.split("\n")[0];
  }
}

/**
 * Parses a whole non-negative number flag value, or throws a {@linkcode UsageError}.
 * @param flag the flag's name, for the message
 * @param value the text
 * @returns the number
 */
export function parseIntFlag(flag: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`invalid value "${value}" for flag --${flag}`);
  return Number(value);
}

/** One flag of a Go-style command line (`tailscale`'s flag package rules). */
export interface GoFlag {
  /** "bool" flags take no value (or `=true`/`=false`); others need one. */
  type: "bool" | "string";
  /** Other names for the same flag, e.g. `authkey` for `auth-key`. */
  aliases?: readonly string[];
}

/** The result of {@linkcode parseGoFlags}. */
export interface GoFlags {
  /** Values by canonical flag name: strings, or booleans for bool flags. */
  values: Map<string, string | boolean>;
  /** Canonical names of the flags given, in order. */
  given: string[];
  /** Bare words. */
  positionals: string[];
}

/**
 * Parses flags as Go's `flag` package does, which `tailscale` uses: `-name` and `--name`
 * alike, `--name=value` or `--name value`, bool flags as `--name`, `--name=true` or
 * `--name=false`, and `--` ending the flags. Unknown flags and missing values are
 * {@linkcode UsageError}s naming the flag.
 * @param args the arguments
 * @param spec canonical name to flag
 * @param allowPositionals whether bare words are allowed
 * @returns values, the flags given, and positionals
 */
export function parseGoFlags(
  args: string[],
  spec: Record<string, GoFlag>,
  allowPositionals = false,
): GoFlags {
  const byName = new Map<string, string>();
  for (const [name, f] of Object.entries(spec)) {
    byName.set(name, name);
    for (const a of f.aliases ?? []) byName.set(a, name);
  }
  const values = new Map<string, string | boolean>();
  const given: string[] = [];
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    const body = arg.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const word = eq >= 0 ? body.slice(0, eq) : body;
    const name = byName.get(word);
    if (name === undefined) {
      throw new UsageError(`unknown flag: -${arg.startsWith("--") ? "-" : ""}${word}`);
    }
    const f = spec[name];
    let value: string | boolean;
    if (f.type === "bool") {
      if (eq < 0) value = true;
      else {
        const v = body.slice(eq + 1);
        if (v !== "true" && v !== "false") {
          throw new UsageError(`invalid boolean value "${v}" for flag --${word}`);
        }
        value = v === "true";
      }
    } else if (eq >= 0) {
      value = body.slice(eq + 1);
    } else {
      const next = args[i + 1];
      if (next === undefined) throw new UsageError(`flag --${word} needs a value`);
      value = next;
      i++;
    }
    values.set(name, value);
    if (!given.includes(name)) given.push(name);
  }
  if (!allowPositionals && positionals.length > 0) {
    throw new UsageError(`unexpected argument: ${positionals[0]}`);
  }
  return { values, given, positionals };
}

/**
 * Parses a Go duration such as `10s`, `1m30s`, `500ms` or `0`.
 * @param flag the flag's name, for the message
 * @param text the value
 * @returns milliseconds
 */
export function parseDurationFlag(flag: string, text: string): number {
  if (text === "0") return 0;
  const unit: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    "µs": 1e-3,
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
  };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let ms = 0;
  let at = 0;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) {
      throw new UsageError(`invalid value "${text}" for flag --${flag}: want a duration like 10s`);
    }
    ms += Number(m[1]) * unit[m[2]];
    at = re.lastIndex;
  }
  if (text.length === 0) throw new UsageError(`invalid value "" for flag --${flag}`);
  return ms;
}
