/**
 * The packet filter's rules: `tailcfg.FilterRule` JSON (from the netmap, untrusted) compiled
 * the way tailscaled's `wgengine/filter` `MatchesFromFilterRules` does (read at v1.98.10):
 *
 * - A source or destination is `*` (`0.0.0.0/0` and `::/0`), `cap:NAME` (a source only: the
 *   peers holding node capability NAME), a CIDR prefix whose host bits are zero, an `a-b`
 *   range of one family with `a <= b` (the fewest prefixes covering it), or a bare IP (`/32`,
 *   `/128`). Anything else is an error for that entry: the entry is skipped and the first
 *   error is reported; the rest of the rule still counts.
 * - `SrcBits` or a destination's `Bits` (deprecated, pre-2021 control) fail the whole filter:
 *   Go then installs no rules at all (deny every new inbound connection).
 * - An empty `IPProto` means TCP, UDP, ICMPv4 and ICMPv6; numbers outside 0..255 are dropped.
 * - `CapGrant` is kept (for `debug`) but grants nothing at the packet level.
 *
 * @example Compile a rule
 * ```ts
 * import { compileFilterRules } from "./rules.ts";
 * const { rules, error } = compileFilterRules([
 *   { SrcIPs: ["100.64.0.1"], DstPorts: [{ IP: "*", Ports: { First: 8080, Last: 8080 } }] },
 * ]);
 * if (error !== "" || rules[0].dsts.length !== 2 || rules[0].protos.length !== 4) {
 *   throw new Error("bad");
 * }
 * ```
 * @module
 */
import { ParseError } from "../base/errors.ts";
import type { FilterRuleJson } from "../control/tailcfg.ts";
import { formatIpPrefix, type IpPrefix, parseIpAddr, parseIpPrefix } from "../wire/ip_addr.ts";
import { IP_PROTO_ICMP, IP_PROTO_ICMPV6, IP_PROTO_TCP, IP_PROTO_UDP } from "../wire/ip_proto.ts";

/** An inclusive port range of a filter destination. */
export interface PortRange {
  /** First port. */
  readonly first: number;
  /** Last port (inclusive). */
  readonly last: number;
}

/** One destination of a filter rule: a prefix and a port range. */
export interface FilterDestination {
  /** Destination prefix. */
  readonly prefix: IpPrefix;
  /** Destination ports. */
  readonly ports: PortRange;
}

/** Capabilities a rule grants to its sources for some destinations. */
export interface FilterCapGrant {
  /** Destination prefixes. */
  readonly dsts: readonly IpPrefix[];
  /** Capability names. */
  readonly caps: readonly string[];
}

/**
 * One compiled packet-filter rule (Go's `filtertype.Match`): a packet from one of `srcs` (or
 * from a peer holding one of `srcCaps`), of one of `protos`, to one of `dsts` is accepted.
 */
export interface FilterRule {
  /** Source prefixes (`*` became `0.0.0.0/0` and `::/0`, a range its covering prefixes). */
  readonly srcs: readonly IpPrefix[];
  /** Node capabilities that make a peer a source (`cap:NAME` entries, without `cap:`). */
  readonly srcCaps: readonly string[];
  /** IP protocol numbers (empty in the JSON means TCP, UDP, ICMPv4, ICMPv6). */
  readonly protos: readonly number[];
  /** Destinations with ports. */
  readonly dsts: readonly FilterDestination[];
  /** Capability grants (kept, not used for packets). */
  readonly capGrants: readonly FilterCapGrant[];
}

/** What {@linkcode compileFilterRules} made of the rules. */
export interface CompiledRules {
  /** The rules, in order. */
  readonly rules: readonly FilterRule[];
  /** The first problem found, "" when none (Go logs it as `parsePacketFilter: ...`). */
  readonly error: string;
}

/** Go's protocols for a rule that lists none. */
export const DEFAULT_PROTOS: readonly number[] = Object.freeze([
  IP_PROTO_TCP,
  IP_PROTO_UDP,
  IP_PROTO_ICMP,
  IP_PROTO_ICMPV6,
]);

const FORMAT = "filter-rule";
const ALL_V4: IpPrefix = { addr: new Uint8Array(4), bits: 0 };
const ALL_V6: IpPrefix = { addr: new Uint8Array(16), bits: 0 };

/** One parsed address set: prefixes, or a node capability (`cap:NAME`). */
export interface IpSet {
  /** The prefixes (empty for a capability). */
  readonly prefixes: readonly IpPrefix[];
  /** The capability name, "" when this is not `cap:NAME`. */
  readonly cap: string;
}

/**
 * Parses one filter address as Go's `parseIpSet`.
 * @param text `*`, `cap:NAME`, a masked CIDR prefix, an `a-b` range or a bare IP
 * @returns the prefixes or the capability
 * @throws {ParseError} on anything else
 */
export function parseIpSet(text: string): IpSet {
  if (text === "*") return { prefixes: [ALL_V4, ALL_V6], cap: "" };
  if (text.startsWith("cap:")) return { prefixes: [], cap: text.slice(4) };
  if (text.includes("/")) {
    const p = parseIpPrefix(text);
    if (!isMasked(p)) throw new ParseError(FORMAT, `${text} contains non-network bits set`);
    return { prefixes: [p], cap: "" };
  }
  const dash = text.indexOf("-");
  if (dash >= 0 && text.indexOf("-", dash + 1) < 0) {
    const from = parseIpAddr(text.slice(0, dash));
    const to = parseIpAddr(text.slice(dash + 1));
    if (from.length !== to.length || compareBytes(from, to) > 0) {
      throw new ParseError(FORMAT, `invalid IP range "${text}"`);
    }
    return { prefixes: rangePrefixes(from, to), cap: "" };
  }
  let addr: Uint8Array;
  try {
    addr = parseIpAddr(text);
  } catch {
    throw new ParseError(FORMAT, `invalid IP address "${text}"`);
  }
  return { prefixes: [{ addr, bits: addr.length * 8 }], cap: "" };
}

