/**
 * The backend driven by a fake control client, grouped by the state it starts in. Each
 * fixture brings a backend to one state the way a user would; tests assert the control calls
 * made, in order, and the notifications sent.
 */
import {
  assert,
  assertEquals,
  assertRejects,
  assertThrows,
} from "../engine/base/testing/assert.ts";
import { FakeControl, fakeNetmap } from "./testing/fake_control.ts";
import { Logger } from "../engine/base/logger.ts";
import { generatePrivate, publicOf, publicToText } from "../engine/key/keys.ts";
import { Backend, BackendError } from "./backend.ts";
import type { Notify } from "./notify_bus.ts";
import { defaultPrefs, type Prefs } from "./prefs.ts";
import { MemoryStateStore, type StateStore, type StoredState } from "./state_store.ts";
import { StateFileError } from "./state_store.ts";

interface Fixture {
  b: Backend;
  fc: FakeControl;
  store: StateStore;
  notes: Notify[];
  live: { value: boolean };
  [Symbol.asyncDispose](): Promise<void>;
}

function upPrefs(over: Partial<Prefs> = {}): Prefs {
  return { ...defaultPrefs(), ControlURL: "http://hs.test", WantRunning: true, ...over };
}

async function fixture(
  opts: { store?: StateStore; factory?: boolean; live?: boolean } = {},
): Promise<Fixture> {
  const fc = new FakeControl();
  const store = opts.store ?? new MemoryStateStore();
  const live = { value: opts.live ?? true };
  const b = await Backend.open({
    store,
    controlClientFactory: opts.factory === false ? null : fc.factory,
    discoKey: publicOf(generatePrivate("disco")),
    hostinfo: { IPNVersion: "test", OS: "linux", Hostname: "box" },
    log: new Logger({ sink: () => {}, timestamps: false }),
    engineLive: () => live.value,
    version: "0.0.0-test",
  });
  const notes: Notify[] = [];
  b.watch(0, (n) => notes.push(n), () => {});
  return { b, fc, store, notes, live, [Symbol.asyncDispose]: () => b.close() };
}

/** Fresh node after `up` without a node key: NeedsLogin, nothing asked of control yet. */
async function backendInNeedsLogin(authKey = ""): Promise<Fixture> {
  const f = await fixture();
  await f.b.start({ authKey, updatePrefs: upPrefs() });
  assertEquals(f.b.state, "NeedsLogin");
  return f;
}

/** Logged in with a netmap and a live data plane: Running. */
async function backendInRunning(peers: string[] = ["peer1"]): Promise<Fixture> {
  const f = await backendInNeedsLogin("tskey-1");
  f.b.startLoginInteractive();
  const cc = f.fc.current;
  const key = generatePrivate("node");
  cc.persist = { ...cc.persist, privateNodeKey: key };
  cc.loginOk(fakeNetmap(key, peers), true);
  assertEquals(f.b.state, "Running");
  return f;
}

function states(notes: Notify[]): number[] {
  return notes.filter((n) => n.State !== undefined).map((n) => n.State!);
}

// ---- NoState ----

Deno.test("Backend in NoState: a fresh backend reports NoState and saves a machine key", async () => {
  await using f = await fixture();
  assertEquals(f.b.state, "NoState");
  assertEquals(f.b.status().BackendState, "NoState");
  const saved = await f.store.load();
  assert(saved !== null, "state saved on first run");
  assertEquals(saved.machineKey, f.b.machineKey);
  assertEquals(f.fc.names(), []);
});

Deno.test("Backend in NoState: a corrupt state file keeps NoState, refuses changes, never writes", async () => {
  let saves = 0;
  const store: StateStore = {
    location: "/x/tailnetd.state",
    load: () =>
      Promise.reject(
        new StateFileError("/x/tailnetd.state", "Cannot read state file /x/tailnetd.state: bad"),
      ),
    save: () => {
      saves++;
      return Promise.resolve();
    },
  };
  await using f = await fixture({ store });
  assertEquals(f.b.healthy, false);
  const err = await assertRejects(() => f.b.start({ updatePrefs: upPrefs() }), BackendError);
  assertEquals((err as BackendError).reason, "unhealthy");
  assert(err.message.includes("/x/tailnetd.state"), err.message);
  await assertRejects(() => f.b.editPrefs({ WantRunningSet: true, WantRunning: true }));
  assertEquals(f.b.state, "NoState");
  assertEquals(saves, 0);
  assertEquals(f.fc.names(), []);
  assert(f.b.status().Health?.[0].includes("/x/tailnetd.state"));
});

Deno.test("Backend in NoState: without a control client, start says it is not built", async () => {
  await using f = await fixture({ factory: false });
  const err = await assertRejects(() => f.b.start({ updatePrefs: upPrefs() }), BackendError);
  assertEquals((err as BackendError).reason, "not-built");
  assert(err.message.includes("control client not built yet"));
});

