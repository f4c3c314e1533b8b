/**
 * Every timer and limit of the stack in one place: first what the protocols fix, then what we
 * chose. Times are milliseconds, sizes bytes.
 * @module
 */

// ---- Protocol (RFC 9293, RFC 6298, RFC 7323, RFC 2018, RFC 1122) ----

/** The tunnel MTU Tailscale uses. */
export const TUNNEL_MTU = 1280;
/** MSS we announce over IPv4: MTU - 20 (IPv4) - 20 (TCP). */
export const MSS_V4 = TUNNEL_MTU - 40;
/** MSS we announce over IPv6: MTU - 40 (IPv6) - 20 (TCP). */
export const MSS_V6 = TUNNEL_MTU - 60;
/** MSS assumed when the peer sends none (RFC 9293 §3.7.1). */
export const DEFAULT_MSS = 536;
/** Largest window-scale shift (RFC 7323 §2.3). */
export const MAX_WINDOW_SHIFT = 14;
/** Initial RTO before any RTT sample (RFC 6298 §2.1). */
export const INITIAL_RTO_MS = 1_000;
/** Upper bound of the RTO (RFC 6298 §2.5 allows any value of at least 60 s). */
export const MAX_RTO_MS = 60_000;
/** Duplicate ACKs (or segments' worth of SACKed data) that mean a loss (RFC 5681, RFC 6675). */
export const DUP_THRESH = 3;
/** SACK blocks that fit beside the timestamps option (RFC 2018 §3). */
export const MAX_SACK_BLOCKS_SENT = 3;
/** Option bytes of the timestamps option, with its two NOPs (RFC 7323 appendix A). */
export const TIMESTAMP_OPTION_LEN = 12;

// ---- Ours ----

/** Lower bound of the RTO. RFC 6298 says 1 s; Linux and gVisor use 200 ms, as we do. */
export const MIN_RTO_MS = 200;
/** Clock granularity G of RFC 6298. */
export const CLOCK_GRANULARITY_MS = 1;
/** How long an ACK may wait for a second full segment (Linux's minimum delayed ACK is 40 ms). */
export const DELAYED_ACK_MS = 40;
/** TIME-WAIT length (2 MSL; Linux uses 60 s, smoltcp 10 s). */
export const TIME_WAIT_MS = 30_000;
/**
 * SYN (or SYN-ACK) retransmissions before the open fails: 6, as Linux's `tcp_syn_retries` and
 * gVisor's default, so with the 1 s initial RTO the last goes out at 63 s and the open fails at
 * 127 s. (Counting the first SYN among the 6 gave up at 63 s, one retransmission short of Linux.)
 */
export const MAX_SYN_RETRIES = 6;
/** Retransmissions of one segment before the connection is reset. */
export const MAX_DATA_RETRIES = 12;
/** Idle time before the first keep-alive probe, when keep-alive is on. */
export const KEEPALIVE_IDLE_MS = 60_000;
/** Time between unanswered keep-alive probes. */
export const KEEPALIVE_INTERVAL_MS = 10_000;
/** Unanswered keep-alive probes before the connection is reset. */
export const KEEPALIVE_PROBES = 9;
/** Largest zero-window probe interval. */
export const MAX_PERSIST_MS = 60_000;
/** Receive buffer a connection may grow to; advertised in full with window scaling. */
export const RECV_BUFFER_MAX = 4 << 20;
/** Send buffer a connection may grow to (holds unacknowledged and unsent data). */
export const SEND_BUFFER_MAX = 4 << 20;
/** Size buffers start at; they double up to their maximum as data arrives. */
export const BUFFER_INITIAL = 16 << 10;
/** Out-of-order ranges kept per connection (beyond this a segment is dropped, and resent). */
export const MAX_OOO_RANGES = 64;
/** SACKed ranges the sender keeps per connection. */
export const MAX_SACK_RANGES = 64;
/** Window shift we ask for: 4 MiB fits in 65535 << 7. */
export const OUR_WINDOW_SHIFT = 7;
/** Connections a listener holds before accept (half-open and ready together). */
export const DEFAULT_BACKLOG = 128;
/** Datagrams queued on a UDP socket before new ones are dropped. */
export const UDP_QUEUE_MAX = 512;
/** SYNs waiting for the SYN handler (forwarder dials) at once; tailscaled allows 1024. */
export const MAX_PENDING_SYNS = 1024;
/** ICMP errors (port unreachable) sent per second at most, as Linux's icmp_msgs_per_sec. */
export const ICMP_ERRORS_PER_SEC = 1000;
/** ICMP errors that may go out in a burst, as Linux's icmp_msgs_burst (RFC 4443 §2.4 (f)). */
export const ICMP_ERROR_BURST = 50;
/** Forwarded UDP flows (host sockets) at once. */
export const MAX_UDP_FLOWS = 1024;
/** Idle time before a forwarded UDP flow's host socket is closed. */
export const UDP_FLOW_IDLE_MS = 60_000;
/** Segments a paced sender may send back to back. */
export const PACING_BURST = 10;
/** Segments a single poll may emit for one connection before yielding to others. */
export const DISPATCH_BUDGET = 64;
