import { assert, assertEquals, assertMatch } from "../../src/engine/base/testing/assert.ts";
import { LabProcess } from "./process.ts";
import { waitFor } from "./wait.ts";

Deno.test("LabProcess runs the program itself with only the given environment, output in its log", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const p = LabProcess.spawn({
      name: "sh",
      cmd: "/bin/sh",
      args: ["-c", 'echo "port=${PORT:-unset} knob=$KNOB"; echo err >&2; exec sleep 60'],
      env: { KNOB: "on" },
      logPath: `${dir}/log`,
    });
    await waitFor("log", () => Deno.readTextFileSync(`${dir}/log`).includes("err"));
    assertEquals(Deno.readTextFileSync(`${dir}/log`), "port=unset knob=on\nerr\n");
    assert(p.running);
    assertMatch(Deno.readLinkSync(`/proc/${p.pid}/exe`), /sleep$/);
    await p.stop();
    await p.stop();
    assert(!p.running);
    assertEquals(p.exitStatus?.signal, "SIGTERM");
    assertMatch(p.logTail(1), /^--- sh \(pid \d+, exited by SIGTERM\) .*\nerr$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("LabProcess.stop() falls back to SIGKILL when SIGTERM is ignored", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const p = LabProcess.spawn({
      name: "stubborn",
      cmd: "/bin/sh",
      args: ["-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"],
      env: {},
      logPath: `${dir}/log`,
    });
    await waitFor("ready", () => Deno.readTextFileSync(`${dir}/log`).includes("ready"));
    await p.stop(200);
    assertEquals(p.exitStatus?.signal, "SIGKILL");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
