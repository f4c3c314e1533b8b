import { assertEquals } from "../engine/base/testing/assert.ts";
import { commands } from "./main.ts";

Deno.test("each command listed by tailnet --help loads as the command of that name and summary", async () => {
  for (const entry of commands()) {
    const cmd = await entry.load();
    assertEquals({ name: cmd.name, summary: cmd.summary }, {
      name: entry.name,
      summary: entry.summary,
    });
  }
});
