/**
 * The floor under our daemon on this machine, measured in the same run as the figures it
 * explains: what one Deno thread can do per packet before any WireGuard or TCP work
 * (ChaCha20-Poly1305 seals of 1420-byte packets through the engine's cipher, datagrams through
 * `Deno.listenDatagram`) and what bare Deno is resident at idle.
 * @module
 */
import { createCipheriv } from "node:crypto";
import { WasmAead } from "../src/engine/crypto/aead_wasm.ts";
import { DENO_RUN } from "../tests/lab/tailnet_process.ts";
import { type Memory, memoryOf } from "./_proc.ts";

/** The size of a full WireGuard data packet's plaintext on a 1420-byte MTU. */
export const PACKET_BYTES = 1420;

/**
 * ChaCha20-Poly1305 seals of one 1420-byte packet per call, one thread, through the cipher the
 * engine's transport path uses (WebAssembly, sealing in place as a Keypair does) or through
 * node:crypto (what it used before, for comparison).
 * @param cipher which implementation
 * @param durationMs how long to seal
 * @returns seals per second
 */
export function sealsPerSecond(cipher: "wasm" | "node:crypto", durationMs = 1000): number {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const nonce = new Uint8Array(12);
  const nonceView = new DataView(nonce.buffer);
  const packet = crypto.getRandomValues(new Uint8Array(PACKET_BYTES + 16));
  const aead = new WasmAead();
  let n = 0;
  const t0 = performance.now();
  const end = t0 + durationMs;
  while (performance.now() < end) {
    for (let i = 0; i < 100; i++, n++) {
      nonceView.setUint32(4, n, true);
      if (cipher === "wasm") {
        aead.sealInPlace(key, nonce, packet, 0, PACKET_BYTES);
      } else {
        const c = createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
        c.update(packet.subarray(0, PACKET_BYTES));
        c.final();
        c.getAuthTag();
      }
    }
  }
  return n / ((performance.now() - t0) / 1000);
}

/** Datagrams one Deno thread moved between two loopback UDP sockets. */
export interface DatagramRate {
  /** Sent per second (one `send` call and one promise each). */
  sent: number;
  /** Received per second by a reader on the other socket, in the same process. */
  received: number;
}

/**
 * 1420-byte datagrams sent as fast as one sender can from one `Deno.listenDatagram` socket to
 * another, with a reader on the second counting what arrives (the kernel drops what the reader
 * cannot take in time: received is what a receiving engine could see at most).
 * @param durationMs how long to send
 * @returns sent and received per second
 */
export async function datagramsPerSecond(durationMs = 1000): Promise<DatagramRate> {
  const a = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const b = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const to = b.addr as Deno.NetAddr;
  let received = 0;
  // Into one buffer, as the engine receives: without one, Deno allocates 64 KiB a datagram.
  const into = new Uint8Array(65536);
  const reader = (async () => {
    try {
      for (;;) {
        await b.receive(into);
        received++;
      }
    } catch { /* closed */ }
  })();
  const packet = new Uint8Array(PACKET_BYTES);
  let sent = 0;
  const t0 = performance.now();
  const end = t0 + durationMs;
  while (performance.now() < end) {
    await a.send(packet, to);
    sent++;
  }
  const s = (performance.now() - t0) / 1000;
  const got = received;
  a.close();
  b.close();
  await reader;
  return { sent: sent / s, received: got / s };
}

/**
 * Resident memory of `deno run` (the daemon's flags) of a script, once it has settled.
 * @param source the script
 * @param settleMs how long to let it settle
 * @returns its memory
 */
export async function memoryOfScript(source: string, settleMs: number): Promise<Memory> {
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(file, source);
  const child = new Deno.Command(Deno.execPath(), {
    args: [...DENO_RUN, file],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await new Promise((r) => setTimeout(r, settleMs));
    return memoryOf(child.pid);
  } finally {
    child.kill("SIGKILL");
    await child.status;
    await Deno.remove(file);
  }
}

/** A script that only waits: bare Deno's own footprint. */
export const IDLE_SCRIPT = "await new Promise(() => setInterval(() => {}, 1e6));\n";
