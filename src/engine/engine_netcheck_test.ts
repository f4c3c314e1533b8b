/**
 * The engine runs netcheck over magicsock's UDP socket: the home DERP region follows the
 * preferred region, control hears NetInfo, and with no STUN answer at all the home region
 * stays (DERP keeps working). Real loopback sockets and STUN server; timers on a ManualClock.
 * @module
 */
import { assert, assertEquals } from "./base/testing/assert.ts";
import { ManualClock } from "./base/testing/manual_clock.ts";
import { Logger } from "./base/logger.ts";
import { EMPTY_ENGINE_CONFIG } from "./config.ts";
import { Engine } from "./engine.ts";
import { generatePrivate } from "./key/keys.ts";
import type { NetInfoJson } from "./netcheck/mod.ts";
import type { DerpMap } from "./wire/derp_map.ts";
import { stunResponder } from "./magicsock/testing/stun_responder.ts";
import { neverConnects } from "./derp/testing/never_connects.ts";

function closedPort(transport: "udp" | "tcp"): number {
  if (transport === "udp") {
    const c = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    const p = (c.addr as Deno.NetAddr).port;
    c.close();
    return p;
  }
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const p = (l.addr as Deno.NetAddr).port;
  l.close();
  return p;
}

/** Regions 1 and 2, both STUN on 127.0.0.1 at the given ports; DERP (TLS) nowhere. */
function twoRegions(stun1: number, stun2: number): DerpMap {
  const derpPort = closedPort("tcp");
  const region = (id: number, stunPort: number) => ({
    RegionID: id,
    RegionCode: `r${id}`,
    RegionName: `Region ${id}`,
    Nodes: [{
      Name: `${id}a`,
      RegionID: id,
      HostName: "127.0.0.1",
      IPv4: "127.0.0.1",
      IPv6: "none",
      STUNPort: stunPort,
      DERPPort: derpPort,
    }],
  });
  return { Regions: { "1": region(1, stun1), "2": region(2, stun2) } };
}

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function engine(clock: ManualClock, netInfos: NetInfoJson[]): Engine {
  return new Engine({
    nodeKey: generatePrivate("node"),
    discoKey: generatePrivate("disco"),
    log: new Logger({ sink: () => {} }),
    clock,
    listenPort: 0,
    onNetInfo: (ni) => netInfos.push(ni),
    // DERP never connects: this test is about the choice of home, not the connection.
    derpConnect: neverConnects,
  });
}

Deno.test("Engine: netcheck moves the home DERP to the region that answers; NetInfo to control", async () => {
  const stun = stunResponder();
  const clock = new ManualClock();
  const netInfos: NetInfoJson[] = [];
  const e = engine(clock, netInfos);
  try {
    // Region 1 (the first home: the lowest ID) never answers STUN; region 2 does.
    e.reconfig({ ...EMPTY_ENGINE_CONFIG, derpMap: twoRegions(closedPort("udp"), stun.port) });
    assertEquals(e.homeDerp, 1);
    await until("netcheck's STUN answer", () => (e.netcheckStats?.stunAnswers ?? 0) > 0);
    await clock.advanceAsync(3_000); // region 1's probes give up
    await until("a report", () => e.netcheckReport !== null);
    assertEquals(e.netcheckReport?.preferredDerp, 2);
    assertEquals(e.homeDerp, 2, "home follows netcheck's preferred region");
    const last = netInfos[netInfos.length - 1];
    assertEquals(last.PreferredDERP, 2);
    assertEquals(last.WorkingUDP, true);
    assert(last.DERPLatency?.["2-v4"] !== undefined, JSON.stringify(last));
  } finally {
    await e.close();
    await stun.close();
  }
});

Deno.test("Engine: no STUN answer at all: UDP false, the home DERP region stays", async () => {
  const clock = new ManualClock();
  const netInfos: NetInfoJson[] = [];
  const e = engine(clock, netInfos);
  try {
    e.reconfig({
      ...EMPTY_ENGINE_CONFIG,
      derpMap: twoRegions(closedPort("udp"), closedPort("udp")),
    });
    assertEquals(e.homeDerp, 1);
    await clock.advanceAsync(3_000);
    await until("a report", () => e.netcheckReport !== null);
    await clock.advanceAsync(2_000); // the HTTPS fallback's budget (the dials are refused)
    await until("NetInfo", () => netInfos.some((n) => n.WorkingUDP === false));
    assertEquals(e.netcheckReport?.udp, false);
    assertEquals(e.netcheckReport?.preferredDerp, 0);
    assertEquals(e.homeDerp, 1, "no latency: the home stays, DERP keeps working");
    assertEquals(netInfos[netInfos.length - 1].PreferredDERP, 1);
  } finally {
    await e.close();
  }
});
