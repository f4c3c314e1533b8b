/**
 * The registry of running labs: one JSON file per lab under `<cache>/run/`, naming the process
 * that owns the lab, its work dir and the PIDs it started. A lab keeps its entry current and
 * deletes it on close; `deno task lab down` ({@linkcode sweepLabs}) stops and removes whatever a
 * killed lab left behind, by the PIDs written here and never by program name.
 * @module
 */

import { join } from "node:path";
import { runDir } from "./paths.ts";
import { processAlive } from "./ports.ts";

/** One program of a lab, as recorded. */
export interface RegisteredProcess {
  /** Short name ("headscale", "derper", "ts1"). */
  name: string;
  /** Its PID. */
  pid: number;
  /** Absolute path of its binary: a PID is only killed while it still runs this binary. */
  cmd: string;
}

/** A lab as recorded in the registry. */
export interface RegistryEntry {
  /** Lab id (also the file name). */
  id: string;
  /** PID of the process that runs the lab (a test, `lab up`). */
  ownerPid: number;
  /** The lab's temporary folder. */
  workDir: string;
  /** When it started (ISO time). */
  startedAt: string;
  /** Programs currently running. */
  processes: RegisteredProcess[];
}

/** The registry entry of one lab, kept current as programs start and stop. */
export class RegistryRecord {
  readonly #path: string;
  readonly #entry: RegistryEntry;
  #writes: Promise<void> = Promise.resolve();
  #removed = false;

  private constructor(path: string, entry: RegistryEntry) {
    this.#path = path;
    this.#entry = entry;
  }

  /**
   * Writes a new entry.
   * @param id lab id
   * @param workDir the lab's temporary folder
   * @param dir registry folder (default: under the lab cache)
   */
  static async create(
    id: string,
    workDir: string,
    dir: string = runDir(),
  ): Promise<RegistryRecord> {
    await Deno.mkdir(dir, { recursive: true });
    const rec = new RegistryRecord(join(dir, `${id}.json`), {
      id,
      ownerPid: Deno.pid,
      workDir,
      startedAt: new Date().toISOString(),
      processes: [],
    });
    await rec.#write();
    return rec;
  }

  /** Records a started program. */
  async addProcess(p: RegisteredProcess): Promise<void> {
    this.#entry.processes.push(p);
    await this.#write();
  }

  /** Forgets a stopped program. */
  async removeProcess(pid: number): Promise<void> {
    this.#entry.processes = this.#entry.processes.filter((p) => p.pid !== pid);
    await this.#write();
  }

  /** Deletes the entry. Safe to call twice. */
  async remove(): Promise<void> {
    this.#removed = true;
    await this.#writes.catch(() => {});
    await Deno.remove(this.#path).catch(() => {});
  }

  /** Writes the entry; writes are queued so concurrent updates never interleave. */
  #write(): Promise<void> {
    const next = this.#writes.catch(() => {}).then(async () => {
      if (this.#removed) return;
      const tmp = `${this.#path}.tmp`;
      await Deno.writeTextFile(tmp, JSON.stringify(this.#entry, null, 1));
      await Deno.rename(tmp, this.#path);
    });
    this.#writes = next;
    return next;
  }
}

/** Reads every registry entry (unreadable files are skipped). @param dir registry folder */
export async function listLabs(dir: string = runDir()): Promise<RegistryEntry[]> {
  const out: RegistryEntry[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.isFile || !e.name.endsWith(".json")) continue;
      try {
        out.push(JSON.parse(await Deno.readTextFile(join(dir, e.name))) as RegistryEntry);
      } catch {
        // A half-written or foreign file: not ours to judge.
      }
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out;
}

/** What {@linkcode sweepLabs} did. */
export interface SweepReport {
  /** Lab ids removed. */
  removed: string[];
  /** Lab ids left alone because their owner still runs. */
  kept: string[];
  /** PIDs that were killed. */
  killed: number[];
}

/**
 * Stops and removes labs whose owner process is gone (all labs with `all`): kills each recorded
 * PID that still runs its recorded binary (SIGTERM, then SIGKILL), removes the work dir, the
 * port claims and the entry.
 * @param opts `all` also sweeps labs whose owner runs; `dir` is the registry folder
 */
export async function sweepLabs(
  opts: { all?: boolean; dir?: string; portsDir?: string } = {},
): Promise<SweepReport> {
  const dir = opts.dir ?? runDir();
  const ports = opts.portsDir ?? join(dir, "ports");
  const report: SweepReport = { removed: [], kept: [], killed: [] };
  for (const lab of await listLabs(dir)) {
    if (!opts.all && processAlive(lab.ownerPid) && lab.ownerPid !== Deno.pid) {
      report.kept.push(lab.id);
      continue;
    }
    for (const p of lab.processes) {
      if (await killIfRunning(p)) report.killed.push(p.pid);
    }
    await Deno.remove(lab.workDir, { recursive: true }).catch(() => {});
    await removeClaims(ports, lab.id);
    await Deno.remove(join(dir, `${lab.id}.json`)).catch(() => {});
    report.removed.push(lab.id);
  }
  return report;
}

/** Whether `pid` runs `cmd` now (by /proc/<pid>/exe), so a reused PID is never killed. */
export function runsBinary(pid: number, cmd: string): boolean {
  try {
    const exe = Deno.readLinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, "");
    return exe === cmd && processAlive(pid);
  } catch {
    return false;
  }
}

async function killIfRunning(p: RegisteredProcess): Promise<boolean> {
  if (!runsBinary(p.pid, p.cmd)) return false;
  try {
    Deno.kill(p.pid, "SIGTERM");
  } catch {
    return false;
  }
  for (let i = 0; i < 50 && runsBinary(p.pid, p.cmd); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  if (runsBinary(p.pid, p.cmd)) {
    try {
      Deno.kill(p.pid, "SIGKILL");
    } catch {
      // Gone in between.
    }
  }
  return true;
}

async function removeClaims(ports: string, owner: string): Promise<void> {
  try {
    for await (const e of Deno.readDir(ports)) {
      const path = join(ports, e.name);
      try {
        const claim = JSON.parse(await Deno.readTextFile(path)) as { owner: string };
        if (claim.owner === owner) await Deno.remove(path);
      } catch {
        // Not a claim file, or removed meanwhile.
      }
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}
