/**
 * Run by kernel_tailscaled_test.ts inside a network namespace of its own (never directly: a
 * kernel-mode tailscaled changes the routing of the namespace it runs in). A real tailscaled
 * with a kernel TUN and our `tailnet daemon` join one lab tailnet; traffic crosses the Linux
 * kernel's own TCP/IP stack on the real node's side:
 * - us -> kernel node: our SOCKS5 to a server this process runs on 0.0.0.0 (reached at the
 *   kernel node's tailnet addresses), 10 MiB down and 10 MiB up, SHA-256 both ways;
 * - kernel node -> us: this process's own sockets connect to our tailnet addresses (routed by
 *   the kernel into the TUN), and our daemon forwards them to a server on 127.0.0.1;
 * - ping (ICMP from the kernel, `tailnet ping` from us), and a closed port refused by our RST.
 * Prints one line `RESULT <json>` on success; any failure exits 1 with the reason.
 * @module
 */
import { Lab, waitFor } from "../lab/mod.ts";
import { TailnetDaemon } from "../lab/tailnet_daemon.ts";
import { socks5Connect } from "../lab/socks5.ts";
import { digestServer, exchangeCheck } from "../lab/exchange.ts";
import { assert, assertEquals } from "../../src/engine/base/testing/assert.ts";

const MIB = 1 << 20;
const SIZE = 10 * MIB;

/** One exchange over `c` (see tests/lab/exchange.ts), asserted whole; returns its Mbit/s. */
async function timedExchange(
  c: Deno.Conn,
  check: (c: Deno.Conn) => Promise<string | null>,
): Promise<number> {
  const t0 = performance.now();
  try {
    assertEquals(await check(c), null, "both directions whole");
  } finally {
    c.close();
  }
  return ((2 * SIZE * 8) / ((performance.now() - t0) / 1000)) / 1e6;
}

async function run(cmd: string, args: string[]) {
  const o = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  return { code: o.code, out: dec.decode(o.stdout), err: dec.decode(o.stderr) };
}

try {
  const up = crypto.getRandomValues(new Uint8Array(SIZE).subarray(0, 65536));
  const upData = new Uint8Array(SIZE);
  for (let o = 0; o < SIZE; o += up.length) upData.set(up.map((b) => b ^ (o >> 16)), o);
  const downData = upData.slice().reverse();
  const result: Record<string, unknown> = {};

  await using lab = await Lab.start({
    tailscaleds: 0,
    nodeEnv: { TS_DEBUG_NEVER_DIRECT_UDP: "1" },
  });
  const k = await lab.addTailscaled({ kernelTun: "tskern0" });
  const [k4, k6] = await k.ips();
  const link = await run("ip", ["-o", "addr", "show", "dev", "tskern0"]);
  assert(link.out.includes(k4), `the kernel TUN carries ${k4}: ${link.out}`);
  const free = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const socksPort = free.addr.port;
  free.close();
  await using tn = await TailnetDaemon.create({
    args: ["--socks5-server", `127.0.0.1:${socksPort}`],
  });
  const ours = await tn.up(lab.controlUrl, lab.authKey, "tn-kernel");
  const ourKey = JSON.parse((await tn.cli(["status", "--json"])).stdout).Self.PublicKey;
  await waitFor("the kernel node to learn our home DERP", async () => {
    const st = await k.status();
    return Object.values(st.Peer ?? {}).some((p) => p.PublicKey === ourKey && p.Relay !== "");
  }, { timeoutMs: 30_000 });

  // us -> kernel node, over both address families.
  const check = exchangeCheck(upData, downData);
  const there = digestServer("::", SIZE, downData);
  for (const [name, ip] of [["usToKernel4", k4], ["usToKernel6", k6]]) {
    const c = await socks5Connect(`127.0.0.1:${socksPort}`, ip, there.port);
    result[name] = `${(await timedExchange(c, check)).toFixed(1)} Mbit/s`;
  }
  await there.close();

  // kernel node -> us: this process's sockets, routed by the kernel into the TUN.
  const here = digestServer("127.0.0.1", SIZE, downData);
  for (const [name, ip] of [["kernelToUs4", ours.v4], ["kernelToUs6", ours.v6]]) {
    const c = await Deno.connect({ hostname: ip, port: here.port });
    result[name] = `${(await timedExchange(c, check)).toFixed(1)} Mbit/s`;
  }
  await here.close();

  // A closed port: our RST refuses the kernel's connect.
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closedPort = closed.addr.port;
  closed.close();
  let refused: unknown = null;
  await Deno.connect({ hostname: ours.v4, port: closedPort }).then((c) => c.close(), (e) => {
    refused = e;
  });
  assert(refused instanceof Deno.errors.ConnectionRefused, `closed port: ${refused}`);
  result.closedPort = "refused";

  const ping = await run("ping", ["-c", "3", "-W", "3", ours.v4]);
  assert(ping.out.includes("3 received"), `kernel ping: ${ping.out}${ping.err}`);
  result.kernelPing = ping.out.split("\n").find((l) => l.startsWith("rtt")) ?? "";
  const pong = await tn.cli(["ping", "--until-direct=false", "-c", "2", k4]);
  assertEquals(pong.code, 0, pong.stderr);
  result.tailnetPing = pong.stdout.trim().split("\n").at(-1);
  // deno-lint-ignore no-console -- the result line is this script's output
  console.log(`RESULT ${JSON.stringify(result)}`);
} catch (err) {
  // deno-lint-ignore no-console -- the reason goes to the test that ran this script
  console.error(`scenario failed: ${err instanceof Error ? err.stack : err}`);
  Deno.exit(1);
}
