/**
 * The `tailnet` executable end to end: spawned as a user runs it, checking exit codes, the
 * one-line error rule, and that the daemon serves its LocalAPI socket with safe modes.
 */
import { assert, assertEquals, assertMatch } from "../src/engine/base/testing/assert.ts";
import { runTailnet as tailnet, spawnTailnet } from "./lab/tailnet_process.ts";
import { LocalApiClient } from "../src/localapi/client.ts";

/** Kills a test's daemon if it still runs, waits for it, and removes the test's directory. */
async function stopAndRemove(child: Deno.ChildProcess, dir: string): Promise<void> {
  try {
    child.kill("SIGKILL");
  } catch { /* already exited */ }
  await child.status;
  await Deno.remove(dir, { recursive: true });
}

Deno.test("tailnet --bogus exits 2 with one line naming the flag", async () => {
  const r = await tailnet(["--bogus"]);
  assertEquals(r.code, 2);
  assertEquals(r.stderr.trim().split("\n").length, 1);
  assertMatch(r.stderr, /--bogus/);
  assertEquals(r.stdout, "");
});

Deno.test("tailnet daemon --bogus exits 2 naming the flag, no stack trace", async () => {
  const r = await tailnet(["daemon", "--bogus=1"]);
  assertEquals(r.code, 2);
  assertEquals(r.stderr.trim().split("\n").length, 1);
  assertMatch(r.stderr, /--bogus/);
});

Deno.test("tailnet daemon --port with a bad value names the flag", async () => {
  const r = await tailnet(["daemon", "--port", "70000"]);
  assertEquals(r.code, 2);
  assertMatch(r.stderr, /--port/);
});

Deno.test("tailnet version prints tailnet, deno and v8 versions", async () => {
  const r = await tailnet(["version"]);
  assertEquals(r.code, 0);
  const lines = r.stdout.trim().split("\n");
  assertMatch(lines[0], /^\d+\.\d+\.\d+$/);
  assert(r.stdout.includes(`deno: ${Deno.version.deno}`), r.stdout);
  assert(r.stdout.includes(`v8: ${Deno.version.v8}`), r.stdout);
});

Deno.test("tailnet version --json is JSON with the short version", async () => {
  const r = await tailnet(["version", "--json"]);
  assertEquals(r.code, 0);
  const v = JSON.parse(r.stdout);
  assertMatch(v.short, /^\d+\.\d+\.\d+$/);
});

Deno.test("tailnet --help lists commands; help <cmd> prints its usage", async () => {
  const r = await tailnet(["--help"]);
  assertEquals(r.code, 0);
  for (
    const cmd of ["daemon", "up", "down", "login", "logout", "status", "ip", "ping", "version"]
  ) {
    assertMatch(r.stdout, new RegExp(`^  ${cmd} +\\S`, "m"), `--help lists ${cmd}`);
  }
  assertMatch(r.stdout, /--socket/);
  const h = await tailnet(["help", "daemon"]);
  assertEquals(h.code, 0);
  assertMatch(h.stdout, /--statedir/);
  const bad = await tailnet(["help", "nosuch"]);
  assertEquals(bad.code, 2);
});

Deno.test("an unknown command exits 2 with one line", async () => {
  const r = await tailnet(["frobnicate"]);
  assertEquals(r.code, 2);
  assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
  assertMatch(r.stderr, /unknown command: frobnicate/);
});

