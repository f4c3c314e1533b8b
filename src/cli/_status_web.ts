/**
 * `tailnet status --web`: a live status page on localhost. The page is static; its script
 * polls `/api/status` once a second, which this process answers from the daemon's LocalAPI
 * `status`, so peers appear and paths change without a reload. A thin LocalAPI client like
 * the rest of the CLI: no engine here.
 * @module
 */
import { UsageError } from "../engine/base/errors.ts";
import { LocalApiClient } from "../localapi/client.ts";
import type { PeerStatusJson, StatusJson } from "../ipn/status.ts";
import type { CommandContext } from "./command.ts";

/** One row of the page: this node or a peer. */
export interface WebNode {
  /** Hostname. */
  name: string;
  /** MagicDNS name without the trailing dot. */
  dnsName: string;
  /** Tailscale addresses. */
  ips: string[];
  /** OS as the node reports it. */
  os: string;
  /** Online as control says; null when unknown. */
  online: boolean | null;
  /** How traffic reaches it: `direct 1.2.3.4:41641`, `DERP(region)`, `self`, or `-`. */
  path: string;
  /** Bytes received from / sent to it. */
  rxBytes: number;
  /** Bytes sent. */
  txBytes: number;
}

/** What `/api/status` answers. */
export interface WebStatus {
  /** `BackendState`. */
  backendState: string;
  /** The tailnet's name, or "". */
  tailnet: string;
  /** This node, or null before login. */
  self: WebNode | null;
  /** Peers, sorted by name. */
  peers: WebNode[];
  /** Health warnings. */
  health: string[];
  /** Set when the daemon could not be asked. */
  error?: string;
}

/**
 * The page's view of a LocalAPI status.
 * @param st the status
 * @returns self and peers with their paths
 */
export function webStatus(st: StatusJson): WebStatus {
  const node = (p: PeerStatusJson, isSelf: boolean): WebNode => ({
    name: p.HostName,
    dnsName: p.DNSName.replace(/\.$/, ""),
    ips: p.TailscaleIPs ?? [],
    os: p.OS,
    online: isSelf ? true : p.Online ?? null,
    path: isSelf ? "self" : p.CurAddr ? `direct ${p.CurAddr}` : p.Relay ? `DERP(${p.Relay})` : "-",
    rxBytes: p.RxBytes,
    txBytes: p.TxBytes,
  });
  return {
    backendState: st.BackendState,
    tailnet: st.CurrentTailnet?.Name ?? "",
    self: st.Self && st.BackendState !== "NeedsLogin" && st.BackendState !== "NoState"
      ? node(st.Self, true)
      : null,
    peers: Object.values(st.Peer ?? {}).map((p) => node(p, false)).sort((a, b) =>
      a.name.localeCompare(b.name)
    ),
    health: st.Health ?? [],
  };
}

/**
 * Parses `--listen host:port` (`[v6]:port` for IPv6).
 * @param text the flag's value
 * @returns host and port
 */
export function parseListen(text: string): { hostname: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (m === null || port > 65535) {
    throw new UsageError(`invalid value "${text}" for flag --listen: want host:port`);
  }
  return { hostname: m[1] ?? m[2], port };
}

/**
 * Serves the page until `signal` aborts.
 * @param socketPath the daemon's LocalAPI socket
 * @param listen where to listen
 * @param signal stops the server
 * @returns the URL it serves, and a promise that settles when it stops
 */