Deno.test("Backend in NoState: start with bad prefs is refused before anything changes", async () => {
  await using f = await fixture();
  await assertRejects(
    () => f.b.start({ updatePrefs: upPrefs({ Hostname: "bad_name" }) }),
    BackendError,
    "bad_name",
  );
  assertEquals(f.fc.names(), []);
  assertEquals(f.b.prefs().ControlURL, "");
});

// ---- NeedsLogin ----

Deno.test("Backend in NeedsLogin: start without a node key makes a client but does not log in", async () => {
  await using f = await backendInNeedsLogin();
  assertEquals(f.fc.names(), ["new", "setPaused"]);
  assertEquals(f.fc.calls[0].arg, "http://hs.test");
  assertEquals(states(f.notes), [2]);
  assert(f.notes[0].Prefs?.WantRunning === true, "Prefs notified before the state");
  assertEquals(f.b.status().HaveNodeKey, undefined);
});

Deno.test("Backend with a config file: its prefs merged, a fresh node logs in with its key, clients' edits refused while locked", async () => {
  await using f = await fixture();
  await f.b.applyConfig(
    { ControlURL: "http://hs.test", ControlURLSet: true, Hostname: "cfg", HostnameSet: true },
    true,
  );
  assertEquals(f.b.prefs().Hostname, "cfg");
  assertEquals(f.fc.names(), [], "applying a config starts nothing by itself");
  await f.b.applyConfig({ WantRunning: true, WantRunningSet: true }, true);
  assertEquals(f.fc.names(), []);
  await f.b.applyConfig({}, true, () => Promise.resolve("tskey-cfg"));
  await f.b.start({ loginWithoutNodeKey: true });
  assertEquals(f.fc.names(), ["new", "login", "setPaused"]);
  assertEquals(f.fc.calls[1].arg, { authKey: "tskey-cfg" });
  const locked = "can't reconfigure tailscaled when using a config file; config file is locked";
  await assertRejects(
    () => f.b.editPrefs({ HostnameSet: true, Hostname: "x" }),
    BackendError,
    locked,
  );
  await assertRejects(() => f.b.start({ updatePrefs: upPrefs() }), BackendError, locked);
  await f.b.applyConfig({ Hostname: "cfg2", HostnameSet: true }, false);
  assertEquals((await f.b.editPrefs({ HostnameSet: true, Hostname: "y" })).Hostname, "y");
});

Deno.test("Backend in NeedsLogin: login-interactive logs in with the pending auth key and a new key", async () => {
  await using f = await backendInNeedsLogin("tskey-abc");
  f.fc.reset();
  f.b.startLoginInteractive();
  assertEquals(f.fc.names(), ["login"]);
  assertEquals(f.fc.calls[0].arg, { authKey: "tskey-abc", forceReauth: true });
  assertEquals(f.b.state, "NeedsLogin");
});

Deno.test("Backend in NeedsLogin: an auth URL from control is sent once as BrowseToURL", async () => {
  await using f = await backendInNeedsLogin();
  f.b.startLoginInteractive();
  f.notes.length = 0;
  f.fc.current.push({ authUrl: "http://hs.test/register/abc" });
  f.fc.current.push({ authUrl: "http://hs.test/register/abc" });
  const urls = f.notes.filter((n) => n.BrowseToURL !== undefined).map((n) => n.BrowseToURL);
  assertEquals(urls, ["http://hs.test/register/abc"]);
  assertEquals(f.b.status().AuthURL, "http://hs.test/register/abc");
  assertEquals(f.b.state, "NeedsLogin");
  // Asking again shows the same URL again without a new login.
  f.fc.reset();
  f.notes.length = 0;
  f.b.startLoginInteractive();
  assertEquals(f.fc.names(), []);
  assertEquals(f.notes.map((n) => n.BrowseToURL), ["http://hs.test/register/abc"]);
});

Deno.test("Backend in NeedsLogin: a fatal control error is sent as ErrMessage and stays NeedsLogin", async () => {
  await using f = await backendInNeedsLogin("tskey-bad");
  f.b.startLoginInteractive();
  f.notes.length = 0;
  f.fc.current.fail("invalid-auth-key", "invalid pre auth key");
  assertEquals(f.notes.filter((n) => n.ErrMessage).map((n) => n.ErrMessage), [
    "invalid pre auth key",
  ]);
  assertEquals(f.b.state, "NeedsLogin");
  assertEquals(f.b.status().HaveNodeKey, undefined);
});

