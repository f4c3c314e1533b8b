/**
 * The library as another Deno program consumes it: a throwaway project in a temp directory
 * outside this repository (its own empty `deno.json`, none of our config or import map) imports
 * our `mod.ts` by file URL, joins the lab's real headscale, dials a real tailscaled by MagicDNS
 * name and reads what a service on that node's host sends. It runs as its own `deno run`, so a
 * bare specifier that only our `deno.json` can resolve fails it before it starts.
 * @module
 */
import { assertEquals } from "../../src/engine/base/testing/assert.ts";
import { Lab, labAvailable } from "../lab/mod.ts";

const available = labAvailable();

/** The outside program: joins, dials `<peer>:<port>`, prints what it read, exits 0. */
const PROGRAM = (modUrl: string) => `
import { TailnetNode } from ${JSON.stringify(modUrl)};

const [controlUrl, authKey, peer, port] = Deno.args;
const node = await TailnetNode.open();
try {
  await node.up({ controlUrl, authKey, hostname: "outside-app" });
  const conn = await node.dial(peer, Number(port));
  const text = await new Response(conn.readable).text();
  await conn.writable.close().catch(() => {});
  console.log("got: " + text);
} finally {
  await node.close();
}
`;

Deno.test({
  name: "a project outside the repository imports mod.ts, joins headscale, dials a real peer",
  ignore: !available.ok,
  async fn() {
    if (!available.ok) return;
    await using lab = await Lab.start({ tailscaleds: 1 });
    const peer = lab.nodes[0];
    const project = await Deno.makeTempDir({ prefix: "tailnet-outside-" });
    // A service on the real node's host: userspace tailscaled forwards tailnet TCP to loopback.
    const server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (server.addr as Deno.NetAddr).port;
    const served = (async () => {
      const c = await server.accept();
      await c.write(new TextEncoder().encode("hello from the real node"));
      c.close();
    })();
    // On a failure the listener is closed before anyone connects; the assertion says why.
    served.catch(() => {});
    try {
      await Deno.writeTextFile(`${project}/deno.json`, "{}\n");
      const modUrl = new URL("../../mod.ts", import.meta.url).href;
      await Deno.writeTextFile(`${project}/app.ts`, PROGRAM(modUrl));
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-net",
          "--allow-env",
          "--allow-sys",
          "--allow-read",
          "--allow-write",
          "--unstable-net",
          "app.ts",
          lab.controlUrl,
          lab.authKey,
          peer.name,
          String(port),
        ],
        cwd: project,
        env: { NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(60_000),
      }).output();
      const stdout = new TextDecoder().decode(out.stdout);
      const stderr = new TextDecoder().decode(out.stderr);
      assertEquals(
        { code: out.code, stdout: stdout.trim() },
        { code: 0, stdout: "got: hello from the real node" },
        stderr,
      );
      await served;
    } finally {
      server.close();
      await Deno.remove(project, { recursive: true });
    }
  },
});
