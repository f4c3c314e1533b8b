// deno-lint-ignore-file no-console -- a command-line tool talks to the person running it
/**
 * Builds the WebAssembly ChaCha20-Poly1305 (RFC 8439) that WireGuard's transport path seals
 * and opens with, and writes it into `src/engine/crypto/_aead_wasm_bytes.ts`.
 *
 * Why WebAssembly: node:crypto under Deno costs about 5 µs a call before the first byte (a
 * Transform stream and Buffer wrappers per packet), which was the largest share of the direct
 * path's profile after the UDP send; a call into WebAssembly costs well under a microsecond,
 * and the cipher itself runs at compiled speed.
 *
 * The module is written here as WebAssembly text, generated so the rounds are unrolled, and
 * assembled with wabt (npm, build time only). The assembled bytes are committed so the engine
 * needs nothing at run time; `tests/aead_wasm_build_test.ts` fails when they differ from what
 * this script builds.
 *
 * Memory (two 64 KiB pages): the caller writes the key and nonce at fixed offsets and the
 * message at `DATA`; `seal(len)` encrypts `len` bytes in place and writes the tag after them,
 * `open(len)` checks the tag after `len` bytes of ciphertext and decrypts in place only if it
 * matches. Associated data is not supported: WireGuard's transport messages have none.
 *
 * Usage: `deno run --allow-read --allow-write --allow-env scripts/gen_aead_wasm.ts`
 * @module
 */

import wabtInit from "npm:wabt@1.0.39";
import {
  WASM_AEAD_DATA_AT as DATA_AT,
  WASM_AEAD_KEY_AT as KEY_AT,
  WASM_AEAD_NONCE_AT as NONCE_AT,
  WASM_AEAD_PAGES as PAGES,
  WASM_AEAD_TAG_AT as TAG_AT,
} from "../src/engine/crypto/aead_wasm.ts";

/** One ChaCha20 block of key stream (scratch). */
const KS_AT = 64;
/** The one-time Poly1305 key (scratch). */
const PK_AT = 128;
/** A zero-padded last Poly1305 block (scratch). */
const PAD_AT = 160;
/** A message's last 129 to 255 bytes, run through the four-block path here (scratch). */
const TAIL_AT = 256;

const SIGMA = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574];

/** `(local.get $x)` */
const g = (x: string): string => `(local.get $${x})`;

/** The three operations ChaCha20's rounds use, on one word or on four lanes of words. */
interface WordOps {
  add(x: string, y: string): string;
  xor(x: string, y: string): string;
  rotl(v: string, n: number): string;
}

/** One 32-bit word per local. */
const SCALAR_OPS: WordOps = {
  add: (x, y) => `(i32.add ${x} ${y})`,
  xor: (x, y) => `(i32.xor ${x} ${y})`,
  rotl: (v, n) => `(i32.rotl ${v} (i32.const ${n}))`,
};

/** Byte shuffles that rotate each 32-bit lane left by 16 and by 8. */
const ROTL16 = "2 3 0 1 6 7 4 5 10 11 8 9 14 15 12 13";
const ROTL8 = "3 0 1 2 7 4 5 6 11 8 9 10 15 12 13 14";

/** Four blocks side by side, a lane per block (128-bit SIMD has no lane rotate). */
const LANE_OPS: WordOps = {
  add: (x, y) => `(i32x4.add ${x} ${y})`,
  xor: (x, y) => `(v128.xor ${x} ${y})`,
  rotl: (v, n) =>
    n === 16 || n === 8
      ? `(i8x16.shuffle ${n === 16 ? ROTL16 : ROTL8} ${v} ${v})`
      : `(v128.or (i32x4.shl ${v} (i32.const ${n})) (i32x4.shr_u ${v} (i32.const ${32 - n})))`,
};

/** One ChaCha20 quarter round on the named locals. */
function quarterRound(ops: WordOps, a: string, b: string, c: string, d: string): string {
  const step = (x: string, y: string, z: string, rot: number): string =>
    `(local.set $${x} ${ops.add(g(x), g(y))})\n` +
    `(local.set $${z} ${ops.rotl(ops.xor(g(z), g(x)), rot)})\n`;
  return step(a, b, d, 16) + step(c, d, b, 12) + step(a, b, d, 8) + step(c, d, b, 7);
}

