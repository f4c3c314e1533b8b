/**
 * The NAT lab: network namespaces joined by veth links, with routers doing NAT in nftables, so
 * that two nodes reach each other the way they do across the internet.
 *
 * ```
 *   public network 203.0.113.0/24 (the namespace the test runs in: headscale, derper + STUN)
 *        | bridge, .1
 *        +-- router r1 (own namespace): wan 203.0.113.11, lan 10.0.1.1/24, NAT in nftables
 *        |      +-- node r1n1 (own namespace) 10.0.1.2, default route via 10.0.1.1
 *        |      +-- node r1n2 10.0.1.3 (a second node behind the same NAT: LAN peers)
 *        +-- router r2: wan 203.0.113.12, lan 10.0.2.1/24
 *               +-- node r2n1 10.0.2.2
 * ```
 *
 * The public network is the namespace the test runs in (itself an offline namespace of its own,
 * see LAB.md), so the test reaches headscale and derper directly; pass
 * {@linkcode NatLab.publicAddress} as the lab's `host`. Routers have no default route: a private
 * address is reachable only from behind its own router. IPv6 is off everywhere, so every path
 * is the IPv4 one the NAT shapes. Each router's NAT is one of {@linkcode NatKind}.
 *
 * Real tailscaled (`Lab.addTailscaled({ netns })`) and our daemon (`TailnetDaemon.create({
 * netns })`) run in a node's namespace. Their proxies listen on that namespace's loopback,
 * which the test cannot reach; {@linkcode NatHost.forward} starts a small forwarder inside the
 * namespace between a Unix socket (files are shared) and a loopback TCP port there.
 *
 * `close()` (or `await using`) deletes every namespace and link it made, also when `create`
 * failed half way; namespaces left by a killed test (their names carry its PID) are deleted by
 * the next `create`. One NatLab at a time per test namespace (the public subnet is fixed).
 * @module
 */

import { join } from "node:path";
import { LabProcess } from "./process.ts";
import { runCommand } from "./run_command.ts";
import { processAlive } from "./ports.ts";
import { waitFor } from "./wait.ts";

/**
 * What a router does to its nodes' traffic on the way out (every kind masquerades to the router's
 * WAN address):
 * - `masquerade`: one mapping per inside address and port, kept for every destination when the
 *   port is free ("easy" NAT; Linux conntrack still picks a new port when the same public port
 *   is already used towards that destination).
 * - `masquerade-random`: a random source port per new flow, so per destination ("hard" NAT).
 * - `cone`: `masquerade`, plus UDP {@linkcode CONE_PORT} forwarded (`dnat`) to the first node, as
 *   a port forward or UPnP mapping does.
 * - `udp-blocked`: `masquerade` with every forwarded UDP datagram dropped.
 */
export type NatKind = "masquerade" | "masquerade-random" | "cone" | "udp-blocked";

/** The UDP port a `cone` router forwards to its first node (tailscaled's default port). */
export const CONE_PORT = 41641;

/** The public network's prefix (TEST-NET-3) and the test namespace's address on it. */
const PUBLIC_PREFIX = "203.0.113";

/** One router of the lab and the nodes behind it. */
export interface RouterSpec {
  /** Its NAT. */
  nat: NatKind;
  /** How many nodes behind it (default 1). */
  nodes?: number;
}

/** A node's network namespace. */
export class NatHost {
  /** Its namespace name. */
  readonly netns: string;
  /** Its private address. */
  readonly address: string;
  /** Short name, e.g. "r1n1". */
  readonly name: string;
  readonly #lab: NatLab;

  /** @internal made by {@linkcode NatLab.create} */
  constructor(lab: NatLab, name: string, netns: string, address: string) {
    this.#lab = lab;
    this.name = name;
    this.netns = netns;
    this.address = address;
  }

