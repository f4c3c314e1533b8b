/**
 * Which of two direct paths to a peer is better, as magicsock's `betterAddr` decides
 * (`wgengine/magicsock/endpoint.go`, v1.98.10): each side scores up to 100 points for how much
 * faster it is than the slower one, plus 50 for loopback, 30 for link-local, 20 for a private
 * address and 10 for IPv6; a gain of 1 point or less with the other at 0 keeps the current
 * path (hysteresis, so two near-equal paths do not flap). MTU probing is not done here, so the
 * same address is never better than itself.
 * @module
 */

/** A path and its measured round trip. */
export interface AddrQuality {
  /** The peer's IP, 4 or 16 bytes. */
  readonly ip: Uint8Array;
  /** Its port. */
  readonly port: number;
  /** Round trip of the last pong, milliseconds. */
  readonly latencyMs: number;
}

/**
 * Whether `a` should replace `b` as the best path.
 * @param a the candidate (a path that just answered)
 * @param b the current best path, or null for none
 * @returns true when `a` is better
 */
export function betterAddr(a: AddrQuality, b: AddrQuality | null): boolean {
  if (b === null) return true;
  if (a.port === b.port && sameIp(a.ip, b.ip)) return false;
  let aPoints = 0;
  let bPoints = 0;
  if (a.latencyMs > b.latencyMs && a.latencyMs > 0) {
    bPoints = Math.trunc(100 - (b.latencyMs * 100) / a.latencyMs);
  } else if (b.latencyMs > 0) {
    aPoints = Math.trunc(100 - (a.latencyMs * 100) / b.latencyMs);
  }
  aPoints += kindPoints(a.ip);
  bPoints += kindPoints(b.ip);
  if (aPoints <= 1 && bPoints === 0) return false;
  return aPoints > bPoints;
}

function kindPoints(ip: Uint8Array): number {
  let points = 0;
  if (isLoopback(ip)) points += 50;
  else if (isLinkLocal(ip)) points += 30;
  else if (isPrivate(ip)) points += 20;
  if (ip.length === 16) points += 10;
  return points;
}

function isLoopback(ip: Uint8Array): boolean {
  if (ip.length === 4) return ip[0] === 127;
  for (let i = 0; i < 15; i++) if (ip[i] !== 0) return false;
  return ip[15] === 1;
}

function isLinkLocal(ip: Uint8Array): boolean {
  if (ip.length === 4) return ip[0] === 169 && ip[1] === 254;
  return ip[0] === 0xfe && (ip[1] & 0xc0) === 0x80;
}

function isPrivate(ip: Uint8Array): boolean {
  if (ip.length === 4) {
    return ip[0] === 10 || (ip[0] === 172 && (ip[1] & 0xf0) === 16) ||
      (ip[0] === 192 && ip[1] === 168);
  }
  return (ip[0] & 0xfe) === 0xfc;
}

function sameIp(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
