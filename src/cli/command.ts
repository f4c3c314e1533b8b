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
