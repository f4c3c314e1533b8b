/**
 * The LocalAPI routes over a real Unix socket, with a backend driven by the fake control
 * client: JSON shapes, the 2xx/4xx rules, and the watch-ipn-bus stream.
 */
import { assert, assertEquals, assertMatch, assertRejects } from "../engine/base/testing/assert.ts";
import { FakeControl, fakeNetmap } from "../ipn/testing/fake_control.ts";
import { Logger } from "../engine/base/logger.ts";
import { generatePrivate, publicOf } from "../engine/key/keys.ts";
import { Backend } from "../ipn/backend.ts";
import { defaultPrefs } from "../ipn/prefs.ts";
import { MemoryStateStore } from "../ipn/state_store.ts";
import { LocalApiClient, LocalApiClientError } from "./client.ts";
import { type DataPlane, localApiRoutes } from "./routes.ts";
import { LocalApiServer } from "./server.ts";

/** These tests drive the backend only; the data-plane routes are covered with a real node. */
const NO_DATA_PLANE: DataPlane = {
  ping: () => Promise.reject(new Error("no data plane in this test")),
  stats: () => null,
  dnsQuery: () => Promise.reject(new Error("DNS manager not available")),
};

interface Rig {
  backend: Backend;
  fc: FakeControl;
  client: LocalApiClient;
  socket: string;
  [Symbol.asyncDispose](): Promise<void>;
}

