import { assert, assertEquals, assertMatch } from "../engine/base/testing/assert.ts";
import { launchdPlist, type ServiceSpec, systemdUnit } from "./_service_files.ts";

const DENO_RUN: ServiceSpec = {
  argv: [
    Deno.execPath(),
    "run",
    "--allow-net",
    "/src/main.ts",
    "daemon",
    "--statedir",
    "/var/lib/tailnet",
  ],
  stateDir: "/var/lib/tailnet",
  socketDir: "/var/run/tailnet",
  env: { DENO_DIR: "/root/.cache/deno" },
  readOnlyPaths: ["/src", "/root/.cache/deno"],
};

/** Runs a program, or returns null when it is not installed. */
async function run(cmd: string, args: string[]): Promise<Deno.CommandOutput | null> {
  try {
    return await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}

Deno.test("systemdUnit(): sandboxed, no capabilities, systemd's own state and runtime dirs; systemd-analyze verify accepts it", async () => {
  const unit = systemdUnit(DENO_RUN);
  const keys = new Map<string, string>();
  for (const line of unit.split("\n")) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) keys.set(m[1], m[2]);
  }
  assertEquals(keys.get("CapabilityBoundingSet"), "");
  assertEquals(keys.get("AmbientCapabilities"), "");
  assertEquals(keys.get("NoNewPrivileges"), "yes");
  assertEquals(keys.get("ProtectSystem"), "strict");
  assertEquals(keys.get("StateDirectory"), "tailnet");
  assertEquals(keys.get("RuntimeDirectory"), "tailnet");
  assertEquals(keys.get("ProtectHome"), "read-only"); // DENO_DIR under /root
  assertEquals(keys.get("Environment"), "DENO_DIR=/root/.cache/deno");
  assertMatch(keys.get("ExecStart") ?? "", /run --allow-net \/src\/main\.ts daemon/);
  assertEquals(keys.has("MemoryDenyWriteExecute"), false);
  const compiled = systemdUnit({
    argv: ["/usr/local/bin/tailnet", "daemon"],
    stateDir: "/srv/tn state",
    socketDir: "/srv/run",
    env: {},
    readOnlyPaths: [],
  });
  assertMatch(compiled, /^ProtectHome=yes$/m);
  assertMatch(compiled, /^ReadWritePaths="\/srv\/tn state" \/srv\/run$/m);
  assertEquals(/StateDirectory=|RuntimeDirectory=/.test(compiled), false);

  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/tailnet.service`, unit);
    const r = await run("systemd-analyze", ["verify", `${dir}/tailnet.service`]);
    if (r === null) {
      // deno-lint-ignore no-console -- why a check was skipped belongs in the test output
      console.error("systemd-analyze not installed: unit checked by its keys only");
      return;
    }
    const text = new TextDecoder().decode(r.stderr) + new TextDecoder().decode(r.stdout);
    assertEquals(r.code, 0, text);
    assertEquals(text.trim(), "", text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("launchdPlist(): a plist that parses, with the label, program arguments, env and keep-alive", async () => {
  const xml = launchdPlist({ ...DENO_RUN, argv: [...DENO_RUN.argv, "--config", "/a&b <c>.json"] });
  assertMatch(xml, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<!DOCTYPE plist/);
  // Python's plistlib reads plists as launchd does (plutil -lint's check): structure and types.
  const py = `import json,plistlib,sys; print(json.dumps(plistlib.loads(sys.stdin.buffer.read())))`;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("python3", {
      args: ["-c", py],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    // deno-lint-ignore no-console -- why a check was skipped belongs in the test output
    console.error("python3 not installed: plist checked by its text only");
    return;
  }
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(xml));
  await w.close();
  const out = await child.output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  const plist = JSON.parse(new TextDecoder().decode(out.stdout));
  assertEquals(plist.Label, "com.tailnet.tailnetd");
  assertEquals(plist.ProgramArguments, [...DENO_RUN.argv, "--config", "/a&b <c>.json"]);
  assertEquals(plist.EnvironmentVariables, { DENO_DIR: "/root/.cache/deno" });
  assertEquals([plist.RunAtLoad, plist.KeepAlive, plist.Umask], [true, true, 0o077]);
  assert(typeof plist.StandardErrorPath === "string");
});