Deno.test("tailnet daemon serves the LocalAPI on a 0600 socket in a 0700 dir and stops on SIGTERM", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tailnet-cli-test-" });
  const sockDir = `${dir}/run`;
  const socket = `${sockDir}/tailnetd.sock`;
  const child = spawnTailnet(["daemon", "--statedir", `${dir}/state`, "--socket", socket], {
    stderr: "piped",
  });
  try {
    const deadline = Date.now() + 15_000;
    let body = "";
    while (Date.now() < deadline) {
      try {
        const conn = await Deno.connect({ transport: "unix", path: socket });
        await conn.write(new TextEncoder().encode(
          "GET /localapi/v0/status HTTP/1.1\r\nHost: local-tailscaled.sock\r\nConnection: close\r\n\r\n",
        ));
        const chunks: Uint8Array[] = [];
        const buf = new Uint8Array(4096);
        for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
          chunks.push(buf.slice(0, n));
        }
        conn.close();
        body = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assertMatch(body, /HTTP\/1\.1 200/);
    assertMatch(body, /"BackendState"/);
    assertEquals((await Deno.stat(socket)).mode! & 0o777, 0o600);
    assertEquals((await Deno.stat(sockDir)).mode! & 0o777, 0o700);
    assertEquals((await Deno.stat(`${dir}/state`)).mode! & 0o777, 0o700);
    child.kill("SIGTERM");
    const status = await child.status;
    assertEquals(status.code, 0);
    let gone = false;
    try {
      await Deno.lstat(socket);
    } catch {
      gone = true;
    }
    assert(gone, "socket removed on shutdown");
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
    await child.stderr.cancel().catch(() => {});
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a second daemon on the same socket refuses with one line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tailnet-cli-test-" });
  const socket = `${dir}/tailnetd.sock`;
  const first = spawnTailnet(["daemon", "--state", "mem:", "--socket", socket]);
  try {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      try {
        (await Deno.connect({ transport: "unix", path: socket })).close();
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const r = await tailnet(["daemon", "--state", "mem:", "--socket", socket]);
    assertEquals(r.code, 1);
    assertMatch(r.stderr, /another daemon is serving there/);
    assertEquals(r.stderr.trim().split("\n").length, 1);
  } finally {
    first.kill("SIGTERM");
    await first.status;
    await Deno.remove(dir, { recursive: true });
  }
});

/** Starts `tailnet daemon` on a fresh socket and waits until it answers. */
async function startDaemon(
  args: string[],
): Promise<{ socket: string; dir: string; stop(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "tailnet-cli-test-" });
  const socket = `${dir}/run/tailnetd.sock`;
  const child = spawnTailnet(["daemon", "--socket", socket, ...args]);
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const r = await tailnet(["--socket", socket, "status", "--json"]);
    if (r.code === 0 && JSON.parse(r.stdout).BackendState !== "NoState") break;
    if (r.code === 0 && args.includes("--statedir")) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  return {
    socket,
    dir,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("tailnet status without a daemon fails in one line naming the socket", async () => {
  const r = await tailnet(["--socket", "/nonexistent/tailnetd.sock", "status"]);
  assertEquals(r.code, 1);
  assertEquals(r.stderr.trim().split("\n").length, 1);
  assertMatch(r.stderr, /\/nonexistent\/tailnetd\.sock.*is it running/);
  // It says how to start one, on the same line.
  assertMatch(r.stderr, /Start one with: tailnet daemon --socket \/nonexistent\/tailnetd\.sock\n$/);
});

Deno.test("CLI against a fresh daemon: status, ip, down, logout, bad up flags", async () => {
  const d = await startDaemon(["--state", "mem:"]);
  try {
    const cli = (...a: string[]) => tailnet(["--socket", d.socket, ...a]);
    const st = await cli("status");
    assertEquals(st.code, 1);
    assertEquals(st.stdout.trim(), "Logged out.");
    const js = JSON.parse((await cli("status", "--json")).stdout);
    assertEquals(js.BackendState, "NeedsLogin");
    assertEquals(js.Peer, null);
    const ip = await cli("ip");
    assertEquals(ip.code, 1);
    assertMatch(ip.stderr, /no current Tailscale IPs; state: NeedsLogin/);
    assertEquals((await cli("logout")).code, 0);
    assertEquals((await cli("down")).code, 0);
    const badHost = await cli(
      "up",
      "--login-server",
      "http://127.0.0.1:9",
      "--hostname",
      "bad_name",
    );
    assertEquals(badHost.code, 1);
    assertEquals(badHost.stderr.trim().split("\n").length, 1);
    assertMatch(badHost.stderr, /bad_name/);
    const badTag = await cli("up", "--advertise-tags", "tag:1x");
    assertEquals(badTag.code, 1);
    assertMatch(badTag.stderr, /tag names must start with a letter/);
    const badFlag = await cli("up", "--bogus");
    assertEquals(badFlag.code, 2);
    assertMatch(badFlag.stderr, /--bogus/);
    const badTimeout = await cli("up", "--timeout", "soon");
    assertEquals(badTimeout.code, 2);
    assertMatch(badTimeout.stderr, /--timeout/);
    // Nothing above changed the daemon's state.
    assertEquals(JSON.parse((await cli("status", "--json")).stdout).BackendState, "NeedsLogin");
  } finally {
    await d.stop();
  }
});

Deno.test("a corrupt state file: daemon serves NoState, up names the file, file untouched", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tailnet-cli-test-" });
  try {
    await Deno.mkdir(`${dir}/state`, { mode: 0o700 });
    const file = `${dir}/state/tailnetd.state`;
    await Deno.writeTextFile(file, '{"Version": 1, "MachineKey": "garbage"}');
    const d = await startDaemon(["--statedir", `${dir}/state`]);
    try {
      const cli = (...a: string[]) => tailnet(["--socket", d.socket, ...a]);
      const js = JSON.parse((await cli("status", "--json")).stdout);
      assertEquals(js.BackendState, "NoState");
      assert(js.Health.some((h: string) => h.includes(file)), JSON.stringify(js.Health));
      const up = await cli("up", "--login-server", "http://127.0.0.1:9", "--authkey", "k");
      assertEquals(up.code, 1);
      assertEquals(up.stderr.trim().split("\n").length, 1);
      assertMatch(up.stderr, /tailnetd\.state/);
      assertEquals((await cli("logout")).code, 1);
      assertEquals(await Deno.readTextFile(file), '{"Version": 1, "MachineKey": "garbage"}');
    } finally {
      await d.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tailnet daemon: TAILNET_SOCKS5_USER/PASSWORD make its SOCKS5 proxy ask every client", async () => {
  const half = await tailnet(["daemon", "--state", "mem:"], {
    env: { TAILNET_SOCKS5_USER: "alice" },
  });
  assertEquals(half.code, 2);
  const err = half.stderr.trim();
  assertEquals(err.split("\n").length, 1, err);
  assertMatch(
    err,
    /^tailnet: set both TAILNET_SOCKS5_USER and TAILNET_SOCKS5_PASSWORD, or neither/,
  );

  const dir = await Deno.makeTempDir({ prefix: "tailnet-cli-test-" });
  const free = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const socksPort = free.addr.port;
  free.close();
  const ac = new AbortController();
  const origin = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    () => new Response("origin says hi"),
  );
  const child = spawnTailnet([
    "daemon",
    "--state",
    "mem:",
    "--socket",
    `${dir}/tailnetd.sock`,
    "--socks5-server",
    `127.0.0.1:${socksPort}`,
  ], { env: { TAILNET_SOCKS5_USER: "alice", TAILNET_SOCKS5_PASSWORD: "s3cret" } });
  const curl = async (proxy: string) => {
    const r = await new Deno.Command("curl", {
      args: ["-sS", "--max-time", "10", "-x", proxy, `http://127.0.0.1:${origin.addr.port}/`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: r.code, out: new TextDecoder().decode(r.stdout) };
  };
  try {
    const deadline = Date.now() + 15_000;
    let anon = await curl(`socks5h://127.0.0.1:${socksPort}`);
    while (anon.code === 7 && Date.now() < deadline) { // 7: not listening yet
      await new Promise((r) => setTimeout(r, 100));
      anon = await curl(`socks5h://127.0.0.1:${socksPort}`);
    }
    assertEquals(anon.code, 97, "no-auth refused (curl: proxy handshake error)");
    assertEquals((await curl(`socks5h://alice:wrong@127.0.0.1:${socksPort}`)).code, 97);
    const good = await curl(`socks5h://alice:s3cret@127.0.0.1:${socksPort}`);
    assertEquals(good, { code: 0, out: "origin says hi" });
  } finally {
    child.kill("SIGTERM");
    await child.status;
    ac.abort();
    await origin.finished;
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * Spawns `tailnet daemon --statedir state --socket sock` and waits until its backend is in:
 * the socket answers `status` (NoState) before the other routes exist, so a test that went on
 * at the first answer raced the daemon's start-up (prefs edits got 404 under load).
 */
async function spawnStatedirDaemon(
  stateDir: string,
  socket: string,
): Promise<Deno.ChildProcess> {
  const child = spawnTailnet(["daemon", "--statedir", stateDir, "--socket", socket], {
    stderr: "piped",
  });
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const r = await tailnet(["--socket", socket, "status", "--json"]);
    if (r.code === 0 && JSON.parse(r.stdout).BackendState !== "NoState") return child;
    await new Promise((res) => setTimeout(res, 100));
  }
  child.kill("SIGKILL");
  await child.stderr.cancel();
  await child.status;
  throw new Error(`daemon on ${socket} did not answer within 15 s`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("one daemon per state directory: the second refuses naming the first's PID; kill -9 leaves no stale lock", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tailnet-cli-test-" });
  const state = `${dir}/state`;
  const first = await spawnStatedirDaemon(state, `${dir}/a.sock`);
  let firstAlive = true;
  try {
    const second = await tailnet(["daemon", "--statedir", state, "--socket", `${dir}/b.sock`]);
    assertEquals(second.code, 1);
    assertEquals(second.stderr.trim().split("\n").length, 1, second.stderr);
    assertMatch(second.stderr, new RegExp(`^tailnet: .*PID ${first.pid}\\b.*${state}`));
    assert(!(await exists(`${dir}/b.sock`)), "the refused daemon did not listen");
    // The first is unharmed: it still answers, with the state it had.
    const st = await tailnet(["--socket", `${dir}/a.sock`, "status", "--json"]);
    assertEquals(st.code, 0, st.stderr);
    assertEquals(JSON.parse(st.stdout).BackendState, "NeedsLogin");
    // kill -9: the kernel drops the lock, so a new daemon starts at once.
    first.kill("SIGKILL");
    await first.stderr.cancel();
    await first.status;
    firstAlive = false;
    const third = await spawnStatedirDaemon(state, `${dir}/c.sock`);
    third.kill("SIGTERM");
    assertEquals((await third.status).code, 0);
    await third.stderr.cancel();
  } finally {
    if (firstAlive) {
      first.kill("SIGKILL");
      await first.stderr.cancel();
      await first.status;
    }
    await Deno.remove(dir, { recursive: true });
  }
});

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test(`tailnet daemon on ${signal}: state flushed, socket removed, exit 0`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "tailnet-cli-test-" });
    const socket = `${dir}/run/tailnetd.sock`;
    const child = await spawnStatedirDaemon(`${dir}/state`, socket);
    try {
      const set = await tailnet(["--socket", socket, "set", "--hostname", "flushed-box"]);
      assertEquals(set.code, 0, set.stderr);
      child.kill(signal);
      assertEquals((await child.status).code, 0);
      const log = await new Response(child.stderr).text();
      assertMatch(log, new RegExp(`${signal}: shutting down`));
      assert(!(await exists(socket)), "socket removed");
      const saved = JSON.parse(await Deno.readTextFile(`${dir}/state/tailnetd.state`));
      assertMatch(JSON.stringify(saved), /"Hostname":"flushed-box"/);
      // The lock went with the process: the next daemon starts on the same state.
      const next = await spawnStatedirDaemon(`${dir}/state`, socket);
      next.kill("SIGTERM");
      assertEquals((await next.status).code, 0);
      await next.stderr.cancel();
    } finally {
      await stopAndRemove(child, dir);
    }
  });
}

Deno.test("tailnet daemon: 200 concurrent LocalAPI clients are each answered; it keeps serving, its state intact", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tailnet-cli-test-" });
  const socket = `${dir}/run/tailnetd.sock`;
  const child = await spawnStatedirDaemon(`${dir}/state`, socket);
  try {
    // A mix: reads, prefs edits, bad JSON, a wrong method and an unknown call, all at once,
    // each on its own connection.
    const requests = Array.from({ length: 200 }, (_, i) => {
      switch (i % 5) {
        case 0:
          return { method: "GET", path: "status", body: undefined, want: [200] };
        case 1:
          return {
            method: "PATCH",
            path: "prefs",
            body: JSON.stringify({ HostnameSet: true, Hostname: `box-${i}` }),
            want: [200],
          };
        case 2:
          return { method: "PATCH", path: "prefs", body: "{oops", want: [400] };
        case 3:
          return { method: "DELETE", path: "prefs", body: undefined, want: [405] };
        default:
          return { method: "GET", path: "no-such-call", body: undefined, want: [404] };
      }
    });
    const t0 = performance.now();
    const answers = await Promise.all(requests.map(async (r) => {
      // Raw HTTP/1.1 on a fresh connection each: what 200 separate CLI processes would send.
      const conn = await Deno.connect({ transport: "unix", path: socket });
      const body = r.body ?? "";
      await conn.write(new TextEncoder().encode(
        `${r.method} /localapi/v0/${r.path} HTTP/1.1\r\nHost: local-tailscaled.sock\r\n` +
          `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      ));
      const reply = await new Response(conn.readable).text();
      const status = Number(reply.match(/^HTTP\/1\.1 (\d{3})/)?.[1] ?? 0);
      return r.want.includes(status) ? "ok" : `${r.method} ${r.path}: ${status}`;
    }));
    assertEquals(answers.filter((a) => a !== "ok"), []);
    // deno-lint-ignore no-console -- the number the issue asks about, for the test log
    console.error(
      `200 concurrent LocalAPI clients answered in ${(performance.now() - t0).toFixed(0)} ms`,
    );
    const st = await tailnet(["--socket", socket, "status", "--json"]);
    assertEquals(st.code, 0, st.stderr);
    const prefs = await tailnet(["--socket", socket, "debug", "prefs"]);
    const hostname = JSON.parse(prefs.stdout).Hostname as string;
    assertMatch(hostname, /^box-\d+$/);
    child.kill("SIGTERM");
    assertEquals((await child.status).code, 0);
    await child.stderr.cancel();
    // The state file parses and holds the last edit the daemon answered with.
    const saved = JSON.stringify(
      JSON.parse(await Deno.readTextFile(`${dir}/state/tailnetd.state`)),
    );
    assert(saved.includes(`"Hostname":"${hostname}"`), saved.slice(0, 300));
  } finally {
    await stopAndRemove(child, dir);
  }
});

Deno.test("tailnet daemon --config: an unknown key is refused naming it; a missing file names it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tailnet-cli-test-" });
  try {
    await Deno.writeTextFile(`${dir}/cfg.json`, `{"version": "alpha0", "Hostnam": "x"}`);
    const r = await tailnet(["daemon", "--state", "mem:", "--config", `${dir}/cfg.json`]);
    assertEquals(r.code, 1);
    assertEquals(r.stderr.trim().split("\n").length, 1);
    assertMatch(r.stderr, /error parsing config file .*cfg\.json: json: unknown field "Hostnam"/);
    const missing = await tailnet(["daemon", "--state", "mem:", "--config", `${dir}/none.json`]);
    assertEquals(missing.code, 1);
    assertEquals(missing.stderr.trim().split("\n").length, 1);
    assertMatch(missing.stderr, /error reading config file .*none\.json/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tailnet daemon --config: prefs from the file, locked against set; reload-config applies a change", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tailnet-cli-test-" });
  const cfg = `${dir}/cfg.hujson`;
  const write = (hostname: string) =>
    Deno.writeTextFile(
      cfg,
      `{
  "version": "alpha0", // HuJSON
  "Enabled": false,
  "ServerURL": "http://127.0.0.1:9",
  "Hostname": "${hostname}",
  "acceptRoutes": true,
}`,
    );
  await write("from-config");
  const d = await startDaemon(["--state", "mem:", "--config", cfg]);
  try {
    const client = new LocalApiClient(d.socket);
    const prefs = await client.json<Record<string, unknown>>("GET", "prefs");
    assertEquals(
      [prefs.Hostname, prefs.RouteAll, prefs.ControlURL, prefs.WantRunning],
      ["from-config", true, "http://127.0.0.1:9", false],
    );
    const set = await tailnet(["--socket", d.socket, "set", "--hostname", "other"]);
    assertEquals(set.code, 1);
    assertMatch(set.stderr, /config file is locked/);
    await write("changed");
    assertEquals(await client.json("POST", "reload-config"), { Reloaded: true, Err: "" });
    const viaCli = await tailnet(["--socket", d.socket, "debug", "reload-config"]);
    assertEquals([viaCli.code, viaCli.stdout], [0, "config reloaded\n"]);
    assertEquals((await client.json<Record<string, unknown>>("GET", "prefs")).Hostname, "changed");
    await Deno.writeTextFile(cfg, `{"version": "alpha0", "Bogus": 1}`);
    const bad = await client.json<{ Reloaded: boolean; Err: string }>("POST", "reload-config");
    assertEquals(bad.Reloaded, false);
    assertMatch(bad.Err, /unknown field "Bogus"/);
    assertEquals((await client.json<Record<string, unknown>>("GET", "prefs")).Hostname, "changed");
  } finally {
    await d.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tailnet install --dry-run prints a unit systemd accepts; uninstall --dry-run keeps the state; bad flags named", async () => {
  const r = await tailnet(["install", "--dry-run", "--os", "linux", "--port", "41642"]);
  assertEquals(r.code, 0, r.stderr);
  const [first, ...unit] = r.stdout.split("\n");
  assertEquals(first, "# would write /etc/systemd/system/tailnet.service");
  const text = unit.join("\n");
  assertMatch(
    text,
    /^ExecStart=.* daemon --statedir \/var\/lib\/tailnet --socket \/var\/run\/tailnet\/tailnetd\.sock --port 41642$/m,
  );
  // A `deno run` service: reads and writes narrowed to its own directories.
  assertMatch(text, /--allow-write=\/var\/lib\/tailnet,\/var\/run\/tailnet,\/run\/tailnet /);
  assertMatch(text, /^CapabilityBoundingSet=$/m);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/tailnet.service`, text);
    const verify = await new Deno.Command("systemd-analyze", {
      args: ["verify", `${dir}/tailnet.service`],
      stdout: "piped",
      stderr: "piped",
    }).output().catch(() => null);
    if (verify !== null) {
      assertEquals(verify.code, 0, new TextDecoder().decode(verify.stderr));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const mac = await tailnet(["install", "--dry-run", "--os", "darwin"]);
  assertEquals(mac.code, 0, mac.stderr);
  assertMatch(
    mac.stdout,
    /^# would write \/Library\/LaunchDaemons\/com\.tailnet\.tailnetd\.plist\n<\?xml/,
  );
  const un = await tailnet(["uninstall", "--dry-run", "--os", "linux"]);
  assertEquals(un.code, 0, un.stderr);
  assertMatch(un.stdout, /would remove \/etc\/systemd\/system\/tailnet\.service/);
  assertMatch(un.stdout, /state directory .* is kept/);
  const badOs = await tailnet(["install", "--dry-run", "--os", "plan9"]);
  assertEquals(badOs.code, 2);
  assertMatch(badOs.stderr, /--os/);
  const rel = await tailnet(["install", "--dry-run", "--statedir", "state"]);
  assertEquals(rel.code, 2);
  assertMatch(rel.stderr, /--statedir: want an absolute path/);
});
