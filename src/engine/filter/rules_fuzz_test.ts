/**
 * Fuzzes filter rule compilation, the one place the netmap's untrusted filter strings are
 * parsed: mutated address strings through `parseIpSet` (only ParseError escapes; what parses
 * is in its own set), and mutated rule JSON through the netmap's lenient reading and
 * `compileFilterRules` (nothing escapes; every compiled prefix is well formed).
 * @module
 */
import { assert } from "../base/testing/assert.ts";
import { ParseError } from "../base/errors.ts";
import { filterRulesFromJson } from "../control/netmap.ts";
import { prefixContains } from "../wire/ip_addr.ts";
import { runFuzz } from "../wire/testing/fuzz_seeds.ts";
import { compileFilterRules, parseIpSet } from "./rules.ts";

const enc = new TextEncoder();
const ADDR_SEEDS = [
  "*",
  "100.64.0.1",
  "100.64.0.0/10",
  "10.0.0.1-10.0.0.6",
  "fd7a:115c:a1e0::1",
  "fd7a:115c:a1e0::/48",
  "fd00::1-fd00::ff",
  "cap:tailscale.com/cap/x",
].map((s) => enc.encode(s));

const RULE_SEEDS = [
  '[{"SrcIPs":["*"],"DstPorts":[{"IP":"*","Ports":{"First":0,"Last":65535}}]}]',
  '[{"SrcIPs":["100.64.0.1","10.0.0.1-10.0.0.9"],"IPProto":[6,17],"DstPorts":[{"IP":"100.64.0.2/32","Ports":{"First":22,"Last":8080}}]}]',
  '[{"SrcIPs":["100.64.0.0/10"],"CapGrant":[{"Dsts":["100.64.0.2/32"],"Caps":["c"],"CapMap":{"d":[]}}]}]',
  '[{"SrcIPs":["100.64.0.0"],"SrcBits":[10],"DstPorts":[{"IP":"fd00::","Bits":8,"Ports":{"First":1,"Last":2}}]}]',
].map((s) => enc.encode(s));

Deno.test("parseIpSet() fuzz: only ParseError escapes; a parsed prefix contains its address", (t) => {
  runFuzz(t, "filter_ip_set", ADDR_SEEDS, (input) => {
    const s = parseIpSet(String.fromCharCode(...input));
    for (const p of s.prefixes) {
      assert(p.bits >= 0 && p.bits <= p.addr.length * 8 && prefixContains(p, p.addr));
    }
    return true;
  }, { minShare: 0.03 });
});

Deno.test("compileFilterRules() fuzz: mutated rule JSON never throws", (t) => {
  runFuzz(t, "filter_rules", RULE_SEEDS, (input) => {
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(input));
    } catch {
      throw new ParseError("json", "not JSON");
    }
    if (!Array.isArray(json)) return false;
    const c = compileFilterRules(filterRulesFromJson(json));
    for (const r of c.rules) {
      for (const p of [...r.srcs, ...r.dsts.map((d) => d.prefix)]) {
        assert(p.bits >= 0 && p.bits <= p.addr.length * 8);
      }
      assert(r.protos.every((n) => n >= 0 && n <= 255));
    }
    return true;
  }, { minShare: 0.01 });
});
