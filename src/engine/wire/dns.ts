/**
 * DNS messages (RFC 1035 §4), as MagicDNS reads queries and writes answers. A message is
 *
 * ```
 * +----+-------+---------+---------+---------+---------+-----------+-------------+------------+
 * | id | flags | qdcount | ancount | nscount | arcount | questions | answers     | authority  | additional
 * | 2  | 2     | 2       | 2       | 2       | 2       | name type class | name type class ttl rdlen rdata ...
 * +----+-------+---------+---------+---------+---------+-----------+-------------+------------+
 * flags: QR(1) OPCODE(4) AA(1) TC(1) RD(1) RA(1) Z(1) AD(1) CD(1) RCODE(4)
 * ```
 *
 * A name is labels of 1-63 bytes ending in a zero byte, or in a compression pointer (two bytes,
 * top bits `11`, 14-bit offset from the message start). Parsing follows a pointer only to an
 * offset before the pointer itself, so a loop cannot form; a name longer than 255 bytes on the
 * wire is rejected. Names are held as presentation text without the final dot (the root is
 * `""`); a byte outside `!`..`~`, or `.` or `\` inside a label, is written `\DDD` so every
 * name survives parse and emit unchanged.
 *
 * Record data is decoded for A, AAAA, CNAME, NS, PTR, MX, TXT, SRV and SOA (the names in them
 * decompressed); every other type (OPT too) is kept as opaque bytes. Bytes after the last
 * section are ignored, as Go's dnsmessage does. Emitting compresses names (the suffixes seen
 * so far), as tailscaled's builder does when it answers with more than one record.
 * No I/O.
 * @module
 */
import { readU16be, readU32be } from "../base/bytes.ts";
import { ParseError } from "../base/errors.ts";
import { dnsNameLabels, readDnsName } from "./dns_name.ts";

/** Fixed header length. */
export const DNS_HEADER_LEN = 12;
/** Largest DNS message (TCP's length prefix is 16 bits). */
export const DNS_MAX_MESSAGE_LEN = 65535;
/** Largest UDP answer without EDNS (RFC 1035 §4.2.1). */
export const DNS_UDP_MIN_SIZE = 512;

/** Record types this codec decodes (others are opaque). */
export const DNS_TYPE = Object.freeze({
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  HINFO: 13,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  AXFR: 252,
  ALL: 255,
});

/** The Internet class. */
export const DNS_CLASS_INET = 1;

/** Response codes. */
export const DNS_RCODE = Object.freeze({
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
});

/** The header fields (flags unpacked). */
export interface DnsHeader {
  /** Query id. */
  id: number;
  /** QR: a response. */
  response: boolean;
  /** Operation code (0: standard query). */
  opcode: number;
  /** AA: authoritative answer. */
  authoritative: boolean;
  /** TC: truncated. */
  truncated: boolean;
  /** RD: recursion desired. */
  recursionDesired: boolean;
  /** RA: recursion available. */
  recursionAvailable: boolean;
  /** The Z, AD and CD bits, as the three bits they are (kept for round trips). */
  zBits: number;
  /** Response code (4 bits). */
  rcode: number;
}

/** One question. */
export interface DnsQuestion {
  /** The name, presentation text without the final dot. */
  name: string;
  /** Record type. */
  type: number;
  /** Class (1: Internet). */
  class: number;
}

/** Record data: decoded for the types MagicDNS answers or prints, opaque otherwise. */
export type DnsRecordData =
  | { kind: "a"; addr: Uint8Array }
  | { kind: "aaaa"; addr: Uint8Array }
  | { kind: "name"; name: string }
  | { kind: "mx"; preference: number; exchange: string }
  | { kind: "txt"; strings: string[] }
  | { kind: "srv"; priority: number; weight: number; port: number; target: string }
  | {
    kind: "soa";
    mname: string;
    rname: string;
    serial: number;
    refresh: number;
    retry: number;
    expire: number;
    minimum: number;
  }
  | { kind: "opaque"; bytes: Uint8Array };

