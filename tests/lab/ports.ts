/**
 * Free loopback ports for the lab's programs, claimed so that two labs started at the same time
 * (two test files, two `lab up`) never pick the same one.
 *
 * A port comes from the kernel (bind 127.0.0.1:0), must also be free for UDP (derper's STUN and
 * tailscaled's WireGuard port are UDP), and is then claimed by creating
 * `<ports dir>/<port>` exclusively. The claim holds until {@linkcode PortClaims.releaseAll}; a
 * claim whose owning process is dead counts as free.
 * @module
 */

import { createSocket } from "node:dgram";
import { join } from "node:path";
import { portsDir } from "./paths.ts";

/** Attempts before {@linkcode PortClaims.claim} gives up. */
const CLAIM_ATTEMPTS = 50;

/** The ports one lab holds. */
export class PortClaims {
  readonly #dir: string;
  readonly #owner: string;
  readonly #held = new Set<number>();

  /**
   * @param owner lab id written into each claim file, for `lab down`
   * @param dir claim folder (default: the shared one under the lab cache)
   */
  constructor(owner: string, dir: string = portsDir()) {
    this.#owner = owner;
    this.#dir = dir;
  }

  /** Ports currently held. */
  get held(): number[] {
    return [...this.#held];
  }

  /**
   * Claims one port free for both TCP and UDP on 127.0.0.1.
   * @returns the port
   */
  async claim(): Promise<number> {
    await Deno.mkdir(this.#dir, { recursive: true });
    for (let i = 0; i < CLAIM_ATTEMPTS; i++) {
      const port = kernelPort();
      if (!await udpFree(port)) continue;
      if (await this.tryClaim(port)) return port;
    }
    throw new Error(`Cannot find a free loopback port: ${CLAIM_ATTEMPTS} attempts failed`);
  }

  /** Releases every held port (removes the claim files). Safe to call twice. */
  async releaseAll(): Promise<void> {
    for (const port of this.#held) {
      await Deno.remove(join(this.#dir, String(port))).catch(() => {});
    }
    this.#held.clear();
  }

  /**
   * Claims `port` if no live process holds a claim on it (does not check that it is bindable).
   * @returns whether this lab now holds it
   */
  async tryClaim(port: number): Promise<boolean> {
    await Deno.mkdir(this.#dir, { recursive: true });
    if (!await this.#tryClaimFile(port)) return false;
    this.#held.add(port);
    return true;
  }

  async #tryClaimFile(port: number): Promise<boolean> {
    const path = join(this.#dir, String(port));
    const body = JSON.stringify({ owner: this.#owner, pid: Deno.pid });
    try {
      await Deno.writeTextFile(path, body, { createNew: true });
      return true;
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    }
    // Taken: take it over only if the claimant is dead (a killed run that `lab down` missed).
    try {
      const { pid } = JSON.parse(await Deno.readTextFile(path)) as { pid: number };
      if (processAlive(pid)) return false;
      await Deno.remove(path);
      await Deno.writeTextFile(path, body, { createNew: true });
      return true;
    } catch {
      return false;
    }
  }
}

/** Whether a process with this PID exists (zombies count as gone). */
export function processAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Field 3, after the parenthesised command name, is the state letter.
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Whether TCP port `port` on 127.0.0.1 can be bound right now. */
export function tcpFree(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch {
    return false;
  }
}

/** Whether UDP port `port` on 127.0.0.1 can be bound right now. */
export function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket("udp4");
    s.once("error", () => {
      s.close();
      resolve(false);
    });
    s.bind(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

function kernelPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}