export function serveStatusWeb(
  socketPath: string,
  listen: { hostname: string; port: number },
  signal: AbortSignal,
): { url: string; finished: Promise<void> } {
  const client = new LocalApiClient(socketPath);
  let allowedHosts = new Set<string>();
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: listen.hostname,
      port: listen.port,
      signal,
      onListen: () => {},
      onError: () => new Response("internal error", { status: 500 }),
    }, async (req) => {
      // A page elsewhere must not read the tailnet's names through a DNS name that points
      // here (DNS rebinding): only the names of this address are served.
      if (!allowedHosts.has(req.headers.get("host") ?? "")) {
        return new Response("forbidden: wrong Host\n", { status: 403 });
      }
      if (req.method !== "GET" && req.method !== "HEAD") {
        return new Response("use GET\n", { status: 405 });
      }
      const path = new URL(req.url).pathname;
      if (path === "/") {
        return new Response(PAGE, {
          headers: { ...PAGE_HEADERS, "content-type": "text/html; charset=utf-8" },
        });
      }
      if (path === "/api/status") {
        let body: WebStatus;
        try {
          body = webStatus(await client.json<StatusJson>("GET", "status"));
        } catch (err) {
          body = {
            backendState: "",
            tailnet: "",
            self: null,
            peers: [],
            health: [],
            error: err instanceof Error ? err.message : String(err),
          };
        }
        return Response.json(body, { headers: { ...PAGE_HEADERS, "cache-control": "no-store" } });
      }
      return new Response("not found\n", { status: 404 });
    });
  } catch (err) {
    if (err instanceof Deno.errors.AddrInUse) {
      throw new UsageError(`--listen ${listen.hostname}:${listen.port}: address already in use`);
    }
    throw err;
  }
  const { hostname, port } = server.addr;
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  allowedHosts = new Set([`${host}:${port}`, `localhost:${port}`]);
  return { url: `http://${host}:${port}/`, finished: server.finished };
}

/**
 * Runs `status --web`: serves until SIGINT or SIGTERM, printing the URL to open.
 * @param ctx the command's context (socket, output)
 * @param listen where to listen
 * @returns exit code 0 once interrupted
 */
export async function runStatusWeb(
  ctx: CommandContext,
  listen: { hostname: string; port: number },
): Promise<number> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  try {
    const { url, finished } = serveStatusWeb(ctx.socketPath, listen, stop.signal);
    ctx.out(`Serving tailnet status at ${url}`);
    await finished;
    return 0;
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
  }
}

const PAGE_HEADERS = {
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "content-security-policy":
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
};

/** The page: a table filled from `/api/status` by DOM calls (no HTML from data). */
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>tailnet status</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; }
th, td { text-align: left; padding: 4px 12px; border-bottom: 1px solid #ddd; }
.offline { color: #999; }
#error { color: #b00; }
</style>
</head>
<body>
<h1>tailnet status</h1>
<p id="state">loading…</p>
<p id="error"></p>
<table>
<thead><tr><th>name</th><th>addresses</th><th>OS</th><th>path</th><th>rx / tx</th></tr></thead>
<tbody id="nodes"></tbody>
</table>
<ul id="health"></ul>
<script>
"use strict";
function row(n, kind) {
  const tr = document.createElement("tr");
  tr.dataset.kind = kind;
  tr.dataset.name = n.name;
  if (n.online === false) tr.className = "offline";
  for (const text of [n.name + (kind === "self" ? " (this node)" : ""), n.ips.join(", "), n.os,
      n.path, n.rxBytes + " / " + n.txBytes]) {
    const td = document.createElement("td");
    td.textContent = text;
    tr.appendChild(td);
  }
  return tr;
}
async function refresh() {
  try {
    const r = await fetch("/api/status", { cache: "no-store" });
    const st = await r.json();
    document.getElementById("error").textContent = st.error || "";
    document.getElementById("state").textContent =
      st.backendState + (st.tailnet ? " on " + st.tailnet : "");
    const rows = [];
    if (st.self) rows.push(row(st.self, "self"));
    for (const p of st.peers) rows.push(row(p, "peer"));
    document.getElementById("nodes").replaceChildren(...rows);
    const health = st.health.map((h) => {
      const li = document.createElement("li");
      li.textContent = h;
      return li;
    });
    document.getElementById("health").replaceChildren(...health);
  } catch (e) {
    document.getElementById("error").textContent = "cannot reach tailnet status: " + e;
  }
}
refresh();
setInterval(refresh, 1000);
</script>
</body>
</html>
`;
