/**
 * The one place for tailnet's versions and the protocol versions it speaks.
 * A version bump is a one-line change here.
 * @module
 */

/** tailnet's own release version. */
export const TAILNET_VERSION = "0.1.0";

/**
 * The Tailscale capability version tailnet claims to control servers.
 * Claim only what is implemented; each bump gets one dated line saying what it adds.
 * - 2026-11-25: 0, nothing claimed yet (no control client in this build).
 */
export const CAPABILITY_VERSION = 0;

/** The LocalAPI path prefix, as tailscaled serves it. */
export const LOCALAPI_PREFIX = "/localapi/v0/";
