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
 * - 2026-11-25: 113, the lowest headscale 0.29 accepts; the control client reads the early
 *   payload (49), sends Hostinfo/endpoints as lite updates (68), applies PeersChangedPatch,
 *   OnlineChange, PacketFilters, incremental DERPMap/HomeParams and nil-means-unchanged fields
 *   (15-81), reads HomeDERP (111) and nil AllowedIPs (112); no funnel, so no IngressEnabled (113).
 */
export const CAPABILITY_VERSION = 113;

/** The LocalAPI path prefix, as tailscaled serves it. */
export const LOCALAPI_PREFIX = "/localapi/v0/";
