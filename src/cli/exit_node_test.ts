import { assertEquals, assertThrows } from "../engine/base/testing/assert.ts";
import type { StatusJson } from "../ipn/status.ts";
import { exitNodeList } from "./exit_node.ts";

const peer = (name: string, ip: string, extra: Record<string, unknown>) => ({
  DNSName: `${name}.tailnet.test.`,
  TailscaleIPs: [ip],
  ExitNodeOption: true,
  ExitNode: false,
  Online: true,
  Active: false,
  LastSeen: "0001-01-01T00:00:00Z",
  ...extra,
});

Deno.test("exitNodeList() prints tailscale exit-node list's table: sorted, padded 5, min 10", () => {
  const st = {
    Peer: {
      k1: peer("zeta", "100.64.0.9", { ExitNode: true, Active: true }),
      k2: peer("alpha", "100.64.0.3", { Online: false }),
      k3: peer("plain", "100.64.0.4", { ExitNodeOption: false }),
    },
  } as unknown as StatusJson;
  assertEquals(exitNodeList(st, "", 0), [
    "",
    " IP             HOSTNAME               COUNTRY     CITY      STATUS       ",
    " 100.64.0.3     alpha.tailnet.test     -           -         offline      ",
    " 100.64.0.9     zeta.tailnet.test      -           -         selected     ",
    "",
    "# To view the complete list of exit nodes for a country, use `tailscale exit-node list --filter=` followed by the country name.",
    "# To use an exit node, use `tailscale set --exit-node=` followed by the IP or hostname.",
  ]);
  assertThrows(() => exitNodeList(st, "Sweden", 0), Error, `no exit nodes found for "Sweden"`);
  assertThrows(
    () => exitNodeList({ Peer: {} } as unknown as StatusJson, "", 0),
    Error,
    "no exit nodes found",
  );
});
