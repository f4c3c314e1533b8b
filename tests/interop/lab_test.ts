/**
 * The interop lab itself, before any of our code: real headscale, derper and tailscaled start,
 * join, reach each other through the lab's DERP region and carry 10 MiB through SOCKS5 intact;
 * and afterwards nothing the lab started is left: no process, no port, no temp dir.
 * Skipped (never passed) where the lab's programs are not built.
 */
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { Lab, labAvailable } from "../lab/mod.ts";
import { tcpFree } from "../lab/ports.ts";
import { listLabs } from "../lab/registry.ts";

const avail = labAvailable();
if (!avail.ok) {
  // deno-lint-ignore no-console -- the reason a test is skipped belongs in the test output
  console.error(`tests/interop/lab_test.ts: skipped: ${avail.reason}`);
}
const ignore = !avail.ok;

/** Asserts that nothing a closed lab started is left on the machine. */
async function assertLabGone(
  lab: Lab,
  pids: number[],
  ports: number[],
): Promise<void> {
  for (const pid of pids) {
    let alive = true;
    try {
      Deno.statSync(`/proc/${pid}`);
    } catch {
      alive = false;
    }
    assert(!alive, `pid ${pid} still exists after close`);
  }
  for (const port of ports) assert(tcpFree(port), `port ${port} still bound after close`);
  let dirGone = false;
  try {
    await Deno.stat(lab.workDir);
  } catch (err) {
    dirGone = err instanceof Deno.errors.NotFound;
  }
  assert(dirGone, `${lab.workDir} still exists after close`);
  assert(!(await listLabs()).some((e) => e.id === lab.id), "registry entry left after close");
}

Deno.test({
  name:
    "Lab.start({ tailscaleds: 0 }) serves headscale, derper and a reusable key, then leaves nothing",
  ignore,
}, async () => {
  const lab = await Lab.start({ tailscaleds: 0 });
  const pids = lab.pids;
  const ports = lab.ports;
  try {
    assertEquals(pids.length, 2);
    const health = await fetch(`${lab.controlUrl}/health`);
    assertEquals(health.status, 200);
    await health.body?.cancel();
    assertMatch(lab.controlUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assertMatch(lab.authKey, /^hskey-auth-/);
    const keys = await lab.headscale(["preauthkeys", "list"]) as Array<
      { key?: string; reusable?: boolean }
    >;
    assert(Array.isArray(keys) && keys.some((k) => k.reusable), "no reusable key listed");
    const node = lab.derpMap.Regions[String(lab.derpRegionId)].Nodes[0];
    assertEquals(node.DERPPort, lab.derpPort);
    assertEquals(node.CertName, `sha256-raw:${lab.derpCertSha256Hex}`);
    assertMatch(await lab.createAuthKey({ ephemeral: true }), /^hskey-auth-/);
    assertMatch(await lab.createAuthKey({ tags: ["tag:lab"] }), /^hskey-auth-/);
    // The outage helpers restart on the same port, database and certificate.
    await lab.stopHeadscale();
    await lab.stopDerper();
    assertEquals(lab.pids.length, 0);
    await lab.startDerper();
    await lab.startHeadscale();
    const users = await lab.headscale(["users", "list"]) as Array<{ name: string }>;
    assertEquals(users.map((u) => u.name), ["lab"]);
  } finally {
    await lab.close();
  }
  await assertLabGone(lab, pids, ports);
});
