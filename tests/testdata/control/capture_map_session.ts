/**
 * Re-captures `headscale_map_session.json`: starts a lab (headscale + one real tailscaled),
 * registers node A with a pre-auth key and records every frame of its map poll while node B
 * joins, opens its own poll, sends a lite update, goes away, is renamed and deleted.
 *
 *   deno run -A tests/testdata/control/capture_map_session.ts > src/engine/control/testing/headscale_map_session.json
 * @module
 */
import { Lab } from "../../lab/mod.ts";
import { ControlConnection } from "../../../src/engine/control/connection.ts";
import { mapPoll, register, sendLiteUpdate } from "../../../src/engine/control/direct.ts";
import { mapRequest, registerRequest } from "../../../src/engine/control/requests.ts";
import { generatePrivate, publicOf } from "../../../src/engine/key/keys.ts";
import { Logger } from "../../../src/engine/base/logger.ts";
import { CAPABILITY_VERSION } from "../../../src/version.ts";
import type { MapResponse } from "../../../src/engine/control/tailcfg.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = new Logger({ sink: () => {} });
await using lab = await Lab.start({ tailscaleds: 1 });

function node(hostname: string) {
  const conn = new ControlConnection({
    serverUrl: lab.controlUrl,
    machineKey: generatePrivate("machine"),
    version: CAPABILITY_VERSION,
    log,
  });
  const key = generatePrivate("node");
  const hostinfo = {
    IPNVersion: "0.1.0-capture",
    OS: "linux",
    Hostname: hostname,
    BackendLogID: "ab".repeat(32),
    NetInfo: { PreferredDERP: lab.derpRegionId },
  };
  const poll = mapRequest(key, publicOf(generatePrivate("disco")), hostinfo, [], true);
  return { conn, key, hostinfo, poll };
}

const t0 = Date.now();
const events: { atMs: number; note: string }[] = [];
const frames: { atMs: number; msg: MapResponse }[] = [];
const note = (n: string) => events.push({ atMs: Date.now() - t0, note: n });

const a = node("capture-a");
await register(
  await a.conn.get(),
  registerRequest(a.key, null, a.hostinfo, { authKey: lab.authKey }),
);
const acA = new AbortController();
const pollA = (async () => {
  try {
    for await (const m of mapPoll(await a.conn.get(), a.poll, acA.signal)) {
      frames.push({ atMs: Date.now() - t0, msg: m });
    }
  } catch (err) {
    if (!acA.signal.aborted) throw err;
  }
})();
await sleep(2500);
note("B registers with the pre-auth key");
const b = node("capture-b");
await register(
  await b.conn.get(),
  registerRequest(b.key, null, b.hostinfo, { authKey: lab.authKey }),
);
await sleep(2500);
note("B opens its map poll (comes online)");
const acB = new AbortController();
const pollB = (async () => {
  try {
    for await (const _ of mapPoll(await b.conn.get(), b.poll, acB.signal)) { /* drain */ }
  } catch { /* ended below */ }
})();
await sleep(2500);
note("B sends a lite update: endpoint 127.0.0.1:41641 and Hostinfo.OSVersion 6.1-capture");
await sendLiteUpdate(await b.conn.get(), {
  ...b.poll,
  Hostinfo: { ...b.hostinfo, OSVersion: "6.1-capture" },
  Endpoints: ["127.0.0.1:41641"],
  EndpointTypes: [1],
});
await sleep(2500);
note("B closes its map poll");
acB.abort();
await pollB;
await b.conn.close();
await sleep(3000);
const nodes = await lab.headscale(["nodes", "list"]) as { id: number; given_name: string }[];
const bId = nodes.find((n) => n.given_name === "capture-b")!.id;
note("headscale nodes rename B capture-b2");
await lab.headscale(["nodes", "rename", "-i", String(bId), "capture-b2"]);
await sleep(2500);
note("headscale nodes delete B");
await lab.headscale(["nodes", "delete", "-i", String(bId), "--force"]);
await sleep(2500);
acA.abort();
await pollA;
await a.conn.close();

const out = {
  how: "Captured by tests/testdata/control/capture_map_session.ts on " +
    new Date().toISOString().slice(0, 10) +
    " against real headscale v0.29.2 in the lab (plain HTTP on 127.0.0.1, policy allow-all, " +
    "one DERP region) with one real tailscaled " + lab.tailscaleVersion + " (ts1): node A " +
    "(capture-a) registered with a pre-auth key and held a Stream=true, KeepAlive=true, " +
    "no-compression map poll; every frame A received is below with its arrival time; events " +
    "says what was done meanwhile.",
  events,
  frames,
};
await Deno.stdout.write(new TextEncoder().encode(JSON.stringify(out, null, 1) + "\n"));
