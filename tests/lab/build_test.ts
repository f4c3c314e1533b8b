import { assert, assertEquals, assertMatch } from "../../src/engine/base/testing/assert.ts";
import {
  compareGoVersions,
  headscaleStamp,
  tailscaleLdflags,
  tailscaleStamp,
  wireguardGoStamp,
} from "./build.ts";
import { HEADSCALE_RELEASE, TAILSCALE_RELEASES, WIREGUARD_GO_RELEASE } from "./versions.ts";

Deno.test("compareGoVersions() orders go1.x.y and x.y.z strings numerically", () => {
  assert(compareGoVersions("go1.26.8", "1.26.5") > 0);
  assert(compareGoVersions("1.26.4", "go1.26.5") < 0);
  assert(compareGoVersions("go1.26", "1.26.0") === 0);
  assert(compareGoVersions("1.9.0", "1.26.0") < 0);
});

Deno.test("tailscaleLdflags() stamps the short and long version without the v", () => {
  assertEquals(
    tailscaleLdflags("v1.98.10"),
    "-X tailscale.com/version.longStamp=1.98.10-lab -X tailscale.com/version.shortStamp=1.98.10",
  );
});

Deno.test("stamps change with the pinned version, so a new pin is a cache miss", () => {
  const r = TAILSCALE_RELEASES[0];
  assertMatch(tailscaleStamp(r), new RegExp(r.version.replaceAll(".", "\\.")));
  assert(tailscaleStamp(r) !== tailscaleStamp({ ...r, version: "v9.9.9" }));
  assert(
    headscaleStamp(HEADSCALE_RELEASE) !== headscaleStamp({ ...HEADSCALE_RELEASE, version: "v0" }),
  );
});

Deno.test("the pinned tailscale release claims capability version 138", () => {
  assertEquals(TAILSCALE_RELEASES[0].version, "v1.98.10");
  assertEquals(TAILSCALE_RELEASES[0].capabilityVersion, 138);
  assertEquals(HEADSCALE_RELEASE.version, "v0.29.2");
});

Deno.test("the wireguard-go stamp names its module and changes with the pinned commit", () => {
  const r = WIREGUARD_GO_RELEASE;
  assertMatch(wireguardGoStamp(r), /"module":"golang\.zx2c4\.com\/wireguard"/);
  assert(wireguardGoStamp(r) !== wireguardGoStamp({ ...r, version: "v0.0.0-1-abc" }));
});
