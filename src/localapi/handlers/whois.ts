/**
 * `GET whois?addr=…`: the node and user behind a Tailscale address, as tailscaled's
 * `apitype.WhoIsResponse` (`Node` as control sent it, `UserProfile`, `CapMap`). `addr` is an IP,
 * an `IP:port` (`[v6]:port`) or a `nodekey:`; the messages and statuses are tailscaled's: 400
 * for a bad or missing `addr`, 404 "no match for IP:port" when no node in the netmap has it.
 * @module
 */
import type { LocalApiDeps } from "../deps.ts";
import type { NetmapNode, NetworkMap } from "../../engine/control/types.ts";
import { formatIpAddr, parseIpAddr } from "../../engine/wire/ip_addr.ts";
import { jsonResponse, LocalApiError, type LocalApiHandler } from "../server.ts";
import { requireMethod } from "./_common.ts";

/**
 * The `whois` handler.
 * @param deps the backend
 * @returns the handler
 */
export function whoisHandler({ backend }: LocalApiDeps): LocalApiHandler {
  return (req, url) => {
    requireMethod(req, ["GET", "POST"]);
    const addr = url.searchParams.get("addr") ?? "";
    if (addr === "") throw new LocalApiError(400, "missing 'addr' parameter");
    const nm = backend.netmap;
    let node: NetmapNode | null;
    if (addr.startsWith("nodekey:")) {
      if (!/^nodekey:[0-9a-f]{64}$/.test(addr)) {
        throw new LocalApiError(400, "invalid nodekey in 'addr' parameter");
      }
      node = nm === null ? null : nodesOf(nm).find((n) => n.key === addr) ?? null;
    } else {
      const ip = addrIp(addr);
      if (ip === null) throw new LocalApiError(400, "invalid 'addr' parameter");
      node = nm === null ? null : nodeByIp(nm, ip);
    }
    const user = node === null ? undefined : nm?.userProfiles.get(node.userId);
    if (node === null || user === undefined) {
      throw new LocalApiError(404, "no match for IP:port");
    }
    return jsonResponse({
      Node: node.raw,
      UserProfile: {
        ID: user.id,
        LoginName: user.loginName,
        DisplayName: user.displayName,
        ...(user.profilePicUrl === "" ? {} : { ProfilePicURL: user.profilePicUrl }),
      },
      // tailnet has no packet filter yet, so no peer grants capabilities: Go's nil map.
      CapMap: null,
    });
  };
}

function nodesOf(nm: NetworkMap): NetmapNode[] {
  return [nm.self, ...nm.peers];
}

/** The address bytes of an IP or IP:port, or null when `text` is neither. */
function addrIp(text: string): Uint8Array | null {
  const candidates = [text];
  const bracketed = text.match(/^\[([^\]]+)\]:\d{1,5}$/);
  if (bracketed) candidates.push(bracketed[1]);
  const v4Port = text.match(/^([\d.]+):\d{1,5}$/);
  if (v4Port) candidates.push(v4Port[1]);
  for (const c of candidates) {
    try {
      return parseIpAddr(c);
    } catch { /* try the next form */ }
  }
  return null;
}

function nodeByIp(nm: NetworkMap, ip: Uint8Array): NetmapNode | null {
  // Control sends each address in canonical form (Go's netip.Prefix.String), as
  // formatIpAddr writes it: a text compare per address, no parse, as 10,000 peers need.
  const text = formatIpAddr(ip);
  for (const n of nodesOf(nm)) {
    for (const a of n.addresses) {
      const slash = a.indexOf("/");
      if ((slash < 0 ? a : a.slice(0, slash)) === text) return n;
    }
  }
  return null;
}
