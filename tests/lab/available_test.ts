import { assertEquals, assertMatch } from "../../src/engine/base/testing/assert.ts";
import {
  binariesAvailable,
  BUILD_FAILED_ENV,
  labAvailable,
  wireguardGoAvailable,
} from "./available.ts";
import { CACHE_ENV } from "./paths.ts";

function withEnv(vars: Record<string, string | undefined>, f: () => void): void {
  const old = Object.fromEntries(Object.keys(vars).map((k) => [k, Deno.env.get(k)]));
  try {
    for (const [k, v] of Object.entries(vars)) {
      v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
    }
    f();
  } finally {
    for (const [k, v] of Object.entries(old)) {
      v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
    }
  }
}

Deno.test("labAvailable() says the build failed when run_tests.ts reports so", () => {
  withEnv({ [BUILD_FAILED_ENV]: "1" }, () => {
    const a = labAvailable();
    assertEquals(a.ok, false);
    assertMatch(a.reason, /lab build' failed/);
  });
});

Deno.test("labAvailable() names the missing binary and the command that builds it", () => {
  withEnv({ [BUILD_FAILED_ENV]: undefined, [CACHE_ENV]: "/nonexistent/tailnet-lab" }, () => {
    const a = labAvailable();
    assertEquals(a.ok, false);
    assertMatch(
      a.reason,
      /^\/nonexistent\/tailnet-lab\/ts-v[\d.]+\/bin\/tailscaled is missing: run 'deno task lab build'/,
    );
  });
});

Deno.test("wireguardGoAvailable() looks in the lab cache and honours the build-failed flag", () => {
  withEnv({ [BUILD_FAILED_ENV]: undefined, [CACHE_ENV]: "/nonexistent/tailnet-lab" }, () => {
    const a = wireguardGoAvailable();
    assertEquals(a.ok, false);
    assertMatch(a.reason, /^\/nonexistent\/tailnet-lab\/wg-v[^/]+\/bin\/wireguard is missing: /);
  });
  withEnv({ [BUILD_FAILED_ENV]: "1" }, () => {
    assertMatch(wireguardGoAvailable().reason, /lab build' failed/);
  });
});

Deno.test("binariesAvailable() is ok when every path is a file", () => {
  withEnv({ [BUILD_FAILED_ENV]: undefined }, () => {
    const self = new URL(import.meta.url).pathname;
    assertEquals(binariesAvailable([self]), { ok: true, reason: "" });
    assertEquals(binariesAvailable([self, "/nonexistent/x"]).ok, false);
  });
});
