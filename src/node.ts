/**
 * A tailnet node in one object, like Go's tsnet: state, the IPN backend, the control client
 * and the data plane (DERP, WireGuard, the userspace TCP/UDP stack). The daemon serves one
 * over its LocalAPI; a Deno program uses one directly to join a tailnet, dial and listen.
 *
 * Every resource belongs to the node: several nodes run in one process, and `close()` stops
 * each cleanly.
 * @module
 */
import { Logger } from "./engine/base/logger.ts";
import { TailnetError } from "./engine/base/errors.ts";
import { createControlClient } from "./engine/control/mod.ts";
import type { Hostinfo } from "./engine/control/types.ts";
import type { PingKind, PingResult } from "./engine/engine.ts";
import { PING_TIMEOUT_MS } from "./engine/ping/constants.ts";
import { generatePrivate, publicOf } from "./engine/key/keys.ts";
import type { Resolver } from "./engine/proxy/netmap_resolver.ts";
import { isTailnetIp } from "./engine/proxy/netmap_resolver.ts";
import type { ProxyServers, ProxyServersOptions } from "./engine/proxy/mod.ts";
import type { StackConn, TcpListener, UdpSocket } from "./engine/stack/mod.ts";
import { Backend } from "./ipn/backend.ts";
import { EngineLink, type EngineLinkOptions } from "./ipn/engine_link.ts";
import { NotifyWatchOpt } from "./ipn/notify_bus.ts";
import { defaultPrefs } from "./ipn/prefs.ts";
import { FileStateStore, MemoryStateStore, type StateStore } from "./ipn/state_store.ts";
import type { StatusJson } from "./ipn/status.ts";
import { TAILNET_VERSION } from "./version.ts";

/** Options for {@linkcode TailnetNode.open}. */
export interface TailnetNodeOptions {
  /** Where keys and prefs live; omitted or null keeps everything in memory (an ephemeral node). */
  stateDir?: string | null;
  /** Logger; default: warnings and errors on stderr. */
  log?: Logger;
  /** What to tell control about this machine; default: from the OS. */
  hostinfo?: Hostinfo;
  /**
   * Forward inbound TCP/UDP to 127.0.0.1 on the same port, as tailscaled in userspace mode.
   * Default false for a library node (it listens itself); the daemon turns it on.
   */
  forwardToLoopback?: boolean;
  /** Plain-HTTP DERP (the `TS_DEBUG_USE_DERP_HTTP` knob). */
  derpUseHttp?: boolean;
  /** Test knob: WireGuard timings. */
  wgTimings?: EngineLinkOptions["wgTimings"];
  /**
   * The UDP port for direct paths to peers: 0 (the default) picks a free one; the daemon asks
   * for 41641 as tailscaled does; null opens none, so every packet goes through DERP.
   */
  listenPort?: number | null;
  /** Standing health warnings to show in status. */
  health?: readonly string[];
  /**
   * SOCKS5 and HTTP proxies into the tailnet (`--socks5-server`,
   * `--outbound-http-proxy-listen`); they dial through the node's stack and live as long as
   * the node, across logins.
   */
  proxies?: Pick<ProxyServersOptions, "socks5" | "http" | "socks5Credentials">;
}

/** Options for {@linkcode TailnetNode.up}. */
export interface UpOptions {
  /** The control server, e.g. `http://127.0.0.1:8080` (headscale) or Tailscale's. */
  controlUrl: string;
  /** A pre-auth key; needed unless this state directory is already logged in. */
  authKey?: string;
  /** The hostname to register with; default the OS's. */
  hostname?: string;
  /** How long to wait for Running; default 30 s. */
  timeoutMs?: number;
}

/** A node could not come up, or an operation needs it running. */
export class NodeError extends TailnetError {
  /** @param message one line */
  constructor(message: string) {
    super("node", message);
    this.name = "NodeError";
  }
}

/**
 * One tailnet node.
 *
 * @example Join a tailnet and fetch from a peer (needs a control server and a peer)
 * ```ts ignore
 * import { TailnetNode } from "./mod.ts";
 * await using node = await TailnetNode.open({ stateDir: "/tmp/tn-demo" });
 * await node.up({ controlUrl: "http://127.0.0.1:8080", authKey: "hskey-auth-…", hostname: "app" });
 * const conn = await node.dial("peer-name", 80);
 * ```
 */
