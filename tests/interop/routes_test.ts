/**
 * Subnet routes and exit nodes, both roles, against real tailscaled and headscale. A "target"
 * network namespace holds a web server (20 MiB) at 10.77.1.2 and 10.77.2.2; only the
 * "router" namespace has a link to it. The router node runs in that namespace and reaches the
 * lab's headscale and derper through a bridge (tests/lab/netns_bridge.ts); the client node
 * runs in the test's own namespace, which has no route to the target at all.
 * 1. A real tailscaled in the router namespace advertises an exit node and 10.77.1.0/24,
 *    approved in headscale. Our daemon's SOCKS5 fetch of the target fails; with
 *    `tailnet set --accept-routes` it succeeds (size and SHA-256), and so does a `mod.ts`
 *    library node's `dial()` once its prefs accept routes; without it again fails;
 *    with `tailnet set --exit-node NAME` it succeeds and status shows the exit node; with
 *    `--exit-node=` it fails.
 * 2. Our daemon in the router namespace advertises an exit node and 10.77.2.0/24 (`set`,
 *    live). A real tailscaled's SOCKS5 fetch fails; with `tailscale set --accept-routes` it
 *    succeeds, and `tailscale ping --icmp` to the target gets a pong (our host pinged it); with
 *    the exit node instead (`--accept-routes=false --exit-node IP`) it succeeds through its
 *    HTTP proxy too.
 * Runs once per pinned tailscale release. Skipped with the reason when the lab is not built.
 * @module
 */
import { createHash } from "node:crypto";
import { assert, assertEquals } from "../../src/engine/base/testing/assert.ts";
import { Lab, labAvailable, waitFor } from "../lab/mod.ts";
import { TAILSCALE_RELEASES } from "../lab/versions.ts";
import { TailnetDaemon } from "../lab/tailnet_daemon.ts";
import { NetnsBridge } from "../lab/netns_bridge.ts";
import { closedPort, curl } from "../../src/engine/proxy/testing/loopback.ts";
import { TailnetNode } from "../../mod.ts";

const available = labAvailable();
const SIZE = 20 << 20;
const SUBNET1 = "10.77.1.0/24";
const TARGET1 = "10.77.1.2";
const SUBNET2 = "10.77.2.0/24";
const TARGET2 = "10.77.2.2";
const PORT = 8080;
const UDP_PORT = 8081;

/** The target's bytes: the same formula the server in the target namespace uses. */
const GEN = "(n) => { const d = new Uint8Array(n); " +
  "for (let i = 0; i < n; i++) d[i] = (Math.imul(i, 2654435761) >>> 13) & 255; return d; }";

function say(line: string): void {
  // deno-lint-ignore no-console -- the steps are the test's record
  console.error(`[routes interop] ${line}`);
}

async function ip(args: string[]): Promise<void> {
  const o = await new Deno.Command("ip", { args, stdout: "null", stderr: "piped" }).output();
  if (!o.success) throw new Error(`ip ${args.join(" ")}: ${new TextDecoder().decode(o.stderr)}`);
}

/** The router and target namespaces, linked by one veth pair; removed on dispose. */
async function namespaces(): Promise<{ rt: string; tg: string } & AsyncDisposable> {
  const id = Deno.pid % 100000;
  const rt = `rt${id}`, tg = `tg${id}`;
  const del = async () => {
    for (const ns of [rt, tg]) await ip(["netns", "del", ns]).catch(() => {});
  };
  try {
    for (const ns of [rt, tg]) {
      await ip(["netns", "add", ns]);
      await ip(["-n", ns, "link", "set", "lo", "up"]);
    }
    await ip(["-n", rt, "link", "add", `vr${id}`, "type", "veth", "peer", "name", `vt${id}`]);
    await ip(["-n", rt, "link", "set", `vt${id}`, "netns", tg]);
    for (const [ns, dev, host] of [[rt, `vr${id}`, "1"], [tg, `vt${id}`, "2"]]) {
      await ip(["-n", ns, "addr", "add", `10.77.1.${host}/24`, "dev", dev]);
      await ip(["-n", ns, "addr", "add", `10.77.2.${host}/24`, "dev", dev]);
      await ip(["-n", ns, "link", "set", dev, "up"]);
    }
  } catch (err) {
    await del();
    throw err;
  }
  return { rt, tg, [Symbol.asyncDispose]: del };
}

