import { assertEquals } from "../engine/base/testing/assert.ts";
import type { PeerStatusJson, StatusJson } from "../ipn/status.ts";
import { describeState, dnsOrQuoteHostname, statusTable } from "./status.ts";
import { findPeer } from "./ip.ts";

const Z = "0001-01-01T00:00:00Z";

function peer(over: Partial<PeerStatusJson>): PeerStatusJson {
  return {
    ID: "1",
    PublicKey: "nodekey:01",
    HostName: "h",
    DNSName: "h.tailnet.test.",
    OS: "linux",
    UserID: 1,
    TailscaleIPs: ["100.64.0.1", "fd7a:115c:a1e0::1"],
    Addrs: null,
    CurAddr: "",
    Relay: "lab",
    PeerRelay: "",
    RxBytes: 0,
    TxBytes: 0,
    Created: Z,
    LastWrite: Z,
    LastSeen: Z,
    LastHandshake: Z,
    Online: true,
    ExitNode: false,
    ExitNodeOption: false,
    Active: false,
    PeerAPIURL: null,
    TaildropTarget: 0,
    NoFileSharingReason: "",
    InNetworkMap: true,
    InMagicSock: false,
    InEngine: false,
    ...over,
  };
}

function status(over: Partial<StatusJson> = {}): StatusJson {
  return {
    Version: "t",
    TUN: false,
    BackendState: "Running",
    AuthURL: "",
    TailscaleIPs: ["100.64.0.2"],
    Self: peer({
      HostName: "tnmanual",
      DNSName: "tnmanual.tailnet.test.",
      TailscaleIPs: ["100.64.0.2"],
    }),
    Health: null,
    MagicDNSSuffix: "tailnet.test",
    CurrentTailnet: null,
    CertDomains: null,
    Peer: {
      "nodekey:01": peer({ HostName: "ts1", DNSName: "ts1.tailnet.test." }),
      "nodekey:02": peer({
        HostName: "old",
        DNSName: "old.tailnet.test.",
        TailscaleIPs: ["100.64.0.9"],
        Online: false,
        LastSeen: "2026-11-25T10:00:00Z",
        UserID: 7,
      }),
    },
    User: { "1": { ID: 1, LoginName: "lab", DisplayName: "", ProfilePicURL: "" } },
    ClientVersion: null,
    ...over,
  };
}

Deno.test("statusTable() lays out rows as tailscale status (tabwriter, padding 2)", () => {
  const now = Date.parse("2026-11-25T13:00:00Z");
  const lines = statusTable(status(), {
    header: false,
    self: true,
    peers: true,
    active: false,
    now,
  });
  // The real tailscale 1.98.10 printed, in the lab, "100.64.0.1  ts1       lab  linux  -  ":
  // every cell padded to its column's widest plus two spaces, the last column too.
  const st = "offline, last seen 3h ago";
  assertEquals(lines, [
    `100.64.0.2  tnmanual  lab  linux  ${"-".padEnd(st.length + 2)}`,
    `100.64.0.9  old       7    linux  ${st}  `,
    `100.64.0.1  ts1       lab  linux  ${"-".padEnd(st.length + 2)}`,
  ]);
});

Deno.test("describeState() says what tailscale status says outside Running", () => {
  assertEquals(describeState(status({ BackendState: "Stopped" })), "Tailscale is stopped.");
  assertEquals(describeState(status({ BackendState: "NeedsLogin" })), "Logged out.");
  assertEquals(
    describeState(status({ BackendState: "NeedsLogin", AuthURL: "http://x/register/1" })),
    "Logged out.\nLog in at: http://x/register/1",
  );
  assertEquals(
    describeState(status({ BackendState: "NeedsMachineAuth" })),
    "Machine is not yet approved by tailnet admin.",
  );
  assertEquals(describeState(status({ BackendState: "NoState" })), "unexpected state: NoState");
  assertEquals(describeState(status()), null);
});

Deno.test("dnsOrQuoteHostname() trims the MagicDNS suffix or quotes the hostname", () => {
  assertEquals(dnsOrQuoteHostname(status(), peer({ DNSName: "ts1.tailnet.test." })), "ts1");
  assertEquals(dnsOrQuoteHostname(status(), peer({ DNSName: "", HostName: "raw" })), '("raw")');
});

Deno.test("findPeer() matches by IP, base name, and full DNS name", () => {
  const st = status();
  assertEquals(findPeer(st, "100.64.0.9")?.HostName, "old");
  assertEquals(findPeer(st, "TS1")?.HostName, "ts1");
  assertEquals(findPeer(st, "ts1.tailnet.test.")?.HostName, "ts1");
  assertEquals(findPeer(st, "tnmanual")?.HostName, "tnmanual");
  assertEquals(findPeer(st, "nobody"), null);
});
