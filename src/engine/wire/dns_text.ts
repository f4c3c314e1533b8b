/**
 * DNS record types, response codes and record data as text, the way Go's `dnsmessage`
 * names them and `tailscale dns query` prints them (`TypeAAAA`, `RCodeNameError`, bodies).
 * No I/O.
 * @module
 */
import type { DnsResource } from "./dns.ts";

const TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [1, "A"],
  [2, "NS"],
  [5, "CNAME"],
  [6, "SOA"],
  [11, "WKS"],
  [12, "PTR"],
  [13, "HINFO"],
  [14, "MINFO"],
  [15, "MX"],
  [16, "TXT"],
  [28, "AAAA"],
  [33, "SRV"],
  [41, "OPT"],
  [252, "AXFR"],
  [255, "ALL"],
]);

const RCODE_NAMES: readonly string[] = [
  "RCodeSuccess",
  "RCodeFormatError",
  "RCodeServerFailure",
  "RCodeNameError",
  "RCodeNotImplemented",
  "RCodeRefused",
];

/**
 * A record type's name as Go's dnsmessage prints it without its `Type` prefix (`A`,
 * `AAAA`), or `TYPE<n>` for one it does not know.
 * @param type the type number @returns the name
 * @example
 * ```ts
 * import { dnsTypeName } from "./dns_text.ts";
 * if (dnsTypeName(28) !== "AAAA" || dnsTypeName(99) !== "TYPE99") throw new Error("name");
 * ```
 */
export function dnsTypeName(type: number): string {
  return TYPE_NAMES.get(type) ?? `TYPE${type}`;
}

/**
 * The type number for a name ({@linkcode dnsTypeName}'s inverse, any case), or null.
 * @param name e.g. `aaaa` @returns the number or null
 */
export function dnsTypeFromName(name: string): number | null {
  const up = name.trim().toUpperCase();
  for (const [n, s] of TYPE_NAMES) if (s === up) return n;
  const m = /^TYPE(\d{1,5})$/.exec(up);
  return m && Number(m[1]) <= 0xffff ? Number(m[1]) : null;
}

/**
 * A response code as Go's `dnsmessage.RCode.String()` prints it (`RCodeSuccess`,
 * `RCodeNameError`), or its number for others.
 * @param rcode 0-15 @returns the name
 */
export function dnsRcodeName(rcode: number): string {
  return RCODE_NAMES[rcode] ?? String(rcode);
}

/**
 * A record's data as `tailscale dns query` prints it in the Body column.
 * @param rr the record @returns the text
 */
export function dnsRecordBody(rr: DnsResource): string {
  const d = rr.data;
  switch (d.kind) {
    case "a":
      return Array.from(d.addr).join(".");
    case "aaaa": {
      // Go's netip form: the longest run of two or more zero groups becomes "::".
      const g: string[] = [];
      for (let i = 0; i < 16; i += 2) g.push(((d.addr[i] << 8) | d.addr[i + 1]).toString(16));
      let best = -1, bestLen = 1;
      for (let i = 0; i < 8;) {
        let j = i;
        while (j < 8 && g[j] === "0") j++;
        if (j - i > bestLen) [best, bestLen] = [i, j - i];
        i = j > i ? j : i + 1;
      }
      if (best < 0) return g.join(":");
      return g.slice(0, best).join(":") + "::" + g.slice(best + bestLen).join(":");
    }
    case "name":
      return d.name + ".";
    case "mx":
      return `${d.exchange}. (Priority=${d.preference})`;
    case "srv":
      return `Target=${d.target}., Port=${d.port}, Priority=${d.priority}, Weight=${d.weight}`;
    case "txt":
      return "[" + d.strings.map((s) => JSON.stringify(s)).join(" ") + "]";
    case "soa":
      return `${d.mname}. ${d.rname}. ${d.serial}`;
    case "opaque":
      return Array.from(d.bytes, (x) => x.toString(16).padStart(2, "0")).join("");
  }
}
