/**
 * The daemon's persistent state: one JSON file, `tailnetd.state`, in the state directory.
 *
 * ```
 * {
 *   "Version": 1,
 *   "MachineKey": "privkey:…",          machine key (the Noise static key for control)
 *   "Prefs": { …ipn.Prefs…,             tailscaled's field names
 *     "Config": {                       persist.Persist: the login state
 *       "PrivateNodeKey": "privkey:…", "OldPrivateNodeKey": "privkey:…",
 *       "UserProfile": {…}, "NetworkLockKey": "nlpriv:000…", "NodeID": "…" } }
 * }
 * ```
 *
 * Disco keys are not stored: as in Go, each daemon process makes a new one.
 *
 * Writes are atomic: a temporary file in the same directory, written with mode 0600 and
 * fsynced, then renamed over the old one, then the directory is fsynced. A file that cannot be
 * read or parsed is never replaced: {@linkcode FileStateStore.load} throws a
 * {@linkcode StateFileError} naming the file, and the daemon then serves in a read-only
 * NoState (as tailscaled does when its state store is unhealthy) without writing.
 * @module
 */
import { join } from "node:path";
import { TailnetError } from "../engine/base/errors.ts";
import type { Persist } from "../engine/control/client.ts";
import { type MachinePrivate, privateFromText, privateToText } from "../engine/key/keys.ts";
import { type Prefs, prefsFromJson, type PrefsJson } from "./prefs.ts";
import { persistFromJson, persistToJson } from "./persist.ts";

/** The state file's name inside the state directory. */
export const STATE_FILE_NAME = "tailnetd.state";
/** The layout version written in the file. */
export const STATE_FILE_VERSION = 1;

/** Everything the daemon keeps between runs. */
export interface StoredState {
  /** The machine key. */
  machineKey: MachinePrivate;
  /** The profile's prefs. */
  prefs: Prefs;
  /** The login state. */
  persist: Persist;
}

/** Where state lives: a file, or memory only (`--state mem:`). */
export interface StateStore {
  /** For messages: the file path, or "memory". */
  readonly location: string;
  /** Reads the state; null when there is none yet. Throws {@linkcode StateFileError}. */
  load(): Promise<StoredState | null>;
  /** Replaces the state atomically. Saves are applied in call order. */
  save(state: StoredState): Promise<void>;
}

/** A state file that cannot be read, parsed, or written. */
export class StateFileError extends TailnetError {
  /** The file. */
  readonly path: string;
  /**
   * @param path the state file
   * @param message one line naming the file and the cause
   * @param options cause
   */
  constructor(path: string, message: string, options?: ErrorOptions) {
    super("bad-state-file", message, options);
    this.name = "StateFileError";
    this.path = path;
  }
}

/**
 * Serializes state to the file's JSON text.
 * @param s the state
 * @returns JSON text with a final newline
 */
export function stateToJson(s: StoredState): string {
  const prefs: PrefsJson = { ...s.prefs, Config: persistToJson(s.persist, true) };
  return JSON.stringify(
    { Version: STATE_FILE_VERSION, MachineKey: privateToText(s.machineKey), Prefs: prefs },
    null,
    "\t",
  ) + "\n";
}

/**
 * Parses the file's JSON text.
 * @param text file contents
 * @param path for messages
 * @returns the state
 * @throws {StateFileError} naming the file and what is wrong
 */
export function stateFromJson(text: string, path: string): StoredState {
  const fail = (why: string, cause?: unknown) =>
    new StateFileError(path, `Cannot read state file ${path}: ${why}`, { cause });
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw fail("not valid JSON", err);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw fail("not a JSON object");
  const o = v as Record<string, unknown>;
  if (o.Version !== STATE_FILE_VERSION) {
    throw fail(`unknown Version ${JSON.stringify(o.Version)}, want ${STATE_FILE_VERSION}`);
  }
  try {
    if (typeof o.MachineKey !== "string") throw new TypeError("MachineKey is missing");
    const machineKey = privateFromText("machine", o.MachineKey);
    const prefsJson = (o.Prefs ?? {}) as Record<string, unknown>;
    const prefs = prefsFromJson(prefsJson);
    const persist = persistFromJson(prefsJson.Config);
    return { machineKey, prefs, persist };
  } catch (err) {
    throw fail(err instanceof Error ? err.message : String(err), err);
  }
}

/** State in a file under the state directory. */
export class FileStateStore implements StateStore {
  readonly #path: string;
  readonly #dir: string;
  #queue: Promise<void> = Promise.resolve();

  /** @param stateDir the state directory (must exist) */
  constructor(stateDir: string) {
    this.#dir = stateDir;
    this.#path = join(stateDir, STATE_FILE_NAME);
  }

  /** The state file's path. */
  get location(): string {
    return this.#path;
  }

  /** Reads the file; null when it does not exist. */
  async load(): Promise<StoredState | null> {
    let text: string;
    try {
      text = await Deno.readTextFile(this.#path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return null;
      throw new StateFileError(
        this.#path,
        `Cannot read state file ${this.#path}: ${err instanceof Error ? err.message : err}`,
        { cause: err },
      );
    }
    return stateFromJson(text, this.#path);
  }

  /** Writes atomically (temp file, fsync, rename, directory fsync), mode 0600. */
  save(state: StoredState): Promise<void> {
    const text = stateToJson(state);
    const next = this.#queue.then(() => this.#write(text));
    this.#queue = next.catch(() => {});
    return next;
  }

  async #write(text: string): Promise<void> {
    const tmp = join(this.#dir, `.${STATE_FILE_NAME}.tmp-${crypto.randomUUID()}`);
    try {
      const f = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
      try {
        await Deno.chmod(tmp, 0o600);
        const bytes = new TextEncoder().encode(text);
        let off = 0;
        while (off < bytes.length) off += await f.write(bytes.subarray(off));
        await f.sync();
      } finally {
        f.close();
      }
      await Deno.rename(tmp, this.#path);
    } catch (err) {
      await Deno.remove(tmp).catch(() => {});
      throw new StateFileError(
        this.#path,
        `Cannot write state file ${this.#path}: ${err instanceof Error ? err.message : err}`,
        { cause: err },
      );
    }
    try {
      const d = await Deno.open(this.#dir, { read: true });
      try {
        await d.sync();
      } finally {
        d.close();
      }
    } catch {
      // Some filesystems refuse fsync on a directory; the rename is still atomic.
    }
  }
}

/** State kept in memory only (`--state mem:`): lost when the daemon stops. */
export class MemoryStateStore implements StateStore {
  #text: string | null = null;

  /** Always "memory". */
  get location(): string {
    return "memory";
  }

  /** The last saved state, or null. */
  load(): Promise<StoredState | null> {
    return Promise.resolve(this.#text === null ? null : stateFromJson(this.#text, "memory"));
  }

  /** Keeps a copy (serialized, so later edits by the caller do not leak in). */
  save(state: StoredState): Promise<void> {
    this.#text = stateToJson(state);
    return Promise.resolve();
  }
}
