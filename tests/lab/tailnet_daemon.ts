/**
 * Our own `tailnet daemon` (main.ts) as a lab process: spawned as a user runs it, with its own
 * state directory and socket, and the CLI run against it. Tests use it beside the real
 * tailscaled nodes of a {@linkcode Lab}.
 * @module
 */
import type { StatusJson } from "../../src/ipn/status.ts";
import type { CommandResult } from "./run_command.ts";
import { runTailnet, spawnTailnet } from "./tailnet_process.ts";
import { waitFor } from "./wait.ts";

/** One CLI run. */
export type TailnetRun = CommandResult;

/** Options for {@linkcode TailnetDaemon.create}. */
export interface TailnetDaemonOptions {
  /** Extra environment for the daemon (test knobs). */
  env?: Record<string, string>;
  /** Extra daemon flags. */
  args?: string[];
  /** Extra `deno run` flags (`--inspect=127.0.0.1:PORT` to profile the daemon). */
  denoFlags?: string[];
  /** A network namespace to run the daemon in (the NAT lab's node namespaces). */
  netns?: string;
}

/** A `tailnet daemon` child process. */
export class TailnetDaemon implements AsyncDisposable {
  /** The temp dir holding state and socket. */
  readonly dir: string;
  /** The LocalAPI socket. */
  readonly socket: string;
  /** The state directory. */
  readonly stateDir: string;
  readonly #opts: TailnetDaemonOptions;
  #child: Deno.ChildProcess | null = null;
  #log: Promise<string> = Promise.resolve("");

  private constructor(dir: string, opts: TailnetDaemonOptions) {
    this.dir = dir;
    this.socket = `${dir}/run/tailnetd.sock`;
    this.stateDir = `${dir}/state`;
    this.#opts = opts;
  }

  /**
   * Makes a temp dir and starts the daemon in it; resolves once the socket answers.
   * @param opts extra env and flags
   * @returns the running daemon
   */
  static async create(opts: TailnetDaemonOptions = {}): Promise<TailnetDaemon> {
    const d = new TailnetDaemon(await Deno.makeTempDir({ prefix: "tailnet-daemon-test-" }), opts);
    try {
      await d.start();
    } catch (err) {
      await d[Symbol.asyncDispose]();
      throw err;
    }
    return d;
  }

  /** The state file inside the state directory. */
  get stateFile(): string {
    return `${this.stateDir}/tailnetd.state`;
  }

  /** The daemon's PID, or null when it is not running. */
  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  /** Whether the daemon process is running (started and not stopped). */
  get running(): boolean {
    return this.#child !== null;
  }

  /**
   * `tailnet status --json`, parsed.
   * @returns the status JSON
   */
  async status(): Promise<StatusJson> {
    const r = await this.cli(["status", "--json"]);
    return JSON.parse(r.stdout) as StatusJson;
  }

  /** Starts (or restarts) the daemon on the same state and socket. */
  async start(): Promise<void> {
    this.#child = spawnTailnet(
      ["daemon", "--statedir", this.stateDir, "--socket", this.socket, ...(this.#opts.args ?? [])],
      {
        env: this.#opts.env,
        stderr: "piped",
        denoFlags: this.#opts.denoFlags,
        netns: this.#opts.netns,
      },
    );
    this.#log = new Response(this.#child.stderr).text();
    // The daemon answers a placeholder status (Version and BackendState only) from the moment
    // its socket listens until its backend has loaded or created the state file; the full
    // status (it has TUN) means the state is on disk.
    await waitFor(
      "tailnet daemon to serve its socket with its state loaded",
      async () => (await this.cli(["status", "--json"])).stdout.includes('"TUN"'),
      { timeoutMs: 20_000 },
    );
  }

  /**
   * `tailnet up` with a pre-auth key, failing with the CLI's output unless it succeeds.
   * @param controlUrl the control server
   * @param authKey a pre-auth key
   * @param hostname the name to register
   * @returns our Tailscale addresses, IPv4 and IPv6
   */
  async up(
    controlUrl: string,
    authKey: string,
    hostname: string,
  ): Promise<{ v4: string; v6: string }> {
    const up = await this.cli([
      "up",
      "--login-server",
      controlUrl,
      "--authkey",
      authKey,
      "--hostname",
      hostname,
      "--timeout",
      "20s",
    ]);
    if (up.code !== 0) {
      throw new Error(`tailnet up failed (exit ${up.code}): ${up.stderr}${up.stdout}`);
    }
    const ips = (await this.cli(["ip"])).stdout.trim().split("\n");
    return { v4: ips.find((i) => i.includes("."))!, v6: ips.find((i) => i.includes(":"))! };
  }

  /** Stops the daemon with SIGTERM; returns its log. */
  async stop(): Promise<string> {
    const c = this.#child;
    if (c === null) return "";
    this.#child = null;
    try {
      c.kill("SIGTERM");
    } catch { /* already gone */ }
    await c.status;
    return await this.#log;
  }

  /**
   * Runs `tailnet --socket <ours> ...args`, killed after `timeoutMs`.
   * @param args the command line after the global flags
   * @param timeoutMs limit
   * @returns exit code and output
   */
  async cli(args: string[], timeoutMs = 30_000): Promise<TailnetRun> {
    return await runTailnet(["--socket", this.socket, ...args], { timeoutMs });
  }

  /** Stops the daemon and removes its directory. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}
