/**
 * The stateful filter on real packets: the Linux kernel captures of `wire/testing` (10.99.0.1
 * talking to 10.99.0.2, fd99::1 to fd99::2), as our node would see them arriving or leaving.
 * @module
 */
import { assert, assertEquals } from "../base/testing/assert.ts";
import { fromHex } from "../base/bytes.ts";
import { inspectIp, type IpInfo, newIpInfo } from "../wire/ip.ts";
import { parseIpPrefix } from "../wire/ip_addr.ts";
import * as cap from "../wire/testing/linux_captures.ts";
import { ipv4UdpPacket } from "../wire/testing/packets.ts";
import { parseTsmp, TSMP_REASON_ACL, TSMP_REASON_SHIELDS_UP } from "../wire/tsmp.ts";
import type { FilterRuleJson } from "../control/tailcfg.ts";
import { type FilterConfig, StatefulFilter } from "./filter.ts";
import { compileFilterRules } from "./rules.ts";

/** We are 10.99.0.2 / fd99::2 (the capture's server side) unless a test says otherwise. */
const SERVER = [parseIpPrefix("10.99.0.2/32"), parseIpPrefix("fd99::2/128")];
const CLIENT = [parseIpPrefix("10.99.0.1/32"), parseIpPrefix("fd99::1/128")];

function parsed(hex: string | Uint8Array): { p: Uint8Array; info: IpInfo } {
  const p = typeof hex === "string" ? fromHex(hex) : hex;
  const info = newIpInfo();
  assert(inspectIp(p, 0, p.length, info), "capture does not parse");
  return { p, info };
}

function filterWith(
  rules: FilterRuleJson[],
  local = SERVER,
  shieldsUp = false,
): StatefulFilter {
  const f = new StatefulFilter();
  f.configure(config(rules, local, shieldsUp));
  return f;
}

function config(rules: FilterRuleJson[], local = SERVER, shieldsUp = false): FilterConfig {
  const c = compileFilterRules(rules);
  assertEquals(c.error, "");
  return { rules: c.rules, local, shieldsUp };
}

function inbound(f: StatefulFilter, hex: string | Uint8Array): boolean {
  const { p, info } = parsed(hex);
  return f.inbound(p, info);
}

function outbound(f: StatefulFilter, hex: string | Uint8Array): boolean {
  const { p, info } = parsed(hex);
  return f.outbound(p, info);
}

const port = (ip: string, first: number, last = first) => ({
  IP: ip,
  Ports: { First: first, Last: last },
});

Deno.test("StatefulFilter: default deny before the first config, even for replies", () => {
  const f = new StatefulFilter();
  assert(!inbound(f, cap.TCPV4_SYN));
  assert(!inbound(f, cap.TCPV4_DATA));
  assert(!inbound(f, cap.ICMPV4_ECHO_REPLY));
  assertEquals(f.stats.inbound.drops.notReady, 3);
  assertEquals(f.describe().ready, false);
});

Deno.test("StatefulFilter: a TCP SYN needs a rule for its port; the rest of a connection passes", () => {
  const f = filterWith([{ SrcIPs: ["10.99.0.1"], DstPorts: [port("10.99.0.2", 8080)] }]);
  assert(inbound(f, cap.TCPV4_SYN)); // to 8080
  assert(!inbound(f, cap.TCPV4_SYN_CLOSED)); // to 9
  assert(inbound(f, cap.TCPV4_DATA));
  assert(inbound(f, cap.TCPV4_FIN));
  assertEquals(f.stats.inbound.accepts.tcpRule, 1);
  assertEquals(f.stats.inbound.accepts.tcpNonSyn, 2);
  assertEquals(f.stats.inbound.drops.noRulesMatched, 1);

  // Another source, the same port: no rule.
  const other = filterWith([{ SrcIPs: ["10.99.0.7"], DstPorts: [port("*", 0, 65535)] }]);
  assert(!inbound(other, cap.TCPV4_SYN));
  // A port range and a source range that cover it.
  const ranged = filterWith([{
    SrcIPs: ["10.99.0.0-10.99.0.3"],
    DstPorts: [port("10.99.0.0/24", 8000, 8999)],
  }]);
  assert(inbound(ranged, cap.TCPV4_SYN));
  assert(!inbound(ranged, cap.TCPV4_SYN_CLOSED));
});