Deno.test("Backend in NeedsLogin: login then netmap goes Starting then Running, saving the key", async () => {
  await using f = await backendInNeedsLogin("tskey-1");
  f.b.startLoginInteractive();
  f.notes.length = 0;
  const key = f.fc.current.loginOk(fakeNetmap(generatePrivate("node"), ["peer1"]));
  assertEquals(states(f.notes), [5, 6]);
  assert(f.notes.some((n) => n.LoginFinished !== undefined), "LoginFinished sent");
  assert(f.notes.some((n) => n.SelfChange !== undefined), "SelfChange sent");
  const saved = (await f.store.load()) as StoredState;
  assertEquals(saved.persist.privateNodeKey, key);
  assertEquals(f.b.status().HaveNodeKey, true);
});

Deno.test("Backend in NeedsLogin: logged in without a netmap stays NeedsLogin until the netmap", async () => {
  await using f = await backendInNeedsLogin("tskey-1");
  f.b.startLoginInteractive();
  f.fc.current.loginOk(null);
  assertEquals(f.b.state, "NeedsLogin");
  const key = f.fc.current.persist.privateNodeKey!;
  f.fc.current.push({ loggedIn: true, netmap: fakeNetmap(key) });
  assertEquals(f.b.state, "Running");
});

// ---- NeedsMachineAuth ----

Deno.test("Backend in NeedsMachineAuth: unapproved machine waits, approval brings Running", async () => {
  await using f = await backendInNeedsLogin("tskey-1");
  f.b.startLoginInteractive();
  const cc = f.fc.current;
  const key = generatePrivate("node");
  cc.persist = { ...cc.persist, privateNodeKey: key };
  cc.push({ loggedIn: true, machineAuthorized: false, netmap: fakeNetmap(key) });
  assertEquals(f.b.state, "NeedsMachineAuth");
  assertEquals(f.b.status().BackendState, "NeedsMachineAuth");
  f.notes.length = 0;
  cc.push({ loggedIn: true, machineAuthorized: true, netmap: fakeNetmap(key) });
  assertEquals(states(f.notes), [5, 6]);
});

// ---- Starting ----

Deno.test("Backend in Starting: waits for a live data plane, then Running", async () => {
  await using f = await backendInNeedsLogin("tskey-1");
  f.live.value = false;
  f.b.startLoginInteractive();
  f.fc.current.loginOk(fakeNetmap(generatePrivate("node")));
  assertEquals(f.b.state, "Starting");
  f.live.value = true;
  f.b.engineStatusChanged();
  assertEquals(f.b.state, "Running");
});

// ---- Running ----

Deno.test("Backend in Running: status shows our addresses, peers keyed by node key, users", async () => {
  await using f = await backendInRunning(["peer1", "peer2"]);
  const st = f.b.status();
  assertEquals(st.BackendState, "Running");
  assertEquals(st.TailscaleIPs, ["100.64.0.1", "fd7a:115c:a1e0::1"]);
  assertEquals(st.Self?.PublicKey, f.b.nodeKey());
  assertEquals(Object.values(st.Peer ?? {}).map((p) => p.HostName).sort(), ["peer1", "peer2"]);
  for (const [k, p] of Object.entries(st.Peer ?? {})) assertEquals(k, p.PublicKey);
  assertEquals(st.User?.["1"].LoginName, "alice");
  assertEquals(st.MagicDNSSuffix, "tailnet.test");
  assertEquals(st.Self?.Relay, "lab");
  assertEquals(f.b.status(false).Peer, null);
});

Deno.test("Backend in Running: a new netmap with a new peer is reflected without restart", async () => {
  await using f = await backendInRunning(["peer1"]);
  const cc = f.fc.current;
  cc.push({ loggedIn: true, netmap: fakeNetmap(cc.persist.privateNodeKey!, ["peer1", "late"]) });
  assertEquals(Object.keys(f.b.status().Peer ?? {}).length, 2);
  assertEquals(f.b.state, "Running");
});

Deno.test("Backend in Running: a retryable control error keeps Running on the last netmap", async () => {
  await using f = await backendInRunning(["peer1"]);
  const nm = f.b.netmap;
  f.notes.length = 0;
  f.fc.current.push({
    loggedIn: true,
    netmap: nm,
    error: new (await import("../engine/control/client.ts")).ControlError(
      "unreachable",
      "control server unreachable",
      true,
    ),
  });
  assertEquals(f.b.state, "Running");
  assertEquals(states(f.notes), []);
  assert(f.b.status().Health?.some((h) => h.includes("unreachable")));
  assertEquals(f.notes.filter((n) => n.ErrMessage).length, 0);
});

Deno.test("Backend in Running: down (WantRunning=false) goes Stopped and pauses control", async () => {
  await using f = await backendInRunning();
  f.fc.reset();
  f.notes.length = 0;
  await f.b.editPrefs({ WantRunning: false, WantRunningSet: true });
  assertEquals(f.b.state, "Stopped");
  assertEquals(states(f.notes), [4]);
  assertEquals(f.fc.calls.filter((c) => c.name === "setPaused").map((c) => c.arg), [true]);
});

