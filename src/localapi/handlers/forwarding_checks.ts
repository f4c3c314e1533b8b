/**
 * `check-ip-forwarding` and `check-udp-gro-forwarding`: what `tailscale up`/`set` ask before
 * advertising routes, answering `{"Warning": …}` (empty when fine) as tailscaled does. tailnet
 * sends advertised routes to control but forwards no subnet traffic yet, so the first warns
 * about exactly that; UDP GRO does not apply to a userspace node.
 * @module
 */
import type { LocalApiDeps } from "../deps.ts";
import { jsonResponse, type LocalApiHandler } from "../server.ts";

/** The warning `tailscale set --advertise-routes` shows against tailnet. */
export const NO_SUBNET_ROUTING_WARNING =
  "subnet routing is not built yet in this version of tailnet: advertised routes are sent to control, but no traffic is forwarded to them";

/**
 * The `check-ip-forwarding` handler.
 * @param _deps unused
 * @returns the handler
 */
export function checkIpForwardingHandler(_deps: LocalApiDeps): LocalApiHandler {
  return () => jsonResponse({ Warning: NO_SUBNET_ROUTING_WARNING });
}

/**
 * The `check-udp-gro-forwarding` handler.
 * @param _deps unused
 * @returns the handler
 */
export function checkUdpGroForwardingHandler(_deps: LocalApiDeps): LocalApiHandler {
  return () => jsonResponse({ Warning: "" });
}