/** The web server in the target namespace: GET / answers the 20 MiB; UDP 8081 echoes. */
async function targetServer(tg: string): Promise<AsyncDisposable> {
  const script = `const data = (${GEN})(${SIZE});
const udp = Deno.listenDatagram({ transport: "udp", hostname: "0.0.0.0", port: ${UDP_PORT} });
(async () => { for (;;) { const [d, from] = await udp.receive();
  await udp.send(new Uint8Array([...new TextEncoder().encode("echo:"), ...d]), from); } })();
Deno.serve({ hostname: "0.0.0.0", port: ${PORT}, onListen() { console.log("ready"); } },
  () => new Response(data));`;
  const child = new Deno.Command("ip", {
    args: ["netns", "exec", tg, Deno.execPath(), "eval", "--unstable-net", script],
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const first = await reader.read();
  reader.releaseLock();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // gone
    }
    await child.stdout.cancel().catch(() => {});
    await child.status;
  };
  if (!first.value?.includes("ready")) {
    await stop();
    throw new Error("target web server did not start");
  }
  return { [Symbol.asyncDispose]: stop };
}

const WANT_SHA = createHash("sha256").update((eval(GEN) as (n: number) => Uint8Array)(SIZE))
  .digest("hex");

/** One fetch of the target through a proxy; null when it failed. */
async function fetchVia(proxyArgs: string[], target: string): Promise<string | null> {
  const r = await curl([...proxyArgs, `http://${target}:${PORT}/`], 30);
  if (r.code !== 0) return null;
  assertEquals(r.stdout.length, SIZE, `whole body from ${target}`);
  return createHash("sha256").update(r.stdout).digest("hex");
}

/** HTTP/1.0 GET / over a library connection: the body's SHA-256, after checking its size. */
async function httpGetSha(
  conn: { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> },
): Promise<string> {
  const w = conn.writable.getWriter();
  await w.write(new TextEncoder().encode(`GET / HTTP/1.0\r\nHost: target\r\n\r\n`));
  const all = new Uint8Array(await new Response(conn.readable).arrayBuffer());
  await w.close().catch(() => {});
  let head = -1;
  for (let i = 0; i + 3 < all.length; i++) {
    if (all[i] === 13 && all[i + 1] === 10 && all[i + 2] === 13 && all[i + 3] === 10) {
      head = i + 4;
      break;
    }
  }
  assert(head > 0, "an HTTP response");
  const body = all.subarray(head);
  assertEquals(body.length, SIZE, "whole body through mod.ts dial()");
  return createHash("sha256").update(body).digest("hex");
}

async function assertFetches(proxyArgs: string[], target: string, what: string): Promise<void> {
  const sha = await waitFor(what, () => fetchVia(proxyArgs, target), {
    timeoutMs: 40_000,
    intervalMs: 500,
  });
  assertEquals(sha, WANT_SHA, `${what}: SHA-256 of the 20 MiB`);
  say(`${what}: ${SIZE} bytes, sha256 ${sha.slice(0, 16)}…`);
}

async function assertFails(proxyArgs: string[], target: string, what: string): Promise<void> {
  // Routes go away with a netmap or prefs change: allow it a moment, then it must stay failed.
  await waitFor(what, async () => (await fetchVia(proxyArgs, target)) === null, {
    timeoutMs: 20_000,
    intervalMs: 500,
  });
  assertEquals(await fetchVia(proxyArgs, target), null, what);
  say(`${what}: fails, as it should`);
}

/** SOCKS5 UDP ASSOCIATE through `socksPort`: one datagram to ip:port, the answer's text. */
async function udpThroughSocks(socksPort: number, ip: string, port: number, text: string) {
  const c = await Deno.connect({ hostname: "127.0.0.1", port: socksPort });
  const u = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  try {
    await c.write(new Uint8Array([5, 1, 0, 5, 3, 0, 1, 0, 0, 0, 0, 0, 0]));
    const r = new Uint8Array(12);
    for (let off = 0; off < 12;) {
      const k = await c.read(r.subarray(off));
      if (k === null) throw new Error("SOCKS5 closed");
      off += k;
    }
    assertEquals(r[3], 0, "UDP ASSOCIATE succeeded");
    const payload = new TextEncoder().encode(text);
    const d = new Uint8Array(10 + payload.length);
    d.set([0, 0, 0, 1, ...ip.split(".").map(Number), port >> 8, port & 0xff]);
    d.set(payload, 10);
    const to = { transport: "udp" as const, hostname: "127.0.0.1", port: (r[10] << 8) | r[11] };
    for (let i = 0; i < 10; i++) {
      await u.send(d, to);
      const got = await Promise.race([
        u.receive(),
        new Promise<null>((res) => setTimeout(() => res(null), 1000)),
      ]);
      if (got !== null) return new TextDecoder().decode(got[0].subarray(10));
    }
    throw new Error("no UDP answer through the association");
  } finally {
    c.close();
    u.close();
  }
}

