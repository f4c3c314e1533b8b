/**
 * netcheck's timers and limits. The protocol block is tailscale's `net/netcheck/netcheck.go`
 * (v1.98.10) and `wgengine/magicsock` (how often tailscaled re-runs it); ours follow.
 * @module
 */

// --- tailscale's numbers -------------------------------------------------------------------

/** The most one report may take, STUN and the HTTPS fallback together (ReportTimeout). */
export const REPORT_TIMEOUT_MS = 5_000;
/** How long STUN probes may go unanswered before UDP is taken as blocked (stunProbeTimeout). */
export const STUN_PROBE_TIMEOUT_MS = 3_000;
/** Gap between the tries of one region's probe set on a first report (defaultInitialRetransmitTime). */
export const INITIAL_RETRANSMIT_MS = 100;
/** Tries per region and address family. */
export const PROBE_TRIES = 3;
/** Once this many regions answered, wait only (2x) the slowest latency for the rest (enoughRegions). */
export const ENOUGH_REGIONS = 3;
/** A home region this much faster is never enough to move (preferredDERPAbsoluteDiff). */
export const PREFERRED_DERP_ABSOLUTE_DIFF_MS = 10;
/** How long past reports count towards a region's best latency (maxAge). */
export const REPORT_HISTORY_MAX_AGE_MS = 5 * 60_000;
/** A region heard from (a DERP frame) this recently is alive without a STUN answer (PreferredDERPFrameTime). */
export const PREFERRED_DERP_FRAME_MS = 8_000;
/** Keep a home region with no latency data if heard from this recently (2x DERP KeepAlive). */
export const PREFERRED_DERP_KEEPALIVE_TIMEOUT_MS = 2 * 60_000;
/** The default STUN port when a DERP node's STUNPort is 0. */
export const DEFAULT_STUN_PORT = 3478;
/** tailscaled re-runs netcheck every 20-26 s while active (magicsock's periodic ReSTUN). */
export const PERIODIC_MIN_MS = 20_000;
/** The spread added to {@linkcode PERIODIC_MIN_MS}, chosen at random each time. */
export const PERIODIC_JITTER_MS = 6_000;
