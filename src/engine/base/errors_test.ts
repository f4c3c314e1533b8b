import { assert, assertEquals } from "./testing/assert.ts";
import { ParseError, TailnetError, UsageError } from "./errors.ts";

Deno.test("TailnetError carries code, cause and retryable (false unless said)", () => {
  const cause = new Error("socket");
  const e = new TailnetError("control-unreachable", "Cannot reach control", { cause });
  assertEquals([e.name, e.code, e.retryable, e.cause], [
    "TailnetError",
    "control-unreachable",
    false,
    cause,
  ]);
  assertEquals(new TailnetError("x", "y", { retryable: true }).retryable, true);
  const u = new UsageError("bad flag");
  assert(u instanceof TailnetError && !u.retryable);
  assert(!(new ParseError("stun", "short") instanceof TailnetError));
});
