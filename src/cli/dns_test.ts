import { assertEquals, assertRejects } from "../engine/base/testing/assert.ts";
import { UsageError } from "../engine/base/errors.ts";
import { TAILSCALED_1102 } from "../engine/wire/testing/dns_captures.ts";
import { dnsCommand, dnsQueryResult, dnsQueryText } from "./dns.ts";

const ctx = { socketPath: "/nonexistent/tailnet.sock", out: () => {}, err: () => {} };

Deno.test("dnsQueryText() prints a tailscaled answer as 'tailscale dns query' does", () => {
  const a = TAILSCALED_1102.find((c) => c.name === "ts-1.102-A-peer")!;
  const data = dnsQueryResult("ts2.tailnet.test", "A", a.bytes, [{ Addr: "127.0.0.3" }]);
  assertEquals(dnsQueryText(data), [
    'DNS query for "ts2.tailnet.test" (A) using internal resolver:',
    "",
    "Forwarding to resolver: 127.0.0.3",
    "",
    "Response code: RCodeSuccess",
    "",
    "Name               TTL  Class      Type   Body",
    "----               ---  -----      ----   ----",
    "ts2.tailnet.test.  5    ClassINET  TypeA  100.64.0.2",
    "",
  ]);
  const nx = TAILSCALED_1102.find((c) => c.name === "ts-1.102-NXDOMAIN-soa")!;
  const none = dnsQueryText(dnsQueryResult("nobody.tailnet.test", "A", nx.bytes, []));
  assertEquals(none.slice(2), [
    "Multiple resolvers available:",
    "",
    "Response code: RCodeNameError",
    "",
    "No answers were returned.",
  ]);
});

Deno.test("tailnet dns: bad arguments fail with tailscale's messages before any LocalAPI call", async () => {
  await assertRejects(() => dnsCommand.run([], ctx), UsageError, "missing subcommand");
  await assertRejects(() => dnsCommand.run(["frob"], ctx), UsageError, "unknown subcommand");
  await assertRejects(
    () => dnsCommand.run(["query"], ctx),
    Error,
    "missing required argument: name",
  );
  await assertRejects(
    () => dnsCommand.run(["query", "peer", "--json"], ctx),
    Error,
    "unexpected flags after query name: --json",
  );
  await assertRejects(
    () => dnsCommand.run(["query", "peer", "A", "x"], ctx),
    Error,
    "unexpected extra arguments: x",
  );
});
