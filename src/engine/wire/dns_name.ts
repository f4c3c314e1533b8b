/**
 * DNS names on the wire (RFC 1035 §3.1, §4.1.4): labels of 1-63 bytes ending in a zero byte
 * or a compression pointer, at most 255 bytes. Held as presentation text without the final
 * dot; a byte outside `!`..`~`, or `.` or `\` inside a label, is written `\DDD`. No I/O.
 * @module
 */
import { ParseError } from "../base/errors.ts";

/** Largest name on the wire, length bytes and final zero included (RFC 1035 §2.3.4). */
export const DNS_MAX_NAME_LEN = 255;
/** Largest label. */
export const DNS_MAX_LABEL_LEN = 63;

function fail(msg: string, off: number): never {
  throw new ParseError("dns", `Cannot parse DNS message: ${msg}`, off);
}

/**
 * Reads a possibly compressed name at `off`. A pointer must point before the lowest place the
 * name has been read from, so chains end; the name may not pass 255 bytes on the wire.
 * @param b the whole message (pointers are offsets into it) @param off where the name starts
 * @returns the name (presentation text, no final dot) and the offset after it in the record
 * (after the first pointer, if any)
 * @throws {ParseError} on a loop, a forward pointer, a cut-short or over-long name, a bad label
 */
export function readDnsName(b: Uint8Array, off: number): { name: string; end: number } {
  const labels: string[] = [];
  let p = off;
  let end = -1;
  let wire = 1; // the final zero byte
  // A pointer may only go back, before the lowest place this name has been read from, so a
  // chain of pointers ends: each one moves strictly down the message.
  let floor = off;
  for (;;) {
    if (p >= b.length) fail("name runs past the message", p);
    const l = b[p];
    if (l === 0) {
      if (end < 0) end = p + 1;
      break;
    }
    const top = l & 0xc0;
    if (top === 0xc0) {
      if (p + 1 >= b.length) fail("compression pointer cut short", p);
      const target = ((l & 0x3f) << 8) | b[p + 1];
      if (target >= floor) fail(`compression pointer to ${target} does not point back`, p);
      if (end < 0) end = p + 2;
      floor = target;
      p = target;
      continue;
    }
    if (top !== 0) fail(`label type 0x${top.toString(16)}`, p);
    if (p + 1 + l > b.length) fail("label runs past the message", p);
    wire += 1 + l;
    if (wire > DNS_MAX_NAME_LEN) fail(`name longer than ${DNS_MAX_NAME_LEN} bytes`, p);
    labels.push(escapeLabel(b, p + 1, p + 1 + l));
    p += 1 + l;
  }
  return { name: labels.join("."), end };
}

function escapeLabel(b: Uint8Array, from: number, to: number): string {
  let s = "";
  for (let i = from; i < to; i++) {
    const c = b[i];
    if (c > 0x20 && c < 0x7f && c !== 0x2e && c !== 0x5c) s += String.fromCharCode(c);
    else s += "\\" + String(c).padStart(3, "0");
  }
  return s;
}

/**
 * A name's labels as bytes: presentation text (no final dot needed, `\DDD` and `\c` escapes).
 * @param name e.g. `peer.tailnet.test` or `peer.tailnet.test.` @returns the labels
 * @throws {RangeError} on an empty label, a label over 63 bytes, a name over 255, a bad escape
 */
export function dnsNameLabels(name: string): Uint8Array[] {
  if (name === "" || name === ".") return [];
  const text = name.endsWith(".") && !name.endsWith("\\.") ? name.slice(0, -1) : name;
  const labels: Uint8Array[] = [];
  let cur: number[] = [];
  let wire = 1;
  const close = () => {
    if (cur.length === 0) throw new RangeError(`Cannot encode DNS name ${name}: empty label`);
    if (cur.length > DNS_MAX_LABEL_LEN) {
      throw new RangeError(`Cannot encode DNS name ${name}: label of ${cur.length} bytes`);
    }
    wire += 1 + cur.length;
    labels.push(new Uint8Array(cur));
    cur = [];
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x2e) {
      close();
    } else if (ch === 0x5c) {
      const d = /^\d{3}/.exec(text.slice(i + 1, i + 4));
      if (d !== null && Number(d[0]) <= 255) {
        cur.push(Number(d[0]));
        i += 3;
      } else if (i + 1 < text.length) {
        cur.push(text.charCodeAt(++i) & 0xff);
      } else throw new RangeError(`Cannot encode DNS name ${name}: trailing backslash`);
    } else if (ch > 0xff) {
      throw new RangeError(`Cannot encode DNS name ${name}: character U+${ch.toString(16)}`);
    } else cur.push(ch);
  }
  close();
  if (wire > DNS_MAX_NAME_LEN) throw new RangeError(`Cannot encode DNS name ${name}: too long`);
  return labels;
}
