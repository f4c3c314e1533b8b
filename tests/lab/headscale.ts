/**
 * The lab's real headscale: plain HTTP on 127.0.0.1, a fresh sqlite database in its own folder,
 * no DERP URLs (the map comes only from the lab's file), no update check, no log upload, the CLI
 * on a unix socket in the same folder. Restarting keeps the port, the database and the noise key.
 * @module
 */

import { join } from "node:path";
import { LabProcess } from "./process.ts";
import { waitFor } from "./wait.ts";

/** Ports and paths of one headscale. */
export interface HeadscaleConfig {
  /** The headscale binary. */
  bin: string;
  /** Its folder (config, db, noise key, socket, log). */
  dir: string;
  /** HTTP port on 127.0.0.1 (control and /health). */
  httpPort: number;
  /** Metrics port on 127.0.0.1. */
  metricsPort: number;
  /** gRPC port on 127.0.0.1 (not opened without TLS, but never left at its shared default). */
  grpcPort: number;
  /** Path of the DERP map YAML headscale serves. */
  derpMapPath: string;
  /** Path of a policy file, or "" for none (everything allowed). */
  policyPath: string;
  /** The address it listens on and clients reach it at (default 127.0.0.1). */
  host?: string;
  /** DNS settings beyond MagicDNS on `tailnet.test` (none: no nameservers, no records). */
  dns?: HeadscaleDns;
}

/** headscale's `dns:` settings a test may set. */
export interface HeadscaleDns {
  /** `nameservers.global`, sent as `Resolvers` (`override_local_dns: true`). */
  global?: string[];
  /** `nameservers.split`: domain to nameservers, sent as `Routes`. */
  split?: Record<string, string[]>;
  /** `extra_records`. */
  extraRecords?: { name: string; type: string; value: string }[];
  /** `search_domains`, after the base domain. */
  searchDomains?: string[];
}

function dnsYaml(d: HeadscaleDns = {}): string[] {
  const q = JSON.stringify;
  const global = d.global ?? [];
  const split = Object.entries(d.split ?? {});
  const records = d.extraRecords ?? [];
  return [
    `dns:`,
    `  magic_dns: true`,
    `  base_domain: tailnet.test`,
    `  override_local_dns: ${global.length > 0}`,
    `  nameservers:`,
    `    global: ${q(global)}`,
    ...(split.length === 0 ? [] : [
      `    split:`,
      ...split.map(([domain, ns]) => `      ${q(domain)}: ${q(ns)}`),
    ]),
    `  search_domains: ${q(d.searchDomains ?? [])}`,
    ...(records.length === 0 ? [] : [
      `  extra_records:`,
      ...records.flatMap((r) => [
        `    - name: ${q(r.name)}`,
        `      type: ${q(r.type)}`,
        `      value: ${q(r.value)}`,
      ]),
    ]),
  ];
}

/** The control URL clients use. */
export function headscaleUrl(c: HeadscaleConfig): string {
  return `http://${c.host ?? "127.0.0.1"}:${c.httpPort}`;
}

/** Path of the config file in the headscale folder. */
export function headscaleConfigPath(c: HeadscaleConfig): string {
  return join(c.dir, "config.yaml");
}

/**
 * headscale's config.yaml for the lab. Every path is absolute: headscale takes `derp.paths` and
 * `unix_socket` relative to its working directory, not to the config file.
 */
