/**
 * `GET watch-ipn-bus?mask=N`: a stream of `ipn.Notify` JSON objects, one per line, each
 * flushed as it happens, until the client goes away or the daemon stops.
 * @module
 */
import type { LocalApiDeps } from "../deps.ts";
import { notifyToJsonLine } from "../../ipn/notify_bus.ts";
import { LocalApiError, type LocalApiHandler } from "../server.ts";
import { requireMethod } from "./_common.ts";

/** `InProcessNoDisconnect`: only for in-process watchers; refused here as tailscaled does. */
const IN_PROCESS_NO_DISCONNECT = 65536;

/**
 * The `watch-ipn-bus` handler.
 * @param deps the backend, and the daemon version sent in each Notify
 * @returns the handler
 */
export function watchIpnBusHandler({ backend, version }: LocalApiDeps): LocalApiHandler {
  return (req, url) => {
    requireMethod(req, ["GET"]);
    const maskText = url.searchParams.get("mask") ?? "0";
    if (!/^\d{1,20}$/.test(maskText)) {
      throw new LocalApiError(400, "bad mask");
    }
    const mask = Number(maskText);
    if (mask & IN_PROCESS_NO_DISCONNECT) {
      throw new LocalApiError(400, "mask: NotifyInProcessNoDisconnect is not allowed over HTTP");
    }
    const enc = new TextEncoder();
    let stop = () => {};
    let done = false;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        stop = backend.watch(
          mask,
          (n) => {
            if (!done) controller.enqueue(enc.encode(notifyToJsonLine(n, version, mask)));
          },
          () => {
            if (done) return;
            done = true;
            controller.close();
          },
        );
      },
      cancel() {
        done = true;
        stop();
      },
    });
    return new Response(body, {
      status: 200,
      headers: { "content-type": "application/json", "cache-control": "no-cache" },
    });
  };
}