Deno.test("StatefulFilter: a connection we opened gets its SYN-ACK without any rule", () => {
  const f = filterWith([], CLIENT);
  assert(outbound(f, cap.TCPV4_SYN));
  assert(inbound(f, cap.TCPV4_SYN_ACK));
  assert(inbound(f, cap.TCPV4_RST));
  assert(inbound(f, cap.TCPV6_SYN_ACK));
  assertEquals(f.stats.inbound.accepts.tcpNonSyn, 3);
});

Deno.test("StatefulFilter: IP protocols: a rule for UDP only does not let a TCP SYN in", () => {
  const f = filterWith([{ SrcIPs: ["*"], IPProto: [17], DstPorts: [port("*", 0, 65535)] }]);
  assert(!inbound(f, cap.TCPV4_SYN));
  assert(inbound(f, cap.UDPV4));
  assertEquals(f.stats.inbound.accepts.udpRule, 1);
});

Deno.test("StatefulFilter: UDP replies to a flow we sent pass, other UDP needs a rule", () => {
  const f = filterWith([], CLIENT);
  // UDPV4 is 10.99.0.1:50415 -> 10.99.0.2:9999; we are 10.99.0.1.
  assert(outbound(f, cap.UDPV4));
  assertEquals(f.stats.flows, 1);
  assert(inbound(f, ipv4UdpPacket("10.99.0.2", "10.99.0.1", 9999, 50415, "reply")));
  assert(!inbound(f, ipv4UdpPacket("10.99.0.2", "10.99.0.1", 9998, 50415, "other port")));
  assert(!inbound(f, ipv4UdpPacket("10.99.0.2", "10.99.0.1", 9999, 50416, "other flow")));
  assertEquals(f.stats.inbound.accepts.flowReply, 1);
  assertEquals(f.stats.inbound.drops.noRulesMatched, 2);

  // 512 newer flows push it out, as Go's LRU.
  for (let i = 0; i < 512; i++) {
    assert(outbound(f, ipv4UdpPacket("10.99.0.1", "10.99.0.2", 20000 + i, 53, "q")));
  }
  assertEquals(f.stats.flows, 512);
  assert(!inbound(f, ipv4UdpPacket("10.99.0.2", "10.99.0.1", 9999, 50415, "too late")));
  assert(inbound(f, ipv4UdpPacket("10.99.0.2", "10.99.0.1", 53, 20511, "newest")));
});

Deno.test("StatefulFilter: ICMP: echo replies and errors pass; an echo request needs a rule to that IP", () => {
  const none = filterWith([], CLIENT);
  assert(inbound(none, cap.ICMPV4_ECHO_REPLY));
  assert(inbound(none, cap.ICMPV4_PORT_UNREACHABLE));
  assert(inbound(none, cap.ICMPV6_ECHO_REPLY));
  assert(inbound(none, cap.ICMPV6_PORT_UNREACHABLE));
  assertEquals(none.stats.inbound.accepts.icmpResponse, 4);

  const server = filterWith([]);
  assert(!inbound(server, cap.ICMPV4_ECHO_REQUEST));
  assert(!inbound(server, cap.ICMPV6_ECHO_REQUEST));
  // Any port open to our IP (here TCP 22) lets pings in, as Go's matchIPsOnly.
  const ssh = filterWith([{ SrcIPs: ["*"], IPProto: [6], DstPorts: [port("*", 22)] }]);
  assert(inbound(ssh, cap.ICMPV4_ECHO_REQUEST));
  assert(inbound(ssh, cap.ICMPV6_ECHO_REQUEST));
  assertEquals(ssh.stats.inbound.accepts.icmpRule, 2);
});

