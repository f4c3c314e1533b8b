/**
 * The MagicDNS resolver: one per engine, behind 100.100.100.100, `--dns-listen`, the LocalAPI's
 * `dns-query`, the proxies and `dial()`. A query (DNS message bytes) becomes an answer (bytes)
 * or nothing:
 * 1. shorter than a header, or a response: dropped and counted (nobody to tell);
 * 2. does not parse (cut short, a compression loop or forward pointer, a bad label), or has
 *    no question: FORMERR, with the question when it was read (tsdns `respond`);
 * 3. {@linkcode MagicTable.lookup}: answered here (NOERROR, NXDOMAIN, NOTIMP);
 * 4. otherwise forwarded to the split-DNS route's resolvers, the default ones, or the host's,
 *    the first good answer winning; none reachable in time, or none at all: SERVFAIL; more
 *    than {@linkcode MAX_INFLIGHT_FORWARDS} at once: dropped and counted (a flood);
 * 5. over UDP, an answer longer than the client allows (512, or its EDNS size up to 4095) is
 *    cut to its question with TC set, so the client retries over TCP.
 * @module
 */
import type { Logger } from "../base/logger.ts";
import { type Clock, SYSTEM_CLOCK } from "../base/clock.ts";
import type { DnsConfig, DnsResolver } from "./config.ts";
import {
  DNS_HEADER_LEN,
  DNS_RCODE,
  DNS_TYPE,
  DNS_UDP_MIN_SIZE,
  type DnsHeader,
  type DnsMessage,
  type DnsQuestion,
  emitDnsMessage,
  parseDnsHeader,
  parseDnsMessage,
} from "../wire/mod.ts";
import { FORWARD_TIMEOUT_MS, MAX_INFLIGHT_FORWARDS, MAX_RESPONSE_BYTES } from "./constants.ts";
import { MagicTable } from "./magic_table.ts";

/** Sends one query to one upstream resolver and waits for its answer. */
export interface DnsUpstream {
  /**
   * @param ip the resolver's address @param port its port (53 unless the route said)
   * @param query the query bytes @param signal aborts the wait
   * @returns the answer bytes
   */
  exchange(ip: string, port: number, query: Uint8Array, signal: AbortSignal): Promise<Uint8Array>;
}

/** Options of {@linkcode MagicDnsResolver}. */
export interface MagicDnsResolverOptions {
  /** How queries reach upstream resolvers. */
  upstream: DnsUpstream;
  /** The host's resolvers (resolv.conf), used when the DNS config names none. */
  hostResolvers?: () => readonly string[];
  /** Logger. */
  log?: Logger;
  /** Per-query forwarding timeout; default {@linkcode FORWARD_TIMEOUT_MS}. */
  forwardTimeoutMs?: number;
  /** Wall-clock time (the SOA serial of negative answers); default the system clock's. */
  clock?: Pick<Clock, "wallNow">;
}

/** How a query reached us: over UDP answers are size-limited. */
export type DnsTransport = "udp" | "tcp";

/** The resolver's counters. */
export interface DnsStats {
  /** Queries received. */
  queries: number;
  /** Answered from the tailnet's names. */
  local: number;
  /** Forwarded upstream (and answered from there). */
  forwarded: number;
  /** Answers by response code name: NOERROR, NXDOMAIN, FORMERR, SERVFAIL, NOTIMP, REFUSED. */
  rcodes: Record<string, number>;
  /** UDP answers cut to fit (TC set). */
  truncated: number;
  /** Queries dropped unanswered, by reason. */
  drops: { short: number; notQuery: number; flood: number };
  /** Upstream exchanges that failed or timed out. */
  upstreamErrors: number;
}

const RCODE_KEYS = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"];

/** One engine's MagicDNS resolver. */
export class MagicDnsResolver {
  /** Counters. */
  readonly stats: DnsStats = {
    queries: 0,
    local: 0,
    forwarded: 0,
    rcodes: Object.fromEntries(RCODE_KEYS.map((k) => [k, 0])),
    truncated: 0,
    drops: { short: 0, notQuery: 0, flood: 0 },
    upstreamErrors: 0,
  };
  readonly #opts: MagicDnsResolverOptions;
  #table = new MagicTable(null);
  #inflight = 0;
  readonly #closing = new AbortController();

