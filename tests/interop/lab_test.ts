/**
 * The interop lab itself, before any of our code: real headscale, derper and tailscaled start,
 * join, reach each other through the lab's DERP region and carry 10 MiB through SOCKS5 intact;
 * and afterwards nothing the lab started is left: no process, no port, no temp dir.
 * Skipped (never passed) where the lab's programs are not built.
 */
import { assert, assertEquals, assertMatch } from "../../src/engine/base/testing/assert.ts";
import { Lab, labAvailable } from "../lab/mod.ts";
import { processAlive, tcpFree } from "../lab/ports.ts";
import { listLabs } from "../lab/registry.ts";
import { socks5Transfer } from "../lab/transfer.ts";

const MIB = 1024 * 1024;

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

Deno.test({
  name: "two real tailscaled join, see each other, ping via DERP(lab) and move 10 MiB via SOCKS5",
  ignore,
}, async () => {
  // TS_DEBUG_NEVER_DIRECT_UDP keeps disco from upgrading to a direct path, so both the ping and
  // the transfer below go through the lab's derper.
  const lab = await Lab.start({ nodeEnv: { TS_DEBUG_NEVER_DIRECT_UDP: "1" } });
  const pids = lab.pids;
  const ports = lab.ports;
  try {
    assertEquals(lab.nodes.length, 2);
    assertEquals(pids.length, 4);
    await lab.waitForPeers();
    const [a, b] = lab.nodes;
    const st = await a.status();
    const peers = Object.values(st.Peer ?? {});
    assertEquals(peers.map((p) => p.HostName), [b.name]);
    assertEquals(peers[0].Relay, lab.derpRegionCode);
    const ipB = (await b.ips())[0];
    assertMatch(ipB, /^100\.64\.\d+\.\d+$/);

    const ping = await a.cliOk(["ping", "-c", "3", "--until-direct=false", ipB]);
    const pongs = ping.trim().split("\n");
    assertEquals(pongs.length, 3, ping);
    for (const line of pongs) {
      assertMatch(line, new RegExp(`^pong from ${b.name} \\(${ipB}\\) via DERP\\(lab\\) in `));
    }

    // The map the client holds is the one the lab wrote, certificate pin included.
    const held = JSON.parse(await a.cliOk(["debug", "derp-map"]));
    assertEquals(held, lab.derpMap);

    const nc = await a.cliOk(["netcheck", "--format=json"]);
    const report = JSON.parse(nc) as {
      UDP: boolean;
      PreferredDERP: number;
      RegionLatency: Record<string, number>;
    };
    assert(report.UDP, `netcheck: UDP false: ${nc}`);
    assertEquals(report.PreferredDERP, lab.derpRegionId);
    assert(report.RegionLatency[String(lab.derpRegionId)] > 0, `netcheck: no latency: ${nc}`);

    const t = await socks5Transfer(a.socks5Addr, ipB, 10 * MIB);
    assertEquals(t.received, 10 * MIB);
    assertEquals(t.receivedSha256, t.sentSha256);
    assertEquals(t.echoedSha256, t.sentSha256);
  } finally {
    await lab.close();
  }
  await assertLabGone(lab, pids, ports);
});

Deno.test({
  name: "a DERP map with InsecureForTests instead of the pinned CertName also works",
  ignore,
}, async () => {
  await using lab = await Lab.start({
    derpTrust: "insecure",
    nodeEnv: { TS_DEBUG_NEVER_DIRECT_UDP: "1" },
  });
  await lab.waitForPeers();
  const [a, b] = lab.nodes;
  const node = JSON.parse(await a.cliOk(["debug", "derp-map"])).Regions["900"].Nodes[0];
  assertEquals(node.InsecureForTests, true);
  assertEquals(node.CertName, undefined);
  const ping = await a.cliOk(["ping", "-c", "1", "--until-direct=false", (await b.ips())[0]]);
  assertMatch(ping, /via DERP\(lab\)/);
});

