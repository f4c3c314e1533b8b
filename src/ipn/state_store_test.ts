import { assert, assertEquals, assertRejects } from "../engine/base/testing/assert.ts";
import { emptyPersist } from "../engine/control/client.ts";
import { generatePrivate } from "../engine/key/keys.ts";
import { defaultPrefs } from "./prefs.ts";
import {
  FileStateStore,
  MemoryStateStore,
  STATE_FILE_NAME,
  StateFileError,
  type StoredState,
} from "./state_store.ts";

function sample(): StoredState {
  return {
    machineKey: generatePrivate("machine"),
    prefs: { ...defaultPrefs(), ControlURL: "http://hs", Hostname: "a", WantRunning: true },
    persist: {
      privateNodeKey: generatePrivate("node"),
      oldPrivateNodeKey: generatePrivate("node"),
      userProfile: { id: 3, loginName: "lab", displayName: "Lab", profilePicUrl: "" },
      nodeId: "n3",
    },
  };
}

Deno.test("FileStateStore round-trips keys, prefs and persist in a 0600 file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = new FileStateStore(dir);
    assertEquals(await store.load(), null);
    const s = sample();
    await store.save(s);
    assertEquals(await store.load(), s);
    assertEquals((await Deno.stat(`${dir}/${STATE_FILE_NAME}`)).mode! & 0o777, 0o600);
    const json = JSON.parse(await Deno.readTextFile(`${dir}/${STATE_FILE_NAME}`));
    assertEquals(json.Version, 1);
    assert(json.MachineKey.startsWith("privkey:"));
    assert(json.Prefs.Config.PrivateNodeKey.startsWith("privkey:"));
    assertEquals(json.Prefs.Hostname, "a");
    // No temporary files left behind.
    const names = [...Deno.readDirSync(dir)].map((e) => e.name);
    assertEquals(names, [STATE_FILE_NAME]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FileStateStore saves in call order; the last save wins", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = new FileStateStore(dir);
    const a = sample();
    const b = { ...a, prefs: { ...a.prefs, Hostname: "b" } };
    await Promise.all([store.save(a), store.save(b)]);
    assertEquals((await store.load())?.prefs.Hostname, "b");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FileStateStore.load() names the file when it is corrupt, and leaves it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/${STATE_FILE_NAME}`;
    const store = new FileStateStore(dir);
    for (
      const [text, why] of [
        ["{ nope", "not valid JSON"],
        ["[]", "not a JSON object"],
        ['{"Version": 9}', "unknown Version 9"],
        ['{"Version": 1, "MachineKey": "privkey:12"}', "want 64 hex digits"],
        [
          '{"Version": 1, "MachineKey": "privkey:' + "0".repeat(64) +
          '", "Prefs": {"WantRunning": 3}}',
          "WantRunning",
        ],
      ]
    ) {
      await Deno.writeTextFile(path, text);
      const err = await assertRejects(() => store.load(), StateFileError, path);
      assert(err.message.includes(why), `${err.message} should say ${why}`);
      assertEquals(await Deno.readTextFile(path), text);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("MemoryStateStore keeps a copy, not the caller's object", async () => {
  const store = new MemoryStateStore();
  const s = sample();
  await store.save(s);
  s.prefs.Hostname = "changed";
  assertEquals((await store.load())?.prefs.Hostname, "a");
  assertEquals(store.location, "memory");
  const e = {
    machineKey: generatePrivate("machine"),
    prefs: defaultPrefs(),
    persist: emptyPersist(),
  };
  await store.save(e);
  assertEquals((await store.load())?.persist, emptyPersist());
});
