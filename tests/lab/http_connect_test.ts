import { assertEquals, assertRejects } from "../../src/engine/base/testing/assert.ts";
import { httpConnect, HttpConnectError } from "./http_connect.ts";

/** A one-shot fake proxy: records the request head, then writes `answer`. */
function fakeProxy(answer: string) {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    const c = await l.accept();
    const buf = new Uint8Array(1024);
    let head = "";
    while (!head.endsWith("\r\n\r\n")) {
      const n = await c.read(buf);
      if (n === null) break;
      head += new TextDecoder().decode(buf.subarray(0, n));
    }
    await c.write(new TextEncoder().encode(answer));
    c.close();
    l.close();
    return head;
  })();
  return { addr: `127.0.0.1:${(l.addr as Deno.NetAddr).port}`, served };
}

Deno.test("httpConnect() sends CONNECT with the authority and keeps the tunnel's first bytes", async () => {
  const p = fakeProxy("HTTP/1.1 200 OK\r\n\r\nhello");
  const c = await httpConnect(p.addr, "fd7a:115c:a1e0::1", 8080);
  const buf = new Uint8Array(16);
  const n = await c.read(buf);
  c.close();
  assertEquals(new TextDecoder().decode(buf.subarray(0, n ?? 0)), "hello");
  assertEquals(
    await p.served,
    "CONNECT [fd7a:115c:a1e0::1]:8080 HTTP/1.1\r\nHost: [fd7a:115c:a1e0::1]:8080\r\n\r\n",
  );
});

Deno.test("httpConnect() reports the proxy's refusal with its status line", async () => {
  const p = fakeProxy("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
  await assertRejects(
    () => httpConnect(p.addr, "100.64.0.9", 1),
    HttpConnectError,
    "HTTP CONNECT 100.64.0.9:1 via 127.0.0.1",
  );
  await p.served;
});
