/**
 * `tailnet status --web` in a real browser (headless Chromium, Debian's `chromium`) against
 * the lab: the page lists this node and the real tailscaled peer, then shows a peer that joins
 * afterwards, without a reload. Skipped, with the reason, when the lab is not built.
 */
import { assert, assertEquals, assertMatch } from "../../src/engine/base/testing/assert.ts";
import { Lab, labAvailable, waitFor } from "../lab/mod.ts";
import { TailnetDaemon } from "../lab/tailnet_daemon.ts";
import { spawnTailnet } from "../lab/tailnet_process.ts";
import { HeadlessChromium } from "../lab/chromium.ts";

const lab = labAvailable();
const ignore = !lab.ok;
if (ignore) {
  // deno-lint-ignore no-console -- the reason a test is skipped belongs in the test output
  console.error(`tests/interop/status_web_test.ts skipped: ${lab.reason}`);
}

/** The page's rows as (kind, name, path), read from the live DOM. */
const ROWS = `[...document.querySelectorAll("#nodes tr")].map((tr) =>
  [tr.dataset.kind, tr.dataset.name, tr.children[3].textContent])`;

Deno.test({
  name:
    "tailnet status --web: headless Chromium sees self and the real peer, then a new peer without a reload",
  ignore,
  sanitizeResources: false, // the lab's child processes are stopped by the lab itself
  sanitizeOps: false,
  async fn() {
    await using l = await Lab.start({ tailscaleds: 1 });
    await using d = await TailnetDaemon.create();
    const up = await d.cli([
      "up",
      "--login-server",
      l.controlUrl,
      "--authkey",
      l.authKey,
      "--hostname",
      "tn-web",
    ]);
    assertEquals(up.code, 0, up.stderr);

    const web = spawnTailnet(
      ["--socket", d.socket, "status", "--web", "--listen", "127.0.0.1:0", "--no-browser"],
      { stdout: "piped" },
    );
    try {
      const out = web.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let first = "";
      while (!first.includes("\n")) {
        const { value, done } = await out.read();
        if (done) break;
        first += value;
      }
      const url = /Serving tailnet status at (http:\/\/\S+)/.exec(first)?.[1];
      assert(url !== undefined, `status --web printed ${JSON.stringify(first)}`);
      // Nothing more comes on stdout; drain it anyway so the child never blocks.
      (async () => {
        while (!(await out.read()).done) { /* discard */ }
      })().catch(() => {});

      await using browser = await HeadlessChromium.open(url);
      type Row = [string, string, string];
      const rows = await waitFor("self and the real peer on the page", async () => {
        const r = await browser.evaluate<Row[]>(ROWS);
        const names = r.map((x) => x[1]);
        return names.includes("tn-web") && names.includes(l.nodes[0].name) ? r : null;
      }, { timeoutMs: 30_000, intervalMs: 250 });
      assertEquals(rows.find((r) => r[1] === "tn-web")?.[0], "self");
      const realPeer = rows.find((r) => r[1] === l.nodes[0].name);
      assertEquals(realPeer?.[0], "peer");
      assertMatch(realPeer?.[2] ?? "", /^(DERP\(.+\)|direct .+)$/);
      assertMatch(
        await browser.evaluate<string>(`document.getElementById("state").textContent`),
        /^Running/,
      );

      // A mark in the page's memory: a reload would lose it.
      await browser.evaluate(`window.tailnetMark = "same page"; true`);
      const added = await l.addTailscaled();
      await waitFor("the new peer on the page", async () => {
        const r = await browser.evaluate<Row[]>(ROWS);
        return r.some((x) => x[1] === added.name && x[0] === "peer");
      }, { timeoutMs: 60_000, intervalMs: 250 });
      assertEquals(await browser.evaluate<string>(`window.tailnetMark`), "same page");
    } finally {
      web.kill("SIGTERM");
      assertEquals((await web.status).code, 0);
    }
  },
});
