/**
 * The interop lab: real headscale, derper and tailscaled on loopback, one call away in a test.
 *
 * `Lab.start()` makes a temp work dir, claims free loopback ports, starts derper (TLS with a
 * self-signed certificate for 127.0.0.1, STUN), writes a one-region DERP map that pins that
 * certificate, starts headscale (plain HTTP, fresh sqlite, that map only), creates user "lab"
 * and a reusable pre-auth key, then starts N tailscaled (default 2) and joins them. `close()`
 * (or `await using`) stops every program by its PID, frees the ports and removes the work dir,
 * also when start itself fails half way. A registry entry per lab lets `deno task lab down`
 * clean up after a killed test run.
 *
 * @example A lab with two real tailscaled
 * ```ts ignore
 * import { Lab, labAvailable } from "./mod.ts";
 * Deno.test({ name: "two nodes see each other", ignore: !labAvailable().ok }, async () => {
 *   await using lab = await Lab.start();
 *   await lab.waitForPeers();
 *   const st = await lab.nodes[0].status();
 *   console.log(st.Peer);
 * });
 * ```
 * @module
 */

import { join } from "node:path";
import { headscaleBin, tailscaleBin } from "./paths.ts";
import { TAILSCALE_RELEASES } from "./versions.ts";
import { PortClaims } from "./ports.ts";
import { RegistryRecord } from "./registry.ts";
import type { LabProcess } from "./process.ts";
import {
  type DerpMap,
  derpMapYaml,
  type DerpTrust,
  LAB_DERP_REGION_CODE,
  LAB_DERP_REGION_ID,
  labDerpMap,
} from "./derp_map.ts";
import { startDerper } from "./derper.ts";
import {
  headscaleCli,
  type HeadscaleConfig,
  headscaleConfigPath,
  type HeadscaleDns,
  headscaleUrl,
  startHeadscale,
} from "./headscale.ts";
import { LabNode } from "./tailscaled.ts";
import { waitFor } from "./wait.ts";
import { ImpairedRelay, type Impairment } from "./impaired_relay.ts";

export { type DerperCounters, derperCounters } from "./derper.ts";
export { LabNode } from "./tailscaled.ts";
export type { CliResult, PeerStatus, TailscaleStatus } from "./tailscaled.ts";
export type { DerpMap, DerpNode, DerpRegion } from "./derp_map.ts";
export { LAB_DERP_REGION_CODE, LAB_DERP_REGION_ID } from "./derp_map.ts";
export { LabTimeoutError, sleep, waitFor } from "./wait.ts";
export type { WaitOptions } from "./wait.ts";
export { labAvailable } from "./available.ts";

/** Options of {@linkcode Lab.start}. */
export interface LabOptions {
  /** headscale's DNS settings (nameservers, split DNS, extra records). */
  headscaleDns?: HeadscaleDns;
  /** How many real tailscaled to start and join (default 2; 0 for headscale + derper only). */
  tailscaleds?: number;
  /** Print the lab's steps to stderr, and every process log's tail on close. */
  log?: boolean;
  /** Tailscale release of the nodes and derper (default: the first in versions.ts). */
  tailscaleVersion?: string;
  /**
   * How the DERP map makes clients trust derper's self-signed certificate: "pinned"
   * (`CertName: "sha256-raw:<hex>"`, the default) or "insecure" (`InsecureForTests: true`).
   */
  derpTrust?: "pinned" | "insecure";
  /**
   * Extra environment for every tailscaled, e.g. `{ TS_DEBUG_NEVER_DIRECT_UDP: "1" }` to keep
   * all traffic on DERP.
   */
  nodeEnv?: Record<string, string>;
  /**
   * Impair every DERP path (the kernel here has no netem): the DERP map names an
   * {@linkcode ImpairedRelay} in front of derper, so every relayed packet crosses it twice.
   */
  impairDerp?: Impairment;
  /**
   * headscale's ACL policy (HuJSON text), written to a file headscale reads (`policy.path`);
   * without it there is no policy file and every node may reach every other.
   * {@linkcode Lab.setPolicy} replaces it while the lab runs.
   */
  policy?: string;
  /**
   * The address headscale and derper listen on and the DERP map names (default 127.0.0.1). The
   * NAT lab gives its public address here, so nodes in other network namespaces reach both.
   */
  host?: string;
}

/** Options of {@linkcode Lab.addTailscaled}. */
export interface AddNodeOptions {
  /** Extra environment for this tailscaled (added to {@linkcode LabOptions.nodeEnv}). */
  env?: Record<string, string>;
  /** Auth key to join with (default {@linkcode Lab.authKey}); "" starts it without joining. */
  authKey?: string;
  /** A kernel TUN of this name instead of userspace networking (see `TailscaledConfig`). */
  kernelTun?: string;
  /** A network namespace to run it in (a NAT lab node, see `nat_lab.ts`). */
  netns?: string;
  /** Its WireGuard UDP port (default: a free one claimed on loopback). */
  port?: number;
  /** Its name (default ts1, ts2, … in start order). */
  name?: string;
}

