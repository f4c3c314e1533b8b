/**
 * What `tailnet up` and `tailnet login` share, in the order of Go's `runUp`: read status and
 * prefs, build prefs from the flags, refuse flag changes that would silently reset settings,
 * open `watch-ipn-bus` before changing anything, then `start` (and `login-interactive` when
 * there is no node key or a re-login is forced), and wait on the bus until Running.
 * @module
 */
import { UsageError } from "../engine/base/errors.ts";
import type { JsonLineStream } from "../localapi/client.ts";
import { LocalApiClient } from "../localapi/client.ts";
import {
  DEFAULT_CONTROL_URL,
  defaultPrefs,
  isLoginServerSynonym,
  type MaskedPrefs,
  type Prefs,
  type PrefsJson,
  validatePrefs,
} from "../ipn/prefs.ts";
import type { StatusJson } from "../ipn/status.ts";
import { checkUpFlags, formatFlagArg } from "../ipn/up_check.ts";
import { exitNodeIp } from "./set.ts";
import type { CommandContext, GoFlag, GoFlags } from "./command.ts";
import { parseDurationFlag } from "./command.ts";

/** `ipn.State` numbers the flow waits for. */
const STATE_NEEDS_MACHINE_AUTH = 3;
const STATE_RUNNING = 6;

/** Flags of `up` that set prefs (Go names). */
export const UP_PREF_FLAG_SPEC: Record<string, GoFlag> = {
  "login-server": { type: "string" },
  "accept-routes": { type: "bool" },
  "accept-dns": { type: "bool" },
  "shields-up": { type: "bool" },
  "advertise-tags": { type: "string" },
  hostname: { type: "string" },
  "advertise-routes": { type: "string" },
  "advertise-exit-node": { type: "bool" },
  "exit-node": { type: "string" },
  "exit-node-allow-lan-access": { type: "bool" },
};

/** Flags of `up` and `login` that do not set prefs. */
export const UP_OTHER_FLAG_SPEC: Record<string, GoFlag> = {
  "auth-key": { type: "string", aliases: ["authkey"] },
  timeout: { type: "string" },
  qr: { type: "bool" },
  json: { type: "bool" },
};

/** Which flow: `up` keeps settings and checks flags; `login` always logs in afresh. */
export type UpMode = "up" | "login";

/** The pref flags' part of `up`'s usage text. */
export const UP_FLAGS_USAGE =
  `  --login-server URL       base URL of control server (default ${DEFAULT_CONTROL_URL})
  --auth-key KEY           node authorization key; "file:PATH" reads it from a file
                           (also --authkey)
  --hostname NAME          hostname to use instead of the one provided by the OS
  --advertise-tags TAGS    comma-separated ACL tags to request ("tag:" optional)
  --advertise-routes LIST  routes to advertise (CIDRs, comma-separated); sent to control
  --advertise-exit-node    offer to be an exit node (relays peers' traffic to the host's network)
  --exit-node IP|NAME      exit node to use for non-tailnet traffic ("" for none)
  --exit-node-allow-lan-access
                           allow direct access to the local network via an exit node
  --accept-routes          accept subnet routes from peers
  --accept-dns             accept DNS configuration (default true; stored)
  --shields-up             don't allow incoming connections
  --timeout DUR            how long to wait for Running (default 0: forever)
  --qr                     show a QR code for the login URL
  --json                   print JSON objects instead of text`;

/**
 * Builds the prefs the flags ask for (Go's `prefsFromUpArgs`).
 * @param f parsed flags
 * @returns prefs
 * @throws {Error} one line for a bad hostname, tag or route
 */
export function prefsFromFlags(f: GoFlags, st?: StatusJson): Prefs {
  const str = (n: string) => (f.values.get(n) as string | undefined) ?? "";
  const bool = (n: string, d: boolean) => (f.values.get(n) as boolean | undefined) ?? d;
  const p = defaultPrefs();
  p.ControlURL = str("login-server") || DEFAULT_CONTROL_URL;
  p.WantRunning = true;
  p.RouteAll = bool("accept-routes", false);
  p.CorpDNS = bool("accept-dns", true);
  p.ShieldsUp = bool("shields-up", false);
  p.Hostname = str("hostname");
  const tags = str("advertise-tags");
  p.AdvertiseTags = tags === ""
    ? null
    : tags.split(",").map((t) => (t.includes(":") ? t : `tag:${t}`));
  const routes = str("advertise-routes").split(",").filter((r) => r !== "");
  if (bool("advertise-exit-node", false)) routes.push("0.0.0.0/0", "::/0");
  p.AdvertiseRoutes = routes.length ? routes : null;
  const exitNode = str("exit-node");
  if (exitNode !== "" && st !== undefined) p.ExitNodeIP = exitNodeIp(exitNode, st);
  else if (exitNode !== "") p.ExitNodeIP = exitNode;
  p.ExitNodeAllowLANAccess = bool("exit-node-allow-lan-access", false);
  const errs = validatePrefs(p);
  if (errs.length) throw new Error(errs[0]);
  return p;
}

