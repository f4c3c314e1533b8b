import { assert, assertEquals } from "../base/testing/assert.ts";
import { AutoClient, backoffDelay, ZERO_NODE_KEY } from "./auto.ts";
import { FakeTransport, settle } from "./testing/fake_transport.ts";
import { ManualClock } from "../base/testing/manual_clock.ts";
import { ControlError, type ControlStatus, emptyPersist, type Persist } from "./client.ts";
import { generatePrivate, publicOf, publicToText } from "../key/keys.ts";
import { Logger } from "../base/logger.ts";
import {
  BACKOFF_MAX_MS,
  LOGOUT_EXPIRY,
  MAP_WATCHDOG_MS,
  REQUEST_TIMEOUT_MS,
  ZERO_TIME,
} from "./constants.ts";
import type { MapResponse, RegisterResponse } from "./tailcfg.ts";
import { CAPABILITY_VERSION } from "../../version.ts";

const OK: RegisterResponse = {
  User: { ID: 1, DisplayName: "lab" },
  Login: { ID: 1, LoginName: "lab", DisplayName: "lab" },
  MachineAuthorized: true,
  AuthURL: "",
  Error: "",
};

function firstMap(extra: MapResponse = {}): MapResponse {
  return {
    Node: {
      ID: 1,
      StableID: "s1",
      Name: "me.tailnet.test.",
      Addresses: ["100.64.0.1/32", "fd7a:115c:a1e0::1/128"],
      MachineAuthorized: true,
    },
    Peers: [{ ID: 2, Name: "peer.tailnet.test.", Addresses: ["100.64.0.2/32"] }],
    ...extra,
  };
}

interface Fixture {
  client: AutoClient;
  transport: FakeTransport;
  clock: ManualClock;
  statuses: ControlStatus[];
  last: () => ControlStatus;
}

function fixture(persist: Persist = emptyPersist()): Fixture {
  const transport = new FakeTransport();
  const clock = new ManualClock({ wallStartMs: Date.parse("2026-11-25T12:00:00Z") });
  const statuses: ControlStatus[] = [];
  const client = new AutoClient({
    serverUrl: "http://control.test",
    machineKey: generatePrivate("machine"),
    persist,
    discoKey: publicOf(generatePrivate("disco")),
    hostinfo: { IPNVersion: "0.1.0", OS: "linux", Hostname: "me" },
    onStatus: (s) => statuses.push(s),
    log: new Logger({ sink: () => {} }),
    clock,
    random: () => 0.5,
    transport,
  });
  return { client, transport, clock, statuses, last: () => statuses[statuses.length - 1] };
}

/** A fixture logged in with a pre-auth key and one map stream open with the first netmap. */
async function loggedIn(): Promise<Fixture> {
  const f = fixture();
  f.transport.answer(OK);
  f.client.login({ authKey: "hskey-auth-good" });
  await settle();
  f.transport.streams[0].push(firstMap());
  await settle();
  return f;
}

Deno.test("AutoClient.login() registers with the auth key, then polls the map", async () => {
  const f = await loggedIn();
  const [reg] = f.transport.registers;
  assertEquals(reg.Version, CAPABILITY_VERSION);
  assertEquals(reg.Auth, { AuthKey: "hskey-auth-good" });
  assertEquals(reg.OldNodeKey, ZERO_NODE_KEY);
  assertEquals(reg.Expiry, ZERO_TIME);
  assertEquals(reg.Followup, "");
  const map = f.transport.streams[0].req;
  assertEquals([map.Stream, map.KeepAlive, map.Compress, map.OmitPeers], [
    true,
    true,
    undefined,
    undefined,
  ]);
  assertEquals(map.NodeKey, reg.NodeKey);
  const s = f.last();
  assertEquals([s.loggedIn, s.machineAuthorized, s.error], [true, true, null]);
  assertEquals(s.netmap?.self.addresses, ["100.64.0.1/32", "fd7a:115c:a1e0::1/128"]);
  assertEquals(s.persist.nodeId, "s1");
  assertEquals(s.persist.userProfile?.loginName, "lab");
  assert(s.persist.privateNodeKey !== null);
  assertEquals(publicToText("node", publicOf(s.persist.privateNodeKey)), reg.NodeKey);
  await f.client.close();
  assert(f.transport.closed);
});

