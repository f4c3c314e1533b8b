/**
 * Runs a short-lived command (a CLI call) to completion, killing it after a deadline so a hung
 * CLI fails its test instead of hanging the suite.
 * @module
 */

/** The outcome of one command. */
export interface CommandResult {
  /** Exit code (137 when killed at the deadline). */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/**
 * Runs `command` with stdin closed and both outputs captured.
 * @param command the program
 * @param options its arguments, environment and working directory
 * @param timeoutMs after this the command is killed with SIGKILL
 * @returns exit code and output
 */
export async function runCommand(
  command: string,
  options: Omit<Deno.CommandOptions, "stdin" | "stdout" | "stderr">,
  timeoutMs: number,
): Promise<CommandResult> {
  const child = new Deno.Command(command, {
    ...options,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
  }, timeoutMs);
  try {
    const out = await child.output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } finally {
    clearTimeout(timer);
  }
}
