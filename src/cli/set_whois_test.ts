/**
 * `tailnet set`'s edit (only the given flags, Go's exit-node route arithmetic) and
 * `tailnet whois`'s text (Go's tabwriter columns), without a daemon.
 */
import { assertEquals, assertThrows } from "../engine/base/testing/assert.ts";
import { defaultPrefs } from "../ipn/prefs.ts";
import type { StatusJson } from "../ipn/status.ts";
import { parseGoFlags } from "./command.ts";
import { maskedFromSetFlags } from "./set.ts";
import { whoisText } from "./whois.ts";

const SPEC = {
  hostname: { type: "string" },
  "advertise-routes": { type: "string" },
  "advertise-exit-node": { type: "bool" },
  "exit-node": { type: "string" },
} as const;

const ST = {
  BackendState: "Running",
  Self: { TailscaleIPs: ["100.64.0.2"] },
  Peer: {},
} as unknown as StatusJson;

Deno.test("set: an edit names only the flags given", () => {
  const m = maskedFromSetFlags(parseGoFlags(["--hostname", "box"], SPEC), defaultPrefs(), ST);
  assertEquals(m as unknown, { HostnameSet: true, Hostname: "box" });
});

Deno.test("set: --advertise-exit-node keeps the other advertised routes", () => {
  const cur = { ...defaultPrefs(), AdvertiseRoutes: ["10.0.0.0/8"] };
  const on = maskedFromSetFlags(parseGoFlags(["--advertise-exit-node"], SPEC), cur, ST);
  assertEquals(on.AdvertiseRoutes, ["10.0.0.0/8", "0.0.0.0/0", "::/0"]);
  const withExit = { ...cur, AdvertiseRoutes: ["10.0.0.0/8", "0.0.0.0/0", "::/0"] };
  const routes = maskedFromSetFlags(
    parseGoFlags(["--advertise-routes", "192.168.1.0/24"], SPEC),
    withExit,
    ST,
  );
  assertEquals(routes.AdvertiseRoutes, ["192.168.1.0/24", "0.0.0.0/0", "::/0"]);
  const off = maskedFromSetFlags(parseGoFlags(["--advertise-exit-node=false"], SPEC), cur, ST);
  assertEquals(off.AdvertiseRoutes, ["10.0.0.0/8"]);
});

Deno.test("set: our own address is refused as an exit node", () => {
  assertThrows(
    () => maskedFromSetFlags(parseGoFlags(["--exit-node", "100.64.0.2"], SPEC), defaultPrefs(), ST),
    Error,
    "local IP address",
  );
});

Deno.test("whois: Go's columns, AllowedIPs beyond the node's own, tags instead of a user", () => {
  assertEquals(
    whoisText({
      Node: {
        Name: "a.tailnet.test.",
        StableID: "7",
        Addresses: ["100.64.0.7/32", "fd7a:115c:a1e0::7/128"],
        AllowedIPs: ["100.64.0.7/32", "fd7a:115c:a1e0::7/128", "10.0.0.0/8"],
      },
      UserProfile: { ID: 3, LoginName: "alice" },
      CapMap: { "cap/b": null, "cap/a": [{ x: 1 }] },
    }),
    [
      "Machine:",
      "  Name:           a.tailnet.test",
      "  ID:             7",
      "  Addresses:      [100.64.0.7/32 fd7a:115c:a1e0::7/128]",
      "  AllowedIPs:     [10.0.0.0/8]",
      "User:",
      "  Name:     alice",
      "  ID:       3",
      "Capabilities:",
      "  - cap/a:",
      '      [\n        {\n          "x": 1\n        }\n      ]',
      "  - cap/b",
    ],
  );
  assertEquals(
    whoisText({
      Node: { Name: "t.", StableID: "8", Addresses: [], Tags: ["tag:a", "tag:b"] },
      UserProfile: {},
    }),
    [
      "Machine:",
      "  Name:          t",
      "  ID:            8",
      "  Addresses:     []",
      "  Tags:          tag:a, tag:b",
    ],
  );
});

Deno.test("set: --exit-node as Go's exitNodeIPOfArg: by name (short, FQDN), only a peer offering one, unique", () => {
  const peer = (name: string, ip: string, offers: boolean) => ({
    DNSName: `${name}.tailnet.test.`,
    TailscaleIPs: [ip, "fd7a:115c:a1e0::9"],
    ExitNodeOption: offers,
  });
  const st = {
    BackendState: "Running",
    MagicDNSSuffix: "tailnet.test",
    Self: { TailscaleIPs: ["100.64.0.2"] },
    Peer: {
      a: peer("exit1", "100.64.0.3", true),
      b: peer("plain", "100.64.0.4", false),
      c: peer("twin", "100.64.0.5", true),
      d: peer("twin", "100.64.0.6", true),
    },
  } as unknown as StatusJson;
  const ip = (arg: string) =>
    maskedFromSetFlags(parseGoFlags(["--exit-node", arg], SPEC), defaultPrefs(), st).ExitNodeIP;
  assertEquals(ip("exit1"), "100.64.0.3");
  assertEquals(ip("EXIT1.tailnet.test"), "100.64.0.3");
  assertEquals(ip("exit1.tailnet.test."), "100.64.0.3");
  assertEquals(ip("100.64.0.3"), "100.64.0.3");
  assertEquals(ip(""), "");
  assertThrows(() => ip("plain"), Error, `node "plain" is not advertising an exit node`);
  assertThrows(() => ip("100.64.0.4"), Error, "node 100.64.0.4 is not advertising an exit node");
  assertThrows(() => ip("100.64.0.99"), Error, "no node found in netmap with IP 100.64.0.99");
  assertThrows(() => ip("nobody"), Error, `invalid value "nobody" for --exit-node`);
  assertThrows(() => ip("twin"), Error, `ambiguous exit node name "twin"`);
});
