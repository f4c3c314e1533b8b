import { assertEquals, assertThrows } from "../base/testing/assert.ts";
import {
  MAX_PLAINTEXT_LEN,
  MAX_RECORD_LEN,
  parseRecordHeader,
  RecordCipher,
  recordLen,
  recordNonce,
  recordsLen,
  RecordSplitter,
} from "./noise_records.ts";
import { fromHex, toHex } from "../key/keys.ts";
import { ParseError } from "../base/errors.ts";
import { NOISE_SESSION as session } from "../crypto/testing/noise_session.ts";

Deno.test("RecordCipher.open() opens headscale's records with big-endian nonces 0..3", () => {
  const rx = new RecordCipher(fromHex(session.receiveKey));
  const plains = session.serverRecords.map((r) => toHex(rx.open(fromHex(r))));
  assertEquals(plains, session.serverPlaintexts);
  // The early payload as headscale writes it: magic, length, JSON in three records.
  assertEquals(plains[0], "ffffff5453");
  assertEquals(plains[1], "0000005f");
  assertEquals(rx.counter, 4);
});

Deno.test("RecordCipher.open() fails when a nonce is skipped (so order and byte order matter)", () => {
  const rx = new RecordCipher(fromHex(session.receiveKey));
  rx.open(fromHex(session.serverRecords[0]));
  assertThrows(() => rx.open(fromHex(session.serverRecords[2])), ParseError, "authentication");
});

Deno.test("RecordCipher.seal() reproduces the client record headscale answered", () => {
  const tx = new RecordCipher(fromHex(session.sendKey));
  assertEquals(toHex(tx.sealAll(fromHex(session.clientPlaintext))), session.clientRecord);
});

Deno.test("RecordCipher.seal() writes at an offset and leaves bytes before it untouched", () => {
  const plain = fromHex(session.clientPlaintext);
  const out = new Uint8Array(3 + recordLen(plain.length) + 2).fill(0xa5);
  const end = new RecordCipher(fromHex(session.sendKey)).seal(plain, out, 3);
  assertEquals(end, 3 + recordLen(plain.length));
  assertEquals([...out.subarray(0, 3)], [0xa5, 0xa5, 0xa5]);
  assertEquals([...out.subarray(end)], [0xa5, 0xa5]);
  assertEquals(toHex(out.subarray(3, end)), session.clientRecord);
});

Deno.test("recordNonce() puts the counter big-endian in the last 8 bytes", () => {
  assertEquals(toHex(recordNonce(1)), "000000000000000000000001");
  assertEquals(toHex(recordNonce(0x1_0000_0002)), "000000000000000100000002");
});

Deno.test("RecordCipher.sealAll() splits at 4077 plaintext bytes per record", () => {
  const tx = new RecordCipher(new Uint8Array(32).fill(7));
  const rx = new RecordCipher(new Uint8Array(32).fill(7));
  const data = new Uint8Array(10_000).map((_, i) => i & 0xff);
  const wire = tx.sealAll(data);
  assertEquals(wire.length, recordsLen(data.length));
  assertEquals(wire.length, 2 * MAX_RECORD_LEN + recordLen(10_000 - 2 * MAX_PLAINTEXT_LEN));
  const split = new RecordSplitter();
  split.push(wire);
  const sizes: number[] = [];
  const got: number[] = [];
  for (let r = split.next(); r !== null; r = split.next()) {
    sizes.push(r.length);
    got.push(...rx.open(r));
  }
  assertEquals(sizes, [4096, 4096, recordLen(10_000 - 2 * MAX_PLAINTEXT_LEN)]);
  assertEquals(got, [...data]);
  assertEquals(recordsLen(0), recordLen(0));
  assertThrows(
    () => tx.seal(new Uint8Array(MAX_PLAINTEXT_LEN + 1), new Uint8Array(5000)),
    RangeError,
  );
});

Deno.test("RecordSplitter hands out records across arbitrary chunking", () => {
  const wire = fromHex(session.serverRecords.join(""));
  for (const step of [1, 2, 7, 64, wire.length]) {
    const split = new RecordSplitter();
    const out: string[] = [];
    for (let i = 0; i < wire.length; i += step) {
      split.push(wire.subarray(i, i + step));
      for (let r = split.next(); r !== null; r = split.next()) out.push(toHex(r));
    }
    assertEquals(out, session.serverRecords, `step ${step}`);
    assertEquals(split.pending, 0);
  }
});

Deno.test("RecordSplitter rejects a record longer than 4096 bytes; open() rejects bad types", () => {
  const split = new RecordSplitter();
  split.push(new Uint8Array([4, 0x10, 0x00]));
  assertThrows(() => split.next(), ParseError, "exceeds 4096");
  const rec = fromHex(session.serverRecords[0]);
  rec[0] = 2;
  assertThrows(() => new RecordCipher(fromHex(session.receiveKey)).open(rec), ParseError, "type 2");
  assertEquals(parseRecordHeader(new Uint8Array([4, 0])), null);
  assertEquals(parseRecordHeader(new Uint8Array([9, 4, 4, 0]), 1), { type: 4, length: 0x400 });
});
