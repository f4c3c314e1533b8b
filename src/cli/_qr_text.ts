/**
 * The login QR code of `tailnet up --qr`, encoded by `@paulmillr/qr` (byte mode, error
 * correction M as `tailscale up --qr` uses) and printed with half blocks, two module rows per
 * line, light modules drawn and a 4-module border, as go-qrcode's `ToSmallString(false)` that
 * `tailscale` prints.
 * @module
 */
import { encodeQR } from "./_deps.ts";

/** The light border go-qrcode draws around the symbol, in modules. */
const QUIET_ZONE = 4;

/**
 * The QR symbol for `text`: modules by row, then column, true for dark; no border.
 * @param text what the code holds (a login URL)
 * @returns the module matrix
 */
export function qrModules(text: string): boolean[][] {
  return encodeQR(text, "raw", { ecc: "medium", encoding: "byte", border: 0 });
}

/**
 * The QR code for `text` as terminal lines, as `tailscale up --qr` prints it.
 * @param text what the code holds
 * @returns lines of text
 * @example
 * ```ts
 * import { qrLines } from "./_qr_text.ts";
 * for (const line of qrLines("https://login.example/a/1")) console.log(line);
 * ```
 */
export function qrLines(text: string): string[] {
  const modules = qrModules(text);
  const n = modules.length + 2 * QUIET_ZONE;
  const dark = (y: number, x: number) => modules[y - QUIET_ZONE]?.[x - QUIET_ZONE] === true;
  const lines: string[] = [];
  for (let y = 0; y < n; y += 2) {
    let line = "";
    for (let x = 0; x < n; x++) {
      const top = dark(y, x);
      // An odd last row has no partner below: it is drawn over a dark half.
      const bottom = y + 1 < n ? dark(y + 1, x) : null;
      if (bottom === null) line += top ? " " : "▀";
      else if (top === bottom) line += top ? " " : "█";
      else line += top ? "▄" : "▀";
    }
    lines.push(line);
  }
  return lines;
}
