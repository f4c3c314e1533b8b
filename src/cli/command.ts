/**
 * The shape every CLI command has, and the flag parsers that turn a bad flag into a one-line
 * {@linkcode UsageError}.
 * @module
 */
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

/** Flags by name for {@linkcode parseFlags}: each takes a value or is a boolean switch. */
export type FlagSpec = Readonly<Record<string, { readonly type: "string" | "boolean" }>>;

/** The values {@linkcode parseFlags} found: a string or a boolean per given flag. */
export type FlagValues<T extends FlagSpec> = {
  [K in keyof T]?: T[K]["type"] extends "boolean" ? boolean : string;
};

/**
 * Parses `args` strictly, with Go's flag rules as {@linkcode parseGoFlags} (which it is a typed
 * view of); an unknown flag or a missing value becomes a {@linkcode UsageError} that names the
 * flag. Not node:util's parseArgs: loading Node compatibility costs every command about 20 ms
 * of start-up.
 * @param args the arguments
 * @param options the flag spec
 * @param allowPositionals whether bare words are allowed
 * @returns parsed values and positionals
 */
export function parseFlags<T extends FlagSpec>(
  args: string[],
  options: T,
  allowPositionals = false,
): { values: FlagValues<T>; positionals: string[] } {
  const spec: Record<string, GoFlag> = {};
  for (const [name, o] of Object.entries(options)) {
    spec[name] = { type: o.type === "boolean" ? "bool" : "string" };
  }
  const { values, positionals } = parseGoFlags(args, spec, allowPositionals);
  return { values: Object.fromEntries(values) as FlagValues<T>, positionals };
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