Deno.test("StatefulFilter: IPv6: rules by family; extension headers are the protocol, as in Go", () => {
  const f = filterWith([{ SrcIPs: ["fd99::/64"], DstPorts: [port("fd99::2", 8080)] }]);
  assert(inbound(f, cap.TCPV6_SYN));
  assert(!inbound(f, cap.TCPV4_SYN)); // the IPv6 rule says nothing about IPv4
  assert(!inbound(f, cap.TCPV6_SYN_CLOSED));
  // Go's decoder stops at the fixed header: a fragment header (44) or destination options
  // (60) is the protocol, which needs a rule for all ports; hop-by-hop (0) is unknown.
  const all = filterWith([{ SrcIPs: ["*"], DstPorts: [port("*", 0, 65535)] }]);
  assert(inbound(all, cap.UDPV6));
  assert(!inbound(all, cap.IPV6_FRAG_FIRST));
  assert(!inbound(all, cap.IPV6_FRAG_LAST));
  assert(!inbound(all, cap.IPV6_DSTOPTS_UDP));
  assertEquals(all.stats.inbound.drops.noRulesMatched, 3);
  const frag = filterWith([{ SrcIPs: ["*"], IPProto: [44], DstPorts: [port("*", 0, 65535)] }]);
  assert(inbound(frag, cap.IPV6_FRAG_LAST));
  const hbh = fromHex(cap.IPV6_MLD_HOP_BY_HOP);
  hbh.set(fromHex(cap.UDPV6).subarray(24, 40), 24); // unicast to fd99::2, still hop-by-hop
  assert(!inbound(all, hbh));
  assertEquals(all.stats.inbound.drops.unknownProto, 1);
});

Deno.test("StatefulFilter: IPv4 fragments: a later one passes unless it starts inside the first 80 bytes", () => {
  const f = filterWith([{ SrcIPs: ["*"], DstPorts: [port("*", 22)] }]);
  // The first fragment carries the UDP header: judged by its port (9999: no rule).
  assert(!inbound(f, cap.IPV4_FRAG_FIRST));
  assert(inbound(f, cap.IPV4_FRAG_LAST)); // offset 1256
  assertEquals(f.stats.inbound.accepts.fragment, 1);
  const tiny = fromHex(cap.IPV4_FRAG_LAST);
  tiny[6] = 0, tiny[7] = 9; // offset 72 bytes: could overlap a transport header
  assert(!inbound(f, tiny));
  assertEquals(f.stats.inbound.drops.unknownProto, 1);
});

Deno.test("StatefulFilter: only our addresses; multicast and link-local are dropped both ways", () => {
  const f = filterWith([{ SrcIPs: ["*"], DstPorts: [port("*", 0, 65535)] }], CLIENT);
  assert(!inbound(f, cap.TCPV4_SYN)); // to 10.99.0.2, not ours
  assertEquals(f.stats.inbound.drops.notLocal, 1);
  assert(!inbound(f, cap.IPV6_MLD_HOP_BY_HOP)); // ff02::16
  const mc = ipv4UdpPacket("10.99.0.1", "224.0.0.251", 5353, 5353, "mdns");
  assert(!outbound(f, mc));
  assertEquals(f.stats.outbound.drops.multicast, 1);
  assert(!outbound(f, ipv4UdpPacket("10.99.0.1", "169.254.1.1", 1, 2, "ll")));
  assertEquals(f.stats.outbound.drops.linkLocal, 1);
  // A truncated transport header: Go's decoder calls it unknown.
  const short = fromHex(cap.TCPV4_SYN).slice(0, 30);
  short[2] = 0, short[3] = 30;
  assert(!inbound(f, short));
});

Deno.test("StatefulFilter: other protocols need a rule for all ports", () => {
  const gre = ipv4UdpPacket("10.99.0.1", "10.99.0.2", 1, 2, "gre body");
  gre[9] = 47;
  assert(!inbound(filterWith([{ SrcIPs: ["*"], IPProto: [47], DstPorts: [port("*", 22)] }]), gre));
  assert(
    inbound(filterWith([{ SrcIPs: ["*"], IPProto: [47], DstPorts: [port("*", 0, 65535)] }]), gre),
  );
});

Deno.test("StatefulFilter: shields-up drops every new inbound connection; replies still pass", () => {
  const f = filterWith([{ SrcIPs: ["*"], DstPorts: [port("*", 0, 65535)] }], SERVER, true);
  assert(!inbound(f, cap.TCPV4_SYN));
  assert(!inbound(f, cap.UDPV4));
  assert(!inbound(f, cap.ICMPV4_ECHO_REQUEST));
  assertEquals(f.stats.inbound.drops.shieldsUp, 3);
  assert(inbound(f, cap.TCPV4_DATA));
  const { p, info } = parsed(cap.TCPV4_SYN);
  const reject = f.rejection(p, info);
  assert(reject !== null);
  const r = parsed(reject);
  const m = parseTsmp(reject, r.info.payloadOff, r.info.payloadEnd);
  assertEquals(m.type === "reject" ? [m.reason, m.srcPort, m.dstPort] : [], [
    TSMP_REASON_SHIELDS_UP,
    37918,
    8080,
  ]);
});

