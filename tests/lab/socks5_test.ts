import { assertEquals, assertRejects } from "../../src/engine/base/testing/assert.ts";
import { connectRequest, socks5Connect, Socks5Error } from "./socks5.ts";

Deno.test("connectRequest() encodes an IPv4 literal and a port", () => {
  assertEquals(
    connectRequest("100.64.0.2", 8000),
    new Uint8Array([5, 1, 0, 1, 100, 64, 0, 2, 0x1f, 0x40]),
  );
});

Deno.test("connectRequest() sends a host name as a domain", () => {
  assertEquals(
    connectRequest("ts2", 80),
    new Uint8Array([5, 1, 0, 3, 3, 0x74, 0x73, 0x32, 0, 80]),
  );
});

Deno.test("socks5Connect() reports the proxy's refusal by name", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const server = (async () => {
    const c = await l.accept();
    const buf = new Uint8Array(64);
    await c.read(buf); // greeting
    await c.write(new Uint8Array([5, 0]));
    await c.read(buf); // CONNECT
    await c.write(new Uint8Array([5, 5, 0, 1, 0, 0, 0, 0, 0, 0])); // connection refused
    c.close();
  })();
  const port = (l.addr as Deno.NetAddr).port;
  await assertRejects(
    () => socks5Connect(`127.0.0.1:${port}`, "100.64.0.9", 1),
    Socks5Error,
    "connection refused",
  );
  await server;
  l.close();
});