/** A running lab. Dispose it (`await using`) or call {@linkcode Lab.close}. */
export class Lab implements AsyncDisposable {
  /** Lab id, unique on this machine (also its registry entry's name). */
  readonly id: string;
  /** The lab's temporary folder; removed on close. */
  readonly workDir: string;
  /** headscale's URL, e.g. "http://127.0.0.1:41234". */
  readonly controlUrl: string;
  /** DERP region id of the lab's derper. */
  readonly derpRegionId: number = LAB_DERP_REGION_ID;
  /** DERP region code of the lab's derper ("lab"). */
  readonly derpRegionCode: string = LAB_DERP_REGION_CODE;
  /** The real tailscaled nodes, in start order. */
  readonly nodes: LabNode[] = [];
  /** derper's TLS port on 127.0.0.1. */
  readonly derpPort: number;
  /** The impairing relay in front of derper, when {@linkcode LabOptions.impairDerp} is set. */
  derpRelay: ImpairedRelay | null = null;
  /** derper's STUN port on 127.0.0.1. */
  readonly stunPort: number;
  /** The tailscale release the nodes and derper run. */
  readonly tailscaleVersion: string;
  /** A reusable pre-auth key of user "lab" ("" until start finished). */
  authKey = "";
  /** The DERP map as clients get it from headscale (tailcfg JSON shape). */
  derpMap: DerpMap = { Regions: {} };
  /** SHA-256 (hex) of derper's self-signed certificate. */
  derpCertSha256Hex = "";
  /** headscale's id of user "lab". */
  userId = "";

  readonly #opts: LabOptions;
  readonly #ports: PortClaims;
  readonly #registry: RegistryRecord;
  readonly #hs: HeadscaleConfig;
  readonly #derperDir: string;
  #headscale: LabProcess | null = null;
  #derper: LabProcess | null = null;
  #closed = false;
  #nextNode = 1;

  private constructor(
    id: string,
    workDir: string,
    opts: LabOptions,
    ports: PortClaims,
    registry: RegistryRecord,
    hs: HeadscaleConfig,
    derp: { dir: string; derpPort: number; stunPort: number },
  ) {
    this.id = id;
    this.workDir = workDir;
    this.#opts = opts;
    this.#ports = ports;
    this.#registry = registry;
    this.#hs = hs;
    this.controlUrl = headscaleUrl(hs);
    this.#derperDir = derp.dir;
    this.derpPort = derp.derpPort;
    this.stunPort = derp.stunPort;
    this.tailscaleVersion = opts.tailscaleVersion ?? TAILSCALE_RELEASES[0].version;
  }

