/**
 * Fuzzes the stateful filter with mutated real packets (the kernel captures): whatever a peer
 * sends, the verdict is a boolean, the counters add up, and a reject, when one is built, is a
 * well-formed IPv4 TSMP packet. Nothing may throw: the filter parses no text here, so not
 * even ParseError escapes.
 * @module
 */
import { assert, assertEquals } from "../base/testing/assert.ts";
import { inspectIp, newIpInfo } from "../wire/ip.ts";
import { parseIpPrefix } from "../wire/ip_addr.ts";
import { IP_PROTO_TSMP } from "../wire/ip_proto.ts";
import { ALL_CAPTURE_SEEDS, runFuzz } from "../wire/testing/fuzz_seeds.ts";
import { StatefulFilter } from "./filter.ts";
import { compileFilterRules } from "./rules.ts";

Deno.test("StatefulFilter fuzz: mutated packets get a verdict, counters add up, rejects parse", (t) => {
  const f = new StatefulFilter();
  f.configure({
    rules: compileFilterRules([
      { SrcIPs: ["10.99.0.0/24"], DstPorts: [{ IP: "*", Ports: { First: 8000, Last: 9000 } }] },
      {
        SrcIPs: ["fd99::1"],
        IPProto: [6, 17, 47],
        DstPorts: [{ IP: "*", Ports: { First: 0, Last: 65535 } }],
      },
    ]).rules,
    local: [parseIpPrefix("10.99.0.0/24"), parseIpPrefix("fd99::/64")],
    shieldsUp: false,
  });
  const info = newIpInfo();
  const out = newIpInfo();
  runFuzz(t, "filter_packets", ALL_CAPTURE_SEEDS, (input, rnd) => {
    if (!inspectIp(input, 0, input.length, info)) return false;
    if (rnd() < 0.5) {
      f.outbound(input, info);
      return true;
    }
    if (!f.inbound(input, info)) {
      const reject = f.rejection(input, info);
      if (reject !== null) {
        assert(inspectIp(reject, 0, reject.length, out));
        assertEquals([out.version, out.protocol], [4, IP_PROTO_TSMP]);
      }
    }
    const st = f.stats.inbound;
    assertEquals(st.dropped, Object.values(st.drops).reduce((x, y) => x + y, 0));
    assertEquals(st.accepted, Object.values(st.accepts).reduce((x, y) => x + y, 0));
    return true;
  }, { minShare: 0.05 });
});
