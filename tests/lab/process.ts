/**
 * One program the lab started: its PID, its log file, and a stop that waits until it is gone.
 *
 * Output goes straight to a log file (through `sh -c 'exec prog >>log 2>&1'`), so nothing in
 * this process has to pump pipes, and the log survives a crash of the test for `lab down` and
 * for people. The environment is cleared and given explicitly: tailscaled reads `PORT`, Go reads
 * `HTTP_PROXY`, and neither may leak in from the shell.
 * @module
 */

/** How {@linkcode LabProcess.spawn} starts a program. */
export interface SpawnOptions {
  /** Short name for messages ("headscale", "ts1"). */
  name: string;
  /** Absolute path of the program. */
  cmd: string;
  /** Its arguments. */
  args: string[];
  /** Its whole environment (PATH is added when missing). */
  env: Record<string, string>;
  /** File that receives stdout and stderr (appended). */
  logPath: string;
  /** Working directory. */
  cwd?: string;
  /**
   * A network namespace (`ip netns` name) to run the program in: it is started through
   * `ip netns exec`, which execs into it, so the PID is still the program's own.
   */
  netns?: string;
}

/** Lines of each log that {@linkcode LabProcess.logTail} shows by default. */
export const LOG_TAIL_LINES = 40;

/** A running (or stopped) program started by the lab. */
export class LabProcess {
  /** Short name for messages. */
  readonly name: string;
  /** Its process id (the program itself: `sh` execs into it). */
  readonly pid: number;
  /** Where its output goes. */
  readonly logPath: string;
  /** Absolute path of the program. */
  readonly cmd: string;
  #child: Deno.ChildProcess;
  #status: Promise<Deno.CommandStatus>;
  #exit: Deno.CommandStatus | null = null;

  private constructor(opts: SpawnOptions, child: Deno.ChildProcess) {
    this.name = opts.name;
    this.cmd = opts.cmd;
    this.pid = child.pid;
    this.logPath = opts.logPath;
    this.#child = child;
    this.#status = child.status.then((s) => (this.#exit = s));
  }

  /**
   * Starts a program with its output in `opts.logPath`.
   * @param opts program, arguments, environment, log file
   * @returns the running process
   */
  static spawn(opts: SpawnOptions): LabProcess {
    const env: Record<string, string> = {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      ...opts.env,
      LAB_LOG: opts.logPath,
    };
    const argv = opts.netns === undefined
      ? [opts.cmd, ...opts.args]
      : ["ip", "netns", "exec", opts.netns, opts.cmd, ...opts.args];
    const child = new Deno.Command("/bin/sh", {
      args: ["-c", 'exec "$0" "$@" >>"$LAB_LOG" 2>&1', ...argv],
      env,
      clearEnv: true,
      cwd: opts.cwd,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    return new LabProcess(opts, child);
  }

  /**
   * Sends a signal to the program (e.g. SIGHUP: headscale reloads its policy file).
   * @param signal the signal
   */
  signal(signal: Deno.Signal): void {
    if (this.#exit === null) this.#child.kill(signal);
  }

  /** True until the program has exited. */
  get running(): boolean {
    return this.#exit === null;
  }

  /** The exit status once it exited, else null. */
  get exitStatus(): Deno.CommandStatus | null {
    return this.#exit;
  }

  /** Resolves when the program exits, for whatever reason. */
  get exited(): Promise<Deno.CommandStatus> {
    return this.#status;
  }

  /**
   * Stops the program by its PID: SIGTERM, then SIGKILL after `graceMs`; resolves once it is reaped.
   * Safe to call twice or after the program exited by itself.
   * @param graceMs how long SIGTERM gets (default 5 s)
   */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.running) {
      try {
        this.#child.kill("SIGTERM");
      } catch {
        // Already gone between the check and the kill.
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const killed = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          try {
            this.#child.kill("SIGKILL");
          } catch {
            // Exited in the meantime.
          }
          resolve();
        }, graceMs);
      });
      await Promise.race([this.#status, killed]);
      clearTimeout(timer);
    }
    await this.#status;
  }

  /**
   * The last lines of the program's log, headed by its name, PID and exit status.
   * @param lines how many lines (default {@linkcode LOG_TAIL_LINES})
   */
  logTail(lines = LOG_TAIL_LINES): string {
    let text: string;
    try {
      text = Deno.readTextFileSync(this.logPath);
    } catch (err) {
      text = `(no log: ${err instanceof Error ? err.message : String(err)})`;
    }
    const all = text.trimEnd().split("\n");
    const tail = all.slice(-lines).join("\n");
    const state = this.#exit === null
      ? "running"
      : `exited ${this.#exit.signal ? `by ${this.#exit.signal}` : `with ${this.#exit.code}`}`;
    return `--- ${this.name} (pid ${this.pid}, ${state}) ${this.logPath} ---\n${tail}`;
  }
}