async function approve(lab: Lab, nodeKey: string, routes: string): Promise<void> {
  let id = "";
  await waitFor("headscale to see the advertised routes", async () => {
    const nodes = await lab.headscale(["nodes", "list"]) as {
      id: number;
      node_key: string;
      available_routes?: string[];
    }[];
    const n = nodes.find((x) => x.node_key === nodeKey);
    if (n === undefined || (n.available_routes ?? []).length < 3) return false;
    id = String(n.id);
    return true;
  }, { timeoutMs: 20_000 });
  await lab.headscale(["nodes", "approve-routes", "-i", id, "-r", routes]);
}

async function tn(d: TailnetDaemon, args: string[]): Promise<string> {
  const r = await d.cli(args);
  if (r.code !== 0) throw new Error(`tailnet ${args.join(" ")}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

for (const release of TAILSCALE_RELEASES) {
  Deno.test({
    name:
      `routes: exit node and subnet route, both roles, with a real tailscaled (${release.version})`,
    ignore: !available.ok,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      await using ns = await namespaces();
      await using _target = await targetServer(ns.tg);
      await using lab = await Lab.start({
        tailscaleds: 0,
        tailscaleVersion: release.version,
        nodeEnv: { TS_DEBUG_NEVER_DIRECT_UDP: "1" },
      });
      await using _bridge = await NetnsBridge.start(ns.rt, [
        Number(new URL(lab.controlUrl).port),
        lab.derpPort,
      ]);

      // (1) A real tailscaled is the router; our daemon uses it.
      const tsRouter = await lab.addTailscaled({ netns: ns.rt });
      await tsRouter.cliOk(["set", "--advertise-exit-node", `--advertise-routes=${SUBNET1}`]);
      const tsKey = (await tsRouter.status()).Self.PublicKey;
      await approve(lab, tsKey, `0.0.0.0/0,::/0,${SUBNET1}`);
      const socks = closedPort();
      await using client = await TailnetDaemon.create({
        args: ["--socks5-server", `127.0.0.1:${socks}`],
      });
      await client.up(lab.controlUrl, lab.authKey, "tn-client");
      const viaOurs = ["--socks5", `127.0.0.1:${socks}`];
      await assertFails(viaOurs, TARGET1, "our SOCKS5, no routes accepted");
      await tn(client, ["set", "--accept-routes"]);
      await assertFetches(viaOurs, TARGET1, "our SOCKS5 through tailscaled's subnet route");
      // mod.ts: a library node dials the routed target once it accepts routes, not before.
      {
        await using lib = await TailnetNode.open();
        await lib.up({ controlUrl: lab.controlUrl, authKey: lab.authKey, hostname: "tn-lib" });
        let refused = "";
        await lib.dial(TARGET1, PORT).catch((e) => (refused = String(e)));
        assert(refused.includes("no peer routes it"), `refused without routes: ${refused}`);
        await lib.backend.editPrefs({ RouteAll: true, RouteAllSet: true });
        const sha = await waitFor("mod.ts dial() through the subnet route", async () => {
          try {
            return await httpGetSha(await lib.dial(TARGET1, PORT));
          } catch {
            return null;
          }
        }, { timeoutMs: 30_000, intervalMs: 500 });
        assertEquals(sha, WANT_SHA, "mod.ts dial(): SHA-256 of the 20 MiB");
        say(`mod.ts dial() through tailscaled's subnet route: sha256 ${sha.slice(0, 16)}…`);
      }
      await tn(client, ["set", "--accept-routes=false"]);
      await assertFails(viaOurs, TARGET1, "our SOCKS5 after --accept-routes=false");
      await tn(client, ["set", `--exit-node=${tsRouter.name}`]);
      await assertFetches(viaOurs, TARGET1, "our SOCKS5 through tailscaled as exit node");
      const udp1 = await udpThroughSocks(socks, TARGET1, UDP_PORT, "via-ts");
      assertEquals(udp1, "echo:via-ts", "UDP through tailscaled as exit node");
      say(`our SOCKS5 UDP through tailscaled as exit node: ${udp1}`);
      const st = JSON.parse(await tn(client, ["status", "--json"]));
      const tsPeer = st.Peer[tsKey];
      assertEquals(st.ExitNodeStatus?.ID, tsPeer.ID, "ExitNodeStatus names the exit node");
      assert(tsPeer.ExitNode === true, "the peer is marked ExitNode");
      const text = await tn(client, ["status"]);
      const line = text.split("\n").find((l) => l.includes(tsRouter.name)) ?? "";
      assert(/exit node/.test(line) && !/offers exit node/.test(line), `exit node in: ${line}`);
      say(`tailnet status: ${line.trim()}`);
      await tn(client, ["set", "--exit-node="]);
      await assertFails(viaOurs, TARGET1, "our SOCKS5 after --exit-node=");

      // (2) Our daemon is the router; a real tailscaled uses it.
      await using router = await TailnetDaemon.create({ netns: ns.rt });
      const ours = await router.up(lab.controlUrl, lab.authKey, "tn-router");
      await tn(router, ["set", "--advertise-exit-node", `--advertise-routes=${SUBNET2}`]);
      const ourKey = JSON.parse(await tn(router, ["status", "--json"])).Self.PublicKey;
      await approve(lab, ourKey, `0.0.0.0/0,::/0,${SUBNET2}`);
      const tsClient = await lab.addTailscaled();
      const viaTs = ["--socks5", tsClient.socks5Addr];
      await assertFails(viaTs, TARGET2, "tailscaled's SOCKS5, no routes accepted");
      await tsClient.cliOk(["set", "--accept-routes"]);
      await assertFetches(viaTs, TARGET2, "tailscaled's SOCKS5 through our subnet route");
      // ICMP echo to the routed target: answered because our host reaches it (userPing).
      const pong = await waitFor("tailscale ping --icmp to the routed target", async () => {
        const r = await tsClient.cli(["ping", "--icmp", "--c", "1", "--timeout", "5s", TARGET2]);
        return r.code === 0 && r.stdout.includes("pong") ? r.stdout.trim() : null;
      }, { timeoutMs: 30_000, intervalMs: 500 });
      say(`tailscale ping --icmp ${TARGET2}: ${pong}`);
      await tsClient.cliOk(["set", "--accept-routes=false"]);
      await assertFails(viaTs, TARGET2, "tailscaled's SOCKS5 after --accept-routes=false");
      await tsClient.cliOk(["set", `--exit-node=${ours.v4}`]);
      await assertFetches(viaTs, TARGET2, "tailscaled's SOCKS5 through us as exit node");
      await assertFetches(
        ["--proxy", `http://${tsClient.httpProxyAddr}`],
        TARGET1,
        "tailscaled's HTTP proxy through us as exit node",
      );
      // Our client picks our router too: ours to ours, then both CLIs list the same exit nodes.
      await tn(client, ["set", "--exit-node=tn-router"]);
      await assertFetches(viaOurs, TARGET2, "our SOCKS5 through our router as exit node");
      const udp2 = await udpThroughSocks(socks, TARGET2, UDP_PORT, "via-us");
      assertEquals(udp2, "echo:via-us", "UDP through our router as exit node");
      say(`our SOCKS5 UDP through our router as exit node: ${udp2}`);
      const real = await tsClient.cliOk(["exit-node", "list"]);
      const mine = await tn(client, ["exit-node", "list"]);
      say(`tailscale exit-node list:\n${real}`);
      assertEquals(mine, real, "tailnet exit-node list prints what tailscale exit-node list does");

      // Through us as exit node, our own loopback is not reachable: the bridge's relay listens
      // on 127.0.0.1 in the router namespace, and tailscaled sends 127.0.0.1 to its exit node.
      const engineStats = async () =>
        JSON.parse(await tn(router, ["status", "--json"])).TailnetEngine;
      const notOursBefore = (await engineStats()).stack.drops.notOurs;
      const loopback = `127.0.0.1:${new URL(lab.controlUrl).port}`;
      const r = await curl(["--socks5", tsClient.socks5Addr, `http://${loopback}/health`], 10);
      assert(r.code !== 0, `our loopback must not be reachable through us: ${r.out}`);
      const stats = await engineStats();
      assert(stats.stack.drops.notOurs > notOursBefore, "the drop is counted (notOurs)");
      assert(stats.forwarder.udpRoutedFlows >= 1, "our router relayed the UDP flow");
      say(
        `loopback through us as exit node: refused (curl exit ${r.code}), notOurs ${notOursBefore} -> ${stats.stack.drops.notOurs}`,
      );
      say(`our router's forwarder: ${JSON.stringify(stats.forwarder)}`);
      say(`our router's inbound: ${JSON.stringify(stats?.inbound)}`);
      say(`our router's routed echo: ${JSON.stringify(stats?.routedEcho)}`);
      assert(stats?.routedEcho?.answered >= 1, "our router answered the ICMP echo");
    },
  });
}