  /** @param opts upstream transport, host resolvers, logger */
  constructor(opts: MagicDnsResolverOptions) {
    this.#opts = opts;
  }

  #wallNowMs(): number {
    return (this.#opts.clock ?? SYSTEM_CLOCK).wallNow();
  }

  /** The table in force. */
  get table(): MagicTable {
    return this.#table;
  }

  /**
   * Applies a new DNS config (on every netmap change); queries in flight finish on the old.
   * @param cfg the engine config's DNS, or null
   */
  setConfig(cfg: DnsConfig | null): void {
    this.#table = new MagicTable(cfg);
  }

  /**
   * A tailnet name's address for the proxies and `dial()`: a host or extra record (FQDN or
   * short name), IPv4 first. Synchronous: no query leaves the node.
   * @param host a name @returns the address, or null when it is not a tailnet name
   */
  resolve(host: string): string | null {
    const addrs = this.#table.hostAddrs(host);
    if (addrs === null || addrs.length === 0) return null;
    return addrs.find((a) => !a.includes(":")) ?? addrs[0];
  }

  /**
   * The resolvers a name would be forwarded to (`dns-query`'s `Resolvers`): empty for a name
   * MagicDNS answers itself.
   * @param name the name @returns the resolvers
   */
  upstreamsFor(name: string): DnsResolver[] {
    const u = this.#table.upstreamsFor(name);
    if (!u.host) return [...u.resolvers];
    return (this.#opts.hostResolvers?.() ?? []).map((addr) => ({ addr, bootstrap: [] }));
  }

  /**
   * Answers one query.
   * @param query the DNS message @param transport how it came (UDP answers are size-capped)
   * @returns the answer, or null when the query is dropped
   */
  async query(query: Uint8Array, transport: DnsTransport): Promise<Uint8Array | null> {
    const st = this.stats;
    st.queries++;
    if (query.length < DNS_HEADER_LEN) {
      st.drops.short++;
      return null;
    }
    const header = parseDnsHeader(query);
    if (header.response) {
      st.drops.notQuery++;
      return null;
    }
    let msg: DnsMessage;
    try {
      msg = parseDnsMessage(query);
    } catch {
      return this.#answer(header, null, DNS_RCODE.FORMERR, [], transport, query);
    }
    const q = msg.questions[0];
    if (q === undefined) return this.#answer(header, null, DNS_RCODE.FORMERR, [], transport, query);
    const table = this.#table;
    const local = table.lookup(q.name, q.type, Math.floor(this.#wallNowMs() / 1000));
    if (local !== null) {
      st.local++;
      return this.#answer(
        header,
        q,
        local.rcode,
        local.answers,
        transport,
        query,
        local.authorities,
      );
    }
    return await this.#forward(table, header, q, query, transport);
  }

  /** Stops forwarding: queries in flight end with SERVFAIL. Safe to call twice. */
  close(): void {
    this.#closing.abort();
  }

  #answer(
    h: DnsHeader,
    q: DnsQuestion | null,
    rcode: number,
    answers: DnsMessage["answers"],
    transport: DnsTransport,
    query: Uint8Array,
    authorities: DnsMessage["authorities"] = [],
  ): Uint8Array {
    this.stats.rcodes[RCODE_KEYS[rcode] ?? String(rcode)] =
      (this.stats.rcodes[RCODE_KEYS[rcode] ?? String(rcode)] ?? 0) + 1;
    // tsdns marshalResponse: the query's header with QR and AA set, RA when RD was; the
    // question when it was read; answers only on success.
    const out = emitDnsMessage({
      header: {
        ...h,
        response: true,
        authoritative: true,
        truncated: false,
        recursionAvailable: h.recursionDesired,
        rcode,
      },
      questions: q === null ? [] : [q],
      answers: rcode === DNS_RCODE.NOERROR ? answers : [],
      authorities,
      additionals: [],
    }, { compress: answers.length > 1 });
    return transport === "udp" ? this.#fit(out, query) : out;
  }

  /** Cuts a UDP answer to what the client said it takes (RFC 1035 §4.2.1, RFC 6891). */
  #fit(answer: Uint8Array, query: Uint8Array): Uint8Array {
    const max = udpSizeOf(query);
    if (answer.length <= max) return answer;
    this.stats.truncated++;
    let cut: DnsMessage;
    try {
      cut = parseDnsMessage(answer);
    } catch {
      // An upstream answer we cannot read: the header alone, with TC.
      const h = answer.slice(0, DNS_HEADER_LEN);
      h[2] |= 0x02;
      h.fill(0, 4);
      return h;
    }
    return emitDnsMessage({
      header: { ...cut.header, truncated: true },
      questions: cut.questions,
      answers: [],
      authorities: [],
      additionals: [],
    });
  }

