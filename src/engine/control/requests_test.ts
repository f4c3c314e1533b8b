import { assertEquals, assertThrows } from "../base/testing/assert.ts";
import { ParseError } from "../base/errors.ts";
import { logoutRequest, mapRequest, registerRequest, ZERO_NODE_KEY } from "./requests.ts";
import {
  type DiscoPublic,
  fromHex,
  type NodePrivate,
  publicFromText,
  publicToText,
} from "../key/keys.ts";
import { CAPABILITY_VERSION } from "../../version.ts";
import { MAP_SESSION } from "./testing/map_session.ts";

const KEY = fromHex("18".repeat(32)) as NodePrivate;
const OLD = fromHex("28".repeat(32)) as NodePrivate;
const DISCO = fromHex("ab".repeat(32)) as DiscoPublic;
const HI = { IPNVersion: "0.1.0", OS: "linux", Hostname: "h" };

Deno.test("registerRequest() has Go's field names, zero Expiry and OldNodeKey", () => {
  const req = registerRequest(KEY, null, HI, { authKey: "k", tags: ["tag:a"], ephemeral: true });
  assertEquals(Object.keys(req), [
    "Version",
    "NodeKey",
    "OldNodeKey",
    "Expiry",
    "Followup",
    "Hostinfo",
    "Auth",
    "Ephemeral",
  ]);
  assertEquals(req.Version, CAPABILITY_VERSION);
  assertEquals(req.NodeKey.length, "nodekey:".length + 64);
  assertEquals([req.OldNodeKey, req.Expiry, req.Followup], [
    ZERO_NODE_KEY,
    "0001-01-01T00:00:00Z",
    "",
  ]);
  assertEquals(req.Auth, { AuthKey: "k" });
  assertEquals(req.Hostinfo.RequestTags, ["tag:a"]);
  assertEquals(HI, { IPNVersion: "0.1.0", OS: "linux", Hostname: "h" }, "input not mutated");
  const rot = registerRequest(KEY, OLD, HI);
  assertEquals(rot.OldNodeKey, registerRequest(OLD, null, HI).NodeKey);
  assertEquals("Auth" in rot, false);
});

Deno.test("logoutRequest() sends the current key with Expiry = Unix 123", () => {
  const req = logoutRequest(KEY, HI);
  assertEquals(req.Expiry, "1970-01-01T00:02:03Z");
  assertEquals(Date.parse(req.Expiry), 123_000);
  assertEquals(req.NodeKey, registerRequest(KEY, null, HI).NodeKey);
});

Deno.test("mapRequest() streams with KeepAlive and no Compress; lite updates omit peers", () => {
  const eps = [{ addr: "127.0.0.1:41641", type: 1 }, { addr: "[::1]:41641", type: 1 }];
  const poll = mapRequest(KEY, DISCO, HI, eps, true);
  assertEquals([poll.Stream, poll.KeepAlive, "Compress" in poll, "OmitPeers" in poll], [
    true,
    true,
    false,
    false,
  ]);
  assertEquals(poll.DiscoKey, "discokey:" + "ab".repeat(32));
  assertEquals(poll.Endpoints, ["127.0.0.1:41641", "[::1]:41641"]);
  assertEquals(poll.EndpointTypes, [1, 1]);
  const lite = mapRequest(KEY, DISCO, HI, [], false);
  assertEquals([lite.Stream, lite.KeepAlive, lite.OmitPeers, "Endpoints" in lite], [
    false,
    false,
    true,
    false,
  ]);
});

Deno.test("key text forms round-trip the keys headscale sent in a netmap", () => {
  const self = MAP_SESSION.frames[0].msg.Node as Record<string, string>;
  for (
    const [kind, field] of [["node", "Key"], ["machine", "Machine"], ["disco", "DiscoKey"]] as const
  ) {
    const text = self[field];
    assertEquals(publicToText(kind, publicFromText(kind, text)), text);
  }
  assertThrows(() => publicFromText("node", self.Machine), ParseError, "nodekey:");
  assertThrows(() => publicFromText("machine", "mkey:" + "0".repeat(63)), ParseError, "64 hex");
});
