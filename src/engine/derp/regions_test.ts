import { assert, assertEquals } from "../base/testing/assert.ts";
import type { DerpMap } from "../wire/derp_map.ts";
import { generatePrivate, publicOf } from "../key/keys.ts";
import { TestDerpServer } from "./testing/derp_server.ts";
import { DerpClient, type DerpMessage } from "./client.ts";
import { ManualClock } from "../base/testing/manual_clock.ts";
import { IDLE_CHECK_INTERVAL_MS, RECONNECT_BASE_MS, RECONNECT_MAX_MS } from "./constants.ts";
import { backoffDelay, DerpRegions } from "./regions.ts";

function mapOf(...ids: number[]): DerpMap {
  const Regions: DerpMap["Regions"] = {};
  for (const id of ids) {
    Regions[String(id)] = {
      RegionID: id,
      RegionCode: `r${id}`,
      RegionName: `Region ${id}`,
      Nodes: [{ Name: `${id}a`, RegionID: id, HostName: "127.0.0.1" }],
    };
  }
  return { Regions };
}

/** Lets promises and stream hops run (real time, a few ms at most). */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 1));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function setup(clock: ManualClock, ...ids: number[]) {
  const servers = new Map(ids.map((id) => [id, new TestDerpServer()]));
  const got: { regionId: number; msg: DerpMessage }[] = [];
  const privateKey = generatePrivate("node");
  const regions = new DerpRegions({
    privateKey,
    derpMap: mapOf(...ids),
    homeRegion: ids[0],
    clock,
    random: () => 0.5,
    connect: (region) => Promise.resolve({ stream: servers.get(region.RegionID)!.connect() }),
    onMessage: (regionId, msg) => got.push({ regionId, msg }),
  });
  const state = (id: number) => regions.status().find((s) => s.regionId === id)?.state;
  const stopAll = async () => {
    await regions.close();
    for (const s of servers.values()) await s.close();
  };
  return { servers, regions, got, state, stopAll, privateKey };
}

async function peerOn(server: TestDerpServer): Promise<DerpClient> {
  const c = await DerpClient.connect(server.connect(), { privateKey: generatePrivate("node") });
  await c.recv(); // server info
  return c;
}

Deno.test("backoffDelay() doubles from the base, caps, and jitters into [0.5, 1) of that", () => {
  const mid = () => 0.5;
  assertEquals(backoffDelay(1, 100, 5000, mid), 75);
  assertEquals(backoffDelay(2, 100, 5000, mid), 150);
  assertEquals(backoffDelay(3, 100, 5000, mid), 300);
  assertEquals(backoffDelay(7, 100, 5000, mid), 3750);
  assertEquals(backoffDelay(50, 100, 5000, mid), 3750);
  assertEquals(backoffDelay(1, 100, 5000, () => 0), 50);
  assert(backoffDelay(9, 100, 5000, () => 0.999999) <= 5000);
  assertEquals([RECONNECT_BASE_MS, RECONNECT_MAX_MS], [100, 5000]);
});

Deno.test("DerpRegions connects the home region at once and notes it preferred", async () => {
  const clock = new ManualClock();
  const t = setup(clock, 900);
  await t.regions.waitConnected(900);
  const server = t.servers.get(900)!;
  await until(() => [...server.conns.values()][0]?.preferred === true, "NotePreferred(true)");
  assertEquals(t.got.map((g) => [g.regionId, g.msg.type]), [[900, "server-info"]]);
  await t.stopAll();
});

Deno.test("DerpRegions.send() opens another region on demand and delivers queued packets", async () => {
  const clock = new ManualClock();
  const t = setup(clock, 900, 901);
  const peer = await peerOn(t.servers.get(901)!);
  for (let i = 0; i < 5; i++) assert(t.regions.send(901, peer.publicKey, new Uint8Array([i])));
  for (let i = 0; i < 5; i++) {
    const m = await peer.recv();
    assert(m.type === "recv-packet");
    assertEquals(m.packet, new Uint8Array([i]));
  }
  assertEquals(t.state(901), "connected");
  // And replies come back tagged with their region.
  await peer.send(publicOf(t.privateKey), new Uint8Array([77]));
  await until(() => t.got.some((g) => g.regionId === 901 && g.msg.type === "recv-packet"), "reply");
  await peer.close();
  await t.stopAll();
});

