import { assertEquals } from "../base/testing/assert.ts";
import { formatLatency, newReport, reportToJson } from "./report.ts";
import { netInfoFromReport } from "./net_info.ts";

Deno.test("reportToJson(): Go's netcheck.Report field names, order and encodings", () => {
  const r = newReport();
  r.nowWallMs = Date.UTC(2026, 11, 7, 11, 20, 27, 120);
  r.udp = r.ipv4 = r.ipv4CanSend = true;
  r.mappingVariesByDestIp = "false";
  r.preferredDerp = 900;
  r.regionLatencyMs.set(900, 1.25).set(10, 30);
  r.regionV4LatencyMs.set(900, 1.25);
  r.globalV4Counters = new Map([["127.0.0.1:41641", 2]]);
  r.globalV4 = "127.0.0.1:41641";
  const j = reportToJson(r);
  assertEquals(Object.keys(j), [
    "Now",
    "UDP",
    "IPv6",
    "IPv4",
    "IPv6CanSend",
    "IPv4CanSend",
    "OSHasIPv6",
    "ICMPv4",
    "MappingVariesByDestIP",
    "UPnP",
    "PMP",
    "PCP",
    "PreferredDERP",
    "RegionLatency",
    "RegionV4Latency",
    "RegionV6Latency",
    "GlobalV4Counters",
    "GlobalV6Counters",
    "GlobalV4",
    "GlobalV6",
    "CaptivePortal",
  ]);
  assertEquals(j.Now, "2026-12-07T11:20:27.12Z");
  assertEquals(j.RegionLatency, { "10": 30_000_000, "900": 1_250_000 }, "nanoseconds");
  assertEquals(Object.keys(j.RegionLatency), ["10", "900"], "keys sorted as strings");
  assertEquals(j.RegionV6Latency, {});
  assertEquals(j.GlobalV6Counters, null, "a nil map");
  assertEquals(j.GlobalV6, "", "an unset AddrPort");
  assertEquals(j.MappingVariesByDestIP, false, "opt.Bool is a JSON boolean");
  assertEquals(j.UPnP, null, "not checked");
});

Deno.test("formatLatency(): Go's Duration.String rounded to 100 µs", () => {
  const cases: [number, string][] = [
    [0, "0s"],
    [0.04, "0s"],
    [0.25, "300µs"],
    [0.8, "800µs"],
    [1.23, "1.2ms"],
    [12, "12ms"],
    [999.99, "1s"],
    [1500, "1.5s"],
  ];
  for (const [ms, want] of cases) assertEquals(formatLatency(ms), want, String(ms));
});

Deno.test("netInfoFromReport(): tailscaled's NetInfo (DERPLatency in seconds, opt.Bool as booleans)", () => {
  const r = newReport();
  r.udp = true;
  r.regionV4LatencyMs.set(900, 2);
  r.regionLatencyMs.set(900, 2);
  assertEquals(netInfoFromReport(r, 900), {
    WorkingIPv6: false,
    OSHasIPv6: false,
    WorkingUDP: true,
    WorkingICMPv4: false,
    PreferredDERP: 900,
    DERPLatency: { "900-v4": 0.002 },
  });
});
