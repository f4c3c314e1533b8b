import { assertEquals, assertThrows } from "../engine/base/testing/assert.ts";
import {
  applyMaskedPrefs,
  defaultPrefs,
  hostnameError,
  prefsFromJson,
  tagError,
  validatePrefs,
} from "./prefs.ts";

Deno.test("defaultPrefs() matches Go's ipn.NewPrefs on Linux", () => {
  const p = defaultPrefs();
  assertEquals(p.ControlURL, "");
  assertEquals(p.CorpDNS, true);
  assertEquals(p.WantRunning, false);
  assertEquals(p.RouteAll, false);
  assertEquals(p.NetfilterMode, 2);
  assertEquals(p.NoStatefulFiltering, true);
  assertEquals(p.AutoUpdate, { Check: true, Apply: null });
  assertEquals(p.AllowSingleHosts, true);
});

Deno.test("prefsFromJson() reads tailscaled's JSON, fills defaults, ignores Config", () => {
  const p = prefsFromJson({ ControlURL: "http://hs", WantRunning: true, Config: { x: 1 } });
  assertEquals(p.ControlURL, "http://hs");
  assertEquals(p.WantRunning, true);
  assertEquals(p.CorpDNS, true);
  assertEquals("Config" in p, false);
});

Deno.test("prefsFromJson() names the field of a wrong type", () => {
  assertThrows(() => prefsFromJson({ WantRunning: "yes" }), TypeError, "WantRunning");
  assertThrows(() => prefsFromJson({ AdvertiseTags: [1] }), TypeError, "AdvertiseTags");
  assertThrows(() => prefsFromJson({ NetfilterMode: 7 }), TypeError, "NetfilterMode");
  assertThrows(() => prefsFromJson("x"), TypeError);
});

Deno.test("applyMaskedPrefs() copies only fields whose Set flag is true", () => {
  const cur = { ...defaultPrefs(), Hostname: "a", ShieldsUp: true };
  const p = applyMaskedPrefs(cur, { Hostname: "b", HostnameSet: true, ShieldsUp: false });
  assertEquals(p.Hostname, "b");
  assertEquals(p.ShieldsUp, true);
  assertEquals(cur.Hostname, "a", "input untouched");
});

Deno.test("applyMaskedPrefs() handles AutoUpdateSet as an object", () => {
  const p = applyMaskedPrefs(defaultPrefs(), {
    AutoUpdate: { Check: false, Apply: true },
    AutoUpdateSet: { CheckSet: true, ApplySet: false },
  });
  assertEquals(p.AutoUpdate, { Check: false, Apply: null });
});

Deno.test("applyMaskedPrefs() ignores unknown fields, as Go's decoder does, and rejects wrong types", () => {
  // A newer tailscale CLI may send a ...Set flag this version does not know: Go ignores it.
  assertEquals(applyMaskedPrefs(defaultPrefs(), { FooSet: true, Foo: 1 }), defaultPrefs());
  assertThrows(
    () => applyMaskedPrefs(defaultPrefs(), { WantRunningSet: true, WantRunning: 1 }),
    TypeError,
    "WantRunning",
  );
});

Deno.test("hostnameError() follows dnsname.ValidHostname", () => {
  assertEquals(hostnameError("tn-a"), null);
  assertEquals(hostnameError("a.b"), null);
  assertEquals(
    hostnameError("-a"),
    '"-a" is not a valid DNS label: must start with a letter or number',
  );
  assertEquals(
    hostnameError("a_b"),
    '"a_b" is not a valid DNS label: contains invalid character "_"',
  );
  assertEquals(
    hostnameError("x".repeat(64)),
    `"${"x".repeat(64)}" is too long, max length is 63 bytes`,
  );
});

Deno.test("tagError() follows tailcfg.CheckTag", () => {
  assertEquals(tagError("tag:server"), null);
  assertEquals(tagError("server"), "tags must start with 'tag:'");
  assertEquals(tagError("tag:"), "tag names must not be empty");
  assertEquals(tagError("tag:1a"), "tag names must start with a letter, after 'tag:'");
  assertEquals(tagError("tag:a_b"), "tag names can only contain numbers, letters, or dashes");
});

Deno.test("validatePrefs() reports bad URLs, routes and features tailnet lacks", () => {
  assertEquals(validatePrefs(defaultPrefs()), []);
  assertEquals(validatePrefs({ ...defaultPrefs(), ControlURL: "ftp://x" }).length, 1);
  assertEquals(validatePrefs({ ...defaultPrefs(), AdvertiseRoutes: ["10.0.0.0/8", "::/0"] }), []);
  assertEquals(validatePrefs({ ...defaultPrefs(), AdvertiseRoutes: ["10.0.0.300/8"] }).length, 1);
  assertEquals(validatePrefs({ ...defaultPrefs(), RunSSH: true }), [
    "--ssh is not built yet in this version of tailnet",
  ]);
});

Deno.test("applyMaskedPrefs() takes every Go field (AutoExitNode, RelayServerPort); validatePrefs() refuses what tailnet lacks", () => {
  const auto = applyMaskedPrefs(defaultPrefs(), {
    AutoExitNode: "auto:any",
    AutoExitNodeSet: true,
  });
  assertEquals(auto.AutoExitNode, "auto:any");
  assertEquals(validatePrefs(auto), [
    "--exit-node=auto:any is not built yet in this version of tailnet",
  ]);
  assertEquals(validatePrefs({ ...defaultPrefs(), ExitNodeIP: "100.64.0.2" }), []);
  const relay = applyMaskedPrefs(defaultPrefs(), {
    RelayServerPort: 4000,
    RelayServerPortSet: true,
  });
  assertEquals(relay.RelayServerPort, 4000);
  assertEquals(validatePrefs(relay), [
    "--relay-server-port is not built yet in this version of tailnet",
  ]);
  // Go's omitempty fields at their zero value leave the JSON, as Go writes it.
  const cleared = applyMaskedPrefs(auto, {
    AutoExitNode: "",
    AutoExitNodeSet: true,
    ForceDaemon: false,
    ForceDaemonSet: true,
  });
  assertEquals("AutoExitNode" in cleared || "ForceDaemon" in cleared, false);
});
