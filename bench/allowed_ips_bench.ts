/**
 * WireGuard's peer-by-address lookup (`AllowedIps.lookup`), which every packet sent (by
 * destination) and received (source check) makes: 10,000 peers with one IPv4 and one IPv6
 * address each, drawn at random from Tailscale's ranges as its control assigns them, and the
 * default routes an exit node adds. 1,000 lookups an iteration.
 *
 * Run: `deno bench bench/allowed_ips_bench.ts`.
 * @module
 */
import { AllowedIps, parsePrefix } from "../src/engine/wg/allowed_ips.ts";

const PEERS = 10_000;
const table = new AllowedIps<number>();
const v4: Uint8Array[] = [];
const v6: Uint8Array[] = [];
for (let i = 0; i < PEERS; i++) {
  const [a, b] = crypto.getRandomValues(new Uint32Array(2));
  const p4 = parsePrefix(`100.${64 + (a >>> 26)}.${(a >>> 8) & 255}.${a & 255}/32`);
  const p6 = parsePrefix(`fd7a:115c:a1e0::${(b >>> 16).toString(16)}:${(b & 0xffff).toString(16)}`);
  table.insert(p4, i);
  table.insert(p6, i);
  v4.push(p4.addr);
  v6.push(p6.addr);
}
table.insert(parsePrefix("0.0.0.0/0"), -1);
table.insert(parsePrefix("::/0"), -1);
const elsewhere = new Uint8Array([192, 0, 2, 1]);
let sink = 0;

Deno.bench(`lookup a peer's IPv4 address among ${PEERS}, x1000`, () => {
  for (let i = 0; i < 1000; i++) sink += table.lookup(v4[i], 0, 4)!;
});

Deno.bench(`lookup a peer's IPv6 address among ${PEERS}, x1000`, () => {
  for (let i = 0; i < 1000; i++) sink += table.lookup(v6[i], 0, 16)!;
});

Deno.bench("lookup an address only the default route holds, x1000", () => {
  for (let i = 0; i < 1000; i++) sink += table.lookup(elsewhere, 0, 4)!;
});

globalThis.addEventListener("unload", () => {
  if (sink === 0.5) throw new Error("unreachable");
});
