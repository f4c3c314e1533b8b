/**
 * `tailnet daemon`: the long-running node. It owns the state directory (an exclusive lock on
 * it: a second daemon there refuses, naming the first's PID) and serves the LocalAPI on a Unix
 * socket until SIGINT or SIGTERM.
 * @module
 */
import { resolve } from "node:path";
import { Logger } from "../engine/base/logger.ts";
import { UsageError } from "../engine/base/errors.ts";
import { jsonResponse, type LocalApiHandler, LocalApiServer } from "../localapi/server.ts";
import { localApiRoutes } from "../localapi/routes.ts";
import { parseListenAddr } from "../engine/proxy/listen_addr.ts";
import { DnsHostListener } from "../engine/dns/mod.ts";
import { DEFAULT_LISTEN_PORT } from "../engine/magicsock/constants.ts";
import { TailnetNode } from "../node.ts";
import { TAILNET_VERSION } from "../version.ts";
import { type Command, parseFlags, parseIntFlag } from "./command.ts";
import { defaultStateDir } from "./paths.ts";
import { lockStateDir } from "./_state_dir_lock.ts";
import {
  type ConfigAlpha0,
  configAuthKey,
  ConfigFileError,
  configLocked,
  configToMaskedPrefs,
  configWantsRunning,
  loadConfigFile,
} from "../ipn/conffile.ts";

const DAEMON_FLAGS = {
  statedir: { type: "string" },
  state: { type: "string" },
  socket: { type: "string" },
  port: { type: "string" },
  "socks5-server": { type: "string" },
  "outbound-http-proxy-listen": { type: "string" },
  "dns-listen": { type: "string" },
  config: { type: "string" },
  verbose: { type: "string" },
} as const;

const PROXY_FLAGS = ["socks5-server", "outbound-http-proxy-listen", "dns-listen"] as const;

