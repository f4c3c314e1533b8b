/**
 * Seeded fuzz of applyMapResponse(): headscale's captured MapResponses with fields swapped for
 * values of the wrong JSON type. A control server's bad JSON must never throw anything but the
 * documented ControlError, and the netmap must stay well-formed. Rounds and seed follow
 * tests/fuzz.ts; a round is the whole captured session, each frame maybe mutated.
 * @module
 */
import { assert } from "../base/testing/assert.ts";
import { applyMapResponse } from "./netmap.ts";
import { ControlError } from "./client.ts";
import type { MapResponse } from "./tailcfg.ts";
import type { NetworkMap } from "./types.ts";
import { fuzzPlan, prng, runRounds } from "../base/testing/fuzz.ts";
import { MAP_SESSION } from "./testing/map_session.ts";

const capture = MAP_SESSION;

const ODD_VALUES: unknown[] = [null, 0, -1, 1.5, "", "x", true, [], [null], {}, { "1": null }, [
  1,
  "a",
  {},
]];

function mutate(v: unknown, rnd: () => number, depth = 0): unknown {
  if (depth > 1 && (rnd() < 0.15 || depth > 5)) {
    return ODD_VALUES[Math.floor(rnd() * ODD_VALUES.length)];
  }
  if (Array.isArray(v)) return v.map((x) => (rnd() < 0.3 ? mutate(x, rnd, depth + 1) : x));
  if (typeof v === "object" && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (rnd() < 0.1) continue;
      out[k] = rnd() < 0.3 ? mutate(x, rnd, depth + 1) : x;
    }
    return out;
  }
  return v;
}

function wellFormed(nm: NetworkMap): void {
  assert(typeof nm.self.id === "number" && Array.isArray(nm.self.addresses));
  for (const p of nm.peers) assert(typeof p.id === "number" && Array.isArray(p.endpoints));
  assert(Array.isArray(nm.packetFilter));
  assert(nm.userProfiles instanceof Map);
  for (let i = 1; i < nm.peers.length; i++) assert(nm.peers[i - 1].id <= nm.peers[i].id);
}

Deno.test("applyMapResponse() fuzz: mutated headscale responses give ControlError or a well-formed netmap", (t) => {
  const plan = fuzzPlan(t, "netmap", { ci: 100_000 });
  runRounds(plan, { minShare: 0.5, what: "sessions applied", perRoundSeed: true }, (round) => {
    const rnd = prng(plan.seed + round);
    let nm: NetworkMap | null = null;
    try {
      for (const f of capture.frames) {
        // A frame is always a JSON object (parseMapResponse checks); its fields may be anything.
        const msg = (rnd() < 0.5 ? mutate(f.msg, rnd, 1) : f.msg) as MapResponse;
        nm = applyMapResponse(nm, msg, { nowMs: 0 });
        wellFormed(nm);
      }
    } catch (err) {
      if (err instanceof ControlError && err.code === "bad-map-response") return false;
      throw err;
    }
    return true;
  });
});