/** The ten double rounds (columns, then diagonals) over the state's 16 locals `w`. */
function rounds(ops: WordOps, w: string[]): string {
  const qr = (i: number, j: number, k: number, l: number) =>
    quarterRound(ops, w[i], w[j], w[k], w[l]);
  const body = qr(0, 4, 8, 12) + qr(1, 5, 9, 13) + qr(2, 6, 10, 14) + qr(3, 7, 11, 15) +
    qr(0, 5, 10, 15) + qr(1, 6, 11, 12) + qr(2, 7, 8, 13) + qr(3, 4, 9, 14);
  return `(local.set $i (i32.const 10))
(loop $rounds
${body}(br_if $rounds (local.tee $i (i32.sub ${g("i")} (i32.const 1)))))\n`;
}

/** The 16 words of the initial ChaCha20 state, as expressions. */
function initialWord(i: number): string {
  if (i < 4) return `(i32.const ${SIGMA[i] | 0})`;
  if (i < 12) return `(i32.load offset=${KEY_AT + 4 * (i - 4)} (i32.const 0))`;
  if (i === 12) return g("ctr");
  return `(i32.load offset=${NONCE_AT + 4 * (i - 13)} (i32.const 0))`;
}

/** `$block(ctr)`: one block of key stream into KS. */
function blockFunc(): string {
  const x = Array.from({ length: 16 }, (_, i) => `x${i}`);
  let body = "";
  for (let i = 0; i < 16; i++) body += `(local.set $x${i} ${initialWord(i)})\n`;
  body += rounds(SCALAR_OPS, x);
  for (let i = 0; i < 16; i++) {
    body += `(i32.store offset=${KS_AT + 4 * i} (i32.const 0) (i32.add ${g(x[i])} ${
      initialWord(i)
    }))\n`;
  }
  const locals = x.map((n) => `(local $${n} i32)`).join(" ");
  return `(func $block (param $ctr i32) ${locals} (local $i i32)\n${body})`;
}

/** Lane shuffles (as byte indices) for a 4x4 transpose of 32-bit words. */
const lanes = (...l: number[]): string =>
  l.flatMap((x) => [4 * x, 4 * x + 1, 4 * x + 2, 4 * x + 3]).join(" ");

/**
 * `$xor4(ptr, ctr)`: four blocks of key stream (counters `ctr` .. `ctr+3`) computed side by
 * side, XORed into the 256 bytes at `ptr`.
 */
function xor4Func(): string {
  const v = Array.from({ length: 16 }, (_, i) => `v${i}`);
  const init = (i: number): string =>
    i === 12
      ? `(i32x4.add (i32x4.splat ${g("ctr")}) (v128.const i32x4 0 1 2 3))`
      : `(i32x4.splat ${initialWord(i)})`;
  let body = "";
  for (let i = 0; i < 16; i++) body += `(local.set $v${i} ${init(i)})\n`;
  body += rounds(LANE_OPS, v);
  for (let i = 0; i < 16; i++) body += `(local.set $v${i} (i32x4.add ${g(v[i])} ${init(i)}))\n`;
  // Lane k of v[i] is word i of block k: transpose each group of four words.
  for (let grp = 0; grp < 4; grp++) {
    const [a, b, c, d] = [0, 1, 2, 3].map((j) => g(v[4 * grp + j]));
    body += `(local.set $t0 (i8x16.shuffle ${lanes(0, 4, 1, 5)} ${a} ${b}))
(local.set $t1 (i8x16.shuffle ${lanes(2, 6, 3, 7)} ${a} ${b}))
(local.set $t2 (i8x16.shuffle ${lanes(0, 4, 1, 5)} ${c} ${d}))
(local.set $t3 (i8x16.shuffle ${lanes(2, 6, 3, 7)} ${c} ${d}))\n`;
    const outs = [
      `(i8x16.shuffle ${lanes(0, 1, 4, 5)} ${g("t0")} ${g("t2")})`,
      `(i8x16.shuffle ${lanes(2, 3, 6, 7)} ${g("t0")} ${g("t2")})`,
      `(i8x16.shuffle ${lanes(0, 1, 4, 5)} ${g("t1")} ${g("t3")})`,
      `(i8x16.shuffle ${lanes(2, 3, 6, 7)} ${g("t1")} ${g("t3")})`,
    ];
    for (let k = 0; k < 4; k++) {
      const at = 64 * k + 16 * grp;
      body += `(v128.store offset=${at} ${g("ptr")} (v128.xor (v128.load offset=${at} ${
        g("ptr")
      }) ${outs[k]}))\n`;
    }
  }
  const locals = [...v, "t0", "t1", "t2", "t3"].map((n) => `(local $${n} v128)`).join(" ");
  return `(func $xor4 (param $ptr i32) (param $ctr i32) ${locals} (local $i i32)\n${body})`;
}

