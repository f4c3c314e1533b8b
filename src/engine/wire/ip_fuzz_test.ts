/**
 * Fuzzes the hot-path entry points, which must never throw at all: inspectIp() (complete and
 * truncated modes) and the reply builders fed whatever it accepts. Whatever a builder writes
 * must itself be a well-formed packet with correct checksums.
 * @module
 */
import { assert, assertEquals } from "../../../tests/assert.ts";
import { inspectIp, newIpInfo } from "./ip.ts";
import { ipv4ChecksumOk } from "./ipv4.ts";
import { parseIcmpv4 } from "./icmpv4.ts";
import { parseIcmpv6 } from "./icmpv6.ts";
import { parseTcp } from "./tcp.ts";
import { parseTsmp } from "./tsmp.ts";
import { buildIcmpEchoReply, buildIcmpPortUnreachable, buildTcpRst } from "./replies.ts";
import { buildTsmpPong } from "./tsmp.ts";
import { ALL_CAPTURE_SEEDS, runFuzz } from "./_fuzz_seeds.ts";

Deno.test("inspectIp() and reply builders fuzz: nothing throws; replies are well-formed", () => {
  const info = newIpInfo();
  const check = newIpInfo();
  const out = new Uint8Array(1600);
  let replies = 0;
  // A TSMP ping seed, so buildTsmpPong sees pings too.
  const ping = new Uint8Array([
    0x45,
    0,
    0,
    29,
    0,
    0,
    0,
    0,
    64,
    99,
    0xb1,
    0xfb,
    100,
    64,
    0,
    1,
    100,
    64,
    0,
    2,
    0x70,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
  ]);
  const stats = runFuzz("ip+replies", [...ALL_CAPTURE_SEEDS, ping], (input, rnd) => {
    const ok = inspectIp(input, 0, input.length, info, rnd() < 0.3);
    if (ok) {
      assert(info.payloadOff <= info.payloadEnd && info.payloadEnd <= input.length);
      assert(
        info.srcOff + info.addrLen <= input.length && info.dstOff + info.addrLen <= input.length,
      );
    }
    const builders = [buildIcmpEchoReply, buildTcpRst, buildIcmpPortUnreachable] as const;
    for (const build of builders) {
      const end = build(input, 0, input.length, out, 0, info);
      if (end < 0) continue;
      replies++;
      assert(inspectIp(out, 0, end, check), `${build.name} wrote a bad packet`);
      const ph = {
        src: out.slice(check.srcOff, check.srcOff + check.addrLen),
        dst: out.slice(check.dstOff, check.dstOff + check.addrLen),
      };
      if (check.version === 4) {
        assert(ipv4ChecksumOk(out, 0));
        if (check.protocol === 1) parseIcmpv4(out, check.payloadOff, end);
      } else if (check.protocol === 58) {
        parseIcmpv6(out, check.payloadOff, end, ph);
      }
      if (check.protocol === 6) parseTcp(out, check.payloadOff, end, ph);
    }
    const pongEnd = buildTsmpPong(input, 0, input.length, 41641, out, 0, info);
    if (pongEnd >= 0) {
      replies++;
      assert(inspectIp(out, 0, pongEnd, check));
      const m = parseTsmp(out, check.payloadOff, pongEnd);
      assertEquals(m.type, "pong");
    }
    return ok;
  });
  assert(stats.parsed > stats.rounds / 20, "too few inputs inspected for the fuzz to mean much");
  assert(replies > 0, "no builder ever produced a reply");
});
