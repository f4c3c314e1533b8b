/**
 * A STUN Binding success as derper sends it (RFC 5389: one XOR-MAPPED-ADDRESS, IPv4), for
 * tests that play a STUN server or forge its answer.
 * @module
 */

const MAGIC_COOKIE = [0x21, 0x12, 0xa4, 0x42];

/**
 * Builds the answer to `request` saying the requester is at `ip:port`.
 * @param request the Binding request (its transaction ID is echoed)
 * @param ip the mapped IPv4 address, four numbers
 * @param port the mapped port
 * @returns the 32-byte answer
 */
export function stunAnswer(request: Uint8Array, ip: readonly number[], port: number): Uint8Array {
  const resp = new Uint8Array(32);
  resp.set([0x01, 0x01, 0x00, 0x0c, ...MAGIC_COOKIE]);
  resp.set(request.subarray(8, 20), 8);
  resp.set([0x00, 0x20, 0x00, 0x08, 0x00, 0x01], 20);
  resp[26] = (port >>> 8) ^ MAGIC_COOKIE[0];
  resp[27] = (port & 0xff) ^ MAGIC_COOKIE[1];
  for (let i = 0; i < 4; i++) resp[28 + i] = ip[i] ^ MAGIC_COOKIE[i];
  return resp;
}
