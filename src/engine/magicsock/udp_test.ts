import { assertEquals } from "../base/testing/assert.ts";
import { Logger } from "../base/logger.ts";
import { UdpSocket } from "./udp.ts";

Deno.test("UdpSocket.close() resolves once the port can be bound again", async () => {
  const warnings: string[] = [];
  const log = new Logger({ sink: (line) => warnings.push(line) });
  const first = UdpSocket.open(0, log)!;
  const port = first.port;
  void first.run(() => {});
  await first.close();
  // A new engine after a login asks for the port the old one had: it must get it.
  const second = UdpSocket.open(port, log)!;
  try {
    assertEquals(second.port, port);
    assertEquals(warnings.filter((w) => w.includes("unavailable")), []);
  } finally {
    await second.close();
  }
});
