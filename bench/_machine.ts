/**
 * The machine a benchmark ran on, printed beside its figures: CPU model and cores, the load
 * average (the machine may be shared), and the versions of Deno, V8, TypeScript, Go and the
 * lab's tailscaled and headscale.
 * @module
 */
import { headscaleBin, tailscaleBin } from "../tests/lab/paths.ts";
import { runCommand } from "../tests/lab/run_command.ts";

/** What a run was measured on. */
export interface Machine {
  /** CPU model name from /proc/cpuinfo. */
  cpu: string;
  /** Logical cores this process may use. */
  cores: number;
  /** Linux kernel release. */
  kernel: string;
  /** Deno, V8 and TypeScript versions of this process. */
  deno: string;
  v8: string;
  typescript: string;
  /** The Go release that built the lab's tailscaled. */
  go: string;
  /** The lab's tailscaled and headscale versions. */
  tailscaled: string;
  headscale: string;
}

/**
 * The 1, 5 and 15 minute load averages.
 * @returns e.g. "1.52 0.98 0.77"
 */
export function loadAverage(): string {
  return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
}

async function firstLine(cmd: string, args: string[]): Promise<string> {
  try {
    const r = await runCommand(cmd, { args }, 10_000);
    return (r.stdout || r.stderr).trim().split("\n")[0] ?? "?";
  } catch {
    return "?";
  }
}

/**
 * Reads the machine and the versions.
 * @param tailscaleVersion the lab's tailscale release
 * @returns what was found ("?" where a program did not answer)
 */
export async function describeMachine(tailscaleVersion: string): Promise<Machine> {
  const cpuinfo = Deno.readTextFileSync("/proc/cpuinfo");
  const tailscaled = tailscaleBin("tailscaled", tailscaleVersion);
  // `go version FILE` names the Go release that built FILE: "path: go1.26.8".
  const go = (await firstLine("go", ["version", tailscaled])).split(": ").pop() ?? "?";
  return {
    cpu: cpuinfo.match(/model name\s*:\s*(.+)/)?.[1]?.trim() ?? "?",
    cores: navigator.hardwareConcurrency,
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    go,
    tailscaled: await firstLine(tailscaled, ["--version"]),
    headscale: (await firstLine(headscaleBin(), ["version"])).replace(/^headscale version /, ""),
  };
}
