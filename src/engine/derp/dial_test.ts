import { assert, assertEquals, assertRejects, assertThrows } from "../base/testing/assert.ts";
import { Buffer } from "node:buffer";
import process from "node:process";
import type { DerpNode } from "../wire/derp_map.ts";
import {
  checkPinnedChain,
  derpPort,
  dialNode,
  dialRegion,
  dialTargets,
  parseMetaCert,
  parseUpgradeResponse,
  upgradeRequest,
} from "./dial.ts";
import { DerpError } from "./errors.ts";
import { TailnetError } from "../base/errors.ts";
import { toHex } from "../key/keys.ts";
import { ManualClock } from "../base/testing/manual_clock.ts";
import { CONNECT_TIMEOUT_MS } from "./constants.ts";

/**
 * The certificate chain derper v1.98.10 presented on 127.0.0.1 (`-certmode manual -hostname
 * 127.0.0.1`, self-signed, generated 2026-11-25, valid one year), read with node:tls
 * getPeerCertificate(true): its leaf, then its `derpkey…` meta certificate.
 */
const DERPER_LEAF = Buffer.from(
  "MIIBbDCCARKgAwIBAgIQM8xrDiDeMfWg+YTNBHCEUTAKBggqhkjOPQQDAjAUMRIwEAYDVQQDEwkxMjcuMC4wLjEw" +
    "HhcNMjYxMTI1MTI1MjQyWhcNMjcxMTI1MTI1MjQyWjAUMRIwEAYDVQQDEwkxMjcuMC4wLjEwWTATBgcqhkjOPQIB" +
    "BggqhkjOPQMBBwNCAASX+HBylFvPGj7ICV1RKHITVoglt72oJsfn6Obf87Q5CVr63JSy15ARcaRFYOyzxiO+0lSI" +
    "WKBpyhmJCBm6t6Yuo0YwRDAOBgNVHQ8BAf8EBAMCBaAwEwYDVR0lBAwwCgYIKwYBBQUHAwEwDAYDVR0TAQH/BAIw" +
    "ADAPBgNVHREECDAGhwR/AAABMAoGCCqGSM49BAMCA0gAMEUCIQCIFgNqYr+SzM73kJ3ZEaelTheiw6JXyUJOYxYc" +
    "6uu2fAIgE1Go0i05mIJ4583gEbu6YRlr/ueKnrXaqr1aVFOo9+E=",
  "base64",
);
const DERPER_META = Buffer.from(
  "MIIBYzCCARWgAwIBAgIBAjAFBgMrZXAwUjFQME4GA1UEAxNHZGVycGtleTQzN2E1MmJiYTkxZjk3YzU2YzQ4MzUz" +
    "ZjM4NWM5ZWQ0Yjg4NjYzZjkwZDg2MjYwNTVhMmE5OTY0NWUyMTg5MzgwHhcNMjYxMDI2MTI1MjQyWhcNMjYxMjI1" +
    "MTI1MjQyWjBSMVAwTgYDVQQDE0dkZXJwa2V5NDM3YTUyYmJhOTFmOTdjNTZjNDgzNTNmMzg1YzllZDRiODg2NjNm" +
    "OTBkODYyNjA1NWEyYTk5NjQ1ZTIxODkzODAqMAUGAytlcAMhAOW2RkJ1lrku47C0bayAkKEQ+ALul19vT/1IoxEN" +
    "0WYcoxAwDjAMBgNVHRMBAf8EAjAAMAUGAytlcANBAM4SgJtIr362F2fBi9/bz5uDvCzThyfmoEzBH3oiG214IA2T" +
    "Inw3943mMNKWvEARxVIMOMdT4t7haOjjD2cnEQ8=",
  "base64",
);
const DERPER_LEAF_SHA256 = "035bddb086199828fb6614c00bed389876acdaa9b1e8585b52ec019447d40324";
const IN_VALIDITY = new Date("2027-01-01T00:00:00Z");

const node = (extra: Partial<DerpNode> = {}): DerpNode => ({
  Name: "900a",
  RegionID: 900,
  HostName: "derp.example.com",
  ...extra,
});

Deno.test("derpPort() uses DERPPort, else 443, else 3340 with plain HTTP", () => {
  assertEquals(derpPort(node()), 443);
  assertEquals(derpPort(node({ DERPPort: 0 })), 443);
  assertEquals(derpPort(node(), true), 3340);
  assertEquals(derpPort(node({ DERPPort: 13443 })), 13443);
  assertEquals(derpPort(node({ DERPPort: 13443 }), true), 13443);
});

