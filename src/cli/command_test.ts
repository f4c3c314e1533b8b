import { assertEquals, assertThrows } from "../engine/base/testing/assert.ts";
import { UsageError } from "../engine/base/errors.ts";
import { parseDurationFlag, parseFlags, parseGoFlags } from "./command.ts";

const SPEC = {
  "auth-key": { type: "string", aliases: ["authkey"] },
  hostname: { type: "string" },
  reset: { type: "bool" },
  peers: { type: "bool" },
  "4": { type: "bool" },
} as const;

Deno.test("parseGoFlags() accepts -x, --x, =value, separate values and aliases", () => {
  const f = parseGoFlags(["-hostname=a", "--authkey", "k", "--reset", "-4"], SPEC);
  assertEquals(f.values.get("hostname"), "a");
  assertEquals(f.values.get("auth-key"), "k");
  assertEquals(f.values.get("reset"), true);
  assertEquals(f.values.get("4"), true);
  assertEquals(f.given, ["hostname", "auth-key", "reset", "4"]);
});

Deno.test("parseGoFlags() reads --bool=false and stops at --", () => {
  const f = parseGoFlags(["--peers=false", "--", "--reset"], SPEC, true);
  assertEquals(f.values.get("peers"), false);
  assertEquals(f.positionals, ["--reset"]);
});

Deno.test("parseGoFlags() names a bad flag in a UsageError", () => {
  assertThrows(() => parseGoFlags(["--bogus"], SPEC), UsageError, "--bogus");
  assertThrows(() => parseGoFlags(["--hostname"], SPEC), UsageError, "--hostname needs a value");
  assertThrows(() => parseGoFlags(["--reset=maybe"], SPEC), UsageError, "--reset");
  assertThrows(() => parseGoFlags(["word"], SPEC), UsageError, "word");
});

Deno.test("parseDurationFlag() reads Go durations", () => {
  assertEquals(parseDurationFlag("timeout", "0"), 0);
  assertEquals(parseDurationFlag("timeout", "10s"), 10_000);
  assertEquals(parseDurationFlag("timeout", "1m30s"), 90_000);
  assertEquals(parseDurationFlag("timeout", "250ms"), 250);
  assertThrows(() => parseDurationFlag("timeout", "10"), UsageError, "--timeout");
  assertThrows(() => parseDurationFlag("timeout", ""), UsageError, "--timeout");
});

Deno.test("parseFlags() types string and boolean flags and names a bad one", () => {
  const spec = { socket: { type: "string" }, json: { type: "boolean" } } as const;
  const f = parseFlags(["--socket=/s", "-json"], spec);
  assertEquals(f.values, { socket: "/s", json: true });
  assertEquals(parseFlags(["--socket", "/t"], spec).values.socket, "/t");
  assertThrows(() => parseFlags(["--bogus=1"], spec), UsageError, "unknown flag: --bogus");
  assertThrows(() => parseFlags(["--socket"], spec), UsageError, "--socket needs a value");
  assertThrows(() => parseFlags(["extra"], spec), UsageError, "unexpected argument: extra");
});
