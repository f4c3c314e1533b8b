/**
 * The control plane's share of a large tailnet, in process and without a network: a first
 * MapResponse with 10,000 peers shaped as headscale sends them (decoded from its JSON text,
 * applied, turned into the engine's config and applied to a real {@linkcode Engine}), then one
 * peer change (`PeersChanged` with one node) through the same steps, and one status build.
 * `deno task bench:scale` measures the same against a real headscale and tailscaled.
 *
 * Run: `deno bench --allow-all --unstable-net bench/netmap_bench.ts`.
 * @module
 */
import { Logger } from "../src/engine/base/logger.ts";
import { applyMapResponse } from "../src/engine/control/netmap.ts";
import {
  type JsonObject,
  type MapResponse,
  parseMapResponse,
} from "../src/engine/control/tailcfg.ts";
import type { NetworkMap } from "../src/engine/control/types.ts";
import { Engine } from "../src/engine/engine.ts";
import { generatePrivate, publicOf, publicToText } from "../src/engine/key/keys.ts";
import { engineConfig, EngineConfigCache } from "../src/ipn/engine_config.ts";
import { defaultPrefs } from "../src/ipn/prefs.ts";
import { buildStatus } from "../src/ipn/status.ts";

const PEERS = 10_000;

/** A node as headscale 0.29 sends it (field set and sizes from a captured map session). */
function nodeJson(id: number): JsonObject {
  const hex = (n: number) =>
    Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => b.toString(16).padStart(2, "0"))
      .join("");
  const v4 = `100.65.${id >> 8 & 0xff}.${id & 0xff}`;
  const v6 = `fd7a:115c:a1e0::2:${id.toString(16)}`;
  return {
    ID: id,
    StableID: String(id),
    Name: `bulk-${id}.tailnet.test.`,
    User: 1,
    Key: publicToText("node", publicOf(generatePrivate("node"))),
    KeyExpiry: "0001-01-01T00:00:00Z",
    Machine: `mkey:${hex(32)}`,
    DiscoKey: publicToText("disco", publicOf(generatePrivate("disco"))),
    Addresses: [`${v4}/32`, `${v6}/128`],
    AllowedIPs: [`${v4}/32`, `${v6}/128`],
    Endpoints: [],
    HomeDERP: 0,
    Hostinfo: { Hostname: `bulk-${id}`, OS: "linux" },
    Created: "2026-11-25T13:23:47.991303013Z",
    Cap: 113,
    Tags: [],
    PrimaryRoutes: [],
    LastSeen: "2026-11-25T13:23:47Z",
    Online: false,
    MachineAuthorized: true,
    CapMap: { "https://tailscale.com/cap/file-sharing": [], "https://tailscale.com/cap/ssh": [] },
  };
}

const selfNode = nodeJson(1);
const firstText = JSON.stringify(
  {
    Node: selfNode,
    Peers: Array.from({ length: PEERS }, (_, i) => nodeJson(i + 2)),
    DNSConfig: { Proxied: true, Domains: ["tailnet.test"], Resolvers: [{ Addr: "1.1.1.1" }] },
    Domain: "tailnet.test",
    PacketFilter: [{ SrcIPs: ["*"], DstPorts: [{ IP: "*", Ports: { First: 0, Last: 65535 } }] }],
    UserProfiles: [{ ID: 1, LoginName: "lab", DisplayName: "lab" }],
    ControlTime: new Date().toISOString(),
  } satisfies MapResponse,
);
const changeText = JSON.stringify({ PeersChanged: [nodeJson(PEERS + 2)] });
const log = new Logger({ sink: () => {}, verbosity: -1 });
const prefs = defaultPrefs();

/** A joined node: its netmap, engine and config cache. */
function join(): { nm: NetworkMap; engine: Engine; cache: EngineConfigCache } {
  const nm = applyMapResponse(null, parseMapResponse(firstText));
  const engine = new Engine({
    nodeKey: generatePrivate("node"),
    discoKey: generatePrivate("disco"),
    log,
    listenPort: null,
  });
  const cache = new EngineConfigCache();
  engine.reconfig(engineConfig(prefs, nm, { cache }));
  return { nm, engine, cache };
}

Deno.bench(`join: decode, apply, engine config and reconfig, ${PEERS} peers`, {
  n: 5,
  warmup: 1,
}, async () => {
  await join().engine.close();
});

const joined = join();
let nm = joined.nm;
Deno.bench(`one peer change among ${PEERS}: decode, apply, engine config and reconfig`, {
  n: 50,
  warmup: 5,
}, () => {
  nm = applyMapResponse(nm, parseMapResponse(changeText));
  joined.engine.reconfig(engineConfig(prefs, nm, { cache: joined.cache }));
});

Deno.bench(`status --json with ${PEERS} peers`, { n: 10, warmup: 2 }, () => {
  JSON.stringify(buildStatus({
    version: "bench",
    state: "Running",
    haveNodeKey: true,
    nodeKey: null,
    authUrl: null,
    netmap: nm,
    hostname: "bench",
    os: "linux",
    health: [],
    peers: true,
  }));
});

globalThis.addEventListener("unload", () => void joined.engine.close());