Deno.test('dialTargets() honours IPv4/IPv6 addresses, "none" and DNS names', () => {
  assertEquals(dialTargets(node()), [
    { host: "derp.example.com", family: 6 },
    { host: "derp.example.com", family: 4 },
  ]);
  assertEquals(dialTargets(node({ IPv4: "127.0.0.1", IPv6: "none" })), [
    { host: "127.0.0.1", family: 4 },
  ]);
  assertEquals(dialTargets(node({ IPv4: "none", IPv6: "::1" })), [{ host: "::1", family: 6 }]);
  assertEquals(dialTargets(node({ IPv4: "none", IPv6: "none" })), []);
  // An address of the wrong family disables that family, as Go's shouldDialProto does.
  assertEquals(dialTargets(node({ IPv4: "::1", IPv6: "10.0.0.1" })), []);
  // An IP-literal HostName dials only in its own family.
  assertEquals(dialTargets({ ...node(), HostName: "127.0.0.1" }), [{
    host: "127.0.0.1",
    family: 4,
  }]);
});

Deno.test("upgradeRequest() sends the DERP upgrade headers tailscaled sends", () => {
  const req = upgradeRequest(node());
  assert(req.startsWith("GET /derp HTTP/1.1\r\nHost: derp.example.com\r\n"), req);
  assert(req.includes("\r\nUpgrade: DERP\r\n") && req.includes("\r\nConnection: Upgrade\r\n"));
  assert(
    req.endsWith("\r\n\r\n") && !req.includes("Derp-Fast-Start") && !req.includes("Ideal-Node"),
  );
  assert(upgradeRequest(node({ DERPPort: 13443 })).includes("Host: derp.example.com:13443\r\n"));
  assert(upgradeRequest(node({ DERPPort: 443 })).includes("Host: derp.example.com\r\n"));
  assert(upgradeRequest(node(), { idealNode: "900a" }).includes("\r\nIdeal-Node: 900a\r\n"));
  assert(
    upgradeRequest({ ...node(), HostName: "::1", DERPPort: 8443 }).includes("Host: [::1]:8443"),
  );
});

Deno.test("parseUpgradeResponse() reads derper's 101 and leaves the frames after it", () => {
  const head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: DERP\r\nConnection: Upgrade\r\n" +
    "Derp-Version: 2\r\nDerp-Public-Key: 437a52bba91f97c56c48353f385c9ed4b88663f90d8626055a2a99645e218938\r\n\r\n";
  const bytes = new Uint8Array([...new TextEncoder().encode(head), 1, 0, 0, 0, 40]);
  const r = parseUpgradeResponse(bytes)!;
  assertEquals(r.status, 101);
  assertEquals(r.headers.get("derp-version"), "2");
  assertEquals(r.headLen, bytes.length - 5);
  assertEquals(parseUpgradeResponse(bytes.subarray(0, 40)), null);
  const r426 = parseUpgradeResponse(
    new TextEncoder().encode("HTTP/1.1 426 Upgrade Required\r\n\r\n"),
  )!;
  assertEquals([r426.status, r426.statusText], [426, "Upgrade Required"]);
  assertThrows(
    () => parseUpgradeResponse(new TextEncoder().encode("SSH-2.0-x\r\n\r\n")),
    DerpError,
    "not an HTTP",
  );
});

Deno.test("checkPinnedChain() accepts derper's chain by its leaf hash, skipping the meta cert", () => {
  assertEquals(
    checkPinnedChain([DERPER_LEAF, DERPER_META], DERPER_LEAF_SHA256, "127.0.0.1", IN_VALIDITY),
    null,
  );
  assertEquals(
    checkPinnedChain([DERPER_LEAF], DERPER_LEAF_SHA256.toUpperCase(), "127.0.0.1", IN_VALIDITY),
    null,
  );
});