/** `$xor(ptr, len, ctr)`: XORs the key stream from block `ctr` on into memory. */
function xorFunc(): string {
  let words = "";
  for (let k = 0; k < 8; k++) {
    words += `(i64.store offset=${8 * k} ${g("ptr")} (i64.xor (i64.load offset=${8 * k} ${
      g("ptr")
    }) (i64.load offset=${KS_AT + 8 * k} (i32.const 0))))\n`;
  }
  return `(func $xor (param $ptr i32) (param $len i32) (param $ctr i32) (local $i i32)
(block $done4
  (loop $fours
    (br_if $done4 (i32.lt_u ${g("len")} (i32.const 256)))
    (call $xor4 ${g("ptr")} ${g("ctr")})
    (local.set $ptr (i32.add ${g("ptr")} (i32.const 256)))
    (local.set $len (i32.sub ${g("len")} (i32.const 256)))
    (local.set $ctr (i32.add ${g("ctr")} (i32.const 4)))
    (br $fours)))
(if (i32.gt_u ${g("len")} (i32.const 128)) (then
  (memory.copy (i32.const ${TAIL_AT}) ${g("ptr")} ${g("len")})
  (call $xor4 (i32.const ${TAIL_AT}) ${g("ctr")})
  (memory.copy ${g("ptr")} (i32.const ${TAIL_AT}) ${g("len")})
  (return)))
(block $done
  (loop $blocks
    (br_if $done (i32.lt_u ${g("len")} (i32.const 64)))
    (call $block ${g("ctr")})
${words}    (local.set $ptr (i32.add ${g("ptr")} (i32.const 64)))
    (local.set $len (i32.sub ${g("len")} (i32.const 64)))
    (local.set $ctr (i32.add ${g("ctr")} (i32.const 1)))
    (br $blocks)))
(if (i32.eqz ${g("len")}) (then (return)))
(call $block ${g("ctr")})
(loop $bytes
  (i32.store8 (i32.add ${g("ptr")} ${g("i")})
    (i32.xor (i32.load8_u (i32.add ${g("ptr")} ${g("i")}))
      (i32.load8_u offset=${KS_AT} ${g("i")})))
  (br_if $bytes (i32.lt_u (local.tee $i (i32.add ${g("i")} (i32.const 1))) ${g("len")}))))`;
}

const MASK26 = "(i64.const 0x3ffffff)";

/** Adds one 16-byte block at `m` (an i32 expression) to the Poly1305 accumulator. */
function polyBlock(m: string): string {
  const limb = (offset: number, shift: number, extra: string): string =>
    `(i64.extend_i32_u (${extra} (i32.shr_u (i32.load offset=${offset} ${m}) (i32.const ${shift}))))`;
  const masked = (offset: number, shift: number): string =>
    limb(offset, shift, "i32.and (i32.const 0x3ffffff)");
  const add = (h: string, v: string): string => `(local.set $${h} (i64.add ${g(h)} ${v}))\n`;
  let s = add("h0", masked(0, 0)) + add("h1", masked(3, 2)) + add("h2", masked(6, 4)) +
    add("h3", masked(9, 6)) + add("h4", limb(12, 8, "i32.or (i32.const 0x1000000)"));
  // d_i = sum over j of h_j * (r_{i-j}, or 5 r_{i-j+5} where it wraps).
  const rr = (k: number): string => (k >= 0 ? g(`r${k}`) : g(`s${k + 5}`));
  for (let i = 0; i < 5; i++) {
    const terms = [0, 1, 2, 3, 4].map((j) => `(i64.mul ${g(`h${j}`)} ${rr(i - j)})`);
    s += `(local.set $d${i} ${terms.reduce((a, b) => `(i64.add ${a} ${b})`)})\n`;
  }
  s += `(local.set $c (i64.shr_u ${g("d0")} (i64.const 26)))
(local.set $h0 (i64.and ${g("d0")} ${MASK26}))\n`;
  for (let i = 1; i < 5; i++) {
    s += `(local.set $d${i} (i64.add ${g(`d${i}`)} ${g("c")}))
(local.set $c (i64.shr_u ${g(`d${i}`)} (i64.const 26)))
(local.set $h${i} (i64.and ${g(`d${i}`)} ${MASK26}))\n`;
  }
  s += `(local.set $h0 (i64.add ${g("h0")} (i64.mul ${g("c")} (i64.const 5))))
(local.set $c (i64.shr_u ${g("h0")} (i64.const 26)))
(local.set $h0 (i64.and ${g("h0")} ${MASK26}))
(local.set $h1 (i64.add ${g("h1")} ${g("c")}))\n`;
  return s;
}

