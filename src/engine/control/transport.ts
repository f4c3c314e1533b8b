/**
 * The requests the auto client makes, as an interface ({@linkcode ControlTransport}) so that its
 * retry and state logic can be tested against an in-memory fake, and the real implementation
 * over one ts2021 connection ({@linkcode NoiseTransport}).
 * @module
 */
import { type Clock, SYSTEM_CLOCK } from "../base/clock.ts";
import type {
  MapRequest,
  MapResponse,
  PingRequest,
  RegisterRequest,
  RegisterResponse,
} from "./tailcfg.ts";
import { ControlConnection, type ControlConnectionOptions } from "./connection.ts";
import { answerPing, mapPoll, register, sendLiteUpdate } from "./direct.ts";

/** What the auto client needs from the wire. Every failure is a ControlError. */
export interface ControlTransport {
  /** `POST /machine/register`; resolves even when the response carries `Error`. */
  register(req: RegisterRequest, signal: AbortSignal): Promise<RegisterResponse>;
  /** `POST /machine/map`; yields every message, keep-alives included. */
  map(req: MapRequest, signal: AbortSignal): AsyncIterable<MapResponse>;
  /** A lite update (`Stream: false, OmitPeers: true`). */
  liteUpdate(req: MapRequest, signal: AbortSignal): Promise<void>;
  /** Answers a PingRequest with empty Types (HTTP HEAD); resolves the status. */
  ping(ping: PingRequest, signal: AbortSignal): Promise<number>;
  /** Drops the current connection so the next call dials afresh (after a watchdog timeout). */
  reset(): void;
  /** Closes every connection. */
  close(): Promise<void>;
}

/**
 * Options for {@linkcode NoiseTransport}: those of its one connection (URL, machine key,
 * capability version, logger, connector); its clock also times ping answers.
 */
export type NoiseTransportOptions = ControlConnectionOptions;

/** {@linkcode ControlTransport} over ts2021: Noise, then HTTP/2 with node:http2. */
export class NoiseTransport implements ControlTransport {
  readonly #conn: ControlConnection;
  readonly #clock: Clock;

  /** @param opts server, keys, version */
  constructor(opts: NoiseTransportOptions) {
    this.#conn = new ControlConnection(opts);
    this.#clock = opts.clock ?? SYSTEM_CLOCK;
  }

  /** @inheritdoc */
  async register(req: RegisterRequest, signal: AbortSignal): Promise<RegisterResponse> {
    return await register(await this.#conn.get(signal), req, signal);
  }

  /** @inheritdoc */
  async *map(req: MapRequest, signal: AbortSignal): AsyncIterable<MapResponse> {
    yield* mapPoll(await this.#conn.get(signal), req, signal);
  }

  /** @inheritdoc */
  async liteUpdate(req: MapRequest, signal: AbortSignal): Promise<void> {
    await sendLiteUpdate(await this.#conn.get(signal), req, signal);
  }

  /** @inheritdoc */
  async ping(ping: PingRequest, signal: AbortSignal): Promise<number> {
    const h2 = ping.URLIsNoise ? await this.#conn.get(signal) : null;
    return await answerPing(ping, h2, signal, this.#clock);
  }

  /** @inheritdoc */
  reset(): void {
    this.#conn.reset();
  }

  /** @inheritdoc */
  async close(): Promise<void> {
    await this.#conn.close();
  }
}
