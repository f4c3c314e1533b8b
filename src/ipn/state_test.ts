import { assertEquals } from "../engine/base/testing/assert.ts";
import { type IpnState, nextState, type StateInputs, stateNumber } from "./state.ts";

const base: StateInputs = {
  storeHealthy: true,
  wantRunning: true,
  loggedOut: false,
  blocked: false,
  hasNodeKey: true,
  hasNetmap: true,
  authCantContinue: false,
  keyExpired: false,
  machineAuthorized: true,
  engineLive: true,
  prev: "Starting",
};

Deno.test("nextState() follows Go's nextStateLocked rule by rule", () => {
  const cases: [Partial<StateInputs>, IpnState][] = [
    [{ storeHealthy: false }, "NoState"],
    [{ wantRunning: false }, "Stopped"],
    [
      { wantRunning: false, hasNodeKey: false, hasNetmap: false, authCantContinue: true },
      "NeedsLogin",
    ],
    [{ hasNetmap: false, loggedOut: true, wantRunning: false }, "NeedsLogin"],
    [{ hasNetmap: false, prev: "Stopped" }, "Starting"],
    [{ hasNetmap: false, prev: "NoState" }, "NoState"],
    [{ hasNetmap: false, prev: "Running" }, "Running"],
    [{ hasNetmap: false, prev: "NeedsLogin" }, "NeedsLogin"],
    [{ wantRunning: false, blocked: true }, "Stopped"],
    [{ keyExpired: true }, "NeedsLogin"],
    [{ machineAuthorized: false }, "NeedsMachineAuth"],
    [{ prev: "NeedsMachineAuth" }, "Starting"],
    [{ prev: "Starting", engineLive: false }, "Starting"],
    [{ prev: "Starting" }, "Running"],
    [{ prev: "Running", engineLive: false }, "Running"],
    [{ prev: "NeedsLogin" }, "Starting"],
    [{ prev: "NoState" }, "Starting"],
  ];
  for (const [over, want] of cases) {
    assertEquals(nextState({ ...base, ...over }), want, JSON.stringify(over));
  }
});

Deno.test("stateNumber() gives ipn.State's JSON numbers", () => {
  assertEquals(stateNumber("NoState"), 0);
  assertEquals(stateNumber("NeedsLogin"), 2);
  assertEquals(stateNumber("NeedsMachineAuth"), 3);
  assertEquals(stateNumber("Stopped"), 4);
  assertEquals(stateNumber("Running"), 6);
});