Deno.test({
  name: "ephemeral and tagged pre-auth keys join real tailscaled",
  ignore,
}, async () => {
  await using lab = await Lab.start({ tailscaleds: 0 });
  const eph = await lab.addTailscaled({ authKey: await lab.createAuthKey({ ephemeral: true }) });
  const tagged = await lab.addTailscaled({
    authKey: await lab.createAuthKey({ tags: ["tag:lab"] }),
  });
  const nodes = await lab.headscale(["nodes", "list"]) as Array<Record<string, unknown>>;
  const byName = new Map(nodes.map((n) => [n.given_name ?? n.name, n]));
  assert(byName.has(eph.name) && byName.has(tagged.name), JSON.stringify(nodes));
  assertEquals((await tagged.status()).Self.Tags, ["tag:lab"]);
});

Deno.test({
  name: "two labs started at once use different ports and dirs",
  ignore,
}, async () => {
  const [x, y] = await Promise.all([
    Lab.start({ tailscaleds: 1 }),
    Lab.start({ tailscaleds: 1 }),
  ]);
  try {
    assert(x.workDir !== y.workDir);
    const shared = x.ports.filter((p) => y.ports.includes(p));
    assertEquals(shared, []);
    assertEquals((await x.nodes[0].status()).BackendState, "Running");
    assertEquals((await y.nodes[0].status()).BackendState, "Running");
  } finally {
    await Promise.all([x.close(), y.close()]);
  }
});

Deno.test({
  name: "lab up in another process runs beside a lab here; lab down cleans up after kill -9",
  ignore,
}, async () => {
  const script = new URL("../../scripts/lab.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", script, "up", "--nodes", "1", "--json"],
    // Deno's own update check would be the only lookup outside the machine.
    env: { DENO_NO_UPDATE_CHECK: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let here: Lab | null = null;
  let info: { id: string; workDir: string; pids: number[]; ports: number[] } | null = null;
  try {
    const [lab, line] = await Promise.all([Lab.start({ tailscaleds: 1 }), firstLine(child.stdout)]);
    here = lab;
    info = JSON.parse(line);
    if (!info) throw new Error("lab up printed nothing");
    assertEquals(info.pids.length, 3);
    assertEquals(here.ports.filter((p) => info!.ports.includes(p)), []);
    assert(info.workDir !== here.workDir);
    // Kill the owner without letting it clean up, as a crashed or timed-out test would die.
    child.kill("SIGKILL");
    await child.status;
    for (const pid of info.pids) assert(processAlive(pid), `pid ${pid} died with its owner`);
    const down = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", script, "down"],
      env: { DENO_NO_UPDATE_CHECK: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const downText = new TextDecoder().decode(down.stderr);
    assertEquals(down.code, 0, downText);
    assertMatch(downText, new RegExp(`removed ${info.id}`));
    // A lab whose owner runs (this one) is left alone.
    assertMatch(downText, new RegExp(`kept ${here.id}`));
    for (const pid of info.pids) assert(!processAlive(pid), `pid ${pid} survived lab down`);
    let gone = false;
    try {
      await Deno.stat(info.workDir);
    } catch {
      gone = true;
    }
    assert(gone, `${info.workDir} survived lab down`);
    assert(!(await listLabs()).some((e) => e.id === info!.id), "registry entry survived");
    assertEquals((await here.nodes[0].status()).BackendState, "Running");
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already dead.
    }
    await child.status;
    await stderr;
    await here?.close();
  }
});

Deno.test({
  name: "no process started by the lab tests outlives them",
  ignore,
}, async () => {
  for (const lab of await listLabs()) {
    assert(lab.ownerPid !== Deno.pid, `lab ${lab.id} of this test process is still registered`);
  }
  const mine: string[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid !== Deno.pid || !processAlive(Number(e.name))) continue;
      const exe = Deno.readLinkSync(`/proc/${e.name}/exe`);
      mine.push(`${e.name} ${exe}`);
    } catch {
      // Exited while we looked.
    }
  }
  assertEquals(mine, [], "child processes of the test process are still running");
});

async function firstLine(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  try {
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
  } finally {
    await reader.cancel();
  }
  return text.split("\n")[0];
}
