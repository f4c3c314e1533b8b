import { assert } from "../engine/base/testing/assert.ts";
import type { PeerConfig } from "../engine/config.ts";
import { dialsThroughTailnet } from "./engine_link.ts";
import { onLocalNetwork } from "./local_networks.ts";

const iface = (name: string, cidr: string) => ({ name, cidr }) as Deno.NetworkInterfaceInfo;

Deno.test("onLocalNetwork(): the host's own LANs, never loopback or a /0", () => {
  const list = () => [
    iface("lo", "127.0.0.1/8"),
    iface("eth0", "192.168.1.20/24"),
    iface("eth0", "fe80::1%eth0/64"),
    iface("wg0", "10.0.0.1/0"),
  ];
  assert(onLocalNetwork("192.168.1.77", list));
  assert(onLocalNetwork("fe80::99", list));
  assert(!onLocalNetwork("192.168.2.1", list));
  assert(!onLocalNetwork("127.0.0.1", list));
  assert(!onLocalNetwork("8.8.8.8", list), "a /0 interface is not a LAN");
  assert(!onLocalNetwork("not an ip", list));
  assert(
    !onLocalNetwork("192.168.1.77", () => {
      throw new Deno.errors.PermissionDenied("sys");
    }),
  );
});

Deno.test("dialsThroughTailnet(): routed addresses through the tailnet; LAN stays local with allow-LAN-access", () => {
  const peer = (allowedIps: string[]) => ({
    nodeKey: new Uint8Array(32) as PeerConfig["nodeKey"],
    discoKey: null,
    name: "p",
    addresses: [allowedIps[0]],
    allowedIps,
    endpoints: [],
    homeDerp: 0,
  });
  const exit = [peer(["100.64.0.2/32", "0.0.0.0/0", "::/0"])];
  const subnet = [peer(["100.64.0.3/32", "192.168.1.0/24"])];
  const lan = (ip: string) => ip.startsWith("192.168.1.");
  assert(dialsThroughTailnet(exit, "8.8.8.8", false, lan));
  assert(dialsThroughTailnet(exit, "192.168.1.5", false, lan), "no LAN access: the exit node");
  assert(!dialsThroughTailnet(exit, "192.168.1.5", true, lan), "LAN access: the host");
  assert(dialsThroughTailnet(exit, "8.8.8.8", true, lan));
  assert(dialsThroughTailnet(subnet, "192.168.1.5", true, lan), "a subnet route beats the LAN");
  assert(!dialsThroughTailnet(subnet, "8.8.8.8", false, lan));
  assert(!dialsThroughTailnet(exit, "127.0.0.1", false, lan), "loopback never");
  assert(!dialsThroughTailnet(exit, "::1", false, lan));
  assert(!dialsThroughTailnet(exit, "100.64.0.9", false, lan), "tailnet IPs: not a route");
});