export class TailnetNode implements AsyncDisposable {
  /** The IPN backend (prefs, login state, status). */
  readonly backend: Backend;
  /** The data plane. */
  readonly link: EngineLink;
  /** Where state lives ("memory" or the state file's path). */
  readonly stateLocation: string;
  /** The proxies asked for in {@linkcode TailnetNodeOptions.proxies}, or null. */
  readonly proxies: ProxyServers | null;
  readonly #resolver: Resolver;
  #closed = false;

  private constructor(
    backend: Backend,
    link: EngineLink,
    stateLocation: string,
    proxies: ProxyServers | null,
  ) {
    this.backend = backend;
    this.link = link;
    this.stateLocation = stateLocation;
    this.proxies = proxies;
    this.#resolver = magicDnsNames(link);
  }

  /**
   * Loads (or creates) the node's state and builds its layers. Nothing is sent to any server
   * until {@linkcode TailnetNode.up} (or a LocalAPI `start`).
   * @param opts state directory, logger and knobs
   * @returns the node
   */
  static async open(opts: TailnetNodeOptions = {}): Promise<TailnetNode> {
    const log = opts.log ?? new Logger({ verbosity: -1 });
    let store: StateStore;
    if (opts.stateDir) {
      await Deno.mkdir(opts.stateDir, { recursive: true, mode: 0o700 });
      store = new FileStateStore(opts.stateDir);
    } else {
      store = new MemoryStateStore();
    }
    // Disco keys are per process, as in Go: a new one each time a node opens.
    const discoKey = generatePrivate("disco");
    const link = new EngineLink({
      discoKey,
      log: log.child("engine"),
      derpDial: { useHttp: opts.derpUseHttp ?? false },
      wgTimings: opts.wgTimings,
      forwardToLoopback: opts.forwardToLoopback ?? false,
      listenPort: opts.listenPort === undefined ? 0 : opts.listenPort,
    });
    let backend: Backend;
    try {
      backend = await Backend.open({
        store,
        controlClientFactory: createControlClient,
        discoKey: publicOf(discoKey),
        hostinfo: opts.hostinfo ?? osHostinfo(),
        log: log.child("ipn"),
        // Starting becomes Running once the home DERP region is connected.
        engineLive: () => link.live,
        decoratePeer: (node, ps) => link.decoratePeer(node, ps),
        engineStats: () => link.stats(),
        health: opts.health ?? [],
        version: TAILNET_VERSION,
      });
    } catch (err) {
      await link.close();
      throw err;
    }
    let proxies: ProxyServers | null = null;
    if (opts.proxies?.socks5 !== undefined || opts.proxies?.http !== undefined) {
      try {
        // Loaded only when asked for: most nodes run no proxy, and the proxies' code is about
        // 1 MiB of resident memory (source, bytecode) in a node that never uses it.
        const { ProxyServers } = await import("./engine/proxy/proxy_servers.ts");
        proxies = ProxyServers.start({
          ...opts.proxies,
          tailnet: link,
          netmap: () => backend.netmap,
          resolver: magicDnsNames(link),
          log,
        });
      } catch (err) {
        await backend.close();
        await link.close();
        throw err;
      }
    }
    link.attach(backend);
    return new TailnetNode(backend, link, store.location, proxies);
  }

  /**
   * Joins the tailnet (or rejoins with the saved keys) and waits until Running.
   * @param opts control server, auth key, hostname, timeout
   */
  async up(opts: UpOptions): Promise<void> {
    const prefs = { ...defaultPrefs(), ...this.backend.prefs() };
    prefs.ControlURL = opts.controlUrl;
    prefs.WantRunning = true;
    prefs.LoggedOut = false;
    if (opts.hostname !== undefined) prefs.Hostname = opts.hostname;
    const running = this.#waitRunning(opts.timeoutMs ?? 30_000);
    try {
      await this.backend.start({ authKey: opts.authKey ?? "", updatePrefs: prefs });
      if (this.backend.persist().privateNodeKey === null) this.backend.startLoginInteractive();
    } catch (err) {
      running.cancel();
      throw err;
    }
    await running.promise;
  }

  /** The backend state: NoState, NeedsLogin, NeedsMachineAuth, Starting, Running or Stopped. */
  get state(): string {
    return this.backend.state;
  }

  /** Our Tailscale addresses (IPv4 first), empty before the first netmap. */
  ips(): string[] {
    return this.backend.netmap?.self.addresses.map((a) => a.split("/")[0]) ?? [];
  }

  /** `ipnstate.Status` JSON, as `tailnet status --json` shows it. */
  status(): StatusJson {
    return this.backend.status();
  }

