/**
 * The per-peer timer state machine of the WireGuard paper §6, as wireguard-go's `timers.go`
 * runs it: five timers, and one small method per event, each named for what just happened
 * and to be called right after it. What a timer does when it fires is given by
 * {@linkcode TimerActions}, so this file sends nothing itself.
 * @module
 */
import type { Clock, TimerId } from "../base/clock.ts";
import { REKEY_TIMEOUT_JITTER_MAX_MS, type WgTimings } from "./constants.ts";

/** What the timers make happen; the device wires these to its send functions. */
export interface TimerActions {
  /** Send a handshake initiation; `isRetry` keeps the attempt count. */
  sendInitiation(isRetry: boolean): void;
  /** Send a keepalive (an empty transport message). */
  sendKeepalive(): void;
  /** Drop the packets waiting for a handshake. */
  flushStaged(): void;
  /** Forget every keypair and the handshake in progress. */
  zeroAll(): void;
}

/**
 * One timer that can be (re)armed or disarmed. Both happen per packet (a send arms one timer
 * and disarms another, a receive the reverse), so neither touches the clock's timer unless it
 * must: a later deadline is only noted, and a disarmed timer's clock timer is left to go off
 * and find nothing due. The clock's timer is set again only for an earlier deadline.
 */
export class PeerTimer {
  readonly #clock: Clock;
  readonly #fire: () => void;
  /** The clock's timer, or null; it may outlive a disarm, and then does nothing. */
  #id: TimerId | null = null;
  /** When the clock's timer is set to go off (monotonic ms). */
  #armedAt = 0;
  /** Whether the timer is armed, as callers see it. */
  #due = false;
  /** When it is due (monotonic ms), while armed. */
  #deadline = 0;

  /**
   * @param clock where timers run
   * @param fire called on expiry
   */
  constructor(clock: Clock, fire: () => void) {
    this.#clock = clock;
    this.#fire = fire;
  }

  /** Whether the timer is armed. */
  get pending(): boolean {
    return this.#due;
  }

  /**
   * Arms the timer to fire `ms` from now, replacing any earlier deadline.
   * @param ms delay
   */
  mod(ms: number): void {
    const deadline = this.#clock.now() + ms;
    this.#due = true;
    this.#deadline = deadline;
    if (this.#id !== null && this.#armedAt <= deadline) return;
    this.#cancelClockTimer();
    this.#arm(deadline);
  }

  /** Disarms the timer. */
  del(): void {
    this.#due = false;
  }

  /** Disarms the timer and cancels the clock's timer too (the peer is going away). */
  stop(): void {
    this.#due = false;
    this.#cancelClockTimer();
  }

  #cancelClockTimer(): void {
    if (this.#id === null) return;
    this.#clock.clearTimeout(this.#id);
    this.#id = null;
  }

  #arm(at: number): void {
    this.#armedAt = at;
    this.#id = this.#clock.setTimeout(() => {
      this.#id = null;
      if (!this.#due) return;
      if (this.#clock.now() < this.#deadline) {
        this.#arm(this.#deadline); // moved later since: sleep for the rest
        return;
      }
      this.#due = false;
      this.#fire();
    }, Math.max(0, at - this.#clock.now()));
  }
}

/** A peer's five timers and the counters that go with them. */
export class PeerTimers {
  /** Retransmits an unanswered initiation after the rekey timeout plus jitter. */
  readonly retransmitHandshake: PeerTimer;
  /** Sends a passive keepalive after data was received and nothing sent. */
  readonly sendKeepalive: PeerTimer;
  /** Starts a new handshake when data was sent and nothing came back. */
  readonly newHandshake: PeerTimer;
  /** Erases all keys after three times the reject time without a new session. */
  readonly zeroKeyMaterial: PeerTimer;
  /** Sends a keepalive after the persistent keepalive interval of silence. */
  readonly persistentKeepalive: PeerTimer;
  /** Retransmissions of the current initiation so far. */
  handshakeAttempts = 0;
  /** Whether data arrived while the keepalive timer was already armed. */
  needAnotherKeepalive = false;
  /** Whether the receive-side "last minute" rekey was already sent for this session. */
  sentLastMinuteHandshake = false;
  /** Persistent keepalive interval in ms, 0 when off. */
  persistentKeepaliveMs = 0;
  /** False once stopped: events no longer arm timers. */
  active = true;
  readonly #t: WgTimings;
  readonly #random: (out: Uint8Array) => void;
  readonly #jitter = new Uint8Array(2);

