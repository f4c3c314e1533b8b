/**
 * ICMP echo to a routed destination (a subnet route, or anywhere through an exit node), as
 * tailscaled's netstack answers it in userspace mode (`shouldHandlePing`, `userPing`): the
 * host pings the destination once (`ping -c 1 -W 3 IP`, what tailscaled runs on Linux), and
 * only when that succeeds does the peer get an echo reply, from the destination's address.
 * At most {@linkcode MAX_ROUTED_PINGS} run at once (tailscaled's `userPingSem`); more are
 * dropped and counted.
 * @module
 */
import {
  buildIcmpEchoReply,
  IP_PROTO_ICMP,
  IP_PROTO_ICMPV6,
  type IpInfo,
  newIpInfo,
} from "../wire/mod.ts";
import { formatIpAddrAt } from "../wire/ip_addr.ts";

/** Pings running at once (tailscaled: `userPingSem`, 20). */
export const MAX_ROUTED_PINGS = 20;

/** Counters of {@linkcode RoutedEcho}. */
export interface RoutedEchoStats {
  /** Echo requests to routed destinations taken. */
  requests: number;
  /** Answered (the host's ping succeeded). */
  answered: number;
  /** Not answered: the host's ping failed or could not run. */
  unanswered: number;
  /** Dropped because {@linkcode MAX_ROUTED_PINGS} were running. */
  busy: number;
}

/** Options of {@linkcode RoutedEcho}. */
export interface RoutedEchoOptions {
  /** Whether an address is routed by us (the stack's `setRouted` predicate). */
  routed: (b: Uint8Array, off: number, len: number) => boolean;
  /** Sends the reply (the engine's outbound path). */
  reply: (packet: Uint8Array) => void;
  /** Pings `ip` once from the host; default runs `ping -c 1 -W 3 ip` (tests replace it). */
  ping?: (ip: string) => Promise<boolean>;
}

/**
 * Runs the host's `ping` once, as tailscaled does on Linux.
 * @param ip the destination
 * @returns whether it answered
 */
export async function hostPing(ip: string): Promise<boolean> {
  try {
    const o = await new Deno.Command("ping", {
      args: ["-c", "1", "-W", "3", ip],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return o.success;
  } catch {
    return false;
  }
}

/** Answers echo requests to routed destinations by pinging them from the host. */
export class RoutedEcho {
  /** Counters. */
  readonly stats: RoutedEchoStats = { requests: 0, answered: 0, unanswered: 0, busy: 0 };
  readonly #opts: RoutedEchoOptions;
  readonly #ping: (ip: string) => Promise<boolean>;
  readonly #scratch: IpInfo = newIpInfo();
  readonly #pending = new Set<Promise<void>>();
  #closed = false;

  /** @param opts the routed predicate, the reply path, the pinger */
  constructor(opts: RoutedEchoOptions) {
    this.#opts = opts;
    this.#ping = opts.ping ?? hostPing;
  }

  /**
   * Takes an echo request to a routed destination; anything else is left alone.
   * @param packet the inbound packet @param info its parse
   * @returns true when taken (answered later or not at all)
   */
  take(packet: Uint8Array, info: Readonly<IpInfo>): boolean {
    const v4 = info.version === 4;
    if (info.protocol !== (v4 ? IP_PROTO_ICMP : IP_PROTO_ICMPV6)) return false;
    const type = packet[info.payloadOff];
    if (info.payloadEnd - info.payloadOff < 8 || type !== (v4 ? 8 : 128)) return false;
    if (!this.#opts.routed(packet, info.dstOff, info.addrLen)) return false;
    this.stats.requests++;
    if (this.#closed) return true;
    if (this.#pending.size >= MAX_ROUTED_PINGS) {
      this.stats.busy++;
      return true;
    }
    const out = new Uint8Array(packet.length + 64);
    const end = buildIcmpEchoReply(packet, 0, packet.length, out, 0, this.#scratch);
    if (end < 0) {
      this.stats.unanswered++;
      return true;
    }
    const reply = out.slice(0, end);
    const ip = formatIpAddrAt(packet, info.dstOff, info.addrLen);
    const p = this.#ping(ip).then((ok) => {
      if (ok) {
        this.stats.answered++;
        this.#opts.reply(reply);
      } else this.stats.unanswered++;
    }).finally(() => this.#pending.delete(p));
    this.#pending.add(p);
    return true;
  }

  /** Takes no more requests; waits for the pings in flight (their answers still go out). */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#pending]);
  }
}