Deno.test("Backend in Running: editing the hostname sends new Hostinfo to control", async () => {
  await using f = await backendInRunning();
  f.fc.reset();
  await f.b.editPrefs({ Hostname: "renamed", HostnameSet: true });
  assertEquals(f.fc.names(), ["setHostinfo"]);
  assertEquals((f.fc.calls[0].arg as { Hostname: string }).Hostname, "renamed");
});

Deno.test("Backend in Running: a bad prefs edit is refused and changes nothing", async () => {
  await using f = await backendInRunning();
  const before = f.b.prefsJson();
  await assertRejects(() => f.b.editPrefs({ HostnameSet: true, Hostname: "-x" }), BackendError);
  await assertRejects(
    () => f.b.editPrefs({ WantRunningSet: true, WantRunning: "yes" }),
    BackendError,
    "WantRunning",
  );
  await assertRejects(() => f.b.editPrefs([1, 2]), BackendError);
  assertEquals(f.b.prefsJson(), before);
  assertEquals(f.b.state, "Running");
});

Deno.test("Backend in Running: prefs JSON zeroes private keys but keeps the user", async () => {
  await using f = await backendInRunning();
  const p = f.b.prefsJson();
  assertEquals(p.Config?.PrivateNodeKey, "privkey:" + "0".repeat(64));
  assertEquals(p.Config?.UserProfile.LoginName, "alice");
  assertEquals(p.ControlURL, "http://hs.test");
});

Deno.test("Backend in Running: logout expires the key, forgets it, and needs login again", async () => {
  await using f = await backendInRunning();
  f.fc.reset();
  await f.b.logout();
  assertEquals(f.fc.names().filter((n) => n !== "setPaused"), ["logout", "close", "new"]);
  assertEquals(f.b.state, "NeedsLogin");
  assertEquals(f.b.nodeKey(), null);
  assertEquals(f.b.prefs().ControlURL, "");
  const saved = (await f.store.load()) as StoredState;
  assertEquals(saved.persist.privateNodeKey, null);
  assertEquals(saved.machineKey, f.b.machineKey);
});

Deno.test("Backend in Running: a failed logout keeps the node key", async () => {
  await using f = await backendInRunning();
  const key = f.b.nodeKey();
  f.fc.logoutError = new Error("control unreachable");
  await assertRejects(() => f.b.logout(), BackendError, "control unreachable");
  assertEquals(f.b.nodeKey(), key);
  assertEquals(f.b.state, "Stopped");
});

// ---- Stopped ----

Deno.test("Backend in Stopped: up again (WantRunning=true) returns to Running on the kept netmap", async () => {
  await using f = await backendInRunning();
  await f.b.editPrefs({ WantRunning: false, WantRunningSet: true });
  assertEquals(f.b.state, "Stopped");
  f.notes.length = 0;
  await f.b.editPrefs({ WantRunning: true, WantRunningSet: true });
  assertEquals(states(f.notes), [5, 6]);
});

// ---- Restart ----

Deno.test("Backend restart: same store, start({}) logs in with the saved key, no new key", async () => {
  const store = new MemoryStateStore();
  let key: string | null;
  let machine: Uint8Array;
  {
    await using f = await fixture({ store });
    await f.b.start({ authKey: "tskey-1", updatePrefs: upPrefs() });
    f.b.startLoginInteractive();
    const k = f.fc.current.loginOk(null);
    f.fc.current.push({ loggedIn: true, netmap: fakeNetmap(k) });
    key = f.b.nodeKey();
    machine = f.b.machineKey;
  }
  await using g = await fixture({ store });
  assertEquals(g.b.nodeKey(), key);
  assertEquals(g.b.machineKey, machine);
  await g.b.start({});
  const login = g.fc.calls.find((c) => c.name === "login");
  assertEquals(login?.arg, {});
  assertEquals(
    publicToText("node", publicOf(g.fc.current.options.persist.privateNodeKey!)),
    key,
  );
  g.fc.current.push({
    loggedIn: true,
    netmap: fakeNetmap(g.fc.current.options.persist.privateNodeKey!),
  });
  assertEquals(g.b.state, "Running");
});

Deno.test("Backend: watch with InitialState|InitialPrefs sends one first Notify", async () => {
  await using f = await backendInRunning();
  const got: Notify[] = [];
  const stop = f.b.watch(2 | 4, (n) => got.push(n), () => {});
  stop();
  assertEquals(got.length, 1);
  assertEquals(got[0].State, 6);
  assertEquals(got[0].Prefs?.WantRunning, true);
});

Deno.test("Backend: startLoginInteractive before start is refused", async () => {
  await using f = await fixture();
  assertThrows(() => f.b.startLoginInteractive(), BackendError, "tailnet up");
});
