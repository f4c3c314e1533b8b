/**
 * A STUN responder for the labs: answers each Binding request with the sender's address as
 * XOR-MAPPED-ADDRESS, so a netcheck sees a second STUN server at another address than
 * derper's (MappingVariesByDestIP is known only with two).
 * @module
 */
import { writeU16be, writeU32be } from "../../src/engine/base/bytes.ts";
import { parseIpAddr } from "../../src/engine/wire/ip_addr.ts";
import { STUN_MAGIC_COOKIE, stunTxid } from "../../src/engine/wire/stun.ts";

/** A running responder. */
export interface StunResponder {
  /** Its UDP port. */
  port: number;
  /** Stops it. */
  close: () => Promise<void>;
}

/**
 * Starts a STUN responder (IPv4 senders only, as the labs are).
 * @param hostname the address to listen on
 * @returns the responder, listening
 */
export function stunResponder(hostname: string): StunResponder {
  const conn = Deno.listenDatagram({ transport: "udp", hostname, port: 0 });
  const loop = (async () => {
    for (;;) {
      let got: [Uint8Array, Deno.Addr];
      try {
        got = await conn.receive();
      } catch {
        return;
      }
      const [req, from] = got as [Uint8Array, Deno.NetAddr];
      if (req.length < 20) continue;
      const ip = parseIpAddr(from.hostname.replace(/^::ffff:/, ""));
      if (ip.length !== 4) continue;
      const b = new Uint8Array(32);
      let o = writeU16be(b, 0, 0x0101);
      o = writeU16be(b, o, 12);
      o = writeU32be(b, o, STUN_MAGIC_COOKIE);
      b.set(stunTxid(req), o);
      o = writeU16be(b, o + 12, 0x0020);
      o = writeU16be(b, o, 8);
      b[o + 1] = 1;
      writeU16be(b, o + 2, from.port ^ (STUN_MAGIC_COOKIE >>> 16));
      for (let i = 0; i < 4; i++) {
        b[o + 4 + i] = ip[i] ^ ((STUN_MAGIC_COOKIE >>> (24 - 8 * i)) & 0xff);
      }
      await conn.send(b, from).catch(() => {});
    }
  })();
  return {
    port: (conn.addr as Deno.NetAddr).port,
    close: async () => {
      conn.close();
      await loop;
    },
  };
}