async function rig(): Promise<Rig> {
  const dir = await Deno.makeTempDir({ prefix: "tailnet-localapi-" });
  const socket = `${dir}/s/tailnetd.sock`;
  const log = new Logger({ sink: () => {}, timestamps: false });
  const fc = new FakeControl();
  const backend = await Backend.open({
    store: new MemoryStateStore(),
    controlClientFactory: fc.factory,
    discoKey: publicOf(generatePrivate("disco")),
    hostinfo: { IPNVersion: "t", OS: "linux", Hostname: "box" },
    log,
    engineLive: () => true,
    version: "9.9.9",
  });
  const server = await LocalApiServer.listen({
    socketPath: socket,
    routes: localApiRoutes({ backend, version: "9.9.9", dataPlane: NO_DATA_PLANE }),
    log,
  });
  return {
    backend,
    fc,
    client: new LocalApiClient(socket),
    socket,
    async [Symbol.asyncDispose]() {
      await backend.close();
      await server.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

async function raw(socket: string, head: string, body = ""): Promise<string> {
  const conn = await Deno.connect({ transport: "unix", path: socket });
  await conn.write(new TextEncoder().encode(head + "\r\n\r\n" + body));
  const chunks: number[] = [];
  const buf = new Uint8Array(4096);
  for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
    chunks.push(...buf.subarray(0, n));
  }
  conn.close();
  return new TextDecoder().decode(new Uint8Array(chunks));
}

const upPrefs = { ...defaultPrefs(), ControlURL: "http://hs.test", WantRunning: true };

Deno.test("LocalAPI status: ipnstate.Status JSON with tailscaled's field names", async () => {
  await using r = await rig();
  const st = await r.client.json<Record<string, unknown>>("GET", "status");
  assertEquals(st.BackendState, "NoState");
  assertEquals(st.Version, "9.9.9");
  for (const k of ["AuthURL", "TailscaleIPs", "Self", "Peer", "User", "MagicDNSSuffix"]) {
    assert(k in st, `status has ${k}`);
  }
});

Deno.test("LocalAPI: wrong method, bad JSON and bad prefs answer 4xx in one line, change nothing", async () => {
  await using r = await rig();
  const before = await r.client.call("GET", "prefs");
  for (
    const [method, name, body, status] of [
      ["GET", "start", undefined, 400],
      ["GET", "logout", undefined, 400],
      ["POST", "check-prefs", "{oops", 400],
      ["GET", "check-prefs", undefined, 405],
      ["DELETE", "prefs", undefined, 405],
      ["PATCH", "prefs", { HostnameSet: true, Hostname: "no_way" }, 400],
      ["PATCH", "prefs", [], 400],
      ["POST", "start", { UpdatePrefs: { WantRunning: "yes" } }, 400],
      ["GET", "nosuch", undefined, 404],
      ["GET", "watch-ipn-bus?mask=x", undefined, 400],
    ] as const
  ) {
    const err = await assertRejects(() => r.client.call(method, name, body), LocalApiClientError);
    assertEquals((err as LocalApiClientError).status, status, `${method} ${name}`);
    assertEquals(err.message.split("\n").length, 1);
  }
  const bad = await raw(
    r.socket,
    "PATCH /localapi/v0/prefs HTTP/1.1\r\nHost: local-tailscaled.sock\r\nContent-Length: 5\r\nConnection: close",
    "{oops",
  );
  assert(bad.startsWith("HTTP/1.1 400"), bad);
  assertEquals(await r.client.call("GET", "prefs"), before);
  assertEquals(r.fc.names(), []);
});

Deno.test("LocalAPI: a request with an Origin or a foreign Host is refused with 403", async () => {
  await using r = await rig();
  const a = await raw(
    r.socket,
    "GET /localapi/v0/status HTTP/1.1\r\nHost: local-tailscaled.sock\r\nOrigin: http://evil\r\nConnection: close",
  );
  assert(a.startsWith("HTTP/1.1 403"), a);
  const b = await raw(
    r.socket,
    "GET /localapi/v0/status HTTP/1.1\r\nHost: evil.example\r\nConnection: close",
  );
  assert(b.startsWith("HTTP/1.1 403"), b);
});

Deno.test("LocalAPI: start, login-interactive and watch-ipn-bus carry a login to Running", async () => {
  await using r = await rig();
  const watch = await r.client.openJsonLines("watch-ipn-bus?mask=0");
  try {
    await r.client.call("POST", "start", { AuthKey: "tskey-1", UpdatePrefs: upPrefs });
    await r.client.call("POST", "login-interactive");
    assertEquals(r.fc.names(), ["new", "setPaused", "login"]);
    r.fc.current.push({ authUrl: "http://hs.test/register/x" });
    const key = r.fc.current.loginOk(null);
    r.fc.current.push({ loggedIn: true, netmap: fakeNetmap(key, ["p"]) });
    const seen: Record<string, unknown>[] = [];
    for await (const n of watch) {
      const note = n as Record<string, unknown>;
      seen.push(note);
      assertEquals(note.Version, "9.9.9");
      if (note.State === 6) break;
    }
    assert(seen.some((n) => n.BrowseToURL === "http://hs.test/register/x"), "auth URL streamed");
    assert(seen.some((n) => n.State === 2), "NeedsLogin streamed");
    const st = await r.client.json<{ BackendState: string; Peer: Record<string, unknown> }>(
      "GET",
      "status",
    );
    assertEquals(st.BackendState, "Running");
    assertEquals(Object.keys(st.Peer).length, 1);
  } finally {
    watch.close();
  }
});

Deno.test("LocalAPI: watch-ipn-bus with InitialState sends the state first", async () => {
  await using r = await rig();
  const watch = await r.client.openJsonLines("watch-ipn-bus?mask=2");
  try {
    for await (const n of watch) {
      assertEquals((n as { State: number }).State, 0);
      break;
    }
  } finally {
    watch.close();
  }
});

Deno.test("LocalAPI: PATCH prefs WantRunning=false after login stops the node (down)", async () => {
  await using r = await rig();
  await r.client.call("POST", "start", { AuthKey: "k", UpdatePrefs: upPrefs });
  await r.client.call("POST", "login-interactive");
  const key = r.fc.current.loginOk(null);
  r.fc.current.push({ loggedIn: true, netmap: fakeNetmap(key) });
  const p = await r.client.json<{ WantRunning: boolean }>("PATCH", "prefs", {
    WantRunning: false,
    WantRunningSet: true,
  });
  assertEquals(p.WantRunning, false);
  assertEquals(r.backend.state, "Stopped");
  await r.client.call("POST", "logout");
  assertEquals(r.backend.state, "NeedsLogin");
  assertEquals(r.backend.nodeKey(), null);
});

Deno.test("LocalAPI: a watch-ipn-bus client that goes away is unsubscribed", async () => {
  await using r = await rig();
  const a = await r.client.openJsonLines("watch-ipn-bus?mask=0");
  const b = await r.client.openJsonLines("watch-ipn-bus?mask=0");
  assertEquals(r.backend.watcherCount, 2);
  a.close();
  b.close();
  const deadline = Date.now() + 5_000;
  while (r.backend.watcherCount > 0 && Date.now() < deadline) {
    // A state change makes the server write, which is when a dead peer is noticed.
    await r.backend.editPrefs({ HostnameSet: true, Hostname: `h${Date.now() % 1000}` });
    await new Promise((res) => setTimeout(res, 50));
  }
  assertEquals(r.backend.watcherCount, 0);
});

Deno.test("LocalAPI whois, derpmap, profiles, debug: tailscaled's shapes and statuses", async () => {
  await using r = await rig();
  // Before any netmap: tailscaled's null DERP map, 404 whois, no profiles, 400 no netmap.
  assertEquals(await r.client.call("GET", "derpmap"), "null\n");
  const noPeer = await assertRejects(
    () => r.client.call("GET", "whois?addr=100.64.0.2"),
    LocalApiClientError,
  );
  assertEquals([(noPeer as LocalApiClientError).status, noPeer.message], [
    404,
    "no match for IP:port",
  ]);
  assertEquals(await r.client.json("GET", "profiles/"), []);
  assertEquals((await r.client.json<{ ID: string }>("GET", "profiles/current")).ID, "");
  const noNm = await assertRejects(
    () => r.client.call("POST", "debug?action=current-netmap"),
    LocalApiClientError,
  );
  assertEquals((noNm as LocalApiClientError).status, 400);
  for (
    const [name, status, message] of [
      ["dns-config", 503, "no netmap"],
      ["dns-osconfig", 500, "getting OS base config is not supported"],
      ["debug-packet-filter-rules", 404, "no netmap"],
      ["debug-packet-filter-matches", 404, "no netmap"],
      ["dns-query?name=peer", 500, "DNS manager not available"],
      ["dns-query?name=peer&type=BOGUS", 400, "unknown DNS message type: BOGUS"],
    ] as const
  ) {
    const err = await assertRejects(() => r.client.call("GET", name), LocalApiClientError);
    assertEquals([(err as LocalApiClientError).status, err.message], [status, message], name);
  }

  await r.client.call("POST", "start", { AuthKey: "k", UpdatePrefs: upPrefs });
  await r.client.call("POST", "login-interactive");
  const key = r.fc.current.loginOk(null);
  r.fc.current.push({ loggedIn: true, netmap: fakeNetmap(key, ["peer"]) });
  const peerKey = r.backend.netmap!.peers[0].key;
  for (const addr of ["100.64.0.2", "100.64.0.2:22", "[fd7a:115c:a1e0::2]:22", peerKey]) {
    const who = await r.client.json<{ Node: { Key: string }; UserProfile: { ID: number } }>(
      "GET",
      `whois?addr=${encodeURIComponent(addr)}`,
    );
    assertEquals(who.Node.Key, peerKey, addr);
    assertEquals(who.UserProfile.ID, 1);
  }
  for (const [addr, status] of [["", 400], ["bogus", 400], ["nodekey:12", 400]] as const) {
    const err = await assertRejects(
      () => r.client.call("GET", `whois?addr=${addr}`),
      LocalApiClientError,
    );
    assertEquals((err as LocalApiClientError).status, status, addr);
  }
  assert((await r.client.call("GET", "derpmap")).includes('"Regions"'));
  // The fake netmap's filter is headscale's allow-all; compiled in the JSON of Go's Match.
  assertEquals(await r.client.json("GET", "debug-packet-filter-rules"), [
    { SrcIPs: ["*"], DstPorts: [{ IP: "*", Ports: { First: 0, Last: 65535 } }] },
  ]);
  const all = { First: 0, Last: 65535 };
  assertEquals(await r.client.json("GET", "debug-packet-filter-matches"), [{
    IPProto: [6, 17, 1, 58],
    Srcs: ["0.0.0.0/0", "::/0"],
    SrcCaps: null,
    Dsts: [{ Net: "0.0.0.0/0", Ports: all }, { Net: "::/0", Ports: all }],
    Caps: [],
  }]);
  assertEquals(await r.client.call("GET", "dns-config"), "null\n", "the fake netmap has no DNS");
  const profiles = await r.client.json<{ ID: string; UserProfile: { ID: number } }[]>(
    "GET",
    "profiles/",
  );
  assertEquals(profiles.length, 1);
  assertEquals(await r.client.json("GET", `profiles/${profiles[0].ID}`), profiles[0]);
  const missing = await assertRejects(
    () => r.client.call("GET", "profiles/nosuch"),
    LocalApiClientError,
  );
  assertEquals((missing as LocalApiClientError).status, 404);
  const nm = await r.client.json<{ NodeKey: string; Peers: unknown[] }>(
    "POST",
    "debug?action=current-netmap",
  );
  assertEquals(nm.Peers.length, 1);
  const unknown = await assertRejects(
    () => r.client.call("POST", "debug?action=nosuch"),
    LocalApiClientError,
  );
  assertEquals(unknown.message, 'unknown action "nosuch"');
  // PUT profiles/ (tailscale login's first step) drops the one profile: a fresh node.
  await r.client.call("PUT", "profiles/");
  assertEquals(r.backend.nodeKey(), null);
  assertEquals(r.backend.state, "NeedsLogin");
  assertEquals(await r.client.json("GET", "profiles/"), []);
});

Deno.test("LocalAPI serve-config, usermetrics and an unknown call answer as tailscaled", async () => {
  await using r = await rig();
  const sc = await raw(
    r.socket,
    "GET /localapi/v0/serve-config HTTP/1.1\r\nHost: local-tailscaled.sock\r\nConnection: close",
  );
  assertMatch(sc, /^HTTP\/1\.1 200/);
  // Go's Etag of the empty config: the SHA-256 of "null".
  assertMatch(sc, /etag: 74234e98afe7498fb5daf1f36ac2d78acc339464f950703b8c019892f982b90b/i);
  assert(sc.endsWith("\r\n\r\nnull"), sc);
  const metrics = await r.client.call("GET", "usermetrics");
  assertMatch(metrics, /^# TYPE tailscaled_health_messages gauge$/m);
  assertMatch(metrics, /^tailscaled_inbound_bytes_total\{path="derp"\} 0$/m);
  assertMatch(metrics, /^tailscaled_inbound_dropped_packets_total\{reason="acl"\} 0$/m);
  const nf = await raw(
    r.socket,
    "GET /localapi/v0/no-such-call HTTP/1.1\r\nHost: local-tailscaled.sock\r\nConnection: close",
  );
  assertMatch(nf, /^HTTP\/1\.1 404/);
  assert(nf.endsWith("\r\n\r\n404 page not found\n"), nf);
});