/**
 * Compiles a netmap's filter rules as Go's `MatchesFromFilterRules`.
 * @param json the concatenated `PacketFilter`/`PacketFilters` rules
 * @returns the rules and the first error (deprecated bits: no rules at all)
 */
export function compileFilterRules(json: readonly Readonly<FilterRuleJson>[]): CompiledRules {
  const rules: FilterRule[] = [];
  let error = "";
  const note = (err: unknown) => {
    if (error === "") error = err instanceof Error ? err.message : String(err);
  };
  for (const r of json) {
    if ((r.SrcBits ?? []).length > 0) {
      return {
        rules: [],
        error: "unexpected SrcBits; control plane should not send this to this client version",
      };
    }
    const srcs: IpPrefix[] = [];
    const srcCaps: string[] = [];
    for (const s of r.SrcIPs ?? []) {
      try {
        const set = parseIpSet(s);
        srcs.push(...set.prefixes);
        if (set.cap !== "") srcCaps.push(set.cap);
      } catch (err) {
        if (!(err instanceof ParseError)) throw err;
        note(err);
      }
    }
    const dsts: FilterDestination[] = [];
    for (const d of r.DstPorts ?? []) {
      if (d.Bits !== undefined && d.Bits !== null) {
        return {
          rules: [],
          error: "unexpected DstBits; control plane should not send this to this client version",
        };
      }
      let set: IpSet;
      try {
        set = parseIpSet(d.IP);
      } catch (err) {
        if (!(err instanceof ParseError)) throw err;
        note(err);
        continue;
      }
      if (set.cap !== "") {
        note(new ParseError(FORMAT, `unexpected capability "${set.cap}" in DstPorts`));
        continue;
      }
      const ports = { first: d.Ports.First, last: d.Ports.Last };
      for (const prefix of set.prefixes) dsts.push({ prefix, ports });
    }
    const capGrants: FilterCapGrant[] = [];
    for (const g of r.CapGrant ?? []) {
      const dstsOfGrant: IpPrefix[] = [];
      for (const s of Array.isArray(g.Dsts) ? g.Dsts : []) {
        if (typeof s !== "string") continue;
        try {
          dstsOfGrant.push(parseIpPrefix(s));
        } catch (err) {
          if (!(err instanceof ParseError)) throw err;
          note(err);
        }
      }
      const caps = [
        ...(Array.isArray(g.Caps) ? g.Caps.filter((c): c is string => typeof c === "string") : []),
        ...Object.keys(g.CapMap ?? {}),
      ];
      capGrants.push({ dsts: dstsOfGrant, caps });
    }
    const protos = r.IPProto !== undefined && r.IPProto.length > 0
      ? r.IPProto.filter((n) => Number.isInteger(n) && n >= 0 && n <= 0xff)
      : [...DEFAULT_PROTOS];
    rules.push({ srcs, srcCaps, protos, dsts, capGrants });
  }
  return { rules, error };
}

/**
 * A rule as one line of text, for `tailnet debug`: sources, protocols, destinations.
 * @param r the rule
 * @returns e.g. `100.64.0.1/32 -> 100.64.0.3/32:8080 proto 6,17,1,58`
 */
export function formatFilterRule(r: FilterRule): string {
  const srcs = [...r.srcs.map(formatIpPrefix), ...r.srcCaps.map((c) => `cap:${c}`)];
  const dsts = r.dsts.map((d) => {
    const p = d.ports.first === 0 && d.ports.last === 0xffff
      ? "*"
      : d.ports.first === d.ports.last
      ? `${d.ports.first}`
      : `${d.ports.first}-${d.ports.last}`;
    return `${formatIpPrefix(d.prefix)}:${p}`;
  });
  let line = `${srcs.join(",") || "(none)"} -> ${dsts.join(",") || "(none)"} proto ${
    r.protos.join(",") || "(none)"
  }`;
  if (r.capGrants.length > 0) {
    const grants = r.capGrants.map((g) =>
      `${g.dsts.map(formatIpPrefix).join(",")}=${g.caps.join(",")}`
    );
    line += ` capgrant ${grants.join(" ")}`;
  }
  return line;
}

function isMasked(p: IpPrefix): boolean {
  for (let bit = p.bits; bit < p.addr.length * 8; bit++) {
    if ((p.addr[bit >>> 3] & (0x80 >>> (bit & 7))) !== 0) return false;
  }
  return true;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/** The fewest prefixes that cover `from..to` exactly (`from <= to`, one family). */
function rangePrefixes(from: Uint8Array, to: Uint8Array): IpPrefix[] {
  const width = from.length * 8;
  let lo = toBig(from);
  const hi = toBig(to);
  const out: IpPrefix[] = [];
  while (lo <= hi) {
    let size = 0;
    while (size < width) {
      const block = 1n << BigInt(size + 1);
      if (lo % block !== 0n || lo + block - 1n > hi) break;
      size++;
    }
    out.push({ addr: fromBig(lo, from.length), bits: width - size });
    lo += 1n << BigInt(size);
  }
  return out;
}

function toBig(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

function fromBig(v: bigint, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}
