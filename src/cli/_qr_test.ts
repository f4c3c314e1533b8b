/**
 * The QR encoder against go-qrcode (the library `tailscale up --qr` uses), whose
 * `ToSmallString(false)` output for these inputs was captured with go-qrcode
 * v0.0.0-20200617195104-da1b6568686e at level Medium.
 */
import { assertEquals, assertThrows } from "../engine/base/testing/assert.ts";
import { encodeQr, qrToSmallString } from "./_qr.ts";

// A headscale login URL as the lab printed it: version 5, mask 4.
const HEADSCALE_URL = "http://127.0.0.1:34369/register/hskey-authreq-qI20agEUfUSZOYY3rYTxfrdF";
const HEADSCALE_URL_GO = [
  "█████████████████████████████████████████████",
  "█████████████████████████████████████████████",
  "████ ▄▄▄▄▄ █▄▄ ▀▄▀▀▄█▀▀ ▄█ ▄▀  █▄█ ▄▄▄▄▄ ████",
  "████ █   █ █▀  ▄▄▀█▄▄▄ █▀▄█▀▄▀▄█▄█ █   █ ████",
  "████ █▄▄▄█ █  █▄▄▀▀▄▀ ▄▀▀▀█▄▀██▄██ █▄▄▄█ ████",
  "████▄▄▄▄▄▄▄█ █▄▀ ▀▄█ █▄█▄▀ █▄█ █▄█▄▄▄▄▄▄▄████",
  "████ █▀█▄▀▄ ▄▀█▄█  ▄▄▀▀▀▄▄▄▀▄▄█▄ ▄▄▄ ▄█▀▄████",
  "████▀▀▀█▀▀▄ ▄▀ ▀▀▀█ ▀▀▀ ▀▀█ █▄█▄▀ ▀▄█▀ ▀█████",
  "█████▀ ▀▄▄▄▀▄█▀▄ ██▀▀▄▀█▄▄▄ ██▄▀█▀▄▀▀▀▄ ▄████",
  "████  ▄█▄▄▄█▀█▀▀ ▀▀ ▄ ▀▀  ▀▄ █▀  █▀▄█▄ ██████",
  "████  ▀▀▀▄▄█▄  █▄▄ █▀█▄▀▀▀▄ █ ██ ▄ ▄▀   ▄████",
  "████ ▄██▀█▄▄ ▀  ▄▀ █▄  █▄ ▄ ▀▄▀ ██▀███ ▀█████",
  "████▄  ▀▀▀▄▄▄ ▄█▀█▀   █▄ ▄ ▀ █▄▀▄█▄▀▀▄▄██████",
  "████ ▄█▄█ ▄▄█ ▄█▄▄▀ ██▄▀█▀▀ ▄█▀▄▄██    ▀▀████",
  "████ █▄▀ ▀▄▀▄▀▀▄ ▀ █▄▀▀ ▄██▄█▀▄▄   ▀▀▄▄█▄████",
  "██████▀▀█▄▄▄▄███▄▀█ ▀ ▀ ▀▀▄ ▄█▄▄▄▀ █▄█ ▀▀████",
  "████▄▄▄▄▄█▄▄▀███▀  ▀ ▄ ██   ▀▀▄█ ▄▄▄ █▀ ▄████",
  "████ ▄▄▄▄▄ █▄█▀▀▄▀  ▀ ▀█ █▀▄▀▄▀▀ █▄█  ▀▀█████",
  "████ █   █ █▄▀  ▄▀▀█▀▀▄ ▀█▄██▀██▄▄  ▄█ █▀████",
  "████ █▄▄▄█ ██  ▀ █ █▄  █▄ ▀▄█▄▀ ▄█▄▀▀▀ ▀█████",
  "████▄▄▄▄▄▄▄█▄████▄█▄█▄█▄▄▄▄███▄▄█▄▄██▄▄▄▄████",
  "█████████████████████████████████████████████",
  "▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀",
];

// 119 bytes: version 7, which adds the version-information blocks; mask 7.
const LONG_URL =
  "https://login.example.test/a/abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl";