Deno.test("checkPinnedChain() refuses a wrong hash, another name, expiry, and a missing leaf", () => {
  const wrong = "00" + DERPER_LEAF_SHA256.slice(2);
  assert(
    checkPinnedChain([DERPER_LEAF, DERPER_META], wrong, "127.0.0.1", IN_VALIDITY)!.includes(
      "does not match pinned",
    ),
  );
  assert(
    checkPinnedChain([DERPER_LEAF], DERPER_LEAF_SHA256, "127.0.0.2", IN_VALIDITY)!.includes(
      "does not match server name",
    ),
  );
  assert(
    checkPinnedChain([DERPER_LEAF], DERPER_LEAF_SHA256, "derp.example.com", IN_VALIDITY)!.includes(
      "server name",
    ),
  );
  assert(
    checkPinnedChain([DERPER_LEAF], DERPER_LEAF_SHA256, "127.0.0.1", new Date("2028-01-01"))!
      .includes("expired"),
  );
  assert(
    checkPinnedChain([DERPER_LEAF], DERPER_LEAF_SHA256, "127.0.0.1", new Date("2026-01-01"))!
      .includes("not yet valid"),
  );
  assertEquals(
    checkPinnedChain([DERPER_META], DERPER_LEAF_SHA256, "127.0.0.1", IN_VALIDITY),
    "expected cert not presented",
  );
  assertEquals(
    checkPinnedChain([DERPER_LEAF, DERPER_LEAF], DERPER_LEAF_SHA256, "127.0.0.1", IN_VALIDITY),
    "unexpected multiple certs presented",
  );
});

/** A one-shot plain-TCP server on loopback that answers the first request with `reply`. */
function oneShotServer(reply: Uint8Array) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  let request = "";
  const done = (async () => {
    const conn = await listener.accept();
    const buf = new Uint8Array(4096);
    while (!request.includes("\r\n\r\n")) {
      const n = await conn.read(buf);
      if (n === null) break;
      request += new TextDecoder().decode(buf.subarray(0, n));
    }
    await conn.write(reply);
    // Hold the connection until the client closes it.
    while ((await conn.read(buf)) !== null) { /* drain */ }
    conn.close();
    listener.close();
  })();
  return { port, done, request: () => request };
}

Deno.test("dialNode() over plain HTTP sends the upgrade and keeps bytes after the 101", async () => {
  const head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: DERP\r\nConnection: Upgrade\r\n\r\n";
  const reply = new Uint8Array([...new TextEncoder().encode(head), 1, 0, 0, 0, 40, 0x44]);
  const srv = oneShotServer(reply);
  const n = node({ HostName: "127.0.0.1", IPv6: "none", DERPPort: srv.port });
  const c = await dialNode(n, { useHttp: true });
  assertEquals(c.certSha256, null);
  assertEquals(c.initialBytes, new Uint8Array([1, 0, 0, 0, 40, 0x44]));
  await c.stream.close();
  await srv.done;
  const req = srv.request();
  assert(req.startsWith(`GET /derp HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\n`), req);
  assert(req.includes("Upgrade: DERP\r\n") && req.includes("Connection: Upgrade\r\n"), req);
});

Deno.test("dialNode() reports a refused upgrade with the server's status and text", async () => {
  const srv = oneShotServer(
    new TextEncoder().encode(
      "HTTP/1.1 426 Upgrade Required\r\nContent-Length: 32\r\n\r\nDERP requires connection upgrade",
    ),
  );
  const n = node({ HostName: "127.0.0.1", IPv6: "none", DERPPort: srv.port });
  const err = await assertRejects(() => dialNode(n, { useHttp: true }), DerpError, "426");
  assertEquals((err as DerpError).code, "derp-upgrade");
  assert(err.message.includes("DERP requires connection upgrade"), err.message);
  await srv.done;
});

Deno.test("dialNode() gives up at CONNECT_TIMEOUT_MS of its clock when the upgrade gets no answer", async () => {
  // A server that reads the upgrade request and never answers.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let gotRequest: () => void = () => {};
  const requested = new Promise<void>((r) => gotRequest = r);
  const serving = (async () => {
    const conn = await listener.accept();
    const buf = new Uint8Array(4096);
    let n = await conn.read(buf);
    gotRequest();
    while (n !== null) n = await conn.read(buf).catch(() => null);
    conn.close();
  })();
  const clock = new ManualClock();
  const n = node({ HostName: "127.0.0.1", IPv6: "none", DERPPort: listener.addr.port });
  let err: unknown = null;
  const dialing = dialNode(n, { useHttp: true, clock }).catch((e) => err = e);
  await requested; // real TCP: connected and the request sent
  await clock.advanceAsync(CONNECT_TIMEOUT_MS - 1);
  assertEquals(err, null, "still waiting just before the deadline");
  await clock.advanceAsync(1);
  await dialing;
  assert(err instanceof DerpError, String(err));
  // The deadline closes the stream under the pending read, which reports the close.
  assertEquals([err.code, err.message], [
    "derp-upgrade",
    "DERP upgrade at 127.0.0.1: connection closed",
  ]);
  assertEquals(clock.pending, 0);
  await serving;
  listener.close();
});