  /**
   * Starts a forwarder inside this namespace: each connection to the Unix socket `unixPath`
   * is joined to TCP `127.0.0.1:tcpPort` here (`"unix-to-tcp"`, to reach a proxy), or each
   * connection to `127.0.0.1:tcpPort` here is joined to `unixPath` (`"tcp-to-unix"`, to reach
   * a server of the test). Stopped by {@linkcode NatLab.close}.
   * @param mode which side listens
   * @param unixPath the socket file (the test listens there for "tcp-to-unix")
   * @param tcpPort the port on this namespace's loopback
   * @returns the forwarder, listening
   */
  async forward(
    mode: "unix-to-tcp" | "tcp-to-unix",
    unixPath: string,
    tcpPort: number,
  ): Promise<LabProcess> {
    const proc = LabProcess.spawn({
      name: `forward-${this.name}-${tcpPort}`,
      cmd: Deno.execPath(),
      args: [
        "run",
        "--allow-net",
        "--allow-read",
        "--allow-write",
        FORWARDER,
        mode,
        unixPath,
        String(tcpPort),
      ],
      env: { NO_COLOR: "1", DENO_DIR: Deno.env.get("DENO_DIR") ?? "" },
      logPath: `${unixPath}.log`,
      netns: this.netns,
    });
    this.#lab.track(proc);
    await waitFor(`forwarder ${mode} ${unixPath} ${tcpPort}`, async () => {
      if (!proc.running) throw new Error("forwarder exited");
      return (await Deno.readTextFile(proc.logPath).catch(() => "")).includes("listening");
    }, { timeoutMs: 20_000, details: () => proc.logTail() });
    return proc;
  }
}

/** A router namespace. */
export class NatRouter {
  /** Its namespace name. */
  readonly netns: string;
  /** Its address on the public network. */
  readonly wanAddress: string;
  /** Its NAT. */
  readonly nat: NatKind;
  /** The nodes behind it. */
  readonly hosts: NatHost[] = [];

  /** @internal made by {@linkcode NatLab.create} */
  constructor(netns: string, wanAddress: string, nat: NatKind) {
    this.netns = netns;
    this.wanAddress = wanAddress;
    this.nat = nat;
  }

  /**
   * Drops every UDP datagram this router forwards to or from `peer` (an nftables table of its
   * own beside the NAT): a path fault between two nodes. Idempotent.
   * @param peer the other router, or any public address
   */
  async blockUdp(peer: NatRouter | string): Promise<void> {
    const addr = typeof peer === "string" ? peer : peer.wanAddress;
    await this.unblockUdp();
    await nft(
      this.netns,
      [
        "table ip natlab_fault {",
        "  chain forward {",
        "    type filter hook forward priority filter; policy accept;",
        `    ip daddr ${addr} meta l4proto udp drop`,
        `    ip saddr ${addr} meta l4proto udp drop`,
        "  }",
        "}",
      ].join("\n"),
    );
  }

  /** Removes what {@linkcode NatRouter.blockUdp} added (nothing when it was not added). */
  async unblockUdp(): Promise<void> {
    const list = await run("ip", ["netns", "exec", this.netns, "nft", "list", "tables"]);
    if (list.includes("natlab_fault")) {
      await run("ip", [
        "netns",
        "exec",
        this.netns,
        "nft",
        "delete",
        "table",
        "ip",
        "natlab_fault",
      ]);
    }
  }

  /** The router's whole nftables ruleset, for failure messages. */
  async ruleset(): Promise<string> {
    return await run("ip", ["netns", "exec", this.netns, "nft", "list", "ruleset"]);
  }
}

/** A built topology. Dispose it (`await using`) or call {@linkcode NatLab.close}. */
export class NatLab implements AsyncDisposable {
  /** The test namespace's address on the public network: where headscale and derper listen. */
  readonly publicAddress = `${PUBLIC_PREFIX}.1`;
  /** The routers, in the order given. */
  readonly routers: NatRouter[] = [];
  /** A folder for forwarder sockets and logs; removed on close. */
  readonly dir: string;
  readonly #id: string;
  readonly #bridge: string;
  readonly #namespaces: string[] = [];
  readonly #procs: LabProcess[] = [];
  #bridgeMade = false;
  #closed = false;
  #routerCount = 0;

  private constructor(id: string, dir: string) {
    this.#id = id;
    this.dir = dir;
    this.#bridge = `nlb${id}`;
  }