Deno.test("AutoClient reports a bad auth key once, as non-retryable invalid-auth-key", async () => {
  const f = fixture();
  f.transport.answer({ ...OK, MachineAuthorized: false, Error: "invalid pre auth key" });
  f.client.login({ authKey: "hskey-auth-bad" });
  await settle();
  await f.clock.advanceAsync(10 * BACKOFF_MAX_MS, settle);
  const s = f.last();
  assertEquals(s.error?.code, "invalid-auth-key");
  assertEquals(s.error?.retryable, false);
  assert(s.error!.message.includes("invalid pre auth key"), s.error!.message);
  assertEquals(s.loggedIn, false);
  assertEquals(f.transport.registers.length, 1);
  assertEquals(f.transport.streams.length, 0);
  await f.client.close();
});

Deno.test("AutoClient shows the AuthURL, then long-polls with Followup and the same key", async () => {
  const f = fixture();
  f.transport.answer({
    ...OK,
    MachineAuthorized: false,
    AuthURL: "http://control.test/register/abc",
  });
  f.client.login({});
  await settle();
  assertEquals(f.last().authUrl, "http://control.test/register/abc");
  assertEquals(f.last().loggedIn, false);
  const [first, followup] = f.transport.registers;
  assertEquals(followup.Followup, "http://control.test/register/abc");
  assertEquals(followup.NodeKey, first.NodeKey);
  assertEquals(first.Auth, undefined);
  f.transport.answer(OK);
  await settle();
  assertEquals([f.last().loggedIn, f.last().authUrl], [true, null]);
  assertEquals(f.transport.streams.length, 1);
  await f.client.close();
});

Deno.test("AutoClient reports NeedsMachineAuth (MachineAuthorized false) and still polls", async () => {
  const f = fixture();
  f.transport.answer({ ...OK, MachineAuthorized: false });
  f.client.login({ authKey: "k" });
  await settle();
  assertEquals([f.last().loggedIn, f.last().machineAuthorized], [true, false]);
  assertEquals(f.transport.streams.length, 1);
  await f.client.close();
});

Deno.test("AutoClient rotates the node key on NodeKeyExpired, sending OldNodeKey", async () => {
  const k0 = generatePrivate("node");
  const f = fixture({ ...emptyPersist(), privateNodeKey: k0 });
  f.transport.answer({ ...OK, NodeKeyExpired: true });
  f.transport.answer(OK);
  f.client.login({});
  await settle();
  const [a, b] = f.transport.registers;
  const k0Text = publicToText("node", publicOf(k0));
  assertEquals([a.NodeKey, a.OldNodeKey], [k0Text, ZERO_NODE_KEY]);
  assertEquals(b.OldNodeKey, k0Text);
  assert(b.NodeKey !== k0Text);
  const p = f.last().persist;
  assertEquals(publicToText("node", publicOf(p.privateNodeKey!)), b.NodeKey);
  assertEquals(p.oldPrivateNodeKey, k0);
  assertEquals(f.last().nodeKeyExpired, false);
  await f.client.close();
});

Deno.test("AutoClient.login({ forceReauth }) registers a new key with OldNodeKey", async () => {
  const f = await loggedIn();
  const oldKey = f.transport.registers[0].NodeKey;
  f.transport.answer({ ...OK, AuthURL: "http://control.test/register/re" });
  f.client.login({ forceReauth: true });
  await settle();
  const re = f.transport.registers[1];
  assertEquals(re.OldNodeKey, oldKey);
  assert(re.NodeKey !== oldKey);
  assertEquals(f.last().authUrl, "http://control.test/register/re");
  assert(f.transport.streams[0].aborted, "old map stream stopped");
  await f.client.close();
});

