import { assertEquals, assertThrows } from "../engine/base/testing/assert.ts";
import {
  configAuthKey,
  ConfigFileError,
  configLocked,
  configToMaskedPrefs,
  configWantsRunning,
  loadConfigFile,
  parseConfig,
} from "./conffile.ts";
import { applyMaskedPrefs, defaultPrefs } from "./prefs.ts";

Deno.test("parseConfig() reads HuJSON (comments, trailing commas) and maps fields as Go's ToPrefs", () => {
  const c = parseConfig(`{
    // a comment
    "version": "alpha0",
    "ServerURL": "http://127.0.0.1:8080", /* another */
    "AuthKey": "file:/x",
    "hostname": "box", // matched case-insensitively, as Go's decoder does
    "acceptRoutes": true,
    "acceptDNS": false,
    "AdvertiseRoutes": ["10.1.0.0/24", "fd00::/64",],
    "ShieldsUp": true,
    "Locked": false,
    "OperatorUser": "a//b,}", // strings are left alone
  }`);
  assertEquals(configWantsRunning(c), true);
  assertEquals(configLocked(c), false);
  const mp = configToMaskedPrefs(c);
  const p = applyMaskedPrefs({ ...defaultPrefs(), Hostname: "old", CorpDNS: true }, mp);
  assertEquals(p.WantRunning, true);
  assertEquals(p.LoggedOut, false);
  assertEquals(p.ControlURL, "http://127.0.0.1:8080");
  assertEquals(p.Hostname, "box");
  assertEquals(p.RouteAll, true);
  assertEquals(p.CorpDNS, false);
  assertEquals(p.ShieldsUp, true);
  assertEquals(p.AdvertiseRoutes, ["10.1.0.0/24", "fd00::/64"]);
  assertEquals(p.OperatorUser, "a//b,}");
});

Deno.test("parseConfig(): fields left out keep the saved prefs; Enabled false stops; Locked defaults to true", () => {
  const c = parseConfig(`{"version": "alpha0", "Enabled": false}`);
  assertEquals(configWantsRunning(c), false);
  assertEquals(configLocked(c), true);
  const saved = { ...defaultPrefs(), Hostname: "kept", RouteAll: true, WantRunning: true };
  const p = applyMaskedPrefs(saved, configToMaskedPrefs(c));
  assertEquals([p.Hostname, p.RouteAll, p.WantRunning], ["kept", true, false]);
});

Deno.test("parseConfig() names unknown keys, bad values, a missing or wrong version", () => {
  const bad = (text: string, re: RegExp) => {
    const e = assertThrows(() => parseConfig(text), ConfigFileError);
    if (!re.test(e.message)) throw new Error(`${e.message} does not match ${re}`);
    assertEquals(e.message.includes("\n"), false);
  };
  bad(`{"version": "alpha0", "Hostnme": "x"}`, /unknown field "Hostnme"/);
  bad(`{"version": "alpha0", "AutoUpdate": {"Chek": true}}`, /unknown field "Chek"/);
  bad(`{"version": "alpha0", "acceptRoutes": "yes"}`, /acceptRoutes: want true, false or null/);
  bad(`{"version": "alpha0", "Hostname": 7}`, /Hostname: want a string/);
  bad(`{"version": "alpha0", "AdvertiseRoutes": ["10.0.0.0"]}`, /"10.0.0.0" in AdvertiseRoutes/);
  bad(`{"version": "alpha0", "StaticEndpoints": ["1.2.3.4:5"]}`, /StaticEndpoints is not built/);
  bad(`{"Hostname": "x"}`, /no "version" field defined/);
  bad(`{"version": "beta"}`, /unsupported "version" value "beta"; want "alpha0"/);
  bad(`{"version": "alpha0",`, /JSON|Unexpected|Expected/);
  bad(`[]`, /want a JSON object/);
  const routes = parseConfig(`{"version": "alpha0", "AdvertiseRoutes": ["10.1.2.3/24"]}`);
  const e = assertThrows(() => configToMaskedPrefs(routes), ConfigFileError);
  assertEquals(e.message, "route 10.1.2.3/24 has non-address bits set; expected 10.1.2.0/24");
});

Deno.test("loadConfigFile() names the file; configAuthKey() reads file: keys trimmed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/key`, "tskey-abc\n");
    await Deno.writeTextFile(`${dir}/c.json`, `{"version":"alpha0","AuthKey":"file:${dir}/key"}`);
    assertEquals(await configAuthKey(await loadConfigFile(`${dir}/c.json`)), "tskey-abc");
    assertEquals(await configAuthKey(parseConfig(`{"version":"alpha0","AuthKey":"k"}`)), "k");
    await Deno.writeTextFile(`${dir}/bad.json`, `{"version":"alpha0","x":1}`);
    const e = await loadConfigFile(`${dir}/bad.json`).catch((err) => err);
    assertEquals(
      e.message,
      `error parsing config file ${dir}/bad.json: json: unknown field "x"`,
    );
    const missing = await loadConfigFile(`${dir}/none.json`).catch((err) => err);
    assertEquals(missing instanceof ConfigFileError, true);
    const noKey = parseConfig(`{"version":"alpha0","AuthKey":"file:${dir}/nokey"}`);
    const ke = await configAuthKey(noKey).catch((err) => err);
    assertEquals(ke.message.startsWith("error reading config file authKey:"), true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseConfig() reads tailnet's LocalDNSRecords and names a bad one", () => {
  const c = parseConfig(`{"version": "alpha0", "LocalDNSRecords": [
    {"Name": "nas.home.arpa.", "Type": "A", "Value": "192.168.7.7"},
    {"name": "printer.home.arpa", "value": "fd00::7"},
  ]}`);
  assertEquals(c.localDnsRecords, [
    { name: "nas.home.arpa", type: "A", value: "192.168.7.7" },
    { name: "printer.home.arpa", type: "", value: "fd00::7" },
  ]);
  for (
    const [bad, why] of [
      [`{"Name": "a..b", "Value": "10.0.0.1"}`, "Name must be a DNS name"],
      [`{"Name": "a", "Type": "TXT", "Value": "x"}`, "Type must be A, AAAA or empty"],
      [`{"Name": "a", "Value": "10.0.0.0/8"}`, "Value must be an IP address"],
      [`{"Name": "a", "Type": "AAAA", "Value": "10.0.0.1"}`, "Value is not an AAAA address"],
      [`{"Name": "a", "Value": "10.0.0.1", "TTL": "5"}`, 'unknown field "TTL"'],
    ]
  ) {
    assertThrows(
      () => parseConfig(`{"version": "alpha0", "LocalDNSRecords": [${bad}]}`),
      ConfigFileError,
      why,
    );
  }
});
