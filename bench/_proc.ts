/**
 * What /proc says about one process: CPU seconds used so far, resident memory (now, and its
 * high-water mark), and a sampler of RSS while something runs. Shared by the benches that
 * compare our daemon with a real tailscaled (`main.ts`, `idle_memory.ts`, `control_scale.ts`).
 * @module
 */

/** Clock ticks per second of /proc/PID/stat (USER_HZ, 100 on Linux everywhere). */
const TICKS_PER_SECOND = 100;

/**
 * CPU seconds (user + system) a process has used, from /proc/PID/stat.
 * @param pid the process
 * @returns utime + stime, seconds
 */
export function cpuSeconds(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // Fields after the command name (which may hold spaces) start at "state"; utime and stime
  // are fields 14 and 15 of the line, i.e. 11 and 12 after it.
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND;
}

/** Resident memory of a process, MiB. */
export interface Memory {
  /** VmRSS: resident now. */
  total: number;
  /** RssAnon: heaps, stacks. */
  anon: number;
  /** RssFile + RssShmem: code and mapped files. */
  file: number;
  /** VmHWM: the most it was ever resident. */
  peak: number;
}

/**
 * Resident memory of a process now, from /proc/PID/status.
 * @param pid the process
 * @returns MiB: total, anonymous, file-backed and the high-water mark
 */
export function memoryOf(pid: number): Memory {
  const s = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = (f: string) => Number(s.match(new RegExp(`${f}:\\s+(\\d+) kB`))?.[1] ?? NaN) / 1024;
  return {
    total: kb("VmRSS"),
    anon: kb("RssAnon"),
    file: kb("RssFile") + kb("RssShmem"),
    peak: kb("VmHWM"),
  };
}

/**
 * The highest VmRSS of a process while the sampler runs (every `intervalMs`), for a peak
 * "under load" that excludes whatever the process reached before.
 */
export class RssSampler {
  readonly #pid: number;
  readonly #timer: ReturnType<typeof setInterval>;
  #max: number;

  /**
   * Starts sampling.
   * @param pid the process
   * @param intervalMs how often
   */
  constructor(pid: number, intervalMs = 100) {
    this.#pid = pid;
    this.#max = memoryOf(pid).total;
    this.#timer = setInterval(() => this.#sample(), intervalMs);
  }

  #sample(): void {
    try {
      this.#max = Math.max(this.#max, memoryOf(this.#pid).total);
    } catch {
      // The process is gone; keep what was seen.
    }
  }

  /**
   * Stops sampling.
   * @returns the highest VmRSS seen, MiB
   */
  stop(): number {
    clearInterval(this.#timer);
    this.#sample();
    return this.#max;
  }
}
