/**
 * Test doubles for the auto client: a {@linkcode ControlTransport} that records every call and
 * lets a test script the server's answers and map streams, and {@linkcode settle}, which
 * `ManualClock.advanceAsync` runs between timers. Used only by tests in this folder.
 * @module
 */
import type { ControlTransport } from "../transport.ts";
import type {
  MapRequest,
  MapResponse,
  PingRequest,
  RegisterRequest,
  RegisterResponse,
} from "../tailcfg.ts";

/** A scripted map stream: the test pushes messages, ends it or fails it. */
export class FakeMapStream {
  /** The request that opened it. */
  readonly req: MapRequest;
  #queue: (MapResponse | Error | null)[] = [];
  #wake: (() => void) | null = null;
  /** Whether the client aborted it. */
  aborted = false;

  /** @param req the request */
  constructor(req: MapRequest) {
    this.req = req;
  }
  /** @param msg a message to deliver */
  push(msg: MapResponse): void {
    this.#put(msg);
  }
  /** Ends the body cleanly. */
  end(): void {
    this.#put(null);
  }
  /** @param err fails the stream with this */
  fail(err: Error): void {
    this.#put(err);
  }
  #put(v: MapResponse | Error | null): void {
    this.#queue.push(v);
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }
  /** The iterable the transport returns. */
  async *iterate(signal: AbortSignal): AsyncGenerator<MapResponse> {
    const onAbort = () => {
      this.aborted = true;
      const w = this.#wake;
      this.#wake = null;
      w?.();
    };
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      for (;;) {
        if (signal.aborted) throw signal.reason;
        const v = this.#queue.shift();
        if (v === undefined) {
          await new Promise<void>((r) => (this.#wake = r));
          continue;
        }
        if (v === null) return;
        if (v instanceof Error) throw v;
        yield v;
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }
}

/** An answer to a register call: a response, an error to throw, or a function of the request. */
export type RegisterAnswer =
  | RegisterResponse
  | Error
  | ((req: RegisterRequest) => RegisterResponse | Error | Promise<RegisterResponse>);

/** A ControlTransport that records calls and answers from a script. */
export class FakeTransport implements ControlTransport {
  /** Every call, in order. */
  readonly calls: { kind: string; req: unknown }[] = [];
  /** Register answers, consumed in order; when empty, register waits for one. */
  readonly registerAnswers: RegisterAnswer[] = [];
  /** Every map stream opened, in order. */
  readonly streams: FakeMapStream[] = [];
  /** Map call failures to throw instead of opening a stream, consumed in order. */
  readonly mapFailures: Error[] = [];
  /** How often reset() was called. */
  resets = 0;
  /** Whether close() was called. */
  closed = false;
  #waiters: (() => void)[] = [];

  /** @param a answer to append; wakes a waiting register call */
  answer(a: RegisterAnswer): void {
    this.registerAnswers.push(a);
    const ws = this.#waiters;
    this.#waiters = [];
    for (const w of ws) w();
  }

  /** Register requests so far. */
  get registers(): RegisterRequest[] {
    return this.calls.filter((c) => c.kind === "register").map((c) => c.req as RegisterRequest);
  }

  /** @inheritdoc */
  async register(req: RegisterRequest, signal: AbortSignal): Promise<RegisterResponse> {
    this.calls.push({ kind: "register", req: structuredClone(req) });
    while (this.registerAnswers.length === 0) {
      if (signal.aborted) throw signal.reason;
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener("abort", done);
          resolve();
        };
        this.#waiters.push(done);
        signal.addEventListener("abort", done, { once: true });
      });
    }
    const a = this.registerAnswers.shift()!;
    const v = typeof a === "function" ? await a(req) : a;
    if (v instanceof Error) throw v;
    return v;
  }

  /** @inheritdoc */
  map(req: MapRequest, signal: AbortSignal): AsyncIterable<MapResponse> {
    this.calls.push({ kind: req.Stream ? "map" : "map-once", req: structuredClone(req) });
    const failure = this.mapFailures.shift();
    if (failure) {
      return {
        [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(failure) }),
      };
    }
    const s = new FakeMapStream(req);
    this.streams.push(s);
    return s.iterate(signal);
  }

  /** @inheritdoc */
  liteUpdate(req: MapRequest): Promise<void> {
    this.calls.push({ kind: "lite", req: structuredClone(req) });
    return Promise.resolve();
  }

  /** @inheritdoc */
  ping(ping: PingRequest): Promise<number> {
    this.calls.push({ kind: "ping", req: ping });
    return Promise.resolve(200);
  }

  /** @inheritdoc */
  reset(): void {
    this.resets++;
  }

  /** @inheritdoc */
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

/** Lets pending promise chains run (a few macrotask turns). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setTimeout(r, 0));
}
