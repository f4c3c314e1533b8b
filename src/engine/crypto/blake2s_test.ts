import { assertEquals } from "../base/testing/assert.ts";
import { fromHex, toHex } from "../key/keys.ts";
import { blake2sHash, blake2sMac, hkdfBlake2s, hmacBlake2s } from "./blake2s.ts";

const enc = new TextEncoder();

/** Unkeyed BLAKE2s-256 (RFC 7693 Appendix B; BLAKE2 reference blake2s-kat). */
const HASH_VECTORS = [
  {
    name: "RFC 7693 B 'abc'",
    input: "616263",
    out: "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982",
  },
  {
    name: "empty",
    input: "",
    out: "69217a3079908094e11121d042354a7c1f55b6482ca1a51e1b250dfd1ed0eef9",
  },
];

/** Keyed BLAKE2s-256 from the reference blake2s-kat.txt (key 00..1f, input 00..(n-1)). */
const KEYED_VECTORS = [
  { n: 0, out: "48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49" },
  { n: 1, out: "40d15fee7c328830166ac3f918650f807e7e01e177258cdc0a39b11f598066f1" },
];

Deno.test("blake2sHash() matches published BLAKE2s-256 vectors", () => {
  for (const v of HASH_VECTORS) assertEquals(toHex(blake2sHash(fromHex(v.input))), v.out, v.name);
});

Deno.test("blake2sHash() of parts equals the hash of their concatenation", () => {
  assertEquals(
    blake2sHash(enc.encode("a"), enc.encode(""), enc.encode("bc")),
    blake2sHash(enc.encode("abc")),
  );
});

Deno.test("blake2sMac() matches the keyed reference vectors", () => {
  const key = Uint8Array.from({ length: 32 }, (_, i) => i);
  for (const v of KEYED_VECTORS) {
    const input = Uint8Array.from({ length: v.n }, (_, i) => i);
    assertEquals(toHex(blake2sMac(key, 32, input)), v.out, `n=${v.n}`);
  }
});

/** The self-test of RFC 7693 Appendix E, over output lengths 16..32, keyed and unkeyed. */
Deno.test("blake2sMac() and blake2sHash() pass the RFC 7693 Appendix E self-test", () => {
  const seq = (len: number, seed: number): Uint8Array => {
    const out = new Uint8Array(len);
    let a = Math.imul(0xdead4bad, seed) >>> 0;
    let b = 1;
    for (let i = 0; i < len; i++) {
      const t = (a + b) >>> 0;
      a = b;
      b = t;
      out[i] = (t >>> 24) & 0xff;
    }
    return out;
  };
  const parts: Uint8Array[] = [];
  for (const outLen of [16, 20, 28, 32]) {
    for (const inLen of [0, 3, 64, 65, 255, 1024]) {
      const input = seq(inLen, inLen);
      parts.push(unkeyed(outLen, input));
      parts.push(blake2sMac(seq(outLen, outLen), outLen, input));
    }
  }
  assertEquals(
    toHex(blake2sHash(...parts)),
    "6a411f08ce25adcdfb02aba641451cec53c598b24f4fc787fbdc88797f4c1dfe",
  );
});

function unkeyed(outLen: number, input: Uint8Array): Uint8Array {
  return blake2sMac(new Uint8Array(0), outLen, input);
}

/** HKDF-BLAKE2s as WireGuard uses it; vectors from wireguard-go device/kdf_test.go. */
const KDF_VECTORS = [
  {
    key: "746573742d6b6579",
    input: "746573742d696e707574",
    t: [
      "6f0e5ad38daba1bea8a0d213688736f19763239305e0f58aba697f9ffc41c633",
      "df1194df20802a4fe594cde27e92991c8cae66c366e8106aaa937a55fa371e8a",
      "fac6e2745a325f5dc5d11a5b165aad08b0ada28e7b4e666b7c077934a4d76c24",
    ],
  },
  {
    key: "776972656775617264",
    input: "776972656775617264",
    t: [
      "491d43bbfdaa8750aaf535e334ecbfe5129967cd64635101c566d4caefda96e8",
      "1e71a379baefd8a79aa4662212fcafe19a23e2b609a3db7d6bcba8f560e3d25f",
      "31e1ae48bddfbe5de38f295e5452b1909a1b4e38e183926af3780b0c1e1f0160",
    ],
  },
  {
    key: "",
    input: "",
    t: [
      "8387b46bf43eccfcf349552a095d8315c4055beb90208fb1be23b894bc2ed5d0",
      "58a0e5f6faefccf4807bff1f05fa8a9217945762040bcec2f4b4a62bdfe0e86e",
      "0ce6ea98ec548f8e281e93e32db65621c45eb18dc6f0a7ad94178610a2f7338e",
    ],
  },
];

Deno.test("hkdfBlake2s() matches the wireguard-go KDF vectors for 1, 2 and 3 outputs", () => {
  for (const v of KDF_VECTORS) {
    for (const n of [1, 2, 3] as const) {
      const out = hkdfBlake2s(fromHex(v.key), fromHex(v.input), n);
      assertEquals(out.map(toHex), v.t.slice(0, n), `key ${v.key} n=${n}`);
    }
  }
});

/** RFC 2104 HMAC written out from blake2sHash, to check hmacBlake2s by a second computation. */
function hmacByHand(key: Uint8Array, data: Uint8Array): Uint8Array {
  const block = 64;
  let k = key.length > block ? blake2sHash(key) : key;
  const padded = new Uint8Array(block);
  padded.set(k);
  k = padded;
  const ipad = k.map((b) => b ^ 0x36);
  const opad = k.map((b) => b ^ 0x5c);
  return blake2sHash(opad, blake2sHash(ipad, data));
}

/** RFC 4231-shaped cases (key and data lengths, including a key longer than the block). */
const HMAC_CASES = [
  { name: "4231 case 1 shape", key: new Uint8Array(20).fill(0x0b), data: enc.encode("Hi There") },
  {
    name: "4231 case 2 shape",
    key: enc.encode("Jefe"),
    data: enc.encode("what do ya want for nothing?"),
  },
  {
    name: "4231 case 3 shape",
    key: new Uint8Array(20).fill(0xaa),
    data: new Uint8Array(50).fill(0xdd),
  },
  {
    name: "4231 case 6 shape (131-byte key)",
    key: new Uint8Array(131).fill(0xaa),
    data: enc.encode("Test Using Larger Than Block-Size Key - Hash Key First"),
  },
  { name: "empty key and data", key: new Uint8Array(0), data: new Uint8Array(0) },
];

Deno.test("hmacBlake2s() equals RFC 2104 HMAC built by hand over blake2sHash", () => {
  for (const c of HMAC_CASES) {
    assertEquals(toHex(hmacBlake2s(c.key, c.data)), toHex(hmacByHand(c.key, c.data)), c.name);
  }
});

Deno.test("WireGuard's C0 and H0 come out of blake2sHash as PROTOCOL.md 7.2 gives them", () => {
  const c0 = blake2sHash(enc.encode("Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"));
  assertEquals(toHex(c0), "60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36");
  const h0 = blake2sHash(c0, enc.encode("WireGuard v1 zx2c4 Jason@zx2c4.com"));
  assertEquals(toHex(h0), "2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3");
});
