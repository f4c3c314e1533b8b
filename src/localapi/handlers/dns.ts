/**
 * What `tailscale dns status` reads: `GET dns-config` (the `tailcfg.DNSConfig` control sent,
 * 503 "no netmap" before the first netmap, as tailscaled) and `GET dns-osconfig` (the OS's
 * DNS settings). tailnet runs in userspace and never reads or changes the OS's DNS, so the
 * latter answers as a userspace tailscaled does: 500 "getting OS base config is not supported",
 * which the CLI shows as "not supported on this platform". `GET dns-query` asks MagicDNS, for
 * `tailscale dns query`.
 * @module
 */
import type { LocalApiDeps } from "../deps.ts";
import { jsonResponse, LocalApiError, type LocalApiHandler } from "../server.ts";
import { requireMethod } from "./_common.ts";
import { errorMessage } from "../../engine/base/errors.ts";
import { DNS_TYPE, dnsQuery } from "../../engine/wire/dns.ts";

/**
 * The `dns-config` handler.
 * @param deps the backend
 * @returns the handler
 */
export function dnsConfigHandler({ backend }: LocalApiDeps): LocalApiHandler {
  return () => {
    const nm = backend.netmap;
    if (nm === null) throw new LocalApiError(503, "no netmap");
    return jsonResponse(nm.dns);
  };
}

/**
 * The `dns-osconfig` handler.
 * @param _deps unused: there is no OS DNS configuration to read
 * @returns the handler
 */
export function dnsOsConfigHandler(_deps: LocalApiDeps): LocalApiHandler {
  return (req) => {
    requireMethod(req, ["GET"], 405, "only GET allowed");
    throw new LocalApiError(500, "getting OS base config is not supported");
  };
}

/** The types `dns-query` accepts (Go's `dnsMessageTypeForString`). */
const QUERY_TYPES: Readonly<Record<string, number>> = {
  A: DNS_TYPE.A,
  AAAA: DNS_TYPE.AAAA,
  ALL: DNS_TYPE.ALL,
  CNAME: DNS_TYPE.CNAME,
  HINFO: DNS_TYPE.HINFO,
  MINFO: 14,
  MX: DNS_TYPE.MX,
  NS: DNS_TYPE.NS,
  OPT: DNS_TYPE.OPT,
  PTR: DNS_TYPE.PTR,
  SOA: DNS_TYPE.SOA,
  SRV: DNS_TYPE.SRV,
  TXT: DNS_TYPE.TXT,
  WKS: 11,
};

/**
 * The `dns-query` handler (`GET ?name=&type=`): builds the query tailscaled builds (id 1, RD,
 * the name as an FQDN), asks MagicDNS, and answers `apitype.DNSQueryResponse`: the answer's
 * bytes (base64) and the resolvers the name is forwarded to.
 * @param deps the data plane
 * @returns the handler
 */
export function dnsQueryHandler({ dataPlane }: LocalApiDeps): LocalApiHandler {
  return async (req, url) => {
    requireMethod(req, ["GET"], 405, "only GET allowed");
    const name = url.searchParams.get("name") ?? "";
    const typeText = (url.searchParams.get("type") ?? "").trim().toUpperCase();
    const type = typeText === "" ? DNS_TYPE.A : QUERY_TYPES[typeText];
    if (type === undefined) throw new LocalApiError(400, `unknown DNS message type: ${typeText}`);
    let query: Uint8Array;
    try {
      if (name === "" || name === ".") throw new RangeError("name is empty");
      query = dnsQuery(1, name, type);
    } catch (err) {
      throw new LocalApiError(500, errorMessage(err));
    }
    let res;
    try {
      res = await dataPlane.dnsQuery(query, name);
    } catch (err) {
      throw new LocalApiError(500, errorMessage(err));
    }
    return jsonResponse({
      Bytes: encodeBase64(res.answer),
      Resolvers: res.resolvers.length === 0 ? null : res.resolvers.map((r) => ({
        Addr: r.addr,
        ...(r.bootstrap.length > 0 ? { BootstrapResolution: r.bootstrap } : {}),
      })),
    });
  };
}

function encodeBase64(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s);
}
