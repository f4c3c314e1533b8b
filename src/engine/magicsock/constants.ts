/**
 * Limits of the path layer.
 * @module
 */

/** Datagrams queued for WireGuard before new ones are dropped (counted). */
export const RECEIVE_QUEUE_LIMIT = 1024;

/** The IP of DERP paths in disco pongs and ping results: Go's `tailcfg.DerpMagicIP`. */
export const DERP_MAGIC_IP = "127.3.3.40";
