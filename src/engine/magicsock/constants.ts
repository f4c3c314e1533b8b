/**
 * Limits of the path layer.
 * @module
 */

/** Datagrams queued for WireGuard before new ones are dropped (counted). */
export const RECEIVE_QUEUE_LIMIT = 1024;
