/**
 * The interface between a TCP socket and its congestion controller.
 * @module
 */

/** What a socket tells its congestion controller, and what it reads back. */
export interface CongestionController {
  /** The congestion window in bytes. */
  readonly cwndBytes: number;
  /** The slow-start threshold in bytes. */
  readonly ssthreshBytes: number;
  /** Sets the sender MSS (after the handshake). @param mss bytes */
  setMss(mss: number): void;
  /**
   * Call after an ACK advanced SND.UNA.
   * @param now time in ms @param ackedBytes newly acknowledged bytes
   * @param inRecovery whether loss recovery is in progress (no growth then)
   */
  onAck(now: number, ackedBytes: number, inRecovery: boolean): void;
  /**
   * Call when a loss is detected by duplicate ACKs or SACK (entering fast recovery).
   * @param now time in ms @param flightBytes bytes outstanding
   */
  onLoss(now: number, flightBytes: number): void;
  /** Call when fast recovery ends (SND.UNA passed the recovery point). @param now ms */
  onRecoveryEnd(now: number): void;
  /**
   * Call when the retransmission timer expired.
   * @param now time in ms @param flightBytes bytes outstanding
   */
  onTimeout(now: number, flightBytes: number): void;
  /**
   * Call when a retransmission timeout proved spurious (the ACK echoes a timestamp from before
   * the retransmission, RFC 3522): puts back the window the timeout took away (RFC 4015).
   * @param cwndBytes the congestion window before the timeout
   * @param ssthreshBytes the slow-start threshold before the timeout
   */
  undo(cwndBytes: number, ssthreshBytes: number): void;
}
