// deno-lint-ignore-file no-console -- a measurement prints its findings
/**
 * System calls our daemon makes per transfer on the direct path: the lab with one real
 * tailscaled, our daemon, and `strace -c -f` attached to it during a transfer each way
 * (BENCH_MIB, default 20). Per-datagram costs dominate the data path, so the counts of
 * `sendto` (UDP sends and writes to local TCP sockets both show as sendto) and `recvfrom`
 * per MiB say what batching saved; throughput under strace is not meaningful.
 *
 * Run in a network namespace: `deno task bench:syscalls`
 * (needs `strace`).
 * @module
 */
import { Lab } from "../tests/lab/mod.ts";
import { PortClaims } from "../tests/lab/ports.ts";
import { TailnetDaemon } from "../tests/lab/tailnet_daemon.ts";
import { socks5Transfer } from "../tests/lab/transfer.ts";

if (!import.meta.main) throw new Error("bench/syscalls_direct.ts is a program, not a module");

const MIB = Number(Deno.env.get("BENCH_MIB") ?? 20);

await using lab = await Lab.start({ tailscaleds: 1 });
const ts1 = lab.nodes[0];
const ports = new PortClaims(`syscalls-${Deno.pid}`);
await using _ports = { [Symbol.asyncDispose]: () => ports.releaseAll() };
const socks5 = `127.0.0.1:${await ports.claim()}`;
await using tn = await TailnetDaemon.create({ args: ["--socks5-server", socks5] });
const { v4: tnIp } = await tn.up(lab.controlUrl, lab.authKey, "tn-syscalls");
const ts1Ip = (await ts1.ips()).find((i) => i.includes("."))!;
// Let disco find the direct path before measuring.
for (let i = 0; i < 10; i++) await tn.cli(["ping", "-c", "1", ts1Ip]);
console.log((await tn.cli(["ping", "-c", "1", ts1Ip])).stdout.trim());

for (const dir of ["us -> real", "real -> us"]) {
  const strace = new Deno.Command("strace", {
    args: ["-c", "-f", "-p", String(tn.pid)],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  await new Promise((r) => setTimeout(r, 500)); // attached
  if (dir === "us -> real") await socks5Transfer(socks5, ts1Ip, MIB << 20);
  else await socks5Transfer(ts1.socks5Addr, tnIp, MIB << 20);
  strace.kill("SIGINT");
  const table = new TextDecoder().decode((await strace.output()).stderr);
  const counts = new Map<string, number>();
  for (const line of table.split("\n")) {
    const m = line.trim().match(/^[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$/);
    if (m) counts.set(m[2], Number(m[1]));
  }
  const per = (name: string) => ((counts.get(name) ?? 0) / MIB).toFixed(0);
  console.log(
    `${dir} ${MIB} MiB: sendto ${counts.get("sendto") ?? 0} (${per("sendto")}/MiB), ` +
      `recvfrom ${counts.get("recvfrom") ?? 0} (${per("recvfrom")}/MiB), ` +
      `write ${counts.get("write") ?? 0}, read ${counts.get("read") ?? 0}`,
  );
}