export function headscaleConfigYaml(c: HeadscaleConfig): string {
  const q = JSON.stringify;
  return [
    `server_url: ${q(headscaleUrl(c))}`,
    `listen_addr: ${q(`${c.host ?? "127.0.0.1"}:${c.httpPort}`)}`,
    `metrics_listen_addr: ${q(`127.0.0.1:${c.metricsPort}`)}`,
    `grpc_listen_addr: ${q(`127.0.0.1:${c.grpcPort}`)}`,
    `grpc_allow_insecure: false`,
    `noise:`,
    `  private_key_path: ${q(join(c.dir, "noise_private.key"))}`,
    `prefixes:`,
    `  v4: 100.64.0.0/10`,
    `  v6: fd7a:115c:a1e0::/48`,
    `  allocation: sequential`,
    `derp:`,
    `  server:`,
    `    enabled: false`,
    `  urls: []`,
    `  paths:`,
    `    - ${q(c.derpMapPath)}`,
    `  auto_update_enabled: false`,
    `  update_frequency: 24h`,
    `disable_check_updates: true`,
    `database:`,
    `  type: sqlite`,
    `  sqlite:`,
    `    path: ${q(join(c.dir, "db.sqlite"))}`,
    `    write_ahead_log: true`,
    `log:`,
    `  level: info`,
    `  format: text`,
    `policy:`,
    `  mode: file`,
    `  path: ${q(c.policyPath)}`,
    ...dnsYaml(c.dns),
    `unix_socket: ${q(join(c.dir, "headscale.sock"))}`,
    `unix_socket_permission: "0770"`,
    `logtail:`,
    `  enabled: false`,
    ``,
  ].join("\n");
}

/** Environment for headscale and its CLI: nothing from the caller's shell. */
export function headscaleEnv(c: HeadscaleConfig): Record<string, string> {
  return { HOME: c.dir, HEADSCALE_CONFIG: headscaleConfigPath(c) };
}

/**
 * Writes the config, starts `headscale serve` and waits for `GET /health` and the CLI socket.
 * @param c ports and paths
 * @param onSpawn called right after the process exists (before readiness), to record its PID
 * @param timeoutMs readiness deadline
 */
export async function startHeadscale(
  c: HeadscaleConfig,
  onSpawn: (p: LabProcess) => Promise<void> = async () => {},
  timeoutMs = 30_000,
): Promise<LabProcess> {
  await Deno.mkdir(c.dir, { recursive: true });
  await Deno.writeTextFile(headscaleConfigPath(c), headscaleConfigYaml(c));
  const proc = LabProcess.spawn({
    name: "headscale",
    cmd: c.bin,
    args: ["-c", headscaleConfigPath(c), "serve"],
    env: headscaleEnv(c),
    logPath: join(c.dir, "headscale.log"),
    cwd: c.dir,
  });
  try {
    await onSpawn(proc);
    await waitFor("headscale to answer /health", async () => {
      if (!proc.running) throw new Error("headscale exited");
      const res = await fetch(`${headscaleUrl(c)}/health`);
      const body = await res.text();
      return res.ok && body.includes("pass");
    }, { timeoutMs, details: () => proc.logTail() });
    // The CLI talks over the unix socket, which may come up after HTTP.
    await waitFor("headscale's unix socket", async () => {
      const conn = await Deno.connect({ transport: "unix", path: join(c.dir, "headscale.sock") });
      conn.close();
      return true;
    }, { timeoutMs, details: () => proc.logTail() });
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return proc;
}

/** A failed headscale CLI command. */
export class HeadscaleCliError extends Error {
  /** @param message the command, exit code and stderr */
  constructor(message: string) {
    super(message);
    this.name = "HeadscaleCliError";
  }
}

/**
 * Runs `headscale -c <config> -o json <args>` and parses its output.
 * @returns the parsed JSON, or the trimmed text when the output is not JSON
 * @throws {HeadscaleCliError} on a non-zero exit
 */
export async function headscaleCli(c: HeadscaleConfig, args: string[]): Promise<unknown> {
  const out = await new Deno.Command(c.bin, {
    args: ["-c", headscaleConfigPath(c), "-o", "json", ...args],
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", ...headscaleEnv(c) },
    clearEnv: true,
    cwd: c.dir,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  const stdout = dec.decode(out.stdout).trim();
  if (out.code !== 0) {
    throw new HeadscaleCliError(
      `headscale ${args.join(" ")} failed (exit ${out.code}): ${
        (dec.decode(out.stderr) + stdout).trim()
      }`,
    );
  }
  try {
    return JSON.parse(stdout);
  } catch {
    return stdout;
  }
}