Deno.test("StatefulFilter: a refused IPv4 TCP SYN gets a TSMP reject from us to the sender", () => {
  const f = filterWith([]);
  const { p, info } = parsed(cap.TCPV4_SYN);
  assert(!f.inbound(p, info));
  const reject = f.rejection(p, info);
  assert(reject !== null);
  const r = parsed(reject);
  assertEquals([...reject.slice(r.info.srcOff, r.info.srcOff + 4)], [10, 99, 0, 2]);
  assertEquals([...reject.slice(r.info.dstOff, r.info.dstOff + 4)], [10, 99, 0, 1]);
  const m = parseTsmp(reject, r.info.payloadOff, r.info.payloadEnd);
  assertEquals(m.type === "reject" ? [m.proto, m.reason, m.dstPort] : [], [
    6,
    TSMP_REASON_ACL,
    8080,
  ]);
  // Not for UDP, nor a non-SYN.
  const u = parsed(cap.UDPV4);
  assertEquals(f.rejection(u.p, u.info), null);
  const d = parsed(cap.TCPV4_DATA);
  assertEquals(f.rejection(d.p, d.info), null);
  assertEquals(f.stats.rejectsSent, 1);
});

Deno.test("StatefulFilter: a new config applies at once and keeps our flows; shields-up forgets them", () => {
  const f = filterWith([], CLIENT);
  assert(outbound(f, cap.UDPV4));
  const reply = ipv4UdpPacket("10.99.0.2", "10.99.0.1", 9999, 50415, "reply");
  const syn8080 = ipv4UdpPacket("10.99.0.2", "10.99.0.1", 1234, 8080, "new");
  assert(!inbound(f, syn8080));
  f.configure(config([{ SrcIPs: ["10.99.0.2"], DstPorts: [port("10.99.0.1", 8080)] }], CLIENT));
  assert(inbound(f, syn8080));
  assert(inbound(f, reply));
  f.configure(config([], CLIENT));
  assert(!inbound(f, syn8080));
  f.configure(config([], CLIENT, true));
  assert(!inbound(f, reply));
  assertEquals(f.stats.flows, 0);
  f.configure(null);
  assert(!inbound(f, cap.TCPV4_SYN_ACK));
});

Deno.test("StatefulFilter.describe() lists the compiled rules", () => {
  const f = filterWith([{
    SrcIPs: ["100.64.0.2", "cap:tailscale.com/cap/x"],
    DstPorts: [port("100.64.0.1", 8080), port("*", 0, 65535)],
    CapGrant: [{ Dsts: ["100.64.0.1/32"], Caps: ["cap-a"] }],
  }]);
  assertEquals(f.describe(), {
    ready: true,
    shieldsUp: false,
    local: ["10.99.0.2/32", "fd99::2/128"],
    rules: [
      "100.64.0.2/32,cap:tailscale.com/cap/x -> 100.64.0.1/32:8080,0.0.0.0/0:*,::/0:* proto 6,17,1,58 capgrant 100.64.0.1/32=cap-a",
    ],
    error: "",
  });
});

Deno.test("StatefulFilter: a cap:NAME source matches the nodes holding NAME, as Go's srcIPHasCap", () => {
  const rules = compileFilterRules([{
    SrcIPs: ["cap:example.com/cap/web"],
    DstPorts: [port("10.99.0.2", 8080)],
  }]).rules;
  const f = new StatefulFilter();
  f.configure({ rules, local: SERVER, shieldsUp: false });
  assert(!inbound(f, cap.TCPV4_SYN)); // nobody holds it
  f.configure({
    rules,
    local: SERVER,
    shieldsUp: false,
    capHolders: { "example.com/cap/web": [new Uint8Array([10, 99, 0, 1])] },
  });
  assert(inbound(f, cap.TCPV4_SYN));
  assert(!inbound(f, cap.TCPV4_SYN_CLOSED)); // the port still counts
  assert(inbound(f, cap.ICMPV4_ECHO_REQUEST)); // Go: a capability holder may ping
  f.configure({
    rules,
    local: SERVER,
    shieldsUp: false,
    capHolders: { "example.com/cap/web": [new Uint8Array([10, 99, 0, 7])] },
  });
  assert(!inbound(f, cap.TCPV4_SYN));
});