const LONG_URL_GO = [
  "█████████████████████████████████████████████████████",
  "█████████████████████████████████████████████████████",
  "████ ▄▄▄▄▄ ████ ▄▀█▀▄▀▀▄▄▀█▄█▄ ▀█  ▀▀▀█▀▄█ ▄▄▄▄▄ ████",
  "████ █   █ ███   ▄▀█▀█▄ ▀  █▄▄█▄█ ▄▄▄██ ▀█ █   █ ████",
  "████ █▄▄▄█ █▀▀ ▀▀▄▀█▄██  ▄▄▄ ▀▄▄█  ▀▄▄▄▄▄█ █▄▄▄█ ████",
  "████▄▄▄▄▄▄▄█▄▀ █▄█ █▄█▄▀ █▄█ ▀ ▀▄█▄▀ █▄█▄█▄▄▄▄▄▄▄████",
  "████▄██ █ ▄█ ▀▄▀  ▄ ▀▄▄▀▄▄▄  ██ ▄█▄ ██▄██ █▄▀▀██▀████",
  "████▄ ▄ ▄▄▄█▀  ▄ █▄▄  ▀▄▄▄█ ▄▄▀▀▀▄▀█▄▀  ▀█▀█▀ █▀ ████",
  "█████ ▄ ▄ ▄▄█▄  ▄█▀▄   ▀▀▀█▀▀▀█  ██  ▄▀██ █  ▀▀█▀████",
  "████ ▀▄▄▄▀▄▄▀▄▄█▄▀ ▄ █▄█▄██▀▄ ▄▄ ▄█  ▀█ ▀█ ▀ ▄▄ █████",
  "████▀▀▀ █ ▄███▄  ▀█▀▄▄  ▄▀▄  █ ▄█ ▄ ▄██▀█▄ ▄▀▀▀▀█████",
  "████▄ █▀▀█▄▀▀▀▀ ▀█▄▀▄▀▀▀█▄▀▄▄▀███ █ ▀▄▀▄▀██▀█▄▄  ████",
  "████▀▀▄█ ▄▄▄   ▀▄▀  ▀▀ ▄ ▄▄▄ █▄ ▄█▄ █▄▄█ ▄▄▄ ▄█ ▀████",
  "████▀▄ ▀ █▄█ ▄ ▀▀▀█▄█▄▀  █▄█ ▄▀▄▀ █▄█▄ ▄ █▄█ ▀▄▀▄████",
  "█████▄██▄▄▄  ▀▀▄▄█ ▄▀ █▀ ▄▄  ▄▄▄ ██  ▄▀▄▄ ▄▄ ▄██ ████",
  "████▄ ██▄█▄███▄▄   █ ▄██ █▄▄██▄ ▀▀█▀▀█▀▄ ▄▀██▄▄▄▀████",
  "████▀  █ ▄▄  ▀▄  ▀▄ ▄▄▀▀  ▀▀▄█▀▄▀ ▄▀▄██▀  █▄▄█▀▀▄████",
  "████▄▄▄▀▄▄▄█▀▄▀██▀▀ ▀▀▀█  ▄██▄██▄▀▀▄▀▀▀▄ █ ▀ ▄▄  ████",
  "████▀▀▀▄██▄▄█ ▄ ▄█▄██▀▄▄▀    █▄ ▄▄▄▄█▄▄ █▀▄▄█▄▀▀ ████",
  "█████▀▀▀ █▄▀▄▀▄▀▀█▀██▄ ▄██ ▀█▄▀█ ██▄█▄▄ ▄▀▄▄ ▀█▀▄████",
  "████▄██▄▄█▄▄ ▄▄▄▄▄▀█▄▄▄█ ▄▄▄  █▄▄██  █▀█ ▄▄▄ ██▄ ████",
  "████ ▄▄▄▄▄ █▀▀▄ █▄▀██ ▄▄ █▄█ █ ▀ ██▄▀▄██ █▄█ ▄▄▄█████",
  "████ █   █ █▀▄ ▄█▄▀  ▀  ▄▄▄  ▄▀▄█ █▀▄▄▄  ▄▄   █▄▄████",
  "████ █▄▄▄█ ██ ▀▀  ▀███▄█ █▀█ ▄▀▀▄ ██ ██   ▄ ▄▄▄▄▄████",
  "████▄▄▄▄▄▄▄█▄█▄███▄██▄████▄█▄██▄▄▄█▄█▄▄▄▄█▄██▄█▄█████",
  "█████████████████████████████████████████████████████",
  "▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀",
];

Deno.test("encodeQr() matches go-qrcode for a headscale login URL (version 5)", () => {
  const q = encodeQr(HEADSCALE_URL);
  assertEquals(q.version, 5);
  assertEquals(q.mask, 4);
  assertEquals(qrToSmallString(q), HEADSCALE_URL_GO);
});

Deno.test("encodeQr() matches go-qrcode at version 7 (version information drawn)", () => {
  const q = encodeQr(LONG_URL);
  assertEquals(q.version, 7);
  assertEquals(qrToSmallString(q), LONG_URL_GO);
});

Deno.test("encodeQr() picks the smallest version and refuses more than version 10", () => {
  assertEquals(encodeQr("hello").version, 1);
  assertEquals(encodeQr("x".repeat(62)).version, 4);
  assertEquals(encodeQr("x".repeat(63)).version, 5);
  assertThrows(() => encodeQr("x".repeat(214)), RangeError, "version 10");
});

Deno.test("qrToSmallString() draws a 4-module light border", () => {
  const lines = qrToSmallString(encodeQr("hello"));
  assertEquals(lines.length, Math.ceil((21 + 8) / 2));
  assertEquals(lines[0], "█".repeat(29));
  assertEquals(lines[1], "█".repeat(29));
});
