/**
 * One real tailscaled in the lab, in userspace-networking mode (or with a kernel TUN, on request),
 * with its own state dir, socket,
 * explicit WireGuard port, SOCKS5 and HTTP proxies on loopback, and every offline knob; plus the
 * real `tailscale` CLI pointed at its socket.
 * @module
 */

import { type CommandResult, runCommand } from "./run_command.ts";
import { join } from "node:path";
import { LabProcess } from "./process.ts";
import { waitFor } from "./wait.ts";

/** The environment every lab tailscaled and tailscale CLI run with (besides HOME and PATH). */
export function tailscaleEnv(dir: string): Record<string, string> {
  return {
    HOME: dir,
    XDG_CACHE_HOME: join(dir, "cache"),
    XDG_CONFIG_HOME: join(dir, "config"),
    // Per-node logs/config dir; without it all non-root daemons share $XDG_CACHE_HOME/Tailscale.
    TS_LOGS_DIR: join(dir, "logs"),
    // No log upload (same as --no-logs-no-support, also for the CLI).
    TS_NO_LOGS_NO_SUPPORT: "true",
    // Tripwire: panic if anything tries the default control server.
    TS_PANIC_IF_HIT_MAIN_CONTROL: "1",
    // No UPnP/NAT-PMP/PCP probes of a gateway.
    TS_DISABLE_PORTMAPPER: "1",
    TS_DEBUG_LOG_RATE: "all",
    // Inside a namespace with only lo the daemon would otherwise wait for a "real" interface.
    TS_ASSUME_NETWORK_UP_FOR_TEST: "1",
  };
}

/** Result of one CLI run. */
export type CliResult = CommandResult;

/** One peer or self in `tailscale status --json` (the fields the lab reads; the rest kept). */
export interface PeerStatus {
  /** Host name. */
  HostName: string;
  /** MagicDNS name. */
  DNSName: string;
  /** Tailscale IPs. */
  TailscaleIPs?: string[];
  /** Whether control says it is online. */
  Online: boolean;
  /** Current direct address, "" when none. */
  CurAddr: string;
  /** DERP region code of its home relay. */
  Relay: string;
  /** Public node key. */
  PublicKey: string;
  /** Other fields, as tailscaled sent them. */
  [field: string]: unknown;
}

/** `tailscale status --json`, typed where the lab reads it. */
export interface TailscaleStatus {
  /** "NoState", "NeedsLogin", "Starting", "Running", … */
  BackendState: string;
  /** This node. */
  Self: PeerStatus;
  /** Peers by node key; absent when there are none. */
  Peer?: Record<string, PeerStatus>;
  /** This node's Tailscale IPs. */
  TailscaleIPs?: string[];
  /** Other fields, as tailscaled sent them. */
  [field: string]: unknown;
}

/** Ports and paths of one lab tailscaled. */
export interface TailscaledConfig {
  /** Node name, also its hostname on the tailnet ("ts1"). */
  name: string;
  /** tailscaled binary. */
  tailscaled: string;
  /** tailscale CLI binary. */
  tailscale: string;
  /** Its folder (state, socket, logs). */
  dir: string;
  /** WireGuard UDP port (always explicit: tailscaled would read $PORT otherwise). */
  port: number;
  /** SOCKS5 proxy port on 127.0.0.1. */
  socks5Port: number;
  /** HTTP proxy port on 127.0.0.1. */
  httpProxyPort: number;
  /** Extra environment for the daemon (debug knobs such as `TS_DEBUG_NEVER_DIRECT_UDP`). */
  env?: Record<string, string>;
  /**
   * A kernel TUN interface name instead of userspace networking: the node then routes the
   * tailnet through the kernel, as most Linux installs do. It changes the routing of the
   * network namespace it runs in (policy rules, table 52), so run it only in a namespace of
   * its own; netfilter stays off (`--netfilter-mode=off`; this kernel has no iptables).
   */
  kernelTun?: string;
  /**
   * Run inside this network namespace (`ip netns exec`, which execs: the PID is tailscaled's).
   * The namespace must reach the lab's headscale and derper (see `netns_bridge.ts`).
   */
  netns?: string;
}

/** A real tailscaled the lab started, and its CLI. */
export class LabNode {
  /** Node name and hostname ("ts1"). */
  readonly name: string;
  /** Its folder. */
  readonly dir: string;
  /** Its LocalAPI socket. */
  readonly socket: string;
  /** Its WireGuard UDP port. */
  readonly port: number;
  /** Its SOCKS5 proxy, "127.0.0.1:port". */
  readonly socks5Addr: string;
  /** Its HTTP proxy, "127.0.0.1:port". */
  readonly httpProxyAddr: string;
  readonly #config: TailscaledConfig;
  #proc: LabProcess | null = null;