Deno.test("DerpRegions.send() refuses a region missing from the map", async () => {
  const clock = new ManualClock();
  const t = setup(clock, 900);
  assertEquals(t.regions.send(5, publicOf(t.privateKey), new Uint8Array(1)), false);
  assertEquals(t.regions.stats.drops.noRegion, 1);
  await t.stopAll();
});

Deno.test("DerpRegions closes a non-home region after 60 s without sends; home stays", async () => {
  const clock = new ManualClock();
  const t = setup(clock, 900, 901);
  const peer = await peerOn(t.servers.get(901)!);
  t.regions.send(901, peer.publicKey, new Uint8Array([1]));
  await t.regions.waitConnected(901);
  await t.regions.waitConnected(900);
  clock.advance(45_000);
  await until(() => true, "a tick");
  assertEquals(t.state(901), "connected");
  clock.advance(IDLE_CHECK_INTERVAL_MS);
  await until(() => t.state(901) === undefined, "idle close");
  assertEquals(t.regions.stats.idleCloses, 1);
  assertEquals(t.state(900), "connected");
  // A later send opens it again.
  t.regions.send(901, peer.publicKey, new Uint8Array([2]));
  await t.regions.waitConnected(901);
  await until(() => t.regions.status().find((s) => s.regionId === 901)?.connects === 1, "reopen");
  await peer.close();
  await t.stopAll();
});

Deno.test("DerpRegions reconnects the home region with growing, jittered backoff", async () => {
  const clock = new ManualClock();
  const t = setup(clock, 900);
  await t.regions.waitConnected(900);
  const server = t.servers.get(900)!;
  server.refusing = true;
  await server.dropAll();
  const delays: number[] = [];
  for (let attempt = 1; attempt <= 8; attempt++) {
    await until(
      () => t.state(900) === "backoff" && t.regions.status()[0].failures === attempt,
      `failure ${attempt}`,
    );
    const s = t.regions.status()[0];
    delays.push(s.retryAt! - clock.now());
    clock.advance(s.retryAt! - clock.now());
  }
  // random() = 0.5 → factor 0.75 of 100·2^(n−1), capped at 5000.
  assertEquals(delays, [75, 150, 300, 600, 1200, 2400, 3750, 3750]);
  server.refusing = false;
  await until(() => t.state(900) === "backoff", "last backoff");
  clock.advance(t.regions.status()[0].retryAt! - clock.now());
  await t.regions.waitConnected(900);
  assertEquals(t.regions.status()[0].failures, 0);
  assertEquals(t.regions.stats.disconnects, 1);
  assertEquals(t.regions.stats.connects, 2);
  await t.stopAll();
});

Deno.test("DerpRegions.setHome() moves NotePreferred to the new home", async () => {
  const clock = new ManualClock();
  const t = setup(clock, 900, 901);
  await t.regions.waitConnected(900);
  t.regions.setHome(901);
  await t.regions.waitConnected(901);
  const pref = (id: number) => [...t.servers.get(id)!.conns.values()][0]?.preferred;
  await until(() => pref(901) === true && pref(900) === false, "preferred flags");
  assertEquals(t.regions.homeRegion, 901);
  await t.stopAll();
});

Deno.test("DerpRegions.setDerpMap() closes regions the new map lacks", async () => {
  const clock = new ManualClock();
  const t = setup(clock, 900, 901);
  const peer = await peerOn(t.servers.get(901)!);
  t.regions.send(901, peer.publicKey, new Uint8Array([1]));
  await t.regions.waitConnected(901);
  t.regions.setDerpMap(mapOf(900));
  await until(() => t.state(901) === undefined, "region 901 closed");
  await peer.close();
  await t.stopAll();
});

Deno.test("DerpRegions.close() stops every connection and timer, and is safe twice", async () => {
  const clock = new ManualClock();
  const t = setup(clock, 900, 901);
  t.regions.send(901, publicOf(t.privateKey), new Uint8Array([1]));
  await t.regions.waitConnected(900);
  await t.regions.waitConnected(901);
  await t.regions.close();
  await t.regions.close();
  assertEquals(clock.pending, 0);
  assertEquals(t.regions.status(), []);
  assertEquals(t.regions.send(900, publicOf(t.privateKey), new Uint8Array(1)), false);
  await t.stopAll();
});
