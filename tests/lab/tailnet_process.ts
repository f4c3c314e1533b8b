/**
 * The `tailnet` executable (main.ts under `deno run`) as a user runs it: spawned for a
 * long-lived process such as `tailnet daemon`, or run to completion for one CLI call. Every
 * test that starts our program goes through here, so the command line is written once.
 * @module
 */
import { type CommandResult, runCommand } from "./run_command.ts";

/** The entry point the tests run. */
export const TAILNET_MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** What `deno` runs: permissions and flags before main.ts (the V8 flag as the release binary). */
const DENO_RUN = [
  "run",
  "--allow-all",
  "--unstable-net",
  "--v8-flags=--max-semi-space-size=4,--gc-memory-reducer-start-delay-ms=3000",
];

/** Options of {@linkcode spawnTailnet}. */
export interface SpawnTailnetOptions {
  /** Extra environment (NO_COLOR=1 is always set). */
  env?: Record<string, string>;
  /** Standard output (default "null"). */
  stdout?: "piped" | "null";
  /** Standard error (default "null"). */
  stderr?: "piped" | "null";
  /** Extra `deno run` flags before main.ts (`--inspect=…` for a profile). */
  denoFlags?: string[];
  /** A network namespace to run it in (through `ip netns exec`, which execs into deno). */
  netns?: string;
}

/**
 * Spawns `tailnet ...args` with stdin closed; the caller waits for and kills it.
 * @param args the command line after the program name (`["daemon", "--socket", …]`)
 * @param opts environment and which outputs to pipe
 * @returns the child process
 */
export function spawnTailnet(args: string[], opts: SpawnTailnetOptions = {}): Deno.ChildProcess {
  const argv = [...DENO_RUN, ...(opts.denoFlags ?? []), TAILNET_MAIN, ...args];
  const [cmd, args2] = opts.netns === undefined
    ? [Deno.execPath(), argv]
    : ["ip", ["netns", "exec", opts.netns, Deno.execPath(), ...argv]];
  return new Deno.Command(cmd, {
    args: args2,
    stdin: "null",
    stdout: opts.stdout ?? "null",
    stderr: opts.stderr ?? "null",
    env: { NO_COLOR: "1", ...opts.env },
  }).spawn();
}

/**
 * Runs `tailnet ...args` to completion, killed after `timeoutMs`.
 * @param args the command line after the program name
 * @param opts extra environment (NO_COLOR=1 is always set) and the time limit (default 30 s)
 * @returns exit code and output
 */
export async function runTailnet(
  args: string[],
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CommandResult> {
  return await runCommand(Deno.execPath(), {
    args: [...DENO_RUN, TAILNET_MAIN, ...args],
    env: { NO_COLOR: "1", ...opts.env },
  }, opts.timeoutMs ?? 30_000);
}
