/**
 * The lab's real derper: TLS on 127.0.0.1 with a self-signed certificate it makes itself
 * (`-certmode manual` with an IP as `-hostname`), STUN on its own port, HTTP port 80 off.
 * The certificate and key file stay in the derper's folder, so a restart keeps the same
 * certificate and the pinned DERP map stays valid.
 * @module
 */

import { get as httpsGet } from "node:https";
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

/** Packet counters of a running derper, from its expvar page. */
export interface DerperCounters {
  /** Packets derper took from senders. */
  received: number;
  /** Packets it wrote to receivers; the difference is what it dropped (or still holds). */
  sent: number;
}

/**
 * Reads derper's packet counters from `/debug/vars` (served to loopback clients on its TLS port,
 * with its self-signed certificate, hence node:https without verification).
 * @param port derper's TLS port on 127.0.0.1
 * @returns the counters now
 */
export async function derperCounters(port: number): Promise<DerperCounters> {
  const body = await new Promise<string>((resolve, reject) => {
    const req = httpsGet(
      { host: "127.0.0.1", port, path: "/debug/vars", rejectUnauthorized: false, timeout: 10_000 },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => text += c);
        res.on("end", () => resolve(text));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("derper /debug/vars: no answer in 10 s")));
    req.on("error", reject);
  });
  const derp = (JSON.parse(body) as { derp?: Record<string, unknown> }).derp ?? {};
  const n = (k: string) => {
    const v = derp[k];
    if (typeof v !== "number") throw new Error(`derper /debug/vars: no derp.${k}`);
    return v;
  };
  return { received: n("packets_received"), sent: n("packets_sent") };
}
