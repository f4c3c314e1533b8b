/**
 * Byte helpers every codec uses: big- and little-endian readers and writers over a
 * `Uint8Array` at an offset, plus `concat`, `equals` and hex conversion.
 *
 * Readers and writers do no bounds checks: codecs check the length once up front and then
 * call these. An out-of-range read gives `NaN`-free garbage (`undefined` coerces to 0 by the
 * bit operators), never a throw, so callers must have checked.
 *
 * @example Read and write a big-endian u16
 * ```ts
 * import { readU16be, writeU16be } from "./bytes.ts";
 * const b = new Uint8Array(2);
 * writeU16be(b, 0, 0x1234);
 * if (b[0] !== 0x12 || readU16be(b, 0) !== 0x1234) throw new Error("bad");
 * ```
 * @module
 */

/** Reads a big-endian u16 at `off`. @param b bytes @param off offset @returns 0..65535 */
export function readU16be(b: Uint8Array, off: number): number {
  return (b[off] << 8) | b[off + 1];
}

/** Reads a little-endian u16 at `off`. @param b bytes @param off offset @returns 0..65535 */
export function readU16le(b: Uint8Array, off: number): number {
  return b[off] | (b[off + 1] << 8);
}

/** Reads a big-endian u32 at `off`. @param b bytes @param off offset @returns 0..2^32-1 */
export function readU32be(b: Uint8Array, off: number): number {
  return ((b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]) >>> 0;
}

/** Reads a little-endian u32 at `off`. @param b bytes @param off offset @returns 0..2^32-1 */
export function readU32le(b: Uint8Array, off: number): number {
  return (b[off] | (b[off + 1] << 8) | (b[off + 2] << 16) | (b[off + 3] << 24)) >>> 0;
}

/** Reads a big-endian u64 at `off`. @param b bytes @param off offset @returns a bigint */
export function readU64be(b: Uint8Array, off: number): bigint {
  return (BigInt(readU32be(b, off)) << 32n) | BigInt(readU32be(b, off + 4));
}

/** Reads a little-endian u64 at `off`. @param b bytes @param off offset @returns a bigint */
export function readU64le(b: Uint8Array, off: number): bigint {
  return (BigInt(readU32le(b, off + 4)) << 32n) | BigInt(readU32le(b, off));
}

/**
 * Writes `v` as a big-endian u16 at `off`.
 * @param b destination @param off offset @param v value (low 16 bits are written)
 * @returns the offset after the field
 */
export function writeU16be(b: Uint8Array, off: number, v: number): number {
  b[off] = v >>> 8;
  b[off + 1] = v;
  return off + 2;
}

/**
 * Writes `v` as a little-endian u16 at `off`.
 * @param b destination @param off offset @param v value (low 16 bits are written)
 * @returns the offset after the field
 */
export function writeU16le(b: Uint8Array, off: number, v: number): number {
  b[off] = v;
  b[off + 1] = v >>> 8;
  return off + 2;
}

/**
 * Writes `v` as a big-endian u32 at `off`.
 * @param b destination @param off offset @param v value (low 32 bits are written)
 * @returns the offset after the field
 */
export function writeU32be(b: Uint8Array, off: number, v: number): number {
  b[off] = v >>> 24;
  b[off + 1] = v >>> 16;
  b[off + 2] = v >>> 8;
  b[off + 3] = v;
  return off + 4;
}

/**
 * Writes `v` as a little-endian u32 at `off`.
 * @param b destination @param off offset @param v value (low 32 bits are written)
 * @returns the offset after the field
 */
export function writeU32le(b: Uint8Array, off: number, v: number): number {
  b[off] = v;
  b[off + 1] = v >>> 8;
  b[off + 2] = v >>> 16;
  b[off + 3] = v >>> 24;
  return off + 4;
}

/**
 * Writes `v` as a big-endian u64 at `off`.
 * @param b destination @param off offset @param v value (low 64 bits are written)
 * @returns the offset after the field
 */
export function writeU64be(b: Uint8Array, off: number, v: bigint): number {
  writeU32be(b, off, Number((v >> 32n) & 0xffffffffn));
  return writeU32be(b, off + 4, Number(v & 0xffffffffn));
}

/**
 * Writes `v` as a little-endian u64 at `off`.
 * @param b destination @param off offset @param v value (low 64 bits are written)
 * @returns the offset after the field
 */
export function writeU64le(b: Uint8Array, off: number, v: bigint): number {
  writeU32le(b, off, Number(v & 0xffffffffn));
  return writeU32le(b, off + 4, Number((v >> 32n) & 0xffffffffn));
}

/**
 * Joins byte arrays into one new array.
 * @param parts the arrays, in order
 * @returns a new array holding all of them
 * @example Join two arrays
 * ```ts
 * import { concat } from "./bytes.ts";
 * const j = concat([new Uint8Array([1]), new Uint8Array([2, 3])]);
 * if (j.length !== 3 || j[2] !== 3) throw new Error("bad");
 * ```
 */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/**
 * Whether two byte arrays hold the same bytes. Not constant-time: use the crypto helpers for
 * secrets.
 * @param a first @param b second
 * @returns true when lengths and every byte match
 */
export function equals(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Decodes hex text (whitespace ignored) into bytes.
 * @param text an even number of hex digits
 * @returns the bytes
 * @throws {SyntaxError} on an odd length or a non-hex character
 */
export function fromHex(text: string): Uint8Array {
  const s = text.replace(/\s+/g, "");
  if (s.length % 2 !== 0 || /[^0-9a-fA-F]/.test(s)) {
    throw new SyntaxError(`Cannot decode hex: ${s.length} characters, or a non-hex digit`);
  }
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * Encodes bytes as lower-case hex.
 * @param b the bytes
 * @returns two hex digits per byte
 */
export function toHex(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += (b[i] < 16 ? "0" : "") + b[i].toString(16);
  return s;
}