  /**
   * Builds the public bridge, one router per spec and its nodes. On failure everything made so
   * far is removed before the error is thrown.
   * @param specs one per router
   * @returns the built lab
   */
  static async create(specs: RouterSpec[]): Promise<NatLab> {
    await sweepDeadNatLabs();
    const id = crypto.randomUUID().slice(0, 4);
    const lab = new NatLab(id, await Deno.makeTempDir({ prefix: "tailnet-natlab-" }));
    try {
      await lab.#build(specs);
    } catch (err) {
      await lab.close().catch(() => {});
      throw err;
    }
    return lab;
  }

  /** All node namespaces, router by router. */
  get hosts(): NatHost[] {
    return this.routers.flatMap((r) => r.hosts);
  }

  async #build(specs: RouterSpec[]): Promise<void> {
    const br = this.#bridge;
    await run("ip", ["link", "add", br, "type", "bridge"]);
    this.#bridgeMade = true;
    await run("ip", ["addr", "add", `${this.publicAddress}/24`, "dev", br]);
    await run("ip", ["link", "set", br, "up"]);
    for (const spec of specs) await this.addRouter(spec);
  }

  /**
   * Adds a router on the public network, with its nodes behind it. Router numbers are never
   * reused, so a fresh router (empty conntrack) can replace a removed one between runs.
   * @param spec its NAT and node count
   * @returns the router, its nodes' namespaces ready
   */
  async addRouter(spec: RouterSpec): Promise<NatRouter> {
    const i = ++this.#routerCount;
    if (i > 200) throw new RangeError(`NAT lab: too many routers: ${i}`);
    const rns = await this.#namespace(`r${i}`);
    const wan = `${PUBLIC_PREFIX}.${10 + i}`;
    const router = new NatRouter(rns, wan, spec.nat);
    this.routers.push(router);
    const outside = `nlw${this.#id}r${i}`;
    await run("ip", ["link", "add", outside, "type", "veth", "peer", "name", "wan", "netns", rns]);
    await run("ip", ["link", "set", outside, "master", this.#bridge, "up"]);
    await ipIn(rns, ["addr", "add", `${wan}/24`, "dev", "wan"]);
    await ipIn(rns, ["link", "set", "wan", "up"]);
    await ipIn(rns, ["link", "add", "lan", "type", "bridge"]);
    await ipIn(rns, ["addr", "add", `10.0.${i}.1/24`, "dev", "lan"]);
    await ipIn(rns, ["link", "set", "lan", "up"]);
    await run("ip", ["netns", "exec", rns, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    for (let j = 1; j <= (spec.nodes ?? 1); j++) {
      const hns = await this.#namespace(`r${i}n${j}`);
      const address = `10.0.${i}.${1 + j}`;
      await ipIn(rns, [
        "link",
        "add",
        `n${j}`,
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        hns,
      ]);
      await ipIn(rns, ["link", "set", `n${j}`, "master", "lan", "up"]);
      await ipIn(hns, ["addr", "add", `${address}/24`, "dev", "eth0"]);
      await ipIn(hns, ["link", "set", "eth0", "up"]);
      await ipIn(hns, ["route", "add", "default", "via", `10.0.${i}.1`]);
      router.hosts.push(new NatHost(this, `r${i}n${j}`, hns, address));
    }
    await nft(rns, natRules(spec.nat, `10.0.${i}.2`));
    return router;
  }

  /**
   * Deletes a router's namespace and its nodes' (their links go with them). Programs running
   * in them must be stopped first.
   * @param router a router of this lab
   */
  async removeRouter(router: NatRouter): Promise<void> {
    const mine = [router.netns, ...router.hosts.map((h) => h.netns)];
    for (const ns of mine.reverse()) {
      await run("ip", ["netns", "del", ns]);
      this.#namespaces.splice(this.#namespaces.indexOf(ns), 1);
    }
    this.routers.splice(this.routers.indexOf(router), 1);
  }

  async #namespace(tag: string): Promise<string> {
    const name = `natlab-${Deno.pid}-${this.#id}-${tag}`;
    await run("ip", ["netns", "add", name]);
    this.#namespaces.push(name);
    await ipIn(name, ["link", "set", "lo", "up"]);
    // IPv6 off: every path is the IPv4 one the router's NAT shapes (no link-local shortcuts).
    await run("ip", ["netns", "exec", name, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
    await run("ip", [
      "netns",
      "exec",
      name,
      "sysctl",
      "-qw",
      "net.ipv6.conf.default.disable_ipv6=1",
    ]);
    return name;
  }

  /** @internal a process to stop on close (forwarders). */
  track(p: LabProcess): void {
    this.#procs.push(p);
  }

  /** Every router's ruleset, for failure messages. */
  async describe(): Promise<string> {
    const parts = await Promise.all(
      this.routers.map(async (r) => `--- ${r.netns} (${r.nat}) ---\n${await r.ruleset()}`),
    );
    return parts.join("\n");
  }

  /**
   * Stops the forwarders and deletes every namespace, link and folder the lab made. Programs
   * the caller started inside the namespaces must be stopped first. Safe to call twice.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const errors: unknown[] = [];
    await Promise.all(this.#procs.map((p) => p.stop().catch((e) => errors.push(e))));
    for (const ns of this.#namespaces.reverse()) {
      await run("ip", ["netns", "del", ns]).catch((e) => errors.push(e));
    }
    if (this.#bridgeMade) {
      await run("ip", ["link", "del", this.#bridge]).catch((e) => errors.push(e));
    }
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
    if (errors.length) throw errors[0];
  }

  /** Same as {@linkcode NatLab.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Joins a path inside {@linkcode NatLab.dir}. */
  path(name: string): string {
    return join(this.dir, name);
  }
}

/**
 * A router's nftables ruleset for one kind of NAT.
 * @param kind the NAT
 * @param firstHost the address a `cone` router forwards {@linkcode CONE_PORT} to
 * @returns `nft -f` input
 */
export function natRules(kind: NatKind, firstHost: string): string {
  const masq = kind === "masquerade-random" ? "masquerade random" : "masquerade";
  const lines = [
    "table ip natlab {",
    "  chain postrouting {",
    "    type nat hook postrouting priority srcnat; policy accept;",
    `    oifname "wan" ${masq}`,
    "  }",
  ];
  if (kind === "cone") {
    lines.push(
      "  chain prerouting {",
      "    type nat hook prerouting priority dstnat; policy accept;",
      `    iifname "wan" udp dport ${CONE_PORT} dnat to ${firstHost}:${CONE_PORT}`,
      "  }",
    );
  }
  if (kind === "udp-blocked") {
    lines.push(
      "  chain forward {",
      "    type filter hook forward priority filter; policy accept;",
      "    meta l4proto udp drop",
      "  }",
    );
  }
  lines.push("}");
  return lines.join("\n");
}

/**
 * Deletes the namespaces of NAT labs whose test process is gone (killed before its close ran):
 * their names carry the owner's PID. The programs that ran in them are the lab registry's to stop.
 */
async function sweepDeadNatLabs(): Promise<void> {
  for (const line of (await run("ip", ["netns", "list"])).split("\n")) {
    const m = /^(natlab-(\d+)-[0-9a-f]{4}-r\d+(?:n\d+)?)\b/.exec(line);
    if (m === null || processAlive(Number(m[2]))) continue;
    await run("ip", ["netns", "del", m[1]]).catch(() => {});
  }
}

/** The forwarder program run inside a node namespace (see {@linkcode NatHost.forward}). */
const FORWARDER = new URL("./netns_forward.ts", import.meta.url).pathname;

async function ipIn(ns: string, args: string[]): Promise<void> {
  await run("ip", ["-n", ns, ...args]);
}

async function nft(ns: string, rules: string): Promise<void> {
  const child = new Deno.Command("ip", {
    args: ["netns", "exec", ns, "nft", "-f", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(rules + "\n"));
  await w.close();
  const out = await child.output();
  if (!out.success) {
    throw new Error(
      `nft -f in ${ns} failed: ${new TextDecoder().decode(out.stderr).trim()}\n${rules}`,
    );
  }
}

async function run(cmd: string, args: string[]): Promise<string> {
  const r = await runCommand(cmd, { args }, 20_000);
  if (r.code !== 0) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed (exit ${r.code}): ${(r.stderr + r.stdout).trim()}`,
    );
  }
  return r.stdout;
}
