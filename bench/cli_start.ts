// deno-lint-ignore-file no-console -- a benchmark prints its figures
/**
 * How long the `tailnet` CLI takes to start and finish, beside bare Deno and Go's `tailscale`:
 * wall time of whole processes, median of BENCH_RUNS (default 15) runs each, interleaved so
 * that load on the machine hits every subject alike.
 *
 * - bare deno: `deno run` of a one-line script (the floor for any Deno program);
 * - `tailnet version`: main.ts under `deno run`, as `deno task tailnet` runs it;
 * - `tailnet status`: the same, against a running daemon of ours (`--state mem:`, not logged in,
 *   so it prints `Logged out.` and exits 1 after one LocalAPI round trip);
 * - Go `tailscale version`: the lab-built binary, when `deno task lab build` has built it.
 *
 * Run: `deno task bench:cli`. Nothing is asserted; the figures and ratios are printed.
 * @module
 */
import { DAEMON_V8_FLAGS } from "../src/cli/daemon_permissions.ts";
import { tailscaleBin } from "../tests/lab/paths.ts";
import { waitFor } from "../tests/lab/wait.ts";

if (!import.meta.main) throw new Error("bench/cli_start.ts is a program, not a module");

const RUNS = Number(Deno.env.get("BENCH_RUNS") ?? 15);
const MAIN = new URL("../main.ts", import.meta.url).pathname;
/** The flags of `deno task tailnet`. */
const DENO_RUN = [
  "run",
  ...DAEMON_V8_FLAGS,
  "--unstable-net",
  "--allow-net",
  "--allow-env",
  "--allow-sys",
  "--allow-read",
  "--allow-write",
];

/** One process to time: the program and its arguments. */
interface Subject {
  label: string;
  cmd: string;
  args: string[];
  /** The exit code it ends with (default 0). */
  exitCode?: number;
}

async function wallMs(s: Subject): Promise<number> {
  const t0 = performance.now();
  const out = await new Deno.Command(s.cmd, {
    args: s.args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const ms = performance.now() - t0;
  if (out.code !== (s.exitCode ?? 0)) {
    throw new Error(`${s.label} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return ms;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const dir = await Deno.makeTempDir({ prefix: "tailnet-bench-cli-" });
const socket = `${dir}/tailnetd.sock`;
const daemon = new Deno.Command(Deno.execPath(), {
  args: [...DENO_RUN, MAIN, "daemon", "--state", "mem:", "--socket", socket, "--port", "0"],
  stdin: "null",
  stdout: "null",
  stderr: "null",
  env: { NO_COLOR: "1" },
}).spawn();
try {
  const oneLiner = `${dir}/one_line.ts`;
  await Deno.writeTextFile(oneLiner, 'console.log("hello");\n');
  const subjects: Subject[] = [
    { label: "bare deno run (one line)", cmd: Deno.execPath(), args: ["run", oneLiner] },
    { label: "tailnet version", cmd: Deno.execPath(), args: [...DENO_RUN, MAIN, "version"] },
    {
      // Not logged in, so it prints "Logged out." and exits 1, as `tailscale status` does.
      label: "tailnet status (daemon up)",
      cmd: Deno.execPath(),
      args: [...DENO_RUN, MAIN, "--socket", socket, "status"],
      exitCode: 1,
    },
  ];
  const goTailscale = tailscaleBin("tailscale");
  const haveGo = await Deno.stat(goTailscale).then((s) => s.isFile, () => false);
  if (haveGo) subjects.push({ label: "Go tailscale version", cmd: goTailscale, args: ["version"] });
  else console.log(`(no ${goTailscale}: 'deno task lab build' builds it)`);

  await waitFor("the daemon to answer on its socket", async () => {
    const r = await new Deno.Command(Deno.execPath(), {
      args: [...DENO_RUN, MAIN, "--socket", socket, "status", "--json"],
      stdout: "null",
      stderr: "null",
    }).output();
    return r.success;
  }, { timeoutMs: 30_000 });

  // One untimed round warms Deno's module and code caches for every subject.
  for (const s of subjects) await wallMs(s);
  const times = new Map<string, number[]>(subjects.map((s) => [s.label, []]));
  for (let i = 0; i < RUNS; i++) {
    for (const s of subjects) times.get(s.label)!.push(await wallMs(s));
  }
  const bare = median(times.get(subjects[0].label)!);
  console.log(`median wall time of ${RUNS} runs each:`);
  for (const s of subjects) {
    const m = median(times.get(s.label)!);
    console.log(
      `  ${s.label.padEnd(28)} ${m.toFixed(0).padStart(5)} ms  ${(m / bare).toFixed(2)}x bare deno`,
    );
  }
} finally {
  daemon.kill("SIGTERM");
  await daemon.status;
  await Deno.remove(dir, { recursive: true });
}
