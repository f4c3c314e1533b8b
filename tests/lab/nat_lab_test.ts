/**
 * The NAT lab itself: the nftables rules per kind of NAT, and a built topology that behaves as
 * one (a node's UDP reaches the public network from its router's address, a `masquerade random`
 * router gives a new port per destination, a `udp-blocked` router drops it, a cone router
 * forwards its port in), then leaves no namespace or link behind. Needs root and `nft`.
 * @module
 */
import { assert, assertEquals, assertMatch } from "../../src/engine/base/testing/assert.ts";
import { CONE_PORT, type NatHost, NatLab, natRules } from "./nat_lab.ts";
import { findOnPath } from "./prerequisites.ts";

Deno.test("natRules(): masquerade per kind, a dnat for the cone, a UDP drop when blocked", () => {
  assertMatch(natRules("masquerade", "10.0.1.2"), /oifname "wan" masquerade\n/);
  assertMatch(natRules("masquerade-random", "10.0.1.2"), /oifname "wan" masquerade random\n/);
  const cone = natRules("cone", "10.0.1.2");
  assertMatch(cone, new RegExp(`udp dport ${CONE_PORT} dnat to 10\\.0\\.1\\.2:${CONE_PORT}`));
  assert(!cone.includes("drop"), "a cone forwards, drops nothing");
  assertMatch(natRules("udp-blocked", "10.0.1.2"), /meta l4proto udp drop/);
});

const canBuild = Deno.uid() === 0 && findOnPath("nft", Deno.env.get("PATH") ?? "") !== null;

/** Sends one UDP datagram from `host`'s namespace (source port `srcPort`) to `to`:`port`. */
async function sendFrom(host: NatHost, srcPort: number, to: string, port: number): Promise<void> {
  const code =
    `const s = Deno.listenDatagram({ transport: "udp", hostname: "0.0.0.0", port: ${srcPort} });` +
    `await s.send(new Uint8Array([1]), { transport: "udp", hostname: "${to}", port: ${port} });` +
    `s.close();`;
  const out = await new Deno.Command("ip", {
    args: ["netns", "exec", host.netns, Deno.execPath(), "eval", "--unstable-net", code],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
}

/**
 * The source of the next datagram at `sock`, or null after `ms`. After a null the socket's
 * receive is still pending (it would take the next datagram): use a socket of its own.
 */
async function sourceOf(sock: Deno.DatagramConn, ms = 3000): Promise<string | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<null>((r) => (timer = setTimeout(() => r(null), ms)));
  const got = sock.receive().then(([, a]) =>
    `${(a as Deno.NetAddr).hostname}:${(a as Deno.NetAddr).port}`
  );
  try {
    return await Promise.race([got, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Sends with `send` to a fresh socket on the public address and expects nothing to arrive. */
async function nothingArrives(nat: NatLab, send: (port: number) => Promise<void>): Promise<void> {
  const sock = Deno.listenDatagram({ transport: "udp", hostname: nat.publicAddress, port: 0 });
  try {
    await send((sock.addr as Deno.NetAddr).port);
    assertEquals(await sourceOf(sock, 1000), null);
  } finally {
    sock.close();
  }
}

function netnsList(): Promise<string> {
  return new Deno.Command("ip", { args: ["netns", "list"], stdout: "piped" }).output()
    .then((o) => new TextDecoder().decode(o.stdout));
}

Deno.test({
  name: "NatLab: routers NAT as their kind says, and close removes every namespace",
  ignore: !canBuild,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const nat = await NatLab.create([
      { nat: "masquerade", nodes: 2 },
      { nat: "masquerade-random" },
      { nat: "udp-blocked" },
      { nat: "cone" },
    ]);
    const names = [...nat.routers.map((r) => r.netns), ...nat.hosts.map((h) => h.netns)];
    const a = Deno.listenDatagram({ transport: "udp", hostname: nat.publicAddress, port: 0 });
    const b = Deno.listenDatagram({ transport: "udp", hostname: nat.publicAddress, port: 0 });
    const portA = (a.addr as Deno.NetAddr).port;
    const portB = (b.addr as Deno.NetAddr).port;
    try {
      const [easy, hard, blocked, cone] = nat.routers;
      // masquerade: the router's address, the same port towards every destination.
      await sendFrom(easy.hosts[0], 40001, nat.publicAddress, portA);
      assertEquals(await sourceOf(a), `${easy.wanAddress}:40001`);
      await sendFrom(easy.hosts[0], 40001, nat.publicAddress, portB);
      assertEquals(await sourceOf(b), `${easy.wanAddress}:40001`);
      // masquerade random: a new port per destination.
      await sendFrom(hard.hosts[0], 40002, nat.publicAddress, portA);
      const hardA = await sourceOf(a);
      await sendFrom(hard.hosts[0], 40002, nat.publicAddress, portB);
      const hardB = await sourceOf(b);
      assert(hardA?.startsWith(`${hard.wanAddress}:`), `${hardA}`);
      assert(hardB?.startsWith(`${hard.wanAddress}:`), `${hardB}`);
      assert(hardA !== hardB, `one port for two destinations: ${hardA}`);
      // udp-blocked: nothing arrives.
      await nothingArrives(
        nat,
        (port) => sendFrom(blocked.hosts[0], 40003, nat.publicAddress, port),
      );
      // cone: its port forward reaches the first node from outside; blockUdp() cuts it.
      const listenerCode =
        `const s = Deno.listenDatagram({ transport: "udp", hostname: "0.0.0.0", port: ${CONE_PORT} });` +
        `const [, a] = await s.receive(); console.log(a.hostname); s.close();`;
      const child = new Deno.Command("ip", {
        args: [
          "netns",
          "exec",
          cone.hosts[0].netns,
          Deno.execPath(),
          "eval",
          "--unstable-net",
          listenerCode,
        ],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      await new Promise((r) => setTimeout(r, 1500));
      await a.send(new Uint8Array([2]), {
        transport: "udp",
        hostname: cone.wanAddress,
        port: CONE_PORT,
      });
      const out = await child.output();
      assertEquals(new TextDecoder().decode(out.stdout).trim(), nat.publicAddress);
      // A fault between two routers drops UDP both ways, and lifting it restores it.
      await easy.blockUdp(nat.publicAddress);
      await nothingArrives(nat, (port) => sendFrom(easy.hosts[1], 40004, nat.publicAddress, port));
      await easy.unblockUdp();
      await sendFrom(easy.hosts[1], 40004, nat.publicAddress, portA);
      assertEquals(await sourceOf(a), `${easy.wanAddress}:40004`);
    } finally {
      a.close();
      b.close();
      await nat.close();
    }
    const left = await netnsList();
    for (const n of names) assert(!left.includes(n), `${n} left behind`);
  },
});
