/**
 * Filter rule compilation as Go's `MatchesFromFilterRules` and `parseIPSet` (v1.98.10).
 * @module
 */
import { assert, assertEquals, assertThrows } from "../base/testing/assert.ts";
import { ParseError } from "../base/errors.ts";
import { formatIpPrefix } from "../wire/ip_addr.ts";
import { compileFilterRules, formatFilterRule, parseIpSet } from "./rules.ts";

const set = (text: string) => {
  const s = parseIpSet(text);
  return [...s.prefixes.map(formatIpPrefix), ...(s.cap ? [`cap:${s.cap}`] : [])];
};
const all = { First: 0, Last: 65535 };

Deno.test("parseIpSet(): *, IPs, prefixes, ranges and capabilities as Go accepts them", () => {
  assertEquals(set("*"), ["0.0.0.0/0", "::/0"]);
  assertEquals(set("100.64.0.1"), ["100.64.0.1/32"]);
  assertEquals(set("fd7a:115c:a1e0::1"), ["fd7a:115c:a1e0::1/128"]);
  assertEquals(set("100.64.0.0/10"), ["100.64.0.0/10"]);
  assertEquals(set("10.0.0.1-10.0.0.6"), [
    "10.0.0.1/32",
    "10.0.0.2/31",
    "10.0.0.4/31",
    "10.0.0.6/32",
  ]);
  assertEquals(set("10.0.0.0-10.0.0.255"), ["10.0.0.0/24"]);
  assertEquals(set("fd00::-fd00::3"), ["fd00::/126"]);
  assertEquals(set("cap:tailscale.com/cap/funnel"), ["cap:tailscale.com/cap/funnel"]);
});

Deno.test("parseIpSet(): what Go refuses", () => {
  for (
    const bad of [
      "",
      "100.64.0.1/10", // host bits set
      "100.64.0.0/33",
      "10.0.0.9-10.0.0.1", // backwards
      "10.0.0.1-fd00::1", // two families
      "10.0.0.1-10.0.0.2-10.0.0.3",
      "host.example",
      "autogroup:internet",
      " 100.64.0.1",
    ]
  ) assertThrows(() => parseIpSet(bad), ParseError);
});

Deno.test("compileFilterRules(): a bad entry is skipped and reported, the rule stays", () => {
  const c = compileFilterRules([
    {
      SrcIPs: ["bogus", "100.64.0.2", "100.64.0.1/8"],
      DstPorts: [{ IP: "100.64.0.9/31", Ports: all }, {
        IP: "100.64.0.3",
        Ports: { First: 22, Last: 22 },
      }],
      IPProto: [6, 300, -1, 17],
    },
    { SrcIPs: ["*"], DstPorts: [{ IP: "cap:x", Ports: all }] },
  ]);
  assertEquals(c.error, 'invalid IP address "bogus"');
  assertEquals(c.rules.length, 2);
  assertEquals(c.rules[0].srcs.map(formatIpPrefix), ["100.64.0.2/32"]);
  assertEquals(c.rules[0].dsts.map((d) => formatIpPrefix(d.prefix)), ["100.64.0.3/32"]);
  assertEquals(c.rules[0].protos, [6, 17]);
  assertEquals(c.rules[1].dsts, []);
});

Deno.test("compileFilterRules(): deprecated SrcBits or DstPorts Bits leave no rules at all", () => {
  const src = compileFilterRules([
    { SrcIPs: ["*"], DstPorts: [{ IP: "*", Ports: all }] },
    { SrcIPs: ["100.64.0.0"], SrcBits: [10], DstPorts: [{ IP: "*", Ports: all }] },
  ]);
  assertEquals(src.rules, []);
  assert(src.error.includes("SrcBits"));
  const dst = compileFilterRules([{
    SrcIPs: ["*"],
    DstPorts: [{ IP: "100.64.0.1", Bits: 32, Ports: all }],
  }]);
  assertEquals(dst.rules, []);
  assert(dst.error.includes("DstBits"));
  // An explicit null Bits is what current control sends when there are none.
  assertEquals(
    compileFilterRules([{ SrcIPs: ["*"], DstPorts: [{ IP: "*", Bits: null, Ports: all }] }]).error,
    "",
  );
});

Deno.test("compileFilterRules(): default protocols; CapGrant kept, not a destination", () => {
  const c = compileFilterRules([{
    SrcIPs: ["100.64.0.2"],
    CapGrant: [{ Dsts: ["100.64.0.1/32"], CapMap: { "example.com/cap/a": [{}] } }],
  }]);
  assertEquals(c.rules[0].protos, [6, 17, 1, 58]);
  assertEquals(c.rules[0].dsts, []);
  assertEquals(
    formatFilterRule(c.rules[0]),
    "100.64.0.2/32 -> (none) proto 6,17,1,58 capgrant 100.64.0.1/32=example.com/cap/a",
  );
});