async function resolveAuthKey(v: string): Promise<string> {
  if (!v.startsWith("file:")) return v;
  const path = v.slice(5);
  try {
    return (await Deno.readTextFile(path)).trim();
  } catch (err) {
    throw new Error(
      `cannot read auth key file ${path}: ${err instanceof Error ? err.message : err}`,
    );
  }
}

/**
 * Runs `up` or `login`.
 * @param mode which command
 * @param f parsed flags (pref flags, other flags, and for `up` --reset/--force-reauth)
 * @param ctx output and socket
 * @returns exit code
 */
export async function runUp(mode: UpMode, f: GoFlags, ctx: CommandContext): Promise<number> {
  if (f.positionals.length) {
    throw new UsageError(`too many non-flag arguments: ${f.positionals[0]}`);
  }
  const client = new LocalApiClient(ctx.socketPath);
  const timeoutText = f.values.get("timeout") as string | undefined;
  const timeoutMs = timeoutText === undefined ? 0 : parseDurationFlag("timeout", timeoutText);
  const json = f.values.get("json") === true;
  const reset = mode === "login" || f.values.get("reset") === true;
  const forceReauth = mode === "login" || f.values.get("force-reauth") === true;
  const authKeyArg = (f.values.get("auth-key") as string | undefined) ?? "";

  const st = await client.json<StatusJson>("GET", "status");
  const origNodeKey = st.Self?.PublicKey ?? "";
  const origAuthUrl = st.AuthURL;
  const prefs = prefsFromFlags(f, st);
  const cur = await client.json<PrefsJson>("GET", "prefs");

  let simpleUp = false;
  if (!reset) {
    const r = checkUpFlags({
      newPrefs: prefs,
      curPrefs: cur,
      curLoginName: cur.Config?.UserProfile?.LoginName ?? "",
      backendState: st.BackendState,
      flagsGiven: new Set(f.given),
      explicitArgs: explicitArgs(f),
      command: "tailnet up",
    });
    if (r.kind === "missing") throw new Error(r.message);
    simpleUp = r.simpleUp;
  }
  const controlUrlChanged = cur.ControlURL !== prefs.ControlURL &&
    !(isLoginServerSynonym(cur.ControlURL) && isLoginServerSynonym(prefs.ControlURL));
  if (controlUrlChanged && st.BackendState === "Running" && !forceReauth) {
    throw new Error("can't change --login-server without --force-reauth");
  }
  const tagsChanged = JSON.stringify(cur.AdvertiseTags ?? null) !==
    JSON.stringify(prefs.AdvertiseTags ?? null);
  if (
    mode === "up" && st.BackendState === "Running" && !forceReauth && authKeyArg === "" &&
    !controlUrlChanged && !tagsChanged
  ) {
    // Already running: just edit the prefs the flags name (all of them with --reset).
    await client.call("PATCH", "prefs", maskedFromFlags(prefs, f, reset));
    return 0;
  }

  // NoNetMap: up waits for states and URLs only; a large netmap need not be sent and parsed.
  const watch = await client.openJsonLines("watch-ipn-bus?mask=8192");
  try {
    if (simpleUp) {
      await client.call("PATCH", "prefs", { WantRunning: true, WantRunningSet: true });
    } else {
      const check = await client.json<{ Error?: string }>("POST", "check-prefs", prefs);
      if (check.Error) throw new Error(check.Error);
      const authKey = await resolveAuthKey(authKeyArg);
      await client.call("POST", "start", { AuthKey: authKey, UpdatePrefs: prefs });
      if (forceReauth || !st.HaveNodeKey) await client.call("POST", "login-interactive");
    }
    return await waitRunning(watch, {
      ctx,
      client,
      json,
      qr: f.values.get("qr") === true,
      timeoutMs,
      hasAuthKey: authKeyArg !== "",
      forceReauth,
      origAuthUrl,
      origNodeKey: forceReauth && origNodeKey !== "" ? origNodeKey : null,
      controlUrl: prefs.ControlURL,
      backendState: st.BackendState,
    });
  } finally {
    watch.close();
  }
}

function explicitArgs(f: GoFlags): string[] {
  // Go's flag.Visit order: by flag name.
  return [...f.given].sort().map((name) => {
    const v = f.values.get(name)!;
    if (v === false) return `--${name}=false`;
    if (name === "auth-key") return "--auth-key=…";
    return formatFlagArg(name, v);
  });
}

