/**
 * Fuzzes the hot-path entry points, which must never throw at all: inspectIp() (complete and
 * truncated modes), fillTransportChecksum(), and the reply builders fed whatever inspectIp
 * accepts. Whatever a builder writes must itself be a well-formed packet with correct
 * checksums, and a checksum fillTransportChecksum writes must verify. Any ParseError raised
 * while checking a built packet is turned into a failure, so it cannot pass as a rejection.
 * @module
 */
import { assert, assertEquals } from "../base/testing/assert.ts";
import { fromHex } from "../base/bytes.ts";
import { checksumAdd, checksumFinish, pseudoHeaderSumAt } from "./checksum.ts";
import { icmpv4ChecksumOk, parseIcmpv4 } from "./icmpv4.ts";
import { parseIcmpv6 } from "./icmpv6.ts";
import { inspectIp, newIpInfo } from "./ip.ts";
import { fillTransportChecksum } from "./ip_build.ts";
import { ipv4ChecksumOk } from "./ipv4.ts";
import { buildIcmpEchoReply, buildIcmpPortUnreachable, buildTcpRst } from "./replies.ts";
import { parseTcp } from "./tcp.ts";
import { buildTsmpPong, parseTsmp } from "./tsmp.ts";
import { ALL_CAPTURE_SEEDS, mustNotReject, runFuzz } from "./testing/fuzz_seeds.ts";
import { SHARE_MIN_ROUNDS } from "../base/testing/fuzz.ts";

// A TSMP ping (100.64.0.1 -> 100.64.0.2), so buildTsmpPong sees pings too.
const TSMP_PING = fromHex("4500001d000000004063b1fb6440000164400002700102030405060708");

Deno.test("inspectIp() and reply builders fuzz: nothing throws; replies are well-formed", (t) => {
  const info = newIpInfo();
  const check = newIpInfo();
  const out = new Uint8Array(1600);
  let replies = 0, filled = 0;
  const stats = runFuzz(
    t,
    "ip+replies",
    [...ALL_CAPTURE_SEEDS, TSMP_PING],
    (input, rnd) => {
      const ok = inspectIp(input, 0, input.length, info, rnd() < 0.3);
      if (ok) {
        assert(info.payloadOff <= info.payloadEnd && info.payloadEnd <= input.length);
        assert(info.srcOff + info.addrLen <= input.length);
        assert(info.dstOff + info.addrLen <= input.length);
        const copy = input.slice();
        if (fillTransportChecksum(copy, info)) {
          filled++;
          const [p, e] = [info.payloadOff, info.payloadEnd];
          const ps = pseudoHeaderSumAt(
            copy,
            info.srcOff,
            info.dstOff,
            info.addrLen,
            info.protocol,
            e - p,
          );
          const good = info.protocol === 1
            ? icmpv4ChecksumOk(copy, p, e)
            : checksumFinish(checksumAdd(ps, copy, p, e)) === 0;
          assert(
            good,
            `fillTransportChecksum wrote a wrong checksum for protocol ${info.protocol}`,
          );
        }
      }
      for (const build of [buildIcmpEchoReply, buildTcpRst, buildIcmpPortUnreachable]) {
        const end = build(input, 0, input.length, out, 0, info);
        if (end < 0) continue;
        replies++;
        assert(inspectIp(out, 0, end, check), `${build.name} wrote a bad packet`);
        const ph = {
          src: out.slice(check.srcOff, check.srcOff + check.addrLen),
          dst: out.slice(check.dstOff, check.dstOff + check.addrLen),
        };
        mustNotReject(build.name, () => {
          if (check.version === 4) {
            assert(ipv4ChecksumOk(out, 0), `${build.name} wrote a bad IPv4 checksum`);
            if (check.protocol === 1) parseIcmpv4(out, check.payloadOff, end);
          } else if (check.protocol === 58) {
            parseIcmpv6(out, check.payloadOff, end, ph);
          }
          if (check.protocol === 6) parseTcp(out, check.payloadOff, end, ph);
        });
      }
      const pongEnd = buildTsmpPong(input, 0, input.length, 41641, out, 0, info);
      if (pongEnd >= 0) {
        replies++;
        assert(inspectIp(out, 0, pongEnd, check));
        if (check.version === 4) assert(ipv4ChecksumOk(out, 0));
        mustNotReject("buildTsmpPong", () => {
          assertEquals(parseTsmp(out, check.payloadOff, pongEnd).type, "pong");
        });
      }
      return ok;
    },
    { minShare: 0.25, ci: 200_000 },
  );
  if (stats.rounds >= SHARE_MIN_ROUNDS) {
    assert(replies > 0, "no builder ever produced a reply");
    assert(filled > 0, "fillTransportChecksum never filled a checksum");
  }
});