/** The `daemon` command. */
export const daemonCommand: Command = {
  name: "daemon",
  summary: "Run the tailnet node (the daemon) in the foreground",
  usage: `tailnet daemon [flags]

Runs the node in the foreground and serves the LocalAPI that the other commands use.

  --statedir DIR     where keys and prefs live (default ${defaultStateDir()})
  --state mem:       keep state in memory only
  --socket PATH      the LocalAPI socket (default: the global --socket)
  --port N           UDP port for WireGuard, disco and STUN (default 41641; 0 picks one;
                     TS_DEBUG_NEVER_DIRECT_UDP=1 opens none: DERP only)
  --socks5-server ADDR            SOCKS5 proxy (CONNECT, UDP ASSOCIATE) into the tailnet
  --outbound-http-proxy-listen ADDR  HTTP proxy (CONNECT, absolute URIs) into the tailnet
                     The SOCKS5 proxy takes clients without credentials from loopback only;
                     TAILNET_SOCKS5_USER and TAILNET_SOCKS5_PASSWORD (both) make every client
                     authenticate (RFC 1929) instead, from any address.
  --dns-listen ADDR  serve MagicDNS (what 100.100.100.100 answers) on the host, UDP and TCP,
                     e.g. 127.0.0.1:5353 for 'dig @127.0.0.1 -p 5353 peer.tailnet'
  --config FILE      tailscaled's declarative config ("version": "alpha0", JSON or HuJSON):
                     Enabled, ServerURL, AuthKey (a key or file:PATH), Hostname,
                     acceptRoutes, acceptDNS, AdvertiseRoutes, ShieldsUp, Locked, ...,
                     merged over the saved prefs; the node logs in with no 'up'. The
                     LocalAPI's reload-config applies a changed file. Beyond tailscaled:
                     "LocalDNSRecords": [{"Name", "Type": "A"|"AAAA"|"", "Value"}]
                     adds names MagicDNS answers on this node alone.
  --verbose N        log verbosity: 0, 1 or 2`,
  async run(args, ctx) {
    const { values } = parseFlags(args, DAEMON_FLAGS);
    const verbosity = values.verbose === undefined ? 0 : parseIntFlag("verbose", values.verbose);
    if (verbosity > 2) {
      throw new UsageError(`invalid value "${values.verbose}" for flag --verbose: want 0, 1 or 2`);
    }
    // TS_DEBUG_NEVER_DIRECT_UDP=1, tailscaled's knob: no UDP socket, every packet via DERP.
    let listenPort: number | null = Deno.env.get("TS_DEBUG_NEVER_DIRECT_UDP") === "1"
      ? null
      : DEFAULT_LISTEN_PORT;
    if (values.port !== undefined) {
      const port = parseIntFlag("port", values.port);
      if (port > 65535) {
        throw new UsageError(`invalid value "${values.port}" for flag --port: out of range`);
      }
      if (listenPort !== null) listenPort = port;
    }
    for (const flag of PROXY_FLAGS) {
      const v = values[flag];
      if (v !== undefined) usageOnTypeError(() => parseListenAddr(flag, v));
    }
    const credentials = socks5Credentials();
    // As tailscaled: a bad config fails before anything else starts.
    const configPath = values.config === undefined ? null : resolve(values.config);
    const config = configPath === null ? null : await loadConfigFile(configPath);
    // Read once now so that an unreadable key file fails here; the backend reads it again
    // whenever it starts without a key.
    if (config !== null) {
      await configAuthKey(config);
      configToMaskedPrefs(config);
    }
    if (values.state !== undefined && values.state !== "mem:") {
      throw new UsageError(
        `invalid value "${values.state}" for flag --state: only "mem:" is supported; use --statedir`,
      );
    }
    const log = new Logger({ verbosity });
    const socketPath = resolve(values.socket ?? ctx.socketPath);
    const memoryOnly = values.state === "mem:";
    const stateDir = memoryOnly ? null : resolve(values.statedir ?? defaultStateDir());
    if (stateDir !== null) await Deno.mkdir(stateDir, { recursive: true, mode: 0o700 });
    // Before anything else touches the state: a second daemon refuses here, naming the first.
    using _lock = stateDir === null ? null : await lockStateDir(stateDir);

    // Signals first: a SIGTERM that arrives while starting up still shuts down cleanly.
    const stop = Promise.withResolvers<string>();
    const onSignal = (name: string) => () => stop.resolve(name);
    const handlers: [Deno.Signal, () => void][] = [
      ["SIGINT", onSignal("SIGINT")],
      ["SIGTERM", onSignal("SIGTERM")],
    ];
    for (const [sig, h] of handlers) Deno.addSignalListener(sig, h);
    using _signals = { [Symbol.dispose]: () => removeSignals(handlers) };
    // Listen first: a second daemon on the same socket must fail before it touches state.
    // Until the backend has loaded its state, status answers NoState and the rest 404.
    const routes = new Map<string, LocalApiHandler>([
      ["status", () => jsonResponse({ Version: TAILNET_VERSION, BackendState: "NoState" })],
    ]);
    await using server = await LocalApiServer.listen({
      socketPath,
      routes,
      log: log.child("localapi"),
    });
    await using node = await TailnetNode.open({
      stateDir,
      log,
      // As tailscaled in userspace mode: inbound connections go to 127.0.0.1:<port>.
      forwardToLoopback: true,
      derpUseHttp: Deno.env.get("TS_DEBUG_USE_DERP_HTTP") === "1",
      wgTimings: debugWgTimings(),
      listenPort,
      proxies: {
        socks5: values["socks5-server"],
        http: values["outbound-http-proxy-listen"],
        socks5Credentials: credentials,
      },
    });
    const { backend, link: engineLink } = node;
    const reloadConfig = configPath === null ? undefined : async () => {
      const c = await loadConfigFile(configPath);
      await applyConfig(backend, c);
      engineLink.setLocalDnsRecords(c.localDnsRecords ?? []);
      log.info(`config reloaded from ${configPath}`);
    };
    const deps = { backend, version: TAILNET_VERSION, dataPlane: engineLink, reloadConfig };
    for (const [name, handler] of localApiRoutes(deps)) routes.set(name, handler);
    const dnsListenFlag = values["dns-listen"];
    await using dnsListener = dnsListenFlag === undefined ? null : DnsHostListener.listen({
      ...parseListenAddr("dns-listen", dnsListenFlag),
      resolver: () => engineLink.engine?.dns ?? null,
      log: log.child("dns-listen"),
    });
    if (dnsListener !== null) {
      log.info(`MagicDNS on ${dnsListener.addr.hostname}:${dnsListener.addr.port} (UDP and TCP)`);
    }
    const proxies = node.proxies;
    if (proxies?.socks5) {
      log.info(`SOCKS5 server on ${proxies.socks5.addr.hostname}:${proxies.socks5.addr.port}`);
    }
    if (proxies?.http) {
      log.info(`HTTP proxy on ${proxies.http.addr.hostname}:${proxies.http.addr.port}`);
    }
    log.info(`tailnet ${TAILNET_VERSION} daemon running`);
    log.info(
      `state: ${
        node.stateLocation === "memory" ? "in memory only (--state mem:)" : node.stateLocation
      }`,
    );
    log.info(`LocalAPI socket: ${server.socketPath}`);
    log.info(`try: tailnet --socket ${server.socketPath} status`);
    // A state file that cannot be read keeps the daemon serving NoState, config or not.
    if (config !== null) engineLink.setLocalDnsRecords(config.localDnsRecords ?? []);
    if (config !== null && backend.healthy) {
      await applyConfig(backend, config);
      log.info(`config: ${configPath}`);
    }
    if (backend.healthy) {
      try {
        await backend.start(
          config === null ? {} : { loginWithoutNodeKey: configWantsRunning(config) },
        );
      } catch (err) {
        log.warn(`not starting: ${err instanceof Error ? err.message : err}`);
      }
    }

    const why = await stop.promise;
    log.info(`${why}: shutting down`);
    // The backend closes first: that ends watch-ipn-bus streams, which the server waits for.
    await backend.close();
    return 0;
  },
};

