/**
 * Fixtures shared by the wg tests: IP packets, a pair of devices over a memory network with
 * a manual clock, and an `advance` that lets the network drain between timer firings.
 * @module
 */
import { Logger } from "../../base/logger.ts";
import { generatePrivate } from "../../key/keys.ts";
import { MemoryNetwork, settle } from "./memory_bind.ts";
import type { MemoryBind } from "./memory_bind.ts";
import { ManualClock } from "../../base/testing/manual_clock.ts";
import { Device, type DeviceOptions } from "../device.ts";
import { parseIp } from "../allowed_ips.ts";

/** A logger that drops everything. */
export const SILENT: Logger = new Logger({ sink: () => {} });

/**
 * A minimal IPv4 packet (protocol 17, no checksum) of `payloadLen` payload bytes.
 * @param src source address text
 * @param dst destination address text
 * @param payloadLen bytes of payload, filled with a counter
 * @returns the packet
 */
export function ipv4(src: string, dst: string, payloadLen = 20): Uint8Array {
  const p = new Uint8Array(20 + payloadLen);
  p[0] = 0x45;
  p[2] = (20 + payloadLen) >> 8;
  p[3] = (20 + payloadLen) & 0xff;
  p[8] = 64;
  p[9] = 17;
  p.set(parseIp(src), 12);
  p.set(parseIp(dst), 16);
  for (let i = 0; i < payloadLen; i++) p[20 + i] = i & 0xff;
  return p;
}

/**
 * A minimal IPv6 packet (next header 17).
 * @param src source address text
 * @param dst destination address text
 * @param payloadLen payload bytes
 * @returns the packet
 */
export function ipv6(src: string, dst: string, payloadLen = 20): Uint8Array {
  const p = new Uint8Array(40 + payloadLen);
  p[0] = 0x60;
  p[4] = payloadLen >> 8;
  p[5] = payloadLen & 0xff;
  p[6] = 17;
  p[7] = 64;
  p.set(parseIp(src), 8);
  p.set(parseIp(dst), 24);
  return p;
}

/** Two devices, a (10.0.0.1) and b (10.0.0.2), peered over a memory network. */
export interface Pair {
  /** The network (log, tap). */
  readonly net: MemoryNetwork;
  /** The shared manual clock. */
  readonly clock: ManualClock;
  /** Device a. */
  readonly a: Device;
  /** Device b. */
  readonly b: Device;
  /** a's bind. */
  readonly bindA: MemoryBind;
  /** b's bind. */
  readonly bindB: MemoryBind;
  /** Packets a handed up. */
  readonly gotA: Uint8Array[];
  /** Packets b handed up. */
  readonly gotB: Uint8Array[];
  /** Closes both. */
  close(): Promise<void>;
}

/**
 * Builds a {@linkcode Pair}.
 * @param optsA extra options for a
 * @param optsB extra options for b
 * @returns the pair, receive loops running
 */
export function makePair(
  optsA: Partial<DeviceOptions> = {},
  optsB: Partial<DeviceOptions> = {},
): Pair {
  const net = new MemoryNetwork();
  const clock = new ManualClock();
  const bindA = net.bind("a");
  const bindB = net.bind("b");
  const gotA: Uint8Array[] = [];
  const gotB: Uint8Array[] = [];
  const device = (bind: MemoryBind, got: Uint8Array[], opts: Partial<DeviceOptions>) =>
    new Device({
      privateKey: generatePrivate("node"),
      bind,
      clock,
      log: SILENT,
      onPacket: (p) => got.push(p.slice()),
      ...opts,
    });
  const a = device(bindA, gotA, optsA);
  const b = device(bindB, gotB, optsB);
  a.setPeer({ publicKey: b.publicKey, allowedIps: ["10.0.0.2/32"], endpoint: bindB.local });
  b.setPeer({ publicKey: a.publicKey, allowedIps: ["10.0.0.1/32"], endpoint: bindA.local });
  a.start();
  b.start();
  return {
    net,
    clock,
    a,
    b,
    bindA,
    bindB,
    gotA,
    gotB,
    close: async () => {
      await a.close();
      await b.close();
    },
  };
}

/**
 * Moves the clock forward by `ms`, firing timers one at a time and letting the memory
 * network drain after each, as time would pass for real.
 * @param clock the manual clock
 * @param ms how far
 */
export async function advance(clock: ManualClock, ms: number): Promise<void> {
  await clock.advanceAsync(ms, settle);
}

/** The message type of a datagram (first byte). */
export function typeOf(d: Uint8Array): number {
  return d[0];
}
