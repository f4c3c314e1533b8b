/**
 * One daemon per state directory: an exclusive `flock` on `tailnetd.lock` inside it, held for
 * the daemon's lifetime. The kernel drops the lock when the process dies however it dies
 * (`kill -9` included), so a stale lock is impossible; the file itself stays and only names
 * the last holder's PID, for the refusal message.
 * @module
 */
import { join } from "node:path";
import { TailnetError } from "../engine/base/errors.ts";

/** The lock file's name inside the state directory. */
export const LOCK_FILE_NAME = "tailnetd.lock";

/**
 * Takes the state directory's lock without waiting, and writes our PID into the lock file.
 * @param stateDir an existing state directory
 * @returns the held lock; dispose it to release
 * @throws {TailnetError} `state-dir-locked`, naming the holder's PID, when another process
 * holds it
 */
export async function lockStateDir(stateDir: string): Promise<Disposable> {
  const path = join(stateDir, LOCK_FILE_NAME);
  const file = await Deno.open(path, { read: true, write: true, create: true, mode: 0o600 });
  let locked: boolean;
  try {
    locked = await file.tryLock(true);
  } catch (err) {
    file.close();
    throw new TailnetError("state-dir-lock", `Cannot lock ${path}: ${errText(err)}`);
  }
  if (!locked) {
    const holder = (await Deno.readTextFile(path).catch(() => "")).trim();
    file.close();
    const who = /^\d+$/.test(holder) ? `PID ${holder}` : "another process";
    throw new TailnetError(
      "state-dir-locked",
      `Cannot start: ${who} is already running a tailnet daemon on state directory ${stateDir}`,
    );
  }
  await file.truncate(0);
  await file.write(new TextEncoder().encode(`${Deno.pid}\n`));
  return {
    [Symbol.dispose]() {
      // Closing the file drops the flock; the PID stays for nobody to trust but the message.
      file.close();
    },
  };
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