/** Merges a config's prefs over the current ones; the config file is named on failure. */
async function applyConfig(backend: TailnetNode["backend"], config: ConfigAlpha0): Promise<void> {
  try {
    const authKey = config.authKey ? () => configAuthKey(config) : null;
    await backend.applyConfig(configToMaskedPrefs(config), configLocked(config), authKey);
  } catch (err) {
    throw new ConfigFileError(`error setting config: ${err instanceof Error ? err.message : err}`);
  }
}

/**
 * `TAILNET_DEBUG_REKEY_AFTER_SECONDS`: a test knob that shortens WireGuard's rekey-after-time
 * (normally 120 s) so that a short run crosses several rekeys. Unset in production.
 */
function debugWgTimings(): { rekeyAfterTimeMs: number } | undefined {
  const v = Deno.env.get("TAILNET_DEBUG_REKEY_AFTER_SECONDS");
  if (v === undefined || v === "") return undefined;
  const s = Number(v);
  if (!Number.isFinite(s) || s < 1 || s > 120) {
    throw new UsageError(`invalid TAILNET_DEBUG_REKEY_AFTER_SECONDS "${v}": want 1 to 120`);
  }
  return { rekeyAfterTimeMs: s * 1000 };
}

/**
 * SOCKS5 credentials from `TAILNET_SOCKS5_USER` and `TAILNET_SOCKS5_PASSWORD`: environment,
 * not flags, so the password does not show in the process list. Both or neither.
 */
function socks5Credentials(): { username: string; password: string } | undefined {
  const username = Deno.env.get("TAILNET_SOCKS5_USER") ?? "";
  const password = Deno.env.get("TAILNET_SOCKS5_PASSWORD") ?? "";
  if (username === "" && password === "") return undefined;
  if (username === "" || password === "") {
    throw new UsageError("set both TAILNET_SOCKS5_USER and TAILNET_SOCKS5_PASSWORD, or neither");
  }
  if (
    new TextEncoder().encode(username).length > 255 ||
    new TextEncoder().encode(password).length > 255
  ) {
    throw new UsageError(
      "TAILNET_SOCKS5_USER and TAILNET_SOCKS5_PASSWORD are at most 255 bytes each",
    );
  }
  return { username, password };
}

function usageOnTypeError(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (err instanceof TypeError) throw new UsageError(err.message);
    throw err;
  }
}

function removeSignals(handlers: [Deno.Signal, () => void][]): void {
  for (const [sig, h] of handlers) Deno.removeSignalListener(sig, h);
}