/** `$mac(ptr, len, out)`: the AEAD's Poly1305 (no associated data) over `len` bytes at `ptr`. */
function macFunc(): string {
  const limbOfKey = (offset: number, shift: number, mask: number): string =>
    `(i64.extend_i32_u (i32.and (i32.shr_u (i32.load offset=${
      PK_AT + offset
    } (i32.const 0)) (i32.const ${shift})) (i32.const ${mask})))`;
  let s = `(local.set $r0 ${limbOfKey(0, 0, 0x3ffffff)})
(local.set $r1 ${limbOfKey(3, 2, 0x3ffff03)})
(local.set $r2 ${limbOfKey(6, 4, 0x3ffc0ff)})
(local.set $r3 ${limbOfKey(9, 6, 0x3f03fff)})
(local.set $r4 ${limbOfKey(12, 8, 0x00fffff)})\n`;
  for (let i = 1; i < 5; i++) {
    s += `(local.set $s${i} (i64.mul ${g(`r${i}`)} (i64.const 5)))\n`;
  }
  s += `(local.set $end (i32.add ${g("ptr")} (i32.and ${g("len")} (i32.const -16))))
(block $done
  (loop $blocks
    (br_if $done (i32.ge_u ${g("ptr")} ${g("end")}))
${polyBlock(g("ptr"))}    (local.set $ptr (i32.add ${g("ptr")} (i32.const 16)))
    (br $blocks)))
(local.set $i (i32.and ${g("len")} (i32.const 15)))
(if ${g("i")} (then
  (i64.store offset=${PAD_AT} (i32.const 0) (i64.const 0))
  (i64.store offset=${PAD_AT + 8} (i32.const 0) (i64.const 0))
  (memory.copy (i32.const ${PAD_AT}) ${g("ptr")} ${g("i")})
${polyBlock(`(i32.const ${PAD_AT})`)}))
(i64.store offset=${PAD_AT} (i32.const 0) (i64.const 0))
(i64.store offset=${PAD_AT + 8} (i32.const 0) (i64.extend_i32_u ${g("len")}))
${polyBlock(`(i32.const ${PAD_AT})`)}`;
  // Fully carry, then compute h + 5 - 2^130 and keep it unless it went below zero.
  s += `(local.set $c (i64.shr_u ${g("h1")} (i64.const 26)))
(local.set $h1 (i64.and ${g("h1")} ${MASK26}))\n`;
  for (const [from, to] of [[2, 2], [3, 3], [4, 4]]) {
    s += `(local.set $h${to} (i64.add ${g(`h${from}`)} ${g("c")}))
(local.set $c (i64.shr_u ${g(`h${to}`)} (i64.const 26)))
(local.set $h${to} (i64.and ${g(`h${to}`)} ${MASK26}))\n`;
  }
  s += `(local.set $h0 (i64.add ${g("h0")} (i64.mul ${g("c")} (i64.const 5))))
(local.set $c (i64.shr_u ${g("h0")} (i64.const 26)))
(local.set $h0 (i64.and ${g("h0")} ${MASK26}))
(local.set $h1 (i64.add ${g("h1")} ${g("c")}))
(local.set $d0 (i64.add ${g("h0")} (i64.const 5)))
(local.set $c (i64.shr_u ${g("d0")} (i64.const 26)))
(local.set $d0 (i64.and ${g("d0")} ${MASK26}))\n`;
  for (let i = 1; i < 4; i++) {
    s += `(local.set $d${i} (i64.add ${g(`h${i}`)} ${g("c")}))
(local.set $c (i64.shr_u ${g(`d${i}`)} (i64.const 26)))
(local.set $d${i} (i64.and ${g(`d${i}`)} ${MASK26}))\n`;
  }
  s += `(local.set $d4 (i64.sub (i64.add ${g("h4")} ${g("c")}) (i64.const 0x4000000)))
(local.set $c (i64.sub (i64.shr_u ${g("d4")} (i64.const 63)) (i64.const 1)))\n`;
  for (let i = 0; i < 5; i++) {
    s += `(local.set $h${i} (i64.or (i64.and ${g(`h${i}`)} (i64.xor ${g("c")} (i64.const -1)))
  (i64.and ${g(`d${i}`)} ${g("c")})))\n`;
  }
  // Pack into four 32-bit words and add s with carries.
  const words = [
    `(i64.or ${g("h0")} (i64.shl ${g("h1")} (i64.const 26)))`,
    `(i64.or (i64.shr_u ${g("h1")} (i64.const 6)) (i64.shl ${g("h2")} (i64.const 20)))`,
    `(i64.or (i64.shr_u ${g("h2")} (i64.const 12)) (i64.shl ${g("h3")} (i64.const 14)))`,
    `(i64.or (i64.shr_u ${g("h3")} (i64.const 18)) (i64.shl ${g("h4")} (i64.const 8)))`,
  ];
  for (let i = 0; i < 4; i++) {
    const carry = i === 0 ? "" : `(i64.shr_u ${g("c")} (i64.const 32))`;
    const sum = `(i64.add (i64.and ${words[i]} (i64.const 0xffffffff)) (i64.load32_u offset=${
      PK_AT + 16 + 4 * i
    } (i32.const 0)))`;
    s += `(local.set $c ${i === 0 ? sum : `(i64.add ${sum} ${carry})`})
(i32.store offset=${4 * i} ${g("out")} (i32.wrap_i64 ${g("c")}))\n`;
  }
  const i64s = [
    ..."r0 r1 r2 r3 r4 s1 s2 s3 s4 h0 h1 h2 h3 h4 d0 d1 d2 d3 d4 c".split(" "),
  ].map((n) => `(local $${n} i64)`).join(" ");
  return `(func $mac (param $ptr i32) (param $len i32) (param $out i32) ${i64s} (local $end i32) (local $i i32)
${s})`;
}

