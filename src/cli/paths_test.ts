import { assertEquals } from "../engine/base/testing/assert.ts";
import { defaultSocketPath, defaultStateDir, type PathEnv } from "./paths.ts";

function env(vars: Record<string, string>, uid: number | null = 1000): PathEnv {
  return { get: (n) => vars[n], uid };
}

Deno.test("defaultStateDir() and defaultSocketPath() follow root, XDG and HOME", () => {
  assertEquals(defaultStateDir(env({}, 0)), "/var/lib/tailnet");
  assertEquals(defaultSocketPath(env({}, 0)), "/var/run/tailnet/tailnetd.sock");
  assertEquals(defaultStateDir(env({ XDG_STATE_HOME: "/x/state/" })), "/x/state/tailnet");
  assertEquals(defaultStateDir(env({ HOME: "/home/u" })), "/home/u/.local/state/tailnet");
  assertEquals(
    defaultSocketPath(env({ XDG_RUNTIME_DIR: "/run/user/1000" })),
    "/run/user/1000/tailnet/tailnetd.sock",
  );
  assertEquals(
    defaultSocketPath(env({ HOME: "/home/u" })),
    "/home/u/.local/state/tailnet/tailnetd.sock",
  );
  assertEquals(defaultSocketPath(env({ TAILNET_SOCKET: "/s.sock" }, 0)), "/s.sock");
});
