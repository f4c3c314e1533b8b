/**
 * What the LocalAPI's handlers read and drive, in one object: the handlers hold no state of
 * their own, so this is all a route can reach.
 * @module
 */
import type { Backend } from "../ipn/backend.ts";
import type { EngineStats, PingKind, PingResult } from "../engine/engine.ts";
import type { DnsResolver } from "../engine/config.ts";

/** The data plane as the `ping` and `engine-stats` endpoints see it. */
export interface DataPlane {
  /**
   * Pings a peer's tailnet address.
   * @param ip the peer's address @param kind disco, TSMP or ICMP @param timeoutMs how long to wait
   * @returns the outcome, `Err` set on failure
   */
  ping(ip: string, kind: PingKind, timeoutMs: number): Promise<PingResult>;
  /** The engine's counters, or null while there is no engine. */
  stats(): EngineStats | null;
  /**
   * Asks MagicDNS (`dns-query`).
   * @param query DNS query bytes @param name the name asked, for its upstream resolvers
   * @returns the answer and the resolvers
   */
  dnsQuery(
    query: Uint8Array,
    name: string,
  ): Promise<{ answer: Uint8Array; resolvers: DnsResolver[] }>;
}

/** The dependencies every LocalAPI handler takes. */
export interface LocalApiDeps {
  /** The ipn backend: state, prefs, login, status and the notify bus. */
  backend: Backend;
  /** The daemon version the IPN bus reports. */
  version: string;
  /** Pings and counters (the node's engine link). */
  dataPlane: DataPlane;
  /**
   * Re-reads and applies the daemon's `--config` file (`reload-config`); absent when the
   * daemon has none. Throws a one-line error when the file is bad.
   */
  reloadConfig?: () => Promise<void>;
}
