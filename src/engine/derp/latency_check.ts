/**
 * netcheck's HTTPS latency check of a DERP region, as tailscaled's `measureHTTPSLatency`
 * (`net/netcheck/netcheck.go`, v1.98.10): TLS to the region's first node that answers (the
 * dial is not timed: it may try several), then the time of one `GET /derp/latency-check`
 * until the response head arrives. A status above 299 fails the check (a proxy in the way).
 * @module
 */
import type { DerpRegion } from "../wire/derp_map.ts";
import { HttpParseError, parseResponseHead } from "../wire/http1_head.ts";
import { concat } from "../base/bytes.ts";
import { dialNodeTls, type DialOptions } from "./dial.ts";
import { DerpError } from "./errors.ts";

const MAX_HEAD_BYTES = 8 << 10;

/**
 * Measures a region's latency over HTTPS.
 * @param region the DERP region
 * @param opts TLS trust, clock and `signal`
 * @returns the request's duration (ms) and the family of the node's address
 * @throws {DerpError} when no node answers or the answer is not a success
 */
export async function measureHttpsLatency(
  region: DerpRegion,
  opts: DialOptions = {},
): Promise<{ latencyMs: number; family: 4 | 6 }> {
  let firstErr: unknown = null;
  for (const node of region.Nodes ?? []) {
    if (node.STUNOnly) continue;
    let conn: Awaited<ReturnType<typeof dialNodeTls>>;
    try {
      conn = await dialNodeTls(node, opts);
    } catch (err) {
      firstErr ??= err;
      if (opts.signal?.aborted) break;
      continue;
    }
    const { sock, family } = conn;
    try {
      const clock = opts.clock;
      const now = () => clock?.now() ?? performance.now();
      let start = 0;
      const head = await new Promise<number>((resolve, reject) => {
        let buf: Uint8Array = new Uint8Array(0);
        const onAbort = () => done(new DerpError("derp-dial", "latency check aborted"));
        const done = (err: Error | null, status = 0) => {
          sock.off("data", onData);
          sock.off("error", onErr);
          sock.off("close", onClose);
          opts.signal?.removeEventListener("abort", onAbort);
          if (err !== null) reject(err);
          else resolve(status);
        };
        const onData = (d: Uint8Array) => {
          buf = concat([buf, new Uint8Array(d.buffer, d.byteOffset, d.byteLength)]);
          try {
            const h = parseResponseHead(buf, 0);
            if (h !== null) done(null, h.value.status);
            else if (buf.length > MAX_HEAD_BYTES) {
              done(new DerpError("derp-upgrade", "latency check: response head too long"));
            }
          } catch (err) {
            done(err instanceof HttpParseError ? err : new Error(String(err)));
          }
        };
        const onErr = (err: Error) => done(err);
        const onClose = () => done(new DerpError("derp-dial", "latency check: connection closed"));
        sock.on("data", onData);
        sock.once("error", onErr);
        sock.once("close", onClose);
        opts.signal?.addEventListener("abort", onAbort, { once: true });
        start = now();
        sock.write(
          `GET /derp/latency-check HTTP/1.1\r\nHost: ${node.HostName}\r\n` +
            `User-Agent: Go-http-client/1.1\r\nAccept-Encoding: gzip\r\n\r\n`,
        );
      });
      const latencyMs = now() - start;
      if (head > 299) {
        throw new DerpError("derp-upgrade", `latency check: unexpected status code: ${head}`);
      }
      return { latencyMs, family };
    } catch (err) {
      firstErr ??= err;
    } finally {
      sock.destroy();
    }
  }
  if (firstErr !== null) throw firstErr;
  throw new DerpError("derp-dial", `DERP region ${region.RegionID}: no nodes to dial`);
}
