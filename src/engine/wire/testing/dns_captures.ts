/**
 * DNS messages captured from real tailscaled in the interop lab (headscale v0.29.2 with
 * MagicDNS on `tailnet.test`, extra record grafana.tailnet.test → 100.64.0.99, global
 * nameserver 127.0.0.3): the `Bytes` of its LocalAPI `dns-query` on node ts1 (100.64.0.1,
 * fd7a:115c:a1e0::1) about itself and ts2 (100.64.0.2), and the query its forwarder sent
 * upstream. Each answer's query is what `dns-query` builds: id 1, RD, one question.
 * @module
 */
import { fromHex } from "../../base/bytes.ts";

/** One captured answer and the question it answers. */
export interface DnsCapture {
  /** Source and question. */
  readonly name: string;
  /** The question's name (no trailing dot) and type. */
  readonly qname: string;
  /** Record type number. */
  readonly qtype: number;
  /** The answer bytes. */
  readonly bytes: Uint8Array;
}

function cap(name: string, qname: string, qtype: number, hex: string): DnsCapture {
  return { name, qname, qtype, bytes: fromHex(hex) };
}

/** tailscaled v1.98.10 answers (TTL 600, no SOA). */
export const TAILSCALED_198: readonly DnsCapture[] = [
  cap(
    "ts-1.98-A-peer",
    "ts2.tailnet.test",
    1,
    "00018580000100010000000003747332077461696c6e65740474657374000001000103747332077461696c6e65740474657374000001000100000258000464400001",
  ),
  cap(
    "ts-1.98-AAAA-nodata",
    "ts2.tailnet.test",
    28,
    "00018580000100000000000003747332077461696c6e6574047465737400001c0001",
  ),
  cap(
    "ts-1.98-PTR-self",
    "1.0.64.100.in-addr.arpa",
    12,
    "000185800001000100000000013101300236340331303007696e2d61646472046172706100000c0001013101300236340331303007696e2d61646472046172706100000c000100000258001203747332077461696c6e6574047465737400",
  ),
  cap(
    "ts-1.98-NXDOMAIN",
    "nobody.tailnet.test",
    1,
    "000185830001000000000000066e6f626f6479077461696c6e657404746573740000010001",
  ),
  cap(
    "ts-1.98-NOTIMP-NS",
    "ts2.tailnet.test",
    2,
    "00018584000100000000000003747332077461696c6e657404746573740000020001",
  ),
];

/**
 * tailscaled v1.102.5 answers (TTL 5; negative answers carry the zone's SOA, TTL 10, serial
 * 0x6b169942: the Unix time it answered).
 */
export const TAILSCALED_1102: readonly DnsCapture[] = [
  cap(
    "ts-1.102-A-peer",
    "ts2.tailnet.test",
    1,
    "00018580000100010000000003747332077461696c6e65740474657374000001000103747332077461696c6e65740474657374000001000100000005000464400002",
  ),
  cap(
    "ts-1.102-AAAA-nodata-soa",
    "ts2.tailnet.test",
    28,
    "00018580000100000001000003747332077461696c6e6574047465737400001c0001077461696c6e6574047465737400000600010000000a0030077461696c6e6574047465737400077461696c6e65740474657374006b1699420000000a0000000a0000000a0000000a",
  ),
  cap(
    "ts-1.102-PTR-self",
    "1.0.64.100.in-addr.arpa",
    12,
    "000185800001000100000000013101300236340331303007696e2d61646472046172706100000c0001013101300236340331303007696e2d61646472046172706100000c000100000005001203747331077461696c6e6574047465737400",
  ),
  cap(
    "ts-1.102-NXDOMAIN-soa",
    "nobody.tailnet.test",
    1,
    "000185830001000000010000066e6f626f6479077461696c6e657404746573740000010001077461696c6e6574047465737400000600010000000a0030077461696c6e6574047465737400077461696c6e65740474657374006b1699420000000a0000000a0000000a0000000a",
  ),
  cap(
    "ts-1.102-A-extra-record",
    "grafana.tailnet.test",
    1,
    "0001858000010001000000000767726166616e61077461696c6e6574047465737400000100010767726166616e61077461696c6e65740474657374000001000100000005000464400063",
  ),
  cap(
    "ts-1.102-TXT-nodata",
    "ts2.tailnet.test",
    16,
    "00018580000100000000000003747332077461696c6e657404746573740000100001",
  ),
  cap(
    "ts-1.102-NOTIMP-NS",
    "ts2.tailnet.test",
    2,
    "00018584000100000000000003747332077461696c6e657404746573740000020001",
  ),
];

/** The query tailscaled's forwarder (both releases) sent the global nameserver. */
export const TAILSCALED_UPSTREAM_QUERY: Uint8Array = fromHex(
  "000101000001000000000000076f757473696465076578616d706c650000010001",
);

/** The SOA serial in the 1.102 captures. */
export const TAILSCALED_1102_SOA_SERIAL = 0x6b169942;
