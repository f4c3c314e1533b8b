/**
 * The library surface (`mod.ts`, like Go's tsnet) against the real lab: two TailnetNodes in
 * one process join real headscale beside a real tailscaled, listen and dial through the
 * userspace stack, by IP and by MagicDNS name, including from the real node through its
 * SOCKS5 proxy. Skipped with the reason when the lab is not built.
 * @module
 */
import { assert, assertEquals } from "../../src/engine/base/testing/assert.ts";
import { Lab, labAvailable, waitFor } from "../lab/mod.ts";
import { socks5Connect } from "../lab/socks5.ts";
import { type StackConn, TailnetNode } from "../../mod.ts";

const available = labAvailable();

async function readAll(readable: ReadableStream<Uint8Array>): Promise<string> {
  return await new Response(readable).text();
}

/** Serves one line per connection: "<name> got <what the client sent>". */
async function serveEcho(name: string, listener: AsyncIterable<StackConn>): Promise<void> {
  for await (const conn of listener) {
    void (async () => {
      const reader = conn.readable.getReader();
      const { value } = await reader.read();
      reader.releaseLock();
      const w = conn.writable.getWriter();
      await w.write(new TextEncoder().encode(`${name} got ${new TextDecoder().decode(value)}`));
      await w.close();
    })().catch(() => {});
  }
}

async function ask(
  conn: { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> },
  text: string,
) {
  const w = conn.writable.getWriter();
  await w.write(new TextEncoder().encode(text));
  await w.close();
  return await readAll(conn.readable);
}

Deno.test({
  name: "TailnetNode: two library nodes in one process and a real tailscaled dial and listen",
  ignore: !available.ok,
  async fn() {
    if (!available.ok) return;
    await using lab = await Lab.start({ tailscaleds: 1 });
    const ts1 = lab.nodes[0];
    await using a = await TailnetNode.open();
    await using b = await TailnetNode.open();
    await a.up({ controlUrl: lab.controlUrl, authKey: lab.authKey, hostname: "lib-a" });
    await b.up({ controlUrl: lab.controlUrl, authKey: lab.authKey, hostname: "lib-b" });
    assertEquals(a.state, "Running");
    assert(a.ips().some((ip) => ip.startsWith("100.")), a.ips().join(" "));

    const listenerA = a.listen(7001);
    const serving = serveEcho("lib-a", listenerA);
    try {
      // Our other node dials it by MagicDNS name through DERP and WireGuard.
      await waitFor(
        "lib-b to see lib-a",
        () =>
          b.status().Peer !== null &&
          Object.values(b.status().Peer!).some((p) => p.HostName === "lib-a"),
        { timeoutMs: 20_000 },
      );
      const fromB = await ask(await b.dial("lib-a", 7001), "hello from b");
      assertEquals(fromB, "lib-a got hello from b");

      // The real tailscaled reaches our listener through its own SOCKS5 proxy.
      await waitFor("ts1 to see lib-a on DERP", async () => {
        const st = await ts1.status();
        return Object.values(st.Peer ?? {}).some((p) => p.HostName === "lib-a" && p.Relay !== "");
      }, { timeoutMs: 20_000 });
      const viaSocks = await socks5Connect(ts1.socks5Addr, a.ips()[0], 7001);
      await viaSocks.write(new TextEncoder().encode("hello from tailscaled"));
      const fromTs = await readAll(viaSocks.readable);
      assertEquals(fromTs, "lib-a got hello from tailscaled");

      // And our node reaches a service on the real node (tailscaled forwards to its loopback).
      const server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = (server.addr as Deno.NetAddr).port;
      const accepted = (async () => {
        const c = await server.accept();
        await c.write(new TextEncoder().encode("hello from ts1's host"));
        c.close();
      })();
      try {
        const conn = await a.dial(ts1.name, port);
        const got = await readAll(conn.readable);
        await conn.writable.close().catch(() => {});
        assertEquals(got, "hello from ts1's host");
        await accepted;
      } finally {
        server.close();
      }
      const ping = await a.ping("lib-b", "TSMP");
      assertEquals(ping.Err, undefined, JSON.stringify(ping));
    } finally {
      listenerA.close();
      await serving;
    }
  },
});
