/**
 * NewReno (RFC 5681, RFC 6582) with appropriate byte counting (RFC 3465, L = 2 SMSS) and an
 * initial window of 10 segments (RFC 6928). Recovery itself (what to resend) is the socket's;
 * this class only keeps cwnd and ssthresh.
 * @module
 */
import type { CongestionController } from "./controller.ts";

/** Initial window in segments (RFC 6928). */
export const INITIAL_WINDOW_SEGMENTS = 10;

/** The NewReno congestion controller. */
export class NewReno implements CongestionController {
  #mss: number;
  #cwnd: number;
  #ssthresh = Number.MAX_SAFE_INTEGER;
  /** Bytes acknowledged in congestion avoidance since cwnd last grew. */
  #acc = 0;

  /** @param mss sender MSS in bytes */
  constructor(mss: number) {
    this.#mss = mss;
    this.#cwnd = INITIAL_WINDOW_SEGMENTS * mss;
  }

  /** The congestion window in bytes. */
  get cwndBytes(): number {
    return this.#cwnd;
  }

  /** The slow-start threshold in bytes. */
  get ssthreshBytes(): number {
    return this.#ssthresh;
  }

  /** @param mss the sender MSS */
  setMss(mss: number): void {
    if (this.#cwnd === INITIAL_WINDOW_SEGMENTS * this.#mss) {
      this.#cwnd = INITIAL_WINDOW_SEGMENTS * mss;
    }
    this.#mss = mss;
  }

  /** @param _now ms @param ackedBytes newly acked @param inRecovery no growth when true */
  onAck(_now: number, ackedBytes: number, inRecovery: boolean): void {
    if (inRecovery || ackedBytes <= 0) return;
    if (this.#cwnd < this.#ssthresh) {
      this.#cwnd += Math.min(ackedBytes, 2 * this.#mss);
      return;
    }
    this.#acc += ackedBytes;
    if (this.#acc >= this.#cwnd) {
      this.#acc -= this.#cwnd;
      this.#cwnd += this.#mss;
    }
  }

  /** @param _now ms @param flightBytes outstanding bytes */
  onLoss(_now: number, flightBytes: number): void {
    this.#ssthresh = Math.max(Math.floor(flightBytes / 2), 2 * this.#mss);
    this.#cwnd = this.#ssthresh;
    this.#acc = 0;
  }

  /** @param _now ms */
  onRecoveryEnd(_now: number): void {
    this.#cwnd = this.#ssthresh;
  }

  /** @param cwndBytes window before the timeout @param ssthreshBytes threshold before it */
  undo(cwndBytes: number, ssthreshBytes: number): void {
    this.#cwnd = Math.max(this.#cwnd, cwndBytes);
    this.#ssthresh = Math.max(this.#ssthresh, ssthreshBytes);
    this.#acc = 0;
  }

  /** @param _now ms @param flightBytes outstanding bytes */
  onTimeout(_now: number, flightBytes: number): void {
    this.#ssthresh = Math.max(Math.floor(flightBytes / 2), 2 * this.#mss);
    this.#cwnd = this.#mss;
    this.#acc = 0;
  }
}
