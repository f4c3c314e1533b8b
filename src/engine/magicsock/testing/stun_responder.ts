/**
 * A STUN server on UDP for tests and labs, answering each Binding request as derper does:
 * the sender's address as XOR-MAPPED-ADDRESS (IPv4 senders only, as the tests and labs are).
 * A second one at another address than derper's lets netcheck tell MappingVariesByDestIP.
 * @module
 */
import { parseIpAddr } from "../../wire/ip_addr.ts";
import { stunAnswer } from "../../wire/testing/stun_answer.ts";

/** A running responder. */
export interface StunResponder {
  /** Its UDP port. */
  port: number;
  /** Stops it; resolves once its receive loop has ended. */
  close: () => Promise<void>;
}

/**
 * Starts a STUN responder.
 * @param hostname the address to listen on (default 127.0.0.1)
 * @returns the responder, listening
 */
export function stunResponder(hostname = "127.0.0.1"): StunResponder {
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
      await conn.send(stunAnswer(req, [...ip], from.port), from).catch(() => {});
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