/** Zeroes the key, the one-time key and the key stream left in memory. */
function wipeFunc(): string {
  let s = "";
  for (let at = KEY_AT; at < TAIL_AT + 256; at += 8) {
    s += `(i64.store offset=${at} (i32.const 0) (i64.const 0))\n`;
  }
  return `(func $wipe\n${s})`;
}

/** The one-time Poly1305 key: the first half of block 0. */
const POLY_KEY = `(call $block (i32.const 0))
(memory.copy (i32.const ${PK_AT}) (i32.const ${KS_AT}) (i32.const 32))`;

/**
 * The module's text.
 * @returns WebAssembly text
 */
export function aeadWat(): string {
  const data = `(i32.const ${DATA_AT})`;
  return `(module
(memory (export "memory") ${PAGES} ${PAGES})
${blockFunc()}
${xor4Func()}
${xorFunc()}
${macFunc()}
${wipeFunc()}
(func (export "seal") (param $len i32)
${POLY_KEY}
(call $xor ${data} ${g("len")} (i32.const 1))
(call $mac ${data} ${g("len")} (i32.add ${data} ${g("len")}))
(call $wipe))
(func (export "open") (param $len i32) (result i32) (local $tag i32) (local $ok i32)
${POLY_KEY}
(call $mac ${data} ${g("len")} (i32.const ${TAG_AT}))
(local.set $tag (i32.add ${data} ${g("len")}))
(local.set $ok (i64.eqz (i64.or
  (i64.xor (i64.load ${g("tag")}) (i64.load offset=${TAG_AT} (i32.const 0)))
  (i64.xor (i64.load offset=8 ${g("tag")}) (i64.load offset=${TAG_AT + 8} (i32.const 0))))))
(if ${g("ok")} (then (call $xor ${data} ${g("len")} (i32.const 1))))
(call $wipe)
${g("ok")})
)
`;
}

/**
 * Assembles the module.
 * @returns the module's bytes
 */
export async function buildAeadWasm(): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const mod = wabt.parseWat("chacha20poly1305.wat", aeadWat(), { bulk_memory: true, simd: true });
  try {
    mod.validate();
    return new Uint8Array(mod.toBinary({}).buffer);
  } finally {
    mod.destroy();
  }
}

/**
 * The TypeScript file that carries the bytes.
 * @param bytes the module
 * @returns the file's text
 */
export function bytesModule(bytes: Uint8Array): string {
  let b64 = "";
  const text = btoa(String.fromCharCode(...bytes));
  for (let i = 0; i < text.length; i += 96) b64 += `  "${text.slice(i, i + 96)}" +\n`;
  return `/**
 * The assembled WebAssembly ChaCha20-Poly1305, generated by \`scripts/gen_aead_wasm.ts\` from
 * the text it writes: do not edit. \`tests/aead_wasm_build_test.ts\` checks it is current.
 * @module
 */

/** The module's bytes, base64. */
export const AEAD_WASM_BASE64 =
${b64.slice(0, -3)};
`;
}

/** Where the bytes are written. */
export const BYTES_FILE = new URL("../src/engine/crypto/_aead_wasm_bytes.ts", import.meta.url);

if (import.meta.main) {
  const bytes = await buildAeadWasm();
  await Deno.writeTextFile(BYTES_FILE, bytesModule(bytes));
  console.log(`wrote ${BYTES_FILE.pathname} (${bytes.length} bytes of WebAssembly)`);
}