Deno.test("dialNode() fails with derp-dial when nothing listens", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const n = node({ HostName: "127.0.0.1", IPv6: "none", DERPPort: port });
  const err = await assertRejects(() => dialNode(n, { useHttp: true }), DerpError, "ECONNREFUSED");
  assertEquals((err as DerpError).code, "derp-dial");
  await assertRejects(
    () => dialNode(node({ IPv4: "none", IPv6: "none" })),
    DerpError,
    "both IPv4 and IPv6 are disabled",
  );
});

Deno.test("dialRegion() skips STUN-only and failing nodes, naming the ideal node", async () => {
  const head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: DERP\r\nConnection: Upgrade\r\n\r\n";
  const srv = oneShotServer(new TextEncoder().encode(head));
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadPort = (l.addr as Deno.NetAddr).port;
  l.close();
  const at = (name: string, port: number, extra: Partial<DerpNode> = {}) =>
    node({ Name: name, HostName: "127.0.0.1", IPv6: "none", DERPPort: port, ...extra });
  const c = await dialRegion({
    RegionID: 900,
    RegionCode: "lab",
    RegionName: "Lab",
    Nodes: [at("900a", deadPort), at("900s", srv.port, { STUNOnly: true }), at("900b", srv.port)],
  }, { useHttp: true });
  assertEquals(c.node.Name, "900b");
  await c.stream.close();
  await srv.done;
  assert(srv.request().includes("\r\nIdeal-Node: 900a\r\n"), srv.request());
  await assertRejects(
    () =>
      dialRegion(
        { RegionID: 901, RegionCode: "x", RegionName: "X", Nodes: [at("901a", deadPort)] },
        {
          useHttp: true,
        },
      ),
    DerpError,
    "ECONNREFUSED",
  );
});

Deno.test("parseMetaCert() reads derper's key and protocol version from its meta certificate", () => {
  const meta = parseMetaCert([DERPER_LEAF, DERPER_META]);
  assert(meta !== null);
  // The same derper's ServerKey frame carried this key (see wire/testing/derp_frames_captures.ts).
  assertEquals(
    toHex(meta.serverKey),
    "437a52bba91f97c56c48353f385c9ed4b88663f90d8626055a2a99645e218938",
  );
  assertEquals(meta.protocolVersion, 2);
  assertEquals(parseMetaCert([DERPER_LEAF]), null);
  assertEquals(parseMetaCert([new Uint8Array([1, 2, 3])]), null);
  assert(upgradeRequest(node(), { fastStart: true }).includes("\r\nDerp-Fast-Start: 1\r\n"));
});

Deno.test("dialNode()'s stream: a thousand writes waiting on one full socket share one drain", async () => {
  const head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: DERP\r\nConnection: Upgrade\r\n\r\n";
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  let release!: () => void;
  const released = new Promise<void>((r) => release = r);
  let received = 0;
  const served = (async () => {
    const conn = await listener.accept();
    const buf = new Uint8Array(1 << 16);
    let req = "";
    while (!req.includes("\r\n\r\n")) {
      const n = await conn.read(buf);
      if (n === null) break;
      req += new TextDecoder().decode(buf.subarray(0, n));
    }
    await conn.write(new TextEncoder().encode(head));
    await released; // a slow reader: the client's socket buffer fills first
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      received += n;
    }
    conn.close();
    listener.close();
  })();
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  process.on("warning", onWarning);
  try {
    const c = await dialNode(node({ HostName: "127.0.0.1", IPv6: "none", DERPPort: port }), {
      useHttp: true,
    });
    const chunk = new Uint8Array(16 << 10);
    const writes = Array.from({ length: 1000 }, () => c.stream.write(chunk));
    await new Promise((r) => setTimeout(r, 50));
    release();
    await Promise.all(writes);
    await c.stream.close();
    await served;
    assertEquals(received, 1000 * chunk.length);
    assertEquals(warnings, [], "no MaxListenersExceededWarning");
  } finally {
    process.off("warning", onWarning);
  }
});

Deno.test("DerpError is a TailnetError, retryable unless told otherwise", () => {
  const e = new DerpError("derp-dial", "DERP dial: refused");
  assert(e instanceof TailnetError);
  assertEquals([e.name, e.retryable], ["DerpError", true]);
  assertEquals(new DerpError("derp-cert-pin", "pin", { retryable: false }).retryable, false);
});
