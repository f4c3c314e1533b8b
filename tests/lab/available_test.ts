import { assertEquals, assertMatch } from "../../src/engine/base/testing/assert.ts";
import { BUILD_FAILED_ENV, labAvailable } from "./available.ts";
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
