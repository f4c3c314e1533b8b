/**
 * In-memory datagram binds for wg tests: a {@linkcode MemoryNetwork} of named binds, each a
 * {@linkcode Bind} whose `send` queues a copy of the datagram at the bind the endpoint names.
 * Delivery is through promises only (no timers), so one macrotask turn (`await settle()`)
 * drains every exchange a test started. A `tap` sees (and may drop) each datagram.
 * @module
 */
import type { Bind, BindEndpoint, BindReceived } from "../bind.ts";

/** An address on a {@linkcode MemoryNetwork}. */
export class MemoryEndpoint implements BindEndpoint {
  /** The bind's name. */
  readonly name: string;
  /** Four bytes of a fake IPv4 address plus a two-byte port, unique per name. */
  readonly addrBytes: Uint8Array;

  /**
   * @param name the bind's name
   * @param id a small unique number
   */
  constructor(name: string, id: number) {
    this.name = name;
    this.addrBytes = new Uint8Array([192, 0, 2, id & 0xff, 0x51, 0xca]);
  }

  /** @returns `mem:<name>` */
  toString(): string {
    return `mem:${this.name}`;
  }
}

/** A datagram a tap saw. */
export interface TappedDatagram {
  /** Sender bind name. */
  readonly from: string;
  /** Destination bind name. */
  readonly to: string;
  /** A copy of the bytes. */
  readonly data: Uint8Array;
}

/** Binds that can reach each other by endpoint. */
export class MemoryNetwork {
  readonly #binds = new Map<string, MemoryBind>();
  #nextId = 1;
  /** Every datagram sent, in order (copies). */
  readonly log: TappedDatagram[] = [];
  /** Return false to drop a datagram (after it is logged). */
  tap: ((d: TappedDatagram) => boolean) | null = null;

  /**
   * Creates a bind.
   * @param name unique name
   * @returns the bind
   */
  bind(name: string): MemoryBind {
    const b = new MemoryBind(this, new MemoryEndpoint(name, this.#nextId++));
    this.#binds.set(name, b);
    return b;
  }

  /** @internal delivers a datagram sent by `from` */
  route(from: MemoryBind, data: Uint8Array, to: BindEndpoint): void {
    if (!(to instanceof MemoryEndpoint)) return;
    const d = { from: from.local.name, to: to.name, data: data.slice() };
    this.log.push(d);
    if (this.tap && !this.tap(d)) return;
    this.#binds.get(to.name)?.enqueue(d.data, from.local);
  }
}

/** One bind on a {@linkcode MemoryNetwork}. */
export class MemoryBind implements Bind {
  /** This bind's own address. */
  readonly local: MemoryEndpoint;
  readonly #net: MemoryNetwork;
  readonly #queue: BindReceived[] = [];
  #waiter: ((r: BindReceived | null) => void) | null = null;
  #closed = false;
  /** Datagrams sent through this bind. */
  sent = 0;

  /**
   * @param net the network
   * @param local this bind's address
   */
  constructor(net: MemoryNetwork, local: MemoryEndpoint) {
    this.#net = net;
    this.local = local;
  }

  /** Sends a copy of `datagram` to `to`. */
  send(datagram: Uint8Array, to: BindEndpoint): void {
    if (this.#closed) return;
    this.sent++;
    this.#net.route(this, datagram, to);
  }

  /** @internal queues a datagram for {@linkcode MemoryBind.receive} */
  enqueue(data: Uint8Array, from: MemoryEndpoint): void {
    if (this.#closed) return;
    const r = { data, endpoint: from };
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = null;
      w(r);
    } else {
      this.#queue.push(r);
    }
  }

  /** The next datagram, or null once closed. */
  receive(): Promise<BindReceived | null> {
    const r = this.#queue.shift();
    if (r) return Promise.resolve(r);
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve) => (this.#waiter = resolve));
  }

  /** Closes the bind; a pending receive resolves to null. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.length = 0;
    const w = this.#waiter;
    this.#waiter = null;
    w?.(null);
  }
}

/** Resolves after every pending promise chain has run (one macrotask turn). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
