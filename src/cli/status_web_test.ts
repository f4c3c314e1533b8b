import { assert, assertEquals, assertMatch, assertThrows } from "../engine/base/testing/assert.ts";
import { Logger } from "../engine/base/logger.ts";
import { jsonResponse, type LocalApiHandler, LocalApiServer } from "../localapi/server.ts";
import type { StatusJson } from "../ipn/status.ts";
import { parseListen, serveStatusWeb, webStatus } from "./_status_web.ts";

function peer(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    HostName: name,
    DNSName: `${name}.tn.example.`,
    TailscaleIPs: ["100.64.0.9"],
    OS: "linux",
    Online: true,
    CurAddr: "",
    Relay: "",
    RxBytes: 10,
    TxBytes: 20,
    ...extra,
  };
}

const STATUS = {
  BackendState: "Running",
  Self: peer("me", { Relay: "lab" }),
  Peer: {
    "nodekey:b": peer("zed", { CurAddr: "192.0.2.1:41641", Online: false }),
    "nodekey:a": peer("amy", { Relay: "lab" }),
  },
  CurrentTailnet: { Name: "example.com" },
  Health: ["warn"],
} as unknown as StatusJson;

Deno.test("webStatus(): self and peers with their paths, peers by name", () => {
  const w = webStatus(STATUS);
  assertEquals(w.self?.path, "self");
  assertEquals(w.self?.dnsName, "me.tn.example");
  assertEquals(w.peers.map((p) => [p.name, p.path, p.online]), [
    ["amy", "DERP(lab)", true],
    ["zed", "direct 192.0.2.1:41641", false],
  ]);
  assertEquals([w.tailnet, w.health], ["example.com", ["warn"]]);
  assertEquals(webStatus({ ...STATUS, BackendState: "NeedsLogin", Peer: null }).self, null);
});

Deno.test("parseListen(): host:port and [v6]:port; bad values name --listen", () => {
  assertEquals(parseListen("127.0.0.1:8384"), { hostname: "127.0.0.1", port: 8384 });
  assertEquals(parseListen("[::1]:0"), { hostname: "::1", port: 0 });
  for (const bad of ["8384", "127.0.0.1:99999", "::1:80", ""]) {
    assertThrows(() => parseListen(bad), Error, "--listen");
  }
});

Deno.test("serveStatusWeb(): the page, /api/status from the LocalAPI, a wrong Host refused", async () => {
  const dir = await Deno.makeTempDir();
  const stop = new AbortController();
  const routes = new Map<string, LocalApiHandler>([["status", () => jsonResponse(STATUS)]]);
  await using _api = await LocalApiServer.listen({
    socketPath: `${dir}/s.sock`,
    routes,
    log: new Logger({ sink: () => {}, timestamps: false }),
  });
  const { url, finished } = serveStatusWeb(
    `${dir}/s.sock`,
    { hostname: "127.0.0.1", port: 0 },
    stop.signal,
  );
  try {
    assertMatch(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetch(url);
    assertEquals(page.status, 200);
    assertMatch(await page.text(), /<tbody id="nodes">/);
    const api = await (await fetch(`${url}api/status`)).json();
    assertEquals(api.peers.length, 2);
    // fetch() will not send another Host: a raw request, as a rebound page's would arrive.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(new URL(url).port) });
    await conn.write(
      new TextEncoder().encode("GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n"),
    );
    const reply = await new Response(conn.readable).text();
    assertMatch(reply, /^HTTP\/1\.1 403/);
    const post = await fetch(`${url}api/status`, { method: "POST" });
    assertEquals(post.status, 405);
    await post.body?.cancel();
    routes.delete("status");
    const down = await (await fetch(`${url}api/status`)).json();
    assert(typeof down.error === "string" && down.error.length > 0);
  } finally {
    stop.abort();
    await finished;
    await Deno.remove(dir, { recursive: true });
  }
});