  async #forward(
    table: MagicTable,
    header: DnsHeader,
    q: DnsQuestion,
    query: Uint8Array,
    transport: DnsTransport,
  ): Promise<Uint8Array | null> {
    const st = this.stats;
    const route = table.upstreamsFor(q.name);
    const addrs = route.host
      ? [...(this.#opts.hostResolvers?.() ?? [])]
      : route.resolvers.map((r) => r.addr);
    const targets = addrs.map(parseResolverAddr).filter((t) => t !== null);
    if (targets.length === 0) {
      return this.#answer(header, q, DNS_RCODE.SERVFAIL, [], transport, query);
    }
    if (this.#inflight >= MAX_INFLIGHT_FORWARDS) {
      st.drops.flood++;
      return null;
    }
    this.#inflight++;
    const ctl = new AbortController();
    const timeoutMs = this.#opts.forwardTimeoutMs ?? FORWARD_TIMEOUT_MS;
    const signal = AbortSignal.any([
      ctl.signal,
      this.#closing.signal,
      AbortSignal.timeout(timeoutMs),
    ]);
    try {
      const answer = await Promise.any(targets.map(async (t) => {
        const a = await this.#opts.upstream.exchange(t.ip, t.port, query, signal);
        const h = parseDnsHeader(a);
        if (!h.response || h.id !== header.id) throw new RangeError("answer does not match");
        return a;
      }));
      st.forwarded++;
      const rc = parseDnsHeader(answer).rcode;
      st.rcodes[RCODE_KEYS[rc] ?? String(rc)] = (st.rcodes[RCODE_KEYS[rc] ?? String(rc)] ?? 0) + 1;
      return transport === "udp" ? this.#fit(answer, query) : answer;
    } catch (err) {
      st.upstreamErrors++;
      this.#opts.log?.debug(`dns: forwarding ${q.name} to ${addrs.join(", ")} failed:`, err);
      return this.#answer(header, q, DNS_RCODE.SERVFAIL, [], transport, query);
    } finally {
      ctl.abort();
      this.#inflight--;
    }
  }
}

/**
 * The largest UDP answer a query allows: 512, or its OPT record's size (at most 4095, as tsdns).
 * @param query the query bytes @returns bytes
 */
function udpSizeOf(query: Uint8Array): number {
  try {
    const opt = parseDnsMessage(query).additionals.find((r) => r.type === DNS_TYPE.OPT);
    if (opt !== undefined) {
      return Math.min(Math.max(opt.class, DNS_UDP_MIN_SIZE), MAX_RESPONSE_BYTES);
    }
  } catch {
    // Only well-formed queries get this far.
  }
  return DNS_UDP_MIN_SIZE;
}

/**
 * A resolver address as tailcfg sends it: `ip`, `ip:port` or `[ip6]:port`; null for a DoH
 * URL or anything else (not supported).
 * @param addr the text @returns ip and port, or null
 */
export function parseResolverAddr(addr: string): { ip: string; port: number } | null {
  let m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(addr);
  if (m !== null) return { ip: m[1], port: Number(m[2]) };
  m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(addr);
  if (m !== null) return { ip: m[1], port: Number(m[2]) };
  if (/^\d{1,3}(?:\.\d{1,3}){3}$/.test(addr) || /^[0-9a-fA-F:]+:[0-9a-fA-F:.]*$/.test(addr)) {
    return { ip: addr, port: 53 };
  }
  return null;
}