Deno.test("AutoClient lets a superseded register finish before the next login registers", async () => {
  // `tailnet login`: start (register with the current key) then login-interactive (force
  // reauth) at once. Two registers at control together race there; the second waits.
  const f = await loggedIn();
  f.client.login({ authKey: "hskey-auth-good" });
  await settle();
  assertEquals(f.transport.registers.length, 2, "the first login's register is in flight");
  f.client.login({ authKey: "hskey-auth-good", forceReauth: true });
  await settle();
  assertEquals(f.transport.registers.length, 2, "the forced login waits for it");
  f.transport.answer(OK);
  await settle();
  assertEquals(f.transport.registers.length, 3, "then registers");
  const [, first, forced] = f.transport.registers;
  assertEquals(forced.OldNodeKey, first.NodeKey);
  f.transport.answer(OK);
  await settle();
  assertEquals(f.last().loggedIn, true);
  assertEquals(publicToText("node", publicOf(f.last().persist.privateNodeKey!)), forced.NodeKey);
  await f.client.close();
});

Deno.test("AutoClient gives a superseded register a request timeout to finish, then moves on", async () => {
  const f = await loggedIn();
  f.client.login({ authKey: "hskey-auth-good" });
  await settle();
  f.client.login({ authKey: "hskey-auth-good", forceReauth: true });
  await settle();
  assertEquals(f.transport.registers.length, 2);
  f.clock.advance(REQUEST_TIMEOUT_MS);
  await settle();
  assertEquals(f.transport.registers.length, 3, "the stuck register was given up");
  await f.client.close();
});

Deno.test("AutoClient.close() ends a register in flight at once", async () => {
  const f = await loggedIn();
  f.client.login({ authKey: "hskey-auth-good" });
  await settle();
  await f.client.close();
  assertEquals(f.transport.registers.length, 2);
});

Deno.test("AutoClient backs off a failing register exponentially up to BACKOFF_MAX_MS, on its clock alone", async () => {
  const f = fixture();
  const FAILURES = 9;
  const at: number[] = []; // when each register attempt reached the transport
  for (let i = 0; i < FAILURES; i++) {
    f.transport.answer(() => {
      at.push(f.clock.now());
      return new ControlError("server-error", "HTTP 502", true);
    });
  }
  f.transport.answer(() => {
    at.push(f.clock.now());
    return OK;
  });
  const delays = Array.from({ length: FAILURES }, (_, i) => backoffDelay(i + 1, 0.5));
  const wallStart = performance.now();
  f.client.login({ authKey: "hskey-auth-good" });
  // Exactly the total backoff: the map watchdog, 120 s after login, stays quiet.
  await f.clock.advanceAsync(delays.reduce((a, b) => a + b), settle);
  const gaps = at.slice(1).map((t, i) => t - at[i]);
  assertEquals(gaps, delays);
  assert(gaps[1] === 2 * gaps[0] && gaps[2] === 2 * gaps[1], "doubling");
  assertEquals(gaps.slice(-3), [gaps.at(-1), gaps.at(-1), gaps.at(-1)], "capped");
  assert(gaps.at(-1)! <= BACKOFF_MAX_MS);
  assert(f.last().loggedIn && f.last().error === null);
  // Minutes of backoff passed on the manual clock; the test itself took a moment.
  assert(at.at(-1)! - at[0] > 60_000, `${at.at(-1)! - at[0]} ms of backoff`);
  assert(performance.now() - wallStart < at.at(-1)! - at[0], "no real waiting");
  await f.client.close();
});

Deno.test("AutoClient keeps the netmap across a stream failure and reconnects with backoff", async () => {
  const f = await loggedIn();
  const nm = f.last().netmap;
  f.transport.streams[0].fail(
    new ControlError("connection-lost", "Control connection lost: reset", true),
  );
  await settle();
  assertEquals(f.last().error?.code, "connection-lost");
  assert(f.last().netmap === nm, "netmap kept");
  assertEquals(f.transport.streams.length, 1);
  assertEquals(f.clock.pendingDelays()[0], backoffDelay(1, 0.5));
  await f.clock.advanceAsync(backoffDelay(1, 0.5), settle);
  assertEquals(f.transport.streams.length, 2);
  // A second failure before any message waits longer.
  f.transport.streams[1].fail(new ControlError("server-error", "HTTP 502", true));
  await settle();
  assertEquals(f.clock.pendingDelays()[0], backoffDelay(2, 0.5));
  await f.clock.advanceAsync(backoffDelay(2, 0.5), settle);
  f.transport.streams[2].push(firstMap());
  f.transport.streams[2].push({ OnlineChange: { "2": true } });
  await settle();
  assertEquals(f.last().error, null);
  assertEquals(f.last().netmap?.peers[0].online, true);
  assertEquals(f.transport.registers.length, 1, "no re-registration for a map outage");
  await f.client.close();
});

