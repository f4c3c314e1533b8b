import { assertEquals } from "../engine/base/testing/assert.ts";
import { defaultPrefs, type Prefs } from "./prefs.ts";
import { checkUpFlags, formatFlagArg, type UpCheckInput } from "./up_check.ts";

const HS = "http://127.0.0.1:34369";

function input(over: Partial<UpCheckInput>): UpCheckInput {
  const p: Prefs = { ...defaultPrefs(), ControlURL: HS, WantRunning: true };
  return {
    newPrefs: p,
    curPrefs: p,
    curLoginName: "lab",
    backendState: "Running",
    flagsGiven: new Set(["login-server"]),
    explicitArgs: [`--login-server=${HS}`],
    command: "tailnet up",
    ...over,
  };
}

Deno.test("checkUpFlags() never refuses the first up (no ControlURL yet)", () => {
  const r = checkUpFlags(input({ curPrefs: { ...defaultPrefs(), Hostname: "x" } }));
  assertEquals(r, { kind: "ok", simpleUp: false });
});

Deno.test("checkUpFlags() treats a bare up of a logged-in node as a simple up", () => {
  const r = checkUpFlags(input({ flagsGiven: new Set(), explicitArgs: [] }));
  assertEquals(r, { kind: "ok", simpleUp: true });
  const r2 = checkUpFlags(input({ flagsGiven: new Set(), backendState: "NeedsLogin" }));
  assertEquals(r2.kind, "ok");
});

Deno.test("checkUpFlags() names every non-default setting left out, sorted, as tailscale up", () => {
  // The real tailscale 1.98.10 printed, for ts1 with --hostname=ts1 and the same flags:
  //   tailscale up --login-server=http://127.0.0.1:34369 --shields-up --hostname=ts1
  const cur = { ...defaultPrefs(), ControlURL: HS, Hostname: "ts1", WantRunning: true };
  const next = { ...defaultPrefs(), ControlURL: HS, ShieldsUp: true, WantRunning: true };
  const r = checkUpFlags(input({
    curPrefs: cur,
    newPrefs: next,
    flagsGiven: new Set(["login-server", "shields-up"]),
    explicitArgs: [`--login-server=${HS}`, "--shields-up"],
  }));
  assertEquals(r.kind, "missing");
  if (r.kind !== "missing") return;
  assertEquals(r.missing, ["--hostname=ts1"]);
  assertEquals(
    r.message.endsWith(`tailnet up --login-server=${HS} --shields-up --hostname=ts1`),
    true,
    r.message,
  );
  assertEquals(r.message.includes("\n"), false);
});

Deno.test("checkUpFlags() accepts flags that repeat every non-default setting", () => {
  const cur = { ...defaultPrefs(), ControlURL: HS, Hostname: "a", AdvertiseTags: ["tag:x"] };
  const r = checkUpFlags(input({
    curPrefs: cur,
    newPrefs: { ...cur },
    flagsGiven: new Set(["login-server", "hostname", "advertise-tags"]),
  }));
  assertEquals(r, { kind: "ok", simpleUp: false });
});

Deno.test("checkUpFlags() treats login-server synonyms as equal", () => {
  const cur = { ...defaultPrefs(), ControlURL: "https://login.tailscale.com" };
  const next = { ...defaultPrefs(), ControlURL: "https://controlplane.tailscale.com" };
  const r = checkUpFlags(
    input({ curPrefs: cur, newPrefs: next, flagsGiven: new Set(["hostname"]) }),
  );
  assertEquals(r, { kind: "ok", simpleUp: false });
});

Deno.test("formatFlagArg() writes --flag, --flag= and quoted values as Go does", () => {
  assertEquals(formatFlagArg("shields-up", true), "--shields-up");
  assertEquals(formatFlagArg("hostname", ""), "--hostname=");
  assertEquals(formatFlagArg("hostname", "a b"), "--hostname='a b'");
  assertEquals(formatFlagArg("advertise-tags", "tag:a,tag:b"), "--advertise-tags=tag:a,tag:b");
});
