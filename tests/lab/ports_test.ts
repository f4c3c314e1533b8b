import { assert, assertEquals } from "../../src/engine/base/testing/assert.ts";
import { PortClaims, processAlive, tcpFree, udpFree } from "./ports.ts";

Deno.test("PortClaims.claim() gives ports free for TCP and UDP, never one another claim holds", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = new PortClaims("a", dir);
    const b = new PortClaims("b", dir);
    const got = [];
    for (let i = 0; i < 5; i++) got.push(await a.claim(), await b.claim());
    assertEquals(new Set(got).size, got.length);
    for (const p of got) {
      assert(tcpFree(p), `tcp ${p}`);
      assert(await udpFree(p), `udp ${p}`);
    }
    assertEquals([...Deno.readDirSync(dir)].length, 10);
    await a.releaseAll();
    await a.releaseAll();
    assertEquals([...Deno.readDirSync(dir)].length, 5);
    assertEquals(a.held, []);
    await b.releaseAll();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("PortClaims.tryClaim() takes over a claim of a dead process, not of a live one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const c = new PortClaims("me", dir);
    Deno.writeTextFileSync(`${dir}/40001`, JSON.stringify({ owner: "gone", pid: deadPid() }));
    Deno.writeTextFileSync(`${dir}/40002`, JSON.stringify({ owner: "live", pid: Deno.pid }));
    assertEquals(await c.tryClaim(40001), true);
    assertEquals(await c.tryClaim(40002), false);
    assertEquals(JSON.parse(Deno.readTextFileSync(`${dir}/40001`)).owner, "me");
    assertEquals(c.held, [40001]);
    await c.releaseAll();
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["40002"]);
    assert(!processAlive(deadPid()));
    assert(processAlive(Deno.pid));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("udpFree() is false for a bound UDP port", async () => {
  const { createSocket } = await import("node:dgram");
  const s = createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()));
  const port = s.address().port;
  assertEquals(await udpFree(port), false);
  await new Promise<void>((r) => s.close(() => r()));
});

function deadPid(): number {
  // A PID above the kernel's maximum cannot belong to a live process.
  return Number(Deno.readTextFileSync("/proc/sys/kernel/pid_max").trim()) + 1;
}