function maskedFromFlags(prefs: Prefs, f: GoFlags, all: boolean): MaskedPrefs {
  const fields: Record<string, (keyof Prefs)[]> = {
    "login-server": ["ControlURL"],
    "accept-routes": ["RouteAll"],
    "accept-dns": ["CorpDNS"],
    "shields-up": ["ShieldsUp"],
    "advertise-tags": ["AdvertiseTags"],
    hostname: ["Hostname"],
    "advertise-routes": ["AdvertiseRoutes"],
    "advertise-exit-node": ["AdvertiseRoutes"],
    "exit-node": ["ExitNodeIP", "ExitNodeID"],
    "exit-node-allow-lan-access": ["ExitNodeAllowLANAccess"],
  };
  const m: Record<string, unknown> = { ...prefs, WantRunningSet: true };
  const names = all ? Object.keys(fields) : f.given;
  for (const name of names) for (const field of fields[name] ?? []) m[`${field}Set`] = true;
  return m as MaskedPrefs;
}

interface WaitOptions {
  ctx: CommandContext;
  client: LocalApiClient;
  json: boolean;
  qr: boolean;
  timeoutMs: number;
  hasAuthKey: boolean;
  forceReauth: boolean;
  origAuthUrl: string;
  /** With --force-reauth: wait also until our node key differs from this one. */
  origNodeKey: string | null;
  controlUrl: string;
  backendState: string;
}

async function waitRunning(watch: JsonLineStream, o: WaitOptions): Promise<number> {
  let printed = false;
  let lastUrl = "";
  let running = false;
  let waitingForKeyChange = o.origNodeKey !== null;
  let timedOut = false;
  const timer = o.timeoutMs > 0
    ? setTimeout(() => {
      timedOut = true;
      watch.close();
    }, o.timeoutMs)
    : undefined;
  try {
    for await (const value of watch) {
      const n = value as {
        ErrMessage?: string | null;
        State?: number | null;
        BrowseToURL?: string | null;
        SelfChange?: { Key?: string } | null;
      };
      if (n.ErrMessage) throw new Error(`backend error: ${n.ErrMessage}`);
      if (n.State === STATE_NEEDS_MACHINE_AUTH) {
        printed = true;
        const url = `${o.controlUrl.replace(/\/$/, "")}/admin/machines`;
        if (o.json) o.ctx.out(JSON.stringify({ BackendState: "NeedsMachineAuth" }, null, "  "));
        else if (url !== lastUrl) {
          lastUrl = url;
          o.ctx.err(`\nTo approve your machine, visit (as admin):\n\n\t${url}\n`);
        }
      }
      if (typeof n.State === "number") running = n.State === STATE_RUNNING;
      if (n.SelfChange?.Key && n.SelfChange.Key !== o.origNodeKey) waitingForKeyChange = false;
      if (running && !waitingForKeyChange) {
        if (o.json) o.ctx.out(JSON.stringify({ BackendState: "Running" }, null, "  "));
        else if (printed) o.ctx.err("Success.");
        return 0;
      }
      const url = n.BrowseToURL;
      if (url && !o.hasAuthKey && !(o.forceReauth && url === o.origAuthUrl) && url !== lastUrl) {
        printed = true;
        lastUrl = url;
        if (o.json) {
          o.ctx.out(
            JSON.stringify({ AuthURL: url, BackendState: o.backendState }, null, "\t"),
          );
        } else {
          o.ctx.err(`\nTo authenticate, visit:\n\n\t${url}\n`);
          // The QR encoder loads only when asked for: plain `up` does not pay for it.
          if (o.qr) await printQr(o.ctx, url);
        }
      }
    }
  } finally {
    clearTimeout(timer);
  }
  if (timedOut) {
    // Name the cause when the daemon knows one (control unreachable, not a control server).
    const st = await o.client.json<StatusJson>("GET", "status?peers=false").catch(() => null);
    const cause = st?.Health?.find((h) => h.startsWith("control:"));
    throw new Error(
      `timeout waiting for Tailscale service to enter a Running state` +
        (cause ? ` (${cause})` : `; check health with "tailnet status"`),
    );
  }
  throw new Error("the daemon closed the IPN bus before reaching Running");
}

async function printQr(ctx: CommandContext, url: string): Promise<void> {
  try {
    const { qrLines } = await import("./_qr_text.ts");
    for (const line of qrLines(url)) ctx.err(line);
  } catch (err) {
    ctx.err(`QR code error: ${err instanceof Error ? err.message : err}`);
  }
}
