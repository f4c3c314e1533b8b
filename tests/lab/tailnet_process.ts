/**
 * The `tailnet` executable (main.ts under `deno run`) as a user runs it: spawned for a
 * long-lived process such as `tailnet daemon`, or run to completion for one CLI call. Every
 * test that starts our program goes through here, so the command line is written once.
 * @module
 */
import { DAEMON_V8_FLAGS } from "../../src/cli/daemon_permissions.ts";
import { type CommandResult, runCommand } from "./run_command.ts";

/**
 * The entry point the tests run: main.ts, or the module `TAILNET_LAB_MAIN` names (for example
 * the one minified bundle `deno task bundle` writes, which the release binaries are built from),
 * so the same tests and benchmarks can run the shipped form. Read at each spawn.
 * @returns the module's path
 */
export function tailnetMain(): string {
  return Deno.env.get("TAILNET_LAB_MAIN") || new URL("../../main.ts", import.meta.url).pathname;
}

/** What `deno` runs: permissions and flags before main.ts (the V8 flags of the release binary). */
export const DENO_RUN: readonly string[] = [
  "run",
  "--allow-all",
  "--unstable-net",
  ...DAEMON_V8_FLAGS,
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
  const argv = [...DENO_RUN, ...(opts.denoFlags ?? []), tailnetMain(), ...args];
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
    args: [...DENO_RUN, tailnetMain(), ...args],
    env: { NO_COLOR: "1", ...opts.env },
  }, opts.timeoutMs ?? 30_000);
}