  /** @param config ports and paths; nothing starts until {@linkcode LabNode.start} */
  constructor(config: TailscaledConfig) {
    this.#config = config;
    this.name = config.name;
    this.dir = config.dir;
    this.socket = join(config.dir, "tailscaled.sock");
    this.port = config.port;
    this.socks5Addr = `127.0.0.1:${config.socks5Port}`;
    this.httpProxyAddr = `127.0.0.1:${config.httpProxyPort}`;
  }

  /** The running daemon, or null once stopped. */
  get process(): LabProcess | null {
    return this.#proc;
  }

  /** tailscaled's flags for the lab, in one place. */
  args(): string[] {
    return [
      `--tun=${this.#config.kernelTun ?? "userspace-networking"}`,
      `--statedir=${join(this.dir, "state")}`,
      `--socket=${this.socket}`,
      `--port=${this.port}`,
      `--socks5-server=${this.socks5Addr}`,
      `--outbound-http-proxy-listen=${this.httpProxyAddr}`,
      "--no-logs-no-support",
    ];
  }

  /**
   * Starts tailscaled and waits until its LocalAPI answers.
   * @param onSpawn called right after the process exists (before readiness), to record its PID
   * @param timeoutMs readiness deadline
   */
  async start(
    onSpawn: (p: LabProcess) => Promise<void> = async () => {},
    timeoutMs = 30_000,
  ): Promise<LabProcess> {
    if (this.#proc?.running) return this.#proc;
    for (const d of ["state", "logs", "cache", "config"]) {
      await Deno.mkdir(join(this.dir, d), { recursive: true });
    }
    const proc = LabProcess.spawn({
      name: this.name,
      cmd: this.#config.tailscaled,
      args: this.args(),
      env: { ...tailscaleEnv(this.dir), ...this.#config.env },
      logPath: join(this.dir, "tailscaled.log"),
      cwd: this.dir,
      netns: this.#config.netns,
    });
    this.#proc = proc;
    await onSpawn(proc);
    await waitFor(`${this.name}'s LocalAPI`, async () => {
      if (!proc.running) throw new Error(`${this.name} exited`);
      const s = await this.status();
      return typeof s.BackendState === "string";
    }, { timeoutMs, details: () => proc.logTail() });
    return proc;
  }

  /** Stops tailscaled by its PID. Safe to call twice. */
  async stop(): Promise<void> {
    await this.#proc?.stop();
  }

  /**
   * Runs the real tailscale CLI against this node (`tailscale --socket <socket> <args>`).
   * @param args CLI arguments
   * @param opts optional timeout: the CLI is killed after it
   */
  async cli(args: string[], opts: { timeoutMs?: number } = {}): Promise<CliResult> {
    return await runCommand(this.#config.tailscale, {
      args: [`--socket=${this.socket}`, ...args],
      env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", ...tailscaleEnv(this.dir) },
      clearEnv: true,
      cwd: this.dir,
    }, opts.timeoutMs ?? 60_000);
  }

  /** Like {@linkcode LabNode.cli} but throws on a non-zero exit. */
  async cliOk(args: string[], opts: { timeoutMs?: number } = {}): Promise<string> {
    const r = await this.cli(args, opts);
    if (r.code !== 0) {
      throw new Error(
        `tailscale ${args.join(" ")} on ${this.name} failed (exit ${r.code}): ${
          (r.stderr + r.stdout).trim()
        }`,
      );
    }
    return r.stdout;
  }

  /** `tailscale status --json`. */
  async status(): Promise<TailscaleStatus> {
    return JSON.parse(await this.cliOk(["status", "--json"])) as TailscaleStatus;
  }

  /** `tailscale ip`: this node's Tailscale addresses, IPv4 first. */
  async ips(): Promise<string[]> {
    return (await this.cliOk(["ip"])).split("\n").map((l) => l.trim()).filter(Boolean);
  }

  /**
   * `tailscale up` against the lab's control server with an auth key, then waits for Running.
   * @param controlUrl headscale's URL
   * @param authKey a pre-auth key
   */
  async up(controlUrl: string, authKey: string, timeoutMs = 60_000): Promise<void> {
    await this.cliOk([
      "up",
      `--login-server=${controlUrl}`,
      `--authkey=${authKey}`,
      `--hostname=${this.name}`,
      ...(this.#config.kernelTun === undefined ? [] : ["--netfilter-mode=off"]),
      "--reset",
      `--timeout=${Math.round(timeoutMs / 1000)}s`,
    ], { timeoutMs: timeoutMs + 10_000 });
    await waitFor(`${this.name} to be Running with IPs`, async () => {
      const s = await this.status();
      return s.BackendState === "Running" && (s.Self.TailscaleIPs?.length ?? 0) > 0;
    }, { timeoutMs, details: () => this.#proc?.logTail() ?? "" });
  }
}
