/**
 * RTT estimation and the retransmission timeout of RFC 6298: SRTT and RTTVAR from samples
 * (alpha 1/8, beta 1/4), RTO = SRTT + max(G, 4 RTTVAR) clamped to [200 ms, 60 s], doubled on
 * each timeout (section 5.5) until the next sample.
 *
 * @example Two samples
 * ```ts
 * import { RttEstimator } from "./rtt_estimator.ts";
 * const e = new RttEstimator();
 * e.sample(100);
 * const first = e.rtoMs; // 100 + 4 * 50
 * e.backoff();
 * if (e.srttMs !== 100 || first !== 300 || e.rtoMs !== 2 * first) throw new Error("bad");
 * ```
 * @module
 */
import { CLOCK_GRANULARITY_MS, INITIAL_RTO_MS, MAX_RTO_MS, MIN_RTO_MS } from "./constants.ts";

/** SRTT, RTTVAR and RTO of one connection. */
export class RttEstimator {
  #srtt = -1;
  #rttvar = 0;
  #rto = INITIAL_RTO_MS;

  /** Smoothed RTT in ms, or -1 before the first sample. */
  get srttMs(): number {
    return this.#srtt;
  }

  /** RTT variation in ms. */
  get rttvarMs(): number {
    return this.#rttvar;
  }

  /** The retransmission timeout in ms. */
  get rtoMs(): number {
    return this.#rto;
  }

  /** Call with each RTT measurement (never of a retransmitted segment, per Karn). @param r ms */
  sample(r: number): void {
    if (this.#srtt < 0) {
      this.#srtt = r;
      this.#rttvar = r / 2;
    } else {
      this.#rttvar = 0.75 * this.#rttvar + 0.25 * Math.abs(this.#srtt - r);
      this.#srtt = 0.875 * this.#srtt + 0.125 * r;
    }
    const rto = this.#srtt + Math.max(CLOCK_GRANULARITY_MS, 4 * this.#rttvar);
    this.#rto = Math.min(MAX_RTO_MS, Math.max(MIN_RTO_MS, rto));
  }

  /** Call when the retransmission timer expired: the RTO doubles (bounded). */
  backoff(): void {
    this.#rto = Math.min(MAX_RTO_MS, this.#rto * 2);
  }
}