  /**
   * Opens a TCP connection to a peer by Tailscale IP or MagicDNS name (`peer`,
   * `peer.tailnet.example.`), or to an address a peer routes for us (an accepted subnet route
   * with `RouteAll`, or anything through the chosen exit node: prefs `ExitNodeIP`/`ExitNodeID`,
   * set with `backend.editPrefs`), through the userspace stack.
   * @param host a tailnet IP, a name from the netmap, or a routed IP
   * @param port the port
   * @param signal gives up
   * @returns the connection (`readable`, `writable`, `close()`)
   * @throws {NodeError} for an address neither in the tailnet nor routed by a peer
   */
  dial(host: string, port: number, signal?: AbortSignal): Promise<StackConn> {
    const ip = this.#resolve(host);
    if (!isTailnetIp(ip) && !this.link.routesTo(ip)) {
      return Promise.reject(
        new NodeError(
          `${ip} is not a tailnet address and no peer routes it (accept routes or choose an exit node)`,
        ),
      );
    }
    return this.link.dialTcp(ip, port, signal);
  }

  /**
   * Listens for TCP connections to our Tailscale addresses.
   * @param port the port
   * @returns the listener (`accept()`, async iteration, `close()`)
   */
  listen(port: number): TcpListener {
    return this.link.listenTcp(port);
  }

  /**
   * A UDP socket on our Tailscale addresses.
   * @param port 0 for an ephemeral port
   * @returns the socket
   */
  listenUdp(port = 0): UdpSocket {
    return this.link.listenUdp(port);
  }

  /**
   * Pings a peer (disco over DERP, or TSMP / ICMP through WireGuard).
   * @param host a tailnet IP or a name from the netmap
   * @param kind how
   * @param timeoutMs how long to wait
   * @returns the result; `Err` is set on failure
   */
  ping(host: string, kind: PingKind = "disco", timeoutMs = PING_TIMEOUT_MS): Promise<PingResult> {
    return this.link.ping(this.#resolve(host), kind, timeoutMs);
  }

  /** Stops the proxies, the control client and the data plane. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.proxies?.close();
    await this.backend.close();
    await this.link.close();
  }

  /** Same as {@linkcode TailnetNode.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #resolve(host: string): string {
    if (/^[0-9.]+$/.test(host) || host.includes(":")) return host;
    const ip = this.#resolver.resolve(host);
    if (ip === null) throw new NodeError(`no peer named ${JSON.stringify(host)} in the netmap`);
    return ip;
  }

  #waitRunning(timeoutMs: number): { promise: Promise<void>; cancel: () => void } {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    let unwatch = () => {};
    const timer = setTimeout(() => {
      unwatch();
      reject(
        new NodeError(
          `not Running after ${timeoutMs} ms (state ${this.backend.state}${this.#why()})`,
        ),
      );
    }, timeoutMs);
    const check = () => {
      if (this.backend.state === "Running") {
        clearTimeout(timer);
        unwatch();
        resolve();
      }
    };
    unwatch = this.backend.watch(NotifyWatchOpt.InitialState, check, () => {
      clearTimeout(timer);
      reject(new NodeError("node closed while coming up"));
    });
    check();
    return {
      promise,
      cancel: () => {
        clearTimeout(timer);
        unwatch();
        promise.catch(() => {});
        reject(new NodeError("cancelled"));
      },
    };
  }

  #why(): string {
    const health = this.backend.health();
    return health.length ? `: ${health.join("; ")}` : "";
  }
}

/**
 * Hostinfo from the OS, with Go's names for the OS and architecture.
 * @returns the Hostinfo
 */
export function osHostinfo(): Hostinfo {
  const os = Deno.build.os === "darwin" ? "macOS" : Deno.build.os;
  const arch = Deno.build.arch === "x86_64"
    ? "amd64"
    : Deno.build.arch === "aarch64"
    ? "arm64"
    : Deno.build.arch;
  let hostname = "tailnet";
  let osVersion: string | undefined;
  try {
    hostname = Deno.hostname();
  } catch { /* no permission: a fixed name */ }
  try {
    osVersion = Deno.osRelease();
  } catch { /* optional */ }
  return {
    IPNVersion: TAILNET_VERSION,
    OS: os,
    ...(osVersion ? { OSVersion: osVersion } : {}),
    Hostname: hostname,
    Package: "tailnet",
    GoArch: arch,
  };
}

/** Tailnet names as the engine's MagicDNS resolver knows them (none while there is no engine). */
function magicDnsNames(link: EngineLink): Resolver {
  return { resolve: (host) => link.engine?.dns.resolve(host) ?? null };
}
