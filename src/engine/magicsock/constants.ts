/**
 * Limits of the path layer.
 * @module
 */

/** Datagrams queued for WireGuard before new ones are dropped (counted). */
export const RECEIVE_QUEUE_LIMIT = 1024;

/** The IP of DERP paths in disco pongs and ping results: Go's `tailcfg.DerpMagicIP`. */
export const DERP_MAGIC_IP = "127.3.3.40";

/** How long a direct path stays trusted after a pong (Go's `trustUDPAddrDuration`). */
export const TRUST_UDP_ADDR_MS = 6500;
/** Heartbeat pings to the best path of an active peer (Go's `heartbeatInterval`). */
export const HEARTBEAT_INTERVAL_MS = 3000;
/** Fewest ms between two rounds of pings to every candidate (Go's `discoPingInterval`). */
export const DISCO_PING_INTERVAL_MS = 5000;
/** A peer WireGuard sent to within this is active (Go's `sessionActiveTimeout`). */
export const SESSION_ACTIVE_TIMEOUT_MS = 45_000;
/**
 * A peer that has never answered our disco pings is pinged again this often after our first
 * send to it, {@linkcode FIRST_CONTACT_PROBES} times, instead of only at the next heartbeat
 * round: a peer that learns of us from control a moment after we first send (we reached
 * Running first) answers within about this long, not after Go's 5 s ping interval. Ours, not
 * Go's.
 */
export const FIRST_CONTACT_PROBE_MS = 1000;
/** How many early pings {@linkcode FIRST_CONTACT_PROBE_MS} apart a never-answering peer gets. */
export const FIRST_CONTACT_PROBES = 4;
/** A trusted path is still re-probed against the others this often (`upgradeUDPDirectInterval`). */
export const UPGRADE_INTERVAL_MS = 60_000;
/** A ping unanswered after this is forgotten (Go's `pingTimeoutDuration`). */
export const PING_TIMEOUT_MS = 5000;
/** STUN requests to the DERP map's STUN servers are repeated this often. */
export const STUN_INTERVAL_MS = 20_000;
/** The daemon's default UDP port, as tailscaled's. */
export const DEFAULT_LISTEN_PORT = 41641;
/** MapRequest EndpointType of an interface address (tailcfg.EndpointLocal). */
export const ENDPOINT_LOCAL = 1;
/** MapRequest EndpointType of an address STUN saw (tailcfg.EndpointSTUN). */
export const ENDPOINT_STUN = 2;
/**
 * At most this many candidate paths per peer: the netmap's endpoints plus those learnt from
 * pings and call-me-maybe. More are refused (and counted), so a flood cannot grow our state.
 */
export const MAX_CANDIDATES = 64;
/** The last this many disco ping txids of a peer are remembered, to drop replays. */
export const PING_TXIDS_REMEMBERED = 32;
/**
 * A peer's call-me-maybe is acted on at most this often; Go sends one per heartbeat (3 s) at
 * most, so more is a flood, dropped and counted.
 */
export const CALL_ME_MAYBE_MIN_MS = 1000;