/** One resource record. */
export interface DnsResource {
  /** Owner name, presentation text without the final dot. */
  name: string;
  /** Record type. */
  type: number;
  /** Class (for OPT: the UDP payload size). */
  class: number;
  /** Time to live in seconds (for OPT: extended rcode and flags). */
  ttl: number;
  /** The data. */
  data: DnsRecordData;
}

/** A whole message. */
export interface DnsMessage {
  /** The header (counts come from the sections). */
  header: DnsHeader;
  /** Question section. */
  questions: DnsQuestion[];
  /** Answer section. */
  answers: DnsResource[];
  /** Authority section. */
  authorities: DnsResource[];
  /** Additional section. */
  additionals: DnsResource[];
}

function fail(msg: string, off: number): never {
  throw new ParseError("dns", `Cannot parse DNS message: ${msg}`, off);
}

/**
 * Reads the header alone (for an id and flags to answer a message that does not parse).
 * @param b bytes @returns the header
 * @throws {ParseError} when `b` is shorter than 12 bytes
 */
export function parseDnsHeader(b: Uint8Array): DnsHeader {
  if (b.length < DNS_HEADER_LEN) fail(`${b.length} bytes, header needs 12`, 0);
  const f = readU16be(b, 2);
  return {
    id: readU16be(b, 0),
    response: (f & 0x8000) !== 0,
    opcode: (f >>> 11) & 0xf,
    authoritative: (f & 0x0400) !== 0,
    truncated: (f & 0x0200) !== 0,
    recursionDesired: (f & 0x0100) !== 0,
    recursionAvailable: (f & 0x0080) !== 0,
    zBits: (f >>> 4) & 0x7,
    rcode: f & 0xf,
  };
}

/**
 * Parses a whole message.
 * @param b the message bytes (a UDP payload, or a TCP message without its length prefix)
 * @returns the message; names are copies, opaque data views into `b`
 * @throws {ParseError} on a short message, a bad name (loop, forward pointer, too long, bad
 * label) or a record whose data runs past the message or does not fit its type
 * @example
 * ```ts
 * import { emitDnsMessage, parseDnsMessage } from "./dns.ts";
 * const q = emitDnsMessage({
 *   header: { id: 7, response: false, opcode: 0, authoritative: false, truncated: false,
 *     recursionDesired: true, recursionAvailable: false, zBits: 0, rcode: 0 },
 *   questions: [{ name: "peer.tailnet.test", type: 1, class: 1 }],
 *   answers: [], authorities: [], additionals: [],
 * });
 * if (parseDnsMessage(q).questions[0].name !== "peer.tailnet.test") throw new Error("name");
 * ```
 */
export function parseDnsMessage(b: Uint8Array): DnsMessage {
  const header = parseDnsHeader(b);
  const qd = readU16be(b, 4), an = readU16be(b, 6), ns = readU16be(b, 8), ar = readU16be(b, 10);
  let off = DNS_HEADER_LEN;
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < qd; i++) {
    const n = readDnsName(b, off);
    off = n.end;
    if (off + 4 > b.length) fail(`question ${i} cut short`, off);
    questions.push({ name: n.name, type: readU16be(b, off), class: readU16be(b, off + 2) });
    off += 4;
  }
  const section = (count: number): DnsResource[] => {
    const out: DnsResource[] = [];
    for (let i = 0; i < count; i++) {
      const r = readResource(b, off);
      off = r.end;
      out.push(r.rr);
    }
    return out;
  };
  const answers = section(an);
  const authorities = section(ns);
  const additionals = section(ar);
  return { header, questions, answers, authorities, additionals };
}

function readResource(b: Uint8Array, off: number): { rr: DnsResource; end: number } {
  const n = readDnsName(b, off);
  let p = n.end;
  if (p + 10 > b.length) fail("record header cut short", p);
  const type = readU16be(b, p), cls = readU16be(b, p + 2), ttl = readU32be(b, p + 4);
  const rdlen = readU16be(b, p + 8);
  p += 10;
  const end = p + rdlen;
  if (end > b.length) fail(`record data of ${rdlen} bytes runs past the message`, p);
  return { rr: { name: n.name, type, class: cls, ttl, data: readData(b, type, p, end) }, end };
}