  /**
   * Starts a lab: derper, headscale, user "lab" with a reusable key, then `tailscaleds` nodes.
   * On any failure everything already started is stopped and removed, and the error message
   * carries the tail of each process's log.
   * @param options node count, logging, tailscale release, DERP trust mode
   * @returns the running lab
   */
  static async start(options: LabOptions = {}): Promise<Lab> {
    const id = `lab-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
    const workDir = await Deno.makeTempDir({ prefix: "tailnet-lab-" });
    const ports = new PortClaims(id);
    let registry: RegistryRecord | null = null;
    let lab: Lab | null = null;
    try {
      registry = await RegistryRecord.create(id, workDir);
      const hs: HeadscaleConfig = {
        bin: headscaleBin(),
        dir: join(workDir, "headscale"),
        httpPort: await ports.claim(),
        metricsPort: await ports.claim(),
        grpcPort: await ports.claim(),
        derpMapPath: join(workDir, "headscale", "derp.yaml"),
        policyPath: options.policy === undefined ? "" : join(workDir, "headscale", "policy.hujson"),
        dns: options.headscaleDns,
        host: options.host,
      };
      if (options.policy !== undefined) {
        await Deno.mkdir(hs.dir, { recursive: true });
        await Deno.writeTextFile(hs.policyPath, options.policy);
      }
      lab = new Lab(id, workDir, options, ports, registry, hs, {
        dir: join(workDir, "derper"),
        derpPort: await ports.claim(),
        stunPort: await ports.claim(),
      });
      await lab.#startAll(options.tailscaleds ?? 2);
      return lab;
    } catch (err) {
      const logs = lab?.logs() ?? "";
      if (lab) await lab.close();
      else {
        await ports.releaseAll();
        await registry?.remove();
        await Deno.remove(workDir, { recursive: true }).catch(() => {});
      }
      if (err instanceof Error && logs) err.message += `\n${logs}`;
      throw err;
    }
  }

  async #startAll(n: number): Promise<void> {
    await this.startDerper();
    const trust: DerpTrust = this.#opts.derpTrust === "insecure"
      ? { kind: "insecure" }
      : { kind: "pinned", certSha256Hex: this.derpCertSha256Hex };
    if (this.#opts.impairDerp) {
      this.derpRelay = new ImpairedRelay(
        { hostname: "127.0.0.1", port: this.derpPort },
        this.#opts.impairDerp,
        await this.#ports.claim(),
      );
    }
    this.derpMap = labDerpMap(
      this.derpRelay?.port ?? this.derpPort,
      this.stunPort,
      trust,
      this.#opts.host,
    );
    await Deno.mkdir(this.#hs.dir, { recursive: true });
    await Deno.writeTextFile(this.#hs.derpMapPath, derpMapYaml(this.derpMap));
    await this.startHeadscale();
    const user = await this.headscale(["users", "create", "lab"]) as { id?: unknown };
    if (user.id === undefined) throw new Error(`headscale users create: no id in output`);
    this.userId = String(user.id);
    this.authKey = await this.createAuthKey({ reusable: true });
    this.#say(`control ${this.controlUrl}, DERP 127.0.0.1:${this.derpPort}`);
    await Promise.all(Array.from({ length: n }, () => this.addTailscaled()));
    this.nodes.sort((a, b) => a.name.localeCompare(b.name, "en", { numeric: true }));
  }

  /**
   * Runs `headscale -o json <args>` against the lab's headscale and parses the output.
   * @param args e.g. `["nodes", "list"]`
   * @returns parsed JSON (or trimmed text when it is not JSON)
   */
  headscale(args: string[]): Promise<unknown> {
    return headscaleCli(this.#hs, args);
  }

  /** Path of headscale's config file, for running its CLI by hand. */
  get headscaleConfig(): string {
    return headscaleConfigPath(this.#hs);
  }

  /**
   * Creates a pre-auth key for user "lab".
   * @param opts reusable, ephemeral, ACL tags (e.g. `["tag:lab"]`); expires in 24 h
   * @returns the key
   */
  async createAuthKey(
    opts: { reusable?: boolean; ephemeral?: boolean; tags?: string[] } = {},
  ): Promise<string> {
    const args = ["preauthkeys", "create", "--user", this.userId, "--expiration", "24h"];
    if (opts.reusable) args.push("--reusable");
    if (opts.ephemeral) args.push("--ephemeral");
    if (opts.tags?.length) args.push("--tags", opts.tags.join(","));
    const key = await this.headscale(args) as { key?: unknown };
    if (typeof key.key !== "string") {
      throw new Error(`headscale preauthkeys create: no key in ${JSON.stringify(key)}`);
    }
    return key.key;
  }

  /**
   * Starts one more real tailscaled and joins it with {@linkcode Lab.authKey} (or `opts.authKey`).
   * @param opts extra environment, another auth key
   * @returns the node, joined and Running unless `authKey` was ""
   */
  async addTailscaled(opts: AddNodeOptions = {}): Promise<LabNode> {
    const name = opts.name ?? `ts${this.#nextNode++}`;
    const node = new LabNode({
      name,
      tailscaled: tailscaleBin("tailscaled", this.tailscaleVersion),
      tailscale: tailscaleBin("tailscale", this.tailscaleVersion),
      dir: join(this.workDir, name),
      port: opts.port ?? await this.#ports.claim(),
      socks5Port: await this.#ports.claim(),
      httpProxyPort: await this.#ports.claim(),
      env: { ...this.#opts.nodeEnv, ...opts.env },
      kernelTun: opts.kernelTun,
      netns: opts.netns,
    });
    this.nodes.push(node);
    const proc = await node.start(this.#record);
    const key = opts.authKey ?? this.authKey;
    if (key === "") return node;
    this.#say(`${name} started (pid ${proc.pid}), joining`);
    await node.up(this.controlUrl, key);
    this.#say(`${name} is Running as ${(await node.ips()).join(" ")}`);
    return node;
  }

  /**
   * Replaces headscale's policy file and has headscale reload it (SIGHUP, as headscale
   * v0.29.2's `serve` handles it); nodes get the new filter with their next map update. Only
   * for a lab started with {@linkcode LabOptions.policy}.
   * @param policy the new policy (HuJSON text)
   */
  async setPolicy(policy: string): Promise<void> {
    if (this.#hs.policyPath === "") {
      throw new Error("setPolicy: the lab was started without a policy");
    }
    if (this.#headscale === null) throw new Error("setPolicy: headscale is not running");
    await Deno.writeTextFile(this.#hs.policyPath, policy);
    this.#headscale.signal("SIGHUP");
  }

  /** Stops headscale (its port, database and key stay for {@linkcode Lab.startHeadscale}). */
  async stopHeadscale(): Promise<void> {
    await this.#untrack(this.#headscale);
    this.#headscale = null;
  }

  /**
   * Starts headscale (again) on the same port with the same database.
   * @param timeoutMs readiness deadline (a database of many nodes takes longer to load)
   */
  async startHeadscale(timeoutMs = 30_000): Promise<void> {
    if (this.#headscale?.running) return;
    this.#headscale = await startHeadscale(this.#hs, this.#record, timeoutMs);
  }

  /** Stops derper (its ports and certificate stay for {@linkcode Lab.startDerper}). */
  async stopDerper(): Promise<void> {
    await this.#untrack(this.#derper);
    this.#derper = null;
  }

  /** Starts derper (again) on the same ports with the same certificate. */
  async startDerper(): Promise<void> {
    if (this.#derper?.running) return;
    const started = await startDerper({
      bin: tailscaleBin("derper", this.tailscaleVersion),
      dir: this.#derperDir,
      derpPort: this.derpPort,
      stunPort: this.stunPort,
      host: this.#opts.host,
    }, this.#record);
    this.#derper = started.proc;
    if (this.derpCertSha256Hex && this.derpCertSha256Hex !== started.certSha256Hex) {
      throw new Error("derper restarted with a different certificate");
    }
    this.derpCertSha256Hex = started.certSha256Hex;
  }

  /**
   * Waits until every node sees every other node online, with its home DERP region known, in
   * `tailscale status --json`: from then on pings and traffic between them can flow.
   * @param timeoutMs deadline (default 60 s)
   */
  async waitForPeers(timeoutMs = 60_000): Promise<void> {
    const keys = await Promise.all(this.nodes.map(async (n) => (await n.status()).Self.PublicKey));
    await waitFor("every node to see every other node online", async () => {
      for (const n of this.nodes) {
        const st = await n.status();
        const peers = Object.values(st.Peer ?? {});
        for (const k of keys) {
          if (k === st.Self.PublicKey) continue;
          // Relay (the peer's home DERP region) arrives through control a moment after the
          // peer itself; without it nothing can be sent to the peer via DERP yet.
          if (!peers.some((p) => p.PublicKey === k && p.Online && p.Relay !== "")) return false;
        }
      }
      return true;
    }, { timeoutMs, intervalMs: 250, details: () => this.logs() });
  }

  /** Every process the lab runs now. */
  get processes(): LabProcess[] {
    const all = [this.#headscale, this.#derper, ...this.nodes.map((n) => n.process)];
    return all.filter((p): p is LabProcess => p !== null && p.running);
  }

  /** PIDs of every process the lab started that still runs. */
  get pids(): number[] {
    return this.processes.map((p) => p.pid);
  }

  /** Ports the lab holds on 127.0.0.1. */
  get ports(): number[] {
    return this.#ports.held;
  }

  /** The tail of each process's log, for failure messages. */
  logs(): string {
    const all = [this.#headscale, this.#derper, ...this.nodes.map((n) => n.process)];
    return all.filter((p): p is LabProcess => p !== null).map((p) => p.logTail()).join("\n");
  }

  /**
   * Stops every process by its PID (nodes first, then derper, then headscale), frees the ports,
   * removes the work dir and the registry entry. Safe to call twice.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#opts.log) this.#say(`closing\n${this.logs()}`);
    // Every step runs even when an earlier one failed; the first failure is thrown at the end.
    const errors: unknown[] = [];
    const step = async (f: () => Promise<unknown>) => {
      try {
        await f();
      } catch (err) {
        errors.push(err);
      }
    };
    await Promise.all(this.nodes.map((n) => step(() => this.#untrack(n.process))));
    await step(async () => await this.derpRelay?.close());
    await step(() => this.stopDerper());
    await step(() => this.stopHeadscale());
    await step(() => this.#ports.releaseAll());
    await step(() => Deno.remove(this.workDir, { recursive: true }));
    await step(() => this.#registry.remove());
    if (errors.length) throw errors[0];
  }

  /** Same as {@linkcode Lab.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Writes a just-spawned process into the registry, so `lab down` finds it after a kill. */
  readonly #record = async (proc: LabProcess): Promise<void> => {
    await this.#registry.addProcess({
      name: proc.name,
      pid: proc.pid,
      cmd: Deno.realPathSync(proc.cmd),
    });
  };

  async #untrack(proc: LabProcess | null): Promise<void> {
    if (!proc) return;
    await proc.stop();
    // The registry is only a safety net for killed runs: failing to update it must not stop us.
    await this.#registry.removeProcess(proc.pid).catch(() => {});
  }

  #say(line: string): void {
    // deno-lint-ignore no-console -- opt-in progress output for people debugging a test
    if (this.#opts.log) console.error(`[${this.id}] ${line}`);
  }
}
