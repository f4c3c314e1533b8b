/**
 * `GET debug-packet-filter-rules` and `GET debug-packet-filter-matches`, as tailscaled serves
 * them: the netmap's filter rules as control sent them (all named chunks, in name order), and
 * the same rules compiled the way the packet filter uses them, in the JSON of Go's
 * `filtertype.Match` (`IPProto`, `Srcs`, `SrcCaps`, `Dsts` with `Net` and `Ports`, `Caps`).
 * Both 404 `no netmap` before the first netmap. Go's CapMap values are not kept, so a
 * capability's `Values` is always null here.
 * @module
 */
import type { LocalApiDeps } from "../deps.ts";
import { compileFilterRules, type FilterRule } from "../../engine/filter/rules.ts";
import { formatIpPrefix } from "../../engine/wire/ip_addr.ts";
import { jsonResponse, LocalApiError, type LocalApiHandler } from "../server.ts";
import { requireMethod } from "./_common.ts";

/**
 * The `debug-packet-filter-rules` handler.
 * @param deps the backend
 * @returns the handler
 */
export function packetFilterRulesHandler({ backend }: LocalApiDeps): LocalApiHandler {
  return (req) => {
    requireMethod(req, ["GET"]);
    const nm = backend.netmap;
    if (nm === null) throw new LocalApiError(404, "no netmap");
    return jsonResponse(nm.packetFilter);
  };
}

/**
 * The `debug-packet-filter-matches` handler.
 * @param deps the backend
 * @returns the handler
 */
export function packetFilterMatchesHandler({ backend }: LocalApiDeps): LocalApiHandler {
  return (req) => {
    requireMethod(req, ["GET"]);
    const nm = backend.netmap;
    if (nm === null) throw new LocalApiError(404, "no netmap");
    const { rules, error } = compileFilterRules(nm.packetFilter);
    // Go returns nil matches (JSON null) when the whole filter was refused.
    return jsonResponse(rules.length === 0 && error !== "" ? null : rules.map(goMatch));
  };
}

/** One rule in the JSON of Go's `filtertype.Match`. */
function goMatch(r: FilterRule): Record<string, unknown> {
  return {
    IPProto: r.protos,
    Srcs: r.srcs.map(formatIpPrefix),
    SrcCaps: r.srcCaps.length > 0 ? r.srcCaps : null,
    Dsts: r.dsts.map((d) => ({
      Net: formatIpPrefix(d.prefix),
      Ports: { First: d.ports.first, Last: d.ports.last },
    })),
    Caps: r.capGrants.flatMap((g) =>
      g.dsts.flatMap((dst) =>
        g.caps.map((cap) => ({ Dst: formatIpPrefix(dst), Cap: cap, Values: null }))
      )
    ),
  };
}