function readData(b: Uint8Array, type: number, p: number, end: number): DnsRecordData {
  const len = end - p;
  const nameIn = (at: number): { name: string; end: number } => {
    const n = readDnsName(b, at);
    if (n.end > end) fail("name runs past its record", at);
    return n;
  };
  const exact = (n: number, at: number) => {
    if (n !== end) fail(`${end - at} bytes of record data left over`, n);
  };
  switch (type) {
    case DNS_TYPE.A:
      if (len !== 4) fail(`A record of ${len} bytes`, p);
      return { kind: "a", addr: b.slice(p, end) };
    case DNS_TYPE.AAAA:
      if (len !== 16) fail(`AAAA record of ${len} bytes`, p);
      return { kind: "aaaa", addr: b.slice(p, end) };
    case DNS_TYPE.CNAME:
    case DNS_TYPE.NS:
    case DNS_TYPE.PTR: {
      const n = nameIn(p);
      exact(n.end, p);
      return { kind: "name", name: n.name };
    }
    case DNS_TYPE.MX: {
      if (len < 3) fail(`MX record of ${len} bytes`, p);
      const n = nameIn(p + 2);
      exact(n.end, p);
      return { kind: "mx", preference: readU16be(b, p), exchange: n.name };
    }
    case DNS_TYPE.SRV: {
      if (len < 7) fail(`SRV record of ${len} bytes`, p);
      const n = nameIn(p + 6);
      exact(n.end, p);
      return {
        kind: "srv",
        priority: readU16be(b, p),
        weight: readU16be(b, p + 2),
        port: readU16be(b, p + 4),
        target: n.name,
      };
    }
    case DNS_TYPE.SOA: {
      const m = nameIn(p);
      const r = nameIn(m.end);
      if (r.end + 20 !== end) fail("SOA record of the wrong length", r.end);
      const u = (i: number) => readU32be(b, r.end + 4 * i);
      return {
        kind: "soa",
        mname: m.name,
        rname: r.name,
        serial: u(0),
        refresh: u(1),
        retry: u(2),
        expire: u(3),
        minimum: u(4),
      };
    }
    case DNS_TYPE.TXT: {
      if (len === 0) fail("TXT record with no strings", p);
      const strings: string[] = [];
      let q = p;
      while (q < end) {
        const l = b[q];
        if (q + 1 + l > end) fail("TXT string runs past its record", q);
        strings.push(latin1(b, q + 1, q + 1 + l));
        q += 1 + l;
      }
      return { kind: "txt", strings };
    }
    default:
      return { kind: "opaque", bytes: b.subarray(p, end) };
  }
}

function latin1(b: Uint8Array, from: number, to: number): string {
  let s = "";
  for (let i = from; i < to; i++) s += String.fromCharCode(b[i]);
  return s;
}

/** A growing output buffer with name compression. */
class Writer {
  buf = new Uint8Array(512);
  len = 0;
  readonly #names = new Map<string, number>();
  readonly #compress: boolean;

  constructor(compress: boolean) {
    this.#compress = compress;
  }

  #room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  u8(v: number): void {
    this.#room(1);
    this.buf[this.len++] = v;
  }

  u16(v: number): void {
    this.#room(2);
    this.buf[this.len++] = v >>> 8;
    this.buf[this.len++] = v;
  }

  u32(v: number): void {
    this.u16(v >>> 16);
    this.u16(v & 0xffff);
  }

  bytes(b: Uint8Array): void {
    this.#room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  name(name: string, compress = this.#compress): void {
    const labels = dnsNameLabels(name);
    for (let i = 0; i < labels.length; i++) {
      // Case-insensitive key, as suffixes match regardless of case in lookups but we keep the
      // bytes exact: compress only on an exact byte match.
      const key = labels.slice(i).map((l) => Array.from(l).join(",")).join("|");
      const at = compress ? this.#names.get(key) : undefined;
      if (at !== undefined) {
        this.u16(0xc000 | at);
        return;
      }
      if (this.len < 0x4000) this.#names.set(key, this.len);
      this.u8(labels[i].length);
      this.bytes(labels[i]);
    }
    this.u8(0);
  }

  set16(at: number, v: number): void {
    this.buf[at] = v >>> 8;
    this.buf[at + 1] = v;
  }
}

