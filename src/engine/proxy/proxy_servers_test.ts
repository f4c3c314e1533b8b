import { assertEquals, assertRejects, assertThrows } from "../base/testing/assert.ts";
import type { NetworkMap } from "../control/mod.ts";
import { parseListenAddr, ProxyServers } from "./proxy_servers.ts";
import type { TailnetStack } from "./stack_dialer.ts";
import { closedPort, curl } from "./testing/loopback.ts";

/** A stand-in for the stack: every tailnet dial lands on 127.0.0.1, same port. */
function fakeStack(calls: string[]): TailnetStack {
  return {
    async dialTcp(ip, port, signal) {
      calls.push(`${ip}:${port}`);
      return await Deno.connect({ hostname: "127.0.0.1", port, signal });
    },
    listenUdp() {
      throw new Deno.errors.NotConnected("no UDP in this fake");
    },
  };
}

const NETMAP = {
  self: { name: "me.tailnet.test.", addresses: ["100.64.0.1/32"] },
  peers: [{ name: "ts1.tailnet.test.", addresses: ["100.64.0.2/32"] }],
} as unknown as NetworkMap;

Deno.test("parseListenAddr() reads tailscaled's listen forms and names the flag when not", () => {
  assertEquals(parseListenAddr("f", "localhost:1080"), { hostname: "localhost", port: 1080 });
  assertEquals(parseListenAddr("f", "127.0.0.1:0"), { hostname: "127.0.0.1", port: 0 });
  assertEquals(parseListenAddr("f", "[::1]:8080"), { hostname: "::1", port: 8080 });
  assertEquals(parseListenAddr("f", ":1055"), { hostname: "0.0.0.0", port: 1055 });
  for (const bad of ["1080", "localhost", "::1:80", "a:70000", "a:b", "[::1]"]) {
    assertThrows(() => parseListenAddr("socks5-server", bad), TypeError, "--socks5-server");
  }
});

Deno.test("ProxyServers starts both proxies over one router: names from the netmap go to the stack", async () => {
  const ac = new AbortController();
  const origin = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    (req) => new Response(`origin ${new URL(req.url).pathname}`),
  );
  const calls: string[] = [];
  let nm: NetworkMap | null = null;
  try {
    await using p = ProxyServers.start({
      socks5: "127.0.0.1:0",
      http: "127.0.0.1:0",
      tailnet: fakeStack(calls),
      netmap: () => nm,
    });
    const port = origin.addr.port;
    const viaSocks = ["--socks5-hostname", `127.0.0.1:${p.socks5!.addr.port}`];
    const viaHttp = ["-x", `http://127.0.0.1:${p.http!.addr.port}`];
    // No netmap yet: ts1 is not a tailnet name, so the host tries (and fails) to resolve it.
    assertEquals((await curl([...viaSocks, `http://ts1:${port}/`])).code, 97);
    nm = NETMAP;
    assertEquals((await curl([...viaSocks, `http://ts1:${port}/a`])).out, "origin /a");
    assertEquals((await curl([...viaHttp, `http://ts1.tailnet.test:${port}/b`])).out, "origin /b");
    assertEquals((await curl(["-p", ...viaHttp, `http://100.64.0.7:${port}/c`])).out, "origin /c");
    assertEquals((await curl([...viaHttp, `http://127.0.0.1:${port}/d`])).out, "origin /d");
    assertEquals(calls, [`100.64.0.2:${port}`, `100.64.0.2:${port}`, `100.64.0.7:${port}`]);
  } finally {
    ac.abort();
    await origin.finished;
  }
});

Deno.test("ProxyServers.start() leaves nothing listening when the second port is taken", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  // A known port for the SOCKS5 server, so the test can look at it afterwards.
  const socksPort = closedPort();
  try {
    assertThrows(
      () =>
        ProxyServers.start({
          socks5: `127.0.0.1:${socksPort}`,
          http: `127.0.0.1:${taken.addr.port}`,
          tailnet: null,
          netmap: () => null,
        }),
      Deno.errors.AddrInUse,
    );
    // The SOCKS5 listener opened before the failure is closed: the port can be bound again,
    // and once that is released too, connecting is refused. Deno frees a closed listener's
    // socket when the accept pending on it is dropped, on the event loop's next turn.
    await new Promise((r) => setTimeout(r, 0));
    Deno.listen({ hostname: "127.0.0.1", port: socksPort }).close();
    await assertRejects(
      () => Deno.connect({ hostname: "127.0.0.1", port: socksPort }),
      Deno.errors.ConnectionRefused,
    );
  } finally {
    taken.close();
  }
});