Deno.test("AutoClient stops on a non-retryable map error", async () => {
  const f = await loggedIn();
  f.transport.streams[0].fail(
    new ControlError("map-rejected", "Control map failed: HTTP 400", false, 400),
  );
  await settle();
  await f.clock.advanceAsync(10 * BACKOFF_MAX_MS, settle);
  assertEquals(f.transport.streams.length, 1);
  assertEquals(f.last().error?.httpStatus, 400);
  await f.client.close();
});

Deno.test("AutoClient's watchdog drops a silent map poll after 120 s", async () => {
  const f = await loggedIn();
  f.transport.streams[0].push({ KeepAlive: true });
  await f.clock.advanceAsync(MAP_WATCHDOG_MS - 1, settle);
  assertEquals([f.transport.resets, f.transport.streams.length], [0, 1]);
  await f.clock.advanceAsync(1, settle);
  assert(f.transport.streams[0].aborted);
  assertEquals(f.transport.resets, 1);
  assertEquals(f.last().error?.code, "map-timeout");
  await f.clock.advanceAsync(BACKOFF_MAX_MS, settle);
  assertEquals(f.transport.streams.length, 2);
  await f.client.close();
});

Deno.test("AutoClient.logout() sends Expiry = Unix 123 with the current key and clears state", async () => {
  const f = await loggedIn();
  const key = f.transport.registers[0].NodeKey;
  f.transport.answer({ ...OK, MachineAuthorized: false });
  await f.client.logout();
  const out = f.transport.registers[1];
  assertEquals([out.NodeKey, out.Expiry, out.Auth], [key, LOGOUT_EXPIRY, undefined]);
  assertEquals(LOGOUT_EXPIRY, new Date(123_000).toISOString().replace(".000", ""));
  const s = f.last();
  assertEquals([s.loggedIn, s.netmap, s.persist.privateNodeKey], [false, null, null]);
  assert(f.transport.streams[0].aborted);
  await f.clock.advanceAsync(10 * BACKOFF_MAX_MS, settle);
  assertEquals(f.transport.streams.length, 1, "no poll after logout");
  await f.client.close();
});

Deno.test("AutoClient.setPaused() stops the poll and resumes it", async () => {
  const f = await loggedIn();
  f.client.setPaused(true);
  await settle();
  assert(f.transport.streams[0].aborted);
  await f.clock.advanceAsync(10 * BACKOFF_MAX_MS, settle);
  assertEquals(f.transport.streams.length, 1);
  assertEquals(f.last().error, null, "pausing is not an error");
  f.client.setPaused(false);
  await settle();
  assertEquals(f.transport.streams.length, 2);
  await f.client.close();
});

Deno.test("AutoClient sends Hostinfo and endpoint changes as lite updates", async () => {
  const f = await loggedIn();
  f.client.setHostinfo({ IPNVersion: "0.1.0", OS: "linux", Hostname: "me", OSVersion: "6.1" });
  f.client.setEndpoints([{ addr: "127.0.0.1:41641", type: 1 }]);
  await settle();
  const lites = f.transport.calls.filter((c) => c.kind === "lite").map((c) =>
    c.req as {
      Stream: boolean;
      OmitPeers: boolean;
      Hostinfo: { OSVersion?: string };
      Endpoints?: string[];
      EndpointTypes?: number[];
    }
  );
  assert(lites.length >= 1);
  const last = lites[lites.length - 1];
  assertEquals([last.Stream, last.OmitPeers, last.Hostinfo.OSVersion], [false, true, "6.1"]);
  assertEquals([last.Endpoints, last.EndpointTypes], [["127.0.0.1:41641"], [1]]);
  const n = lites.length;
  f.client.setHostinfo({ IPNVersion: "0.1.0", OS: "linux", Hostname: "me", OSVersion: "6.1" });
  await settle();
  assertEquals(
    f.transport.calls.filter((c) => c.kind === "lite").length,
    n,
    "no-op change sends nothing",
  );
  await f.client.close();
});

