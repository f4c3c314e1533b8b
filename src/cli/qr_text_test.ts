/**
 * The login QR code against go-qrcode (the library `tailscale up --qr` uses), whose
 * `ToSmallString(false)` output for these inputs was captured with go-qrcode
 * v0.0.0-20200617195104-da1b6568686e at level Medium; and decoded back with the library's
 * own reader from a rendered image.
 */
import { assert, assertEquals } from "../engine/base/testing/assert.ts";
import { decodeQR } from "./_deps.ts";
import { qrLines, qrModules } from "./_qr_text.ts";

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

Deno.test("qrLines() prints what go-qrcode prints for a headscale login URL (version 5)", () => {
  assertEquals(qrModules(HEADSCALE_URL).length, 37);
  assertEquals(qrLines(HEADSCALE_URL), HEADSCALE_URL_GO);
});

Deno.test("qrLines() matches go-qrcode at version 7 (version information drawn)", () => {
  assertEquals(qrModules(LONG_URL).length, 45);
  assertEquals(qrLines(LONG_URL), LONG_URL_GO);
});

Deno.test("qrModules(): finder patterns in three corners; the symbol decodes back to the URL", () => {
  const m = qrModules(HEADSCALE_URL);
  const n = m.length;
  // A finder: a dark 7x7 ring, a light ring, a dark 3x3 core.
  const finderAt = (top: number, left: number) => {
    for (let y = 0; y < 7; y++) {
      for (let x = 0; x < 7; x++) {
        const ring = Math.max(Math.abs(y - 3), Math.abs(x - 3));
        assertEquals(m[top + y][left + x], ring !== 2, `finder at ${top},${left}: ${y},${x}`);
      }
    }
  };
  finderAt(0, 0);
  finderAt(0, n - 7);
  finderAt(n - 7, 0);
  assert(m.every((row) => row.length === n));
  // Rendered at 4 pixels a module with a 4-module border, as a camera would see it.
  const scale = 4;
  const size = (n + 8) * scale;
  const data = new Uint8Array(size * size * 4).fill(255);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      if (!m[y][x]) continue;
      for (let dy = 0; dy < scale; dy++) {
        for (let dx = 0; dx < scale; dx++) {
          const at = (((y + 4) * scale + dy) * size + (x + 4) * scale + dx) * 4;
          data.fill(0, at, at + 3);
        }
      }
    }
  }
  assertEquals(decodeQR({ width: size, height: size, data }), HEADSCALE_URL);
});

Deno.test("qrLines() draws a 4-module light border", () => {
  const lines = qrLines("hello");
  assertEquals(lines.length, Math.ceil((21 + 8) / 2));
  assertEquals(lines[0], "█".repeat(29));
  assertEquals(lines[1], "█".repeat(29));
});
