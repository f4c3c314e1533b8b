/**
 * Two WireGuard devices joined in memory for micro-benchmarks: each datagram one sends is
 * handed straight to the other's `receiveDatagram`, synchronously, with no socket and no
 * network (the UDP socket's own cost is the floor `deno task bench` measures apart).
 * @module
 */
import type { Clock } from "../src/engine/base/clock.ts";
import { Logger } from "../src/engine/base/logger.ts";
import { generatePrivate } from "../src/engine/key/keys.ts";
import type { Bind, BindEndpoint, BindReceived } from "../src/engine/wg/bind.ts";
import { Device } from "../src/engine/wg/device.ts";

/** A logger that drops everything. */
export const SILENT = new Logger({ sink: () => {} });

/** A bind that hands each datagram straight to the other device, synchronously. */
export class DirectBind implements Bind {
  /** The device at the other end. */
  other: Device | null = null;
  /** This end's endpoint, as the other device sees it. */
  readonly self: BindEndpoint;
  /** @param id one byte naming this end */
  constructor(id: number) {
    this.self = { addrBytes: new Uint8Array([id]), toString: () => `direct${id}` };
  }
  /** Delivers the datagram to the other device now. */
  send(datagram: Uint8Array): void {
    this.other?.receiveDatagram(datagram, this.self);
  }
  /** Nothing is ever received from a socket. */
  receive(): Promise<BindReceived | null> {
    return Promise.resolve(null);
  }
  /** Nothing to close. */
  close(): void {}
}

/** Options of {@linkcode devicePair}. */
export interface DevicePairOptions {
  /** The devices' clock (SYSTEM_CLOCK when absent). */
  clock?: Clock;
  /** Their MTU. */
  mtu?: number;
  /** a's allowed IPs as b sees them, and b's as a sees them. */
  aIps: string[];
  bIps: string[];
  /** Where each device hands decrypted packets. */
  onPacketA?: (packet: Uint8Array, peer: Uint8Array) => void;
  onPacketB?: (packet: Uint8Array, peer: Uint8Array) => void;
}

/**
 * Two devices, each the other's only peer, joined by {@linkcode DirectBind}s.
 * @param opts clock, MTU, allowed IPs and packet handlers
 * @returns the devices
 */
export function devicePair(opts: DevicePairOptions): { a: Device; b: Device } {
  const ba = new DirectBind(1);
  const bb = new DirectBind(2);
  const common = { clock: opts.clock, log: SILENT, mtu: opts.mtu };
  const a = new Device({
    ...common,
    privateKey: generatePrivate("node"),
    bind: ba,
    onPacket: opts.onPacketA,
  });
  const b = new Device({
    ...common,
    privateKey: generatePrivate("node"),
    bind: bb,
    onPacket: opts.onPacketB,
  });
  ba.other = b;
  bb.other = a;
  a.setPeer({ publicKey: b.publicKey, allowedIps: opts.bIps, endpoint: bb.self });
  b.setPeer({ publicKey: a.publicKey, allowedIps: opts.aIps, endpoint: ba.self });
  return { a, b };
}