/** Options for {@linkcode emitDnsMessage}. */
export interface EmitDnsOptions {
  /** Compress names (default true). */
  compress?: boolean;
}

/**
 * Encodes a message. The length is not known before compression, so this returns new bytes
 * rather than writing into a caller's buffer.
 * @param m the message @param opts compression
 * @returns the bytes
 * @throws {RangeError} on a bad name, a field out of range, or a message over 65535 bytes
 */
export function emitDnsMessage(m: DnsMessage, opts: EmitDnsOptions = {}): Uint8Array {
  const w = new Writer(opts.compress ?? true);
  const h = m.header;
  w.u16(h.id);
  w.u16(
    (h.response ? 0x8000 : 0) | ((h.opcode & 0xf) << 11) | (h.authoritative ? 0x0400 : 0) |
      (h.truncated ? 0x0200 : 0) | (h.recursionDesired ? 0x0100 : 0) |
      (h.recursionAvailable ? 0x0080 : 0) | ((h.zBits & 0x7) << 4) | (h.rcode & 0xf),
  );
  for (const n of [m.questions, m.answers, m.authorities, m.additionals]) {
    if (n.length > 0xffff) throw new RangeError(`Cannot encode DNS message: ${n.length} records`);
    w.u16(n.length);
  }
  for (const q of m.questions) {
    w.name(q.name);
    w.u16(q.type);
    w.u16(q.class);
  }
  for (const rr of [...m.answers, ...m.authorities, ...m.additionals]) emitResource(w, rr);
  if (w.len > DNS_MAX_MESSAGE_LEN) {
    throw new RangeError(`Cannot encode DNS message: ${w.len} bytes`);
  }
  return w.buf.slice(0, w.len);
}

function emitResource(w: Writer, rr: DnsResource): void {
  w.name(rr.name);
  w.u16(rr.type);
  w.u16(rr.class);
  w.u32(rr.ttl >>> 0);
  const lenAt = w.len;
  w.u16(0);
  const d = rr.data;
  switch (d.kind) {
    case "a":
    case "aaaa":
      w.bytes(d.addr);
      break;
    case "name":
      w.name(d.name);
      break;
    case "mx":
      w.u16(d.preference);
      w.name(d.exchange);
      break;
    case "srv":
      w.u16(d.priority);
      w.u16(d.weight);
      w.u16(d.port);
      // RFC 2782: the target is not compressed.
      w.name(d.target, false);
      break;
    case "soa":
      w.name(d.mname);
      w.name(d.rname);
      for (const v of [d.serial, d.refresh, d.retry, d.expire, d.minimum]) w.u32(v >>> 0);
      break;
    case "txt":
      for (const s of d.strings) {
        if (s.length > 255) throw new RangeError("Cannot encode DNS TXT string over 255 bytes");
        w.u8(s.length);
        for (let i = 0; i < s.length; i++) w.u8(s.charCodeAt(i));
      }
      break;
    case "opaque":
      w.bytes(d.bytes);
      break;
  }
  const n = w.len - lenAt - 2;
  if (n > 0xffff) throw new RangeError(`Cannot encode DNS record data of ${n} bytes`);
  w.set16(lenAt, n);
}

/** A header for a new query or answer: every flag clear. */
export function emptyDnsHeader(id = 0): DnsHeader {
  return {
    id,
    response: false,
    opcode: 0,
    authoritative: false,
    truncated: false,
    recursionDesired: false,
    recursionAvailable: false,
    zBits: 0,
    rcode: 0,
  };
}

/**
 * A one-question query with RD set, as a stub resolver (and tailscaled's `dns-query`) sends.
 * @param id query id @param name the name @param type record type
 * @returns the bytes
 */
export function dnsQuery(id: number, name: string, type: number): Uint8Array {
  return emitDnsMessage({
    header: { ...emptyDnsHeader(id), recursionDesired: true },
    questions: [{ name, type, class: DNS_CLASS_INET }],
    answers: [],
    authorities: [],
    additionals: [],
  });
}