Deno.test("AutoClient answers a PingRequest with empty Types once per URL", async () => {
  const f = await loggedIn();
  const ping = { URL: "http://control.test/machine/ping-response?id=1", URLIsNoise: true };
  f.transport.streams[0].push({ KeepAlive: true, PingRequest: ping });
  f.transport.streams[0].push({ PingRequest: ping });
  f.transport.streams[0].push({
    KeepAlive: true,
    PingRequest: { URL: "http://x/2", Types: "disco" },
  });
  await settle();
  const pings = f.transport.calls.filter((c) => c.kind === "ping");
  assertEquals(pings.map((p) => (p.req as { URL: string }).URL), [ping.URL]);
  await f.client.close();
});

Deno.test("AutoClient.close() is safe twice and leaves no timers", async () => {
  const f = await loggedIn();
  f.transport.streams[0].fail(new ControlError("connection-lost", "lost", true));
  await settle();
  assert(f.clock.pending > 0);
  await f.client.close();
  await f.client.close();
  assertEquals(f.clock.pending, 0);
});

Deno.test("backoffDelay() doubles from 500 ms to 30 s with jitter in the upper half", () => {
  assertEquals(backoffDelay(1, 0), 250);
  assertEquals(backoffDelay(1, 0.999), 500);
  assertEquals(backoffDelay(3, 0), 1000);
  assertEquals(backoffDelay(20, 0), BACKOFF_MAX_MS / 2);
  assertEquals(backoffDelay(20, 0.999), BACKOFF_MAX_MS - 15);
});

Deno.test("AutoClient builds each new session's netmap from its first response", async () => {
  const f = await loggedIn();
  f.transport.streams[0].push({ PeersChanged: [{ ID: 3, Addresses: ["100.64.0.3/32"] }] });
  await settle();
  assertEquals(f.last().netmap?.peers.map((p) => p.id), [2, 3]);
  f.transport.streams[0].fail(new ControlError("connection-lost", "lost", true));
  await settle();
  await f.clock.advanceAsync(BACKOFF_MAX_MS, settle);
  // Both peers left during the outage: the new session's first response has no Peers at all.
  f.transport.streams[1].push({ Node: firstMap().Node });
  await settle();
  assertEquals(f.last().netmap?.peers, []);
  // And a session whose first response lacks Node is dropped and retried.
  f.transport.streams[1].fail(new ControlError("connection-lost", "lost", true));
  await settle();
  await f.clock.advanceAsync(BACKOFF_MAX_MS, settle);
  f.transport.streams[2].push({ OnlineChange: { "2": true } });
  await settle();
  assertEquals(f.last().error?.code, "bad-map-response");
  assertEquals(f.last().netmap?.self.id, 1, "netmap kept");
  await f.client.close();
});

Deno.test("AutoClient sends no lite update for changes the new map request already carries", async () => {
  const f = fixture();
  f.transport.answer(OK);
  f.client.login({ authKey: "k" });
  f.client.setEndpoints([{ addr: "127.0.0.1:41641", type: 1 }]);
  await settle();
  f.transport.streams[0].push(firstMap());
  await settle();
  assertEquals(f.transport.streams[0].req.Endpoints, ["127.0.0.1:41641"]);
  assertEquals(f.transport.calls.filter((c) => c.kind === "lite").length, 0);
  await f.client.close();
});

Deno.test("AutoClient waits at least a 429's Retry-After before registering again", async () => {
  const f = fixture();
  const limited = new ControlError("rate-limited", "Control register failed: HTTP 429", true, 429);
  limited.retryAfterMs = 20_000;
  f.transport.answer(limited);
  f.client.login({ authKey: "k" });
  await settle();
  assertEquals(f.last().error?.code, "rate-limited");
  await f.clock.advanceAsync(19_999, settle);
  assertEquals(f.transport.registers.length, 1);
  f.transport.answer(OK);
  await f.clock.advanceAsync(1, settle);
  assertEquals(f.transport.registers.length, 2);
  assertEquals(f.last().loggedIn, true);
  await f.client.close();
});
