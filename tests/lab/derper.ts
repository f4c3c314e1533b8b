/**
 * The lab's real derper: TLS on 127.0.0.1 with a self-signed certificate it makes itself
 * (`-certmode manual` with an IP as `-hostname`), STUN on its own port, HTTP port 80 off.
 * The certificate and key file stay in the derper's folder, so a restart keeps the same
 * certificate and the pinned DERP map stays valid.
 * @module
 */

import { join } from "node:path";
import { LabProcess } from "./process.ts";
import { pemCertSha256Hex } from "./derp_map.ts";
import { waitFor } from "./wait.ts";

/** Ports and paths of one derper. */
export interface DerperConfig {
  /** The derper binary. */
  bin: string;
  /** Its folder (certificate, key, log). */
  dir: string;
  /** TLS (DERP) port on 127.0.0.1. */
  derpPort: number;
  /** STUN port on 127.0.0.1. */
  stunPort: number;
  /**
   * The address it serves DERP on and makes its certificate for (default 127.0.0.1); STUN
   * listens on every address.
   */
  host?: string;
}

/** derper's flags for the lab, in one place. */
export function derperArgs(c: DerperConfig): string[] {
  return [
    "-a",
    `${c.host ?? "127.0.0.1"}:${c.derpPort}`,
    "-certmode",
    "manual",
    "-certdir",
    c.dir,
    "-hostname",
    c.host ?? "127.0.0.1",
    "-http-port",
    "-1",
    "-stun-port",
    String(c.stunPort),
    "-c",
    join(c.dir, "derper.key"),
  ];
}

/**
 * Starts a derper and waits until it serves TLS and STUN.
 * @param c ports and paths
 * @param onSpawn called right after the process exists (before readiness), to record its PID
 * @param timeoutMs readiness deadline
 * @returns the process and the SHA-256 of its certificate
 */
export async function startDerper(
  c: DerperConfig,
  onSpawn: (p: LabProcess) => Promise<void> = async () => {},
  timeoutMs = 20_000,
): Promise<{ proc: LabProcess; certSha256Hex: string }> {
  await Deno.mkdir(c.dir, { recursive: true });
  const proc = LabProcess.spawn({
    name: "derper",
    cmd: c.bin,
    args: derperArgs(c),
    env: { HOME: c.dir },
    logPath: join(c.dir, "derper.log"),
    cwd: c.dir,
  });
  const certPath = join(c.dir, `${c.host ?? "127.0.0.1"}.crt`);
  try {
    await onSpawn(proc);
    await waitFor("derper to serve TLS and STUN", async () => {
      if (!proc.running) throw new Error("derper exited");
      const log = await Deno.readTextFile(proc.logPath);
      if (!log.includes("STUN server listening") || !log.includes("with TLS")) return false;
      // TLS itself is checked by the clients (the DERP map pins the certificate).
      const conn = await Deno.connect({ hostname: c.host ?? "127.0.0.1", port: c.derpPort });
      conn.close();
      await Deno.stat(certPath);
      return true;
    }, { timeoutMs, details: () => proc.logTail() });
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { proc, certSha256Hex: await pemCertSha256Hex(await Deno.readTextFile(certPath)) };
}
