import { assertEquals } from "../engine/base/testing/assert.ts";
import { newReport } from "../engine/netcheck/mod.ts";
import type { DerpMap } from "../engine/wire/derp_map.ts";
import { formatReport, netcheckCommand } from "./netcheck.ts";

const MAP: DerpMap = {
  Regions: {
    "1": { RegionID: 1, RegionCode: "nyc", RegionName: "New York City", Nodes: [] },
    "2": { RegionID: 2, RegionCode: "sfo", RegionName: "San Francisco", Nodes: [] },
    "900": { RegionID: 900, RegionCode: "lab", RegionName: "Lab DERP", Nodes: [] },
  },
};

Deno.test("formatReport(): tailscale netcheck's lines, regions by latency, unmeasured last", () => {
  const r = newReport();
  r.nowWallMs = Date.UTC(2026, 11, 7, 11, 20, 27, 500);
  r.udp = r.ipv4 = true;
  r.osHasIpv6 = true;
  r.globalV4 = "203.0.113.7:41641";
  r.mappingVariesByDestIp = "false";
  r.preferredDerp = 900;
  r.regionLatencyMs.set(900, 0.4).set(2, 71.26);
  assertEquals(formatReport(MAP, r, ""), [
    "",
    "Report:",
    "\t* Time: 2026-12-07T11:20:27.5Z",
    "\t* UDP: true",
    "\t* IPv4: yes, 203.0.113.7:41641",
    "\t* IPv6: no, but OS has support",
    "\t* MappingVariesByDestIP: false",
    "\t* PortMapping: not checked",
    "\t* Nearest DERP: Lab DERP",
    "\t* DERP latency:",
    "\t\t- lab: 400µs   (Lab DERP)",
    "\t\t- sfo: 71.3ms  (San Francisco)",
    "\t\t- nyc:         (New York City)",
  ]);
  assertEquals(formatReport(MAP, r, "", true)[10], "\t\t- lab: 400µs   (derp900, Lab DERP)");
});

Deno.test("formatReport(): no latency at all: Nearest DERP unknown, no table", () => {
  const r = newReport();
  r.nowWallMs = Date.UTC(2026, 0, 1);
  assertEquals(formatReport(MAP, r, "").slice(2), [
    "\t* Time: 2026-01-01T00:00:00Z",
    "\t* UDP: false",
    "\t* IPv4: (no addr found)",
    "\t* IPv6: no, unavailable in OS",
    "\t* MappingVariesByDestIP: ",
    "\t* PortMapping: not checked",
    "\t* Nearest DERP: unknown (no response to latency probes)",
  ]);
});

Deno.test("formatReport(): json is tab-indented, json-line one line", () => {
  const r = newReport();
  const json = formatReport(MAP, r, "json");
  assertEquals(json.length, 1);
  assertEquals(json[0].split("\n")[1], '\t"Now": "1970-01-01T00:00:00Z",');
  assertEquals(formatReport(MAP, r, "json-line")[0].includes("\n"), false);
});

Deno.test("netcheck: an unknown --format is refused before anything runs", async () => {
  let msg = "";
  await netcheckCommand.run(["--format", "yaml"], {
    socketPath: "/nonexistent",
    out: () => {},
    err: () => {},
  }).catch((e) => msg = (e as Error).message);
  assertEquals(msg, 'unknown output format "yaml"');
});
