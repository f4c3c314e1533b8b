/**
 * `check-ip-forwarding` and `check-udp-gro-forwarding`: what `tailscale up`/`set` ask before
 * advertising routes, answering `{"Warning": …}` (empty when fine) as tailscaled does. Like
 * tailscaled in userspace mode (`IsNetstackRouter`), tailnet relays subnet and exit-node
 * traffic itself, from its own sockets, so the kernel's IP forwarding does not matter and
 * neither check warns.
 * @module
 */
import type { LocalApiDeps } from "../deps.ts";
import { jsonResponse, type LocalApiHandler } from "../server.ts";

/**
 * The `check-ip-forwarding` handler.
 * @param _deps unused
 * @returns the handler
 */
export function checkIpForwardingHandler(_deps: LocalApiDeps): LocalApiHandler {
  return () => jsonResponse({ Warning: "" });
}

/**
 * The `check-udp-gro-forwarding` handler.
 * @param _deps unused
 * @returns the handler
 */
export function checkUdpGroForwardingHandler(_deps: LocalApiDeps): LocalApiHandler {
  return () => jsonResponse({ Warning: "" });
}