  /**
   * @param clock where timers run
   * @param timings the device's timings
   * @param random random bytes, for jitter
   * @param actions what expiries do
   */
  constructor(
    clock: Clock,
    timings: WgTimings,
    random: (out: Uint8Array) => void,
    actions: TimerActions,
  ) {
    this.#t = timings;
    this.#random = random;
    const maxAttempts = Math.floor(timings.rekeyAttemptTimeMs / timings.rekeyTimeoutMs);
    this.retransmitHandshake = new PeerTimer(clock, () => {
      if (this.handshakeAttempts > maxAttempts) {
        // Give up: drop what waits for a session, and erase any residue later.
        this.sendKeepalive.del();
        actions.flushStaged();
        if (this.active && !this.zeroKeyMaterial.pending) {
          this.zeroKeyMaterial.mod(timings.rejectAfterTimeMs * 3);
        }
        return;
      }
      this.handshakeAttempts++;
      actions.sendInitiation(true);
    });
    this.sendKeepalive = new PeerTimer(clock, () => {
      actions.sendKeepalive();
      if (this.needAnotherKeepalive) {
        this.needAnotherKeepalive = false;
        if (this.active) this.sendKeepalive.mod(timings.keepaliveTimeoutMs);
      }
    });
    this.newHandshake = new PeerTimer(clock, () => actions.sendInitiation(false));
    this.zeroKeyMaterial = new PeerTimer(clock, () => actions.zeroAll());
    this.persistentKeepalive = new PeerTimer(clock, () => {
      if (this.persistentKeepaliveMs > 0) actions.sendKeepalive();
    });
  }

  #jitterMs(): number {
    this.#random(this.#jitter);
    return ((this.#jitter[0] << 8) | this.#jitter[1]) % REKEY_TIMEOUT_JITTER_MAX_MS;
  }

  /** Call this after an authenticated data packet (not a keepalive) is sent. */
  onDataSent(): void {
    if (this.active && !this.newHandshake.pending) {
      this.newHandshake.mod(this.#t.keepaliveTimeoutMs + this.#t.rekeyTimeoutMs + this.#jitterMs());
    }
  }

  /** Call this after an authenticated data packet (not a keepalive) is received. */
  onDataReceived(): void {
    if (!this.active) return;
    if (!this.sendKeepalive.pending) this.sendKeepalive.mod(this.#t.keepaliveTimeoutMs);
    else this.needAnotherKeepalive = true;
  }

  /** Call this after any authenticated packet is sent: keepalive, data or handshake. */
  onAnyAuthenticatedPacketSent(): void {
    if (this.active) this.sendKeepalive.del();
  }

  /** Call this after any authenticated packet is received: keepalive, data or handshake. */
  onAnyAuthenticatedPacketReceived(): void {
    if (this.active) this.newHandshake.del();
  }

  /** Call this after a handshake initiation is sent. */
  onHandshakeInitiated(): void {
    if (this.active) this.retransmitHandshake.mod(this.#t.rekeyTimeoutMs + this.#jitterMs());
  }

  /**
   * Call this after a handshake response is consumed, or after the first packet on a
   * responder's new keypair confirmed it.
   */
  onHandshakeComplete(): void {
    if (this.active) this.retransmitHandshake.del();
    this.handshakeAttempts = 0;
    this.sentLastMinuteHandshake = false;
  }

  /** Call this after new session keys are derived (on sending a response, or consuming one). */
  onSessionDerived(): void {
    if (this.active) this.zeroKeyMaterial.mod(this.#t.rejectAfterTimeMs * 3);
  }

  /** Call this before an authenticated packet is sent, or after one is received. */
  onAnyAuthenticatedPacketTraversal(): void {
    if (this.persistentKeepaliveMs > 0 && this.active) {
      this.persistentKeepalive.mod(this.persistentKeepaliveMs);
    }
  }

  /** Disarms every timer and ignores later events. */
  stop(): void {
    this.active = false;
    this.retransmitHandshake.stop();
    this.sendKeepalive.stop();
    this.newHandshake.stop();
    this.zeroKeyMaterial.stop();
    this.persistentKeepalive.stop();
  }
}
