/**
 * `deno task demo` (the README's first command runs it) works end to end: it exits 0 and shows
 * the pings and the page fetched through our SOCKS5 proxy. Skipped when the lab is unavailable.
 * @module
 */
import { assertEquals, assertMatch } from "../../src/engine/base/testing/assert.ts";
import { labAvailable } from "../lab/mod.ts";
import { runCommand } from "../lab/run_command.ts";

const DEMO = new URL("../../scripts/demo.ts", import.meta.url).pathname;

Deno.test({
  name: "deno task demo joins, pings both ways and fetches through SOCKS5",
  ignore: !labAvailable().ok,
  async fn() {
    const r = await runCommand(Deno.execPath(), {
      args: ["run", "--allow-all", "--unstable-net", DEMO],
      env: { NO_COLOR: "1" },
    }, 180_000);
    assertEquals(r.code, 0, r.stdout + r.stderr);
    // Disco pongs come over DERP until the direct path answers; on loopback that may be at once.
    assertMatch(
      r.stdout,
      /pong from tailnet-demo \(100\.\d+\.\d+\.\d+\) via (DERP\(lab\)|[0-9.]+:\d+)/,
    );
    assertMatch(r.stdout, /pong from ts1 \(100\.\d+\.\d+\.\d+\) via (DERP\(lab\)|[0-9.]+:\d+) in/);
    assertMatch(r.stdout, /hello from a web server behind the real tailscaled/);
  },
});
