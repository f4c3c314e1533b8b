import { assert, assertEquals } from "../../src/engine/base/testing/assert.ts";
import { listLabs, RegistryRecord, runsBinary, sweepLabs } from "./registry.ts";
import { processAlive } from "./ports.ts";

Deno.test("RegistryRecord keeps the entry current under concurrent updates and removes it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const rec = await RegistryRecord.create("lab-x", "/nonexistent", dir);
    await Promise.all(
      [1, 2, 3, 4].map((pid) => rec.addProcess({ name: `p${pid}`, pid, cmd: "/bin/x" })),
    );
    await Promise.all([rec.removeProcess(2), rec.removeProcess(3)]);
    const [entry] = await listLabs(dir);
    assertEquals(entry.id, "lab-x");
    assertEquals(entry.ownerPid, Deno.pid);
    assertEquals(entry.processes.map((p) => p.pid), [1, 4]);
    await rec.remove();
    await rec.remove();
    assertEquals(await listLabs(dir), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sweepLabs() kills a dead owner's recorded process by PID and removes its dir and claims", async () => {
  const dir = await Deno.makeTempDir();
  const work = await Deno.makeTempDir();
  const sleeper = new Deno.Command("sleep", { args: ["60"], stdin: "null" }).spawn();
  try {
    const sleepBin = Deno.realPathSync(Deno.readLinkSync(`/proc/${sleeper.pid}/exe`));
    assert(runsBinary(sleeper.pid, sleepBin));
    assert(!runsBinary(sleeper.pid, "/bin/not-sleep"));
    const deadOwner = Number(Deno.readTextFileSync("/proc/sys/kernel/pid_max").trim()) + 1;
    Deno.mkdirSync(`${dir}/ports`);
    Deno.writeTextFileSync(`${dir}/ports/40003`, JSON.stringify({ owner: "lab-dead", pid: 1 }));
    Deno.writeTextFileSync(`${dir}/ports/40004`, JSON.stringify({ owner: "lab-other", pid: 1 }));
    Deno.writeTextFileSync(
      `${dir}/lab-dead.json`,
      JSON.stringify({
        id: "lab-dead",
        ownerPid: deadOwner,
        workDir: work,
        startedAt: "",
        processes: [{ name: "sleep", pid: sleeper.pid, cmd: sleepBin }],
      }),
    );
    Deno.writeTextFileSync(
      `${dir}/lab-live.json`,
      JSON.stringify({ id: "lab-live", ownerPid: 1, workDir: "/x", startedAt: "", processes: [] }),
    );
    const r = await sweepLabs({ dir });
    assertEquals(r.removed, ["lab-dead"]);
    assertEquals(r.kept, ["lab-live"]);
    assertEquals(r.killed, [sleeper.pid]);
    const status = await sleeper.status;
    assertEquals(status.signal, "SIGTERM");
    assert(!processAlive(sleeper.pid));
    assertEquals((await listLabs(dir)).map((e) => e.id), ["lab-live"]);
    assertEquals([...Deno.readDirSync(`${dir}/ports`)].map((e) => e.name), ["40004"]);
    let gone = false;
    try {
      Deno.statSync(work);
    } catch {
      gone = true;
    }
    assert(gone, "work dir left");
  } finally {
    try {
      sleeper.kill("SIGKILL");
    } catch {
      // Killed by the sweep.
    }
    await sleeper.status;
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
});
