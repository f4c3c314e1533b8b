/**
 * The control contract's `Persist` as Go's `persist.Persist` JSON (`Prefs.Config`): private
 * keys in their `privkey:` text form for the state file, or zeroed for the LocalAPI.
 * @module
 */
import type { Persist } from "../engine/control/client.ts";
import { KEY_LEN, type NodePrivate, privateFromText, privateToText } from "../engine/key/keys.ts";
import type { PersistJson, UserProfileJson } from "./prefs.ts";

const ZERO_PRIVATE = "privkey:" + "0".repeat(KEY_LEN * 2);
// Go's `key.NLPrivate` is an ed25519 private key: 64 bytes, twice a node key's length.
const ZERO_NL_PRIVATE = "nlpriv:" + "0".repeat(KEY_LEN * 4);

/**
 * Persist as JSON.
 * @param p the persist
 * @param withKeys true for the state file; false zeroes private keys (LocalAPI)
 * @returns `persist.Persist` JSON
 */
export function persistToJson(p: Persist, withKeys: boolean): PersistJson {
  const key = (k: NodePrivate | null) => (withKeys && k !== null ? privateToText(k) : ZERO_PRIVATE);
  const u = p.userProfile;
  const profile: UserProfileJson = {
    ID: u?.id ?? 0,
    LoginName: u?.loginName ?? "",
    DisplayName: u?.displayName ?? "",
    // Go writes ProfilePicURL with omitzero.
    ...(u?.profilePicUrl ? { ProfilePicURL: u.profilePicUrl } : {}),
  };
  return {
    PrivateNodeKey: key(p.privateNodeKey),
    OldPrivateNodeKey: key(p.oldPrivateNodeKey),
    UserProfile: profile,
    NetworkLockKey: ZERO_NL_PRIVATE,
    NodeID: p.nodeId,
  };
}

/**
 * Reads persist JSON written by {@linkcode persistToJson} (with keys).
 * @param v parsed JSON, or null/undefined for none
 * @returns the persist
 * @throws {TypeError} or ParseError naming the bad field
 */
export function persistFromJson(v: unknown): Persist {
  if (v === null || v === undefined) {
    return { privateNodeKey: null, oldPrivateNodeKey: null, userProfile: null, nodeId: "" };
  }
  if (typeof v !== "object" || Array.isArray(v)) throw new TypeError("Config is not an object");
  const o = v as Record<string, unknown>;
  const key = (name: string): NodePrivate | null => {
    const t = o[name];
    if (t === undefined || t === null || t === "" || t === ZERO_PRIVATE) return null;
    if (typeof t !== "string") throw new TypeError(`Config.${name} is not a string`);
    return privateFromText("node", t);
  };
  const up = o.UserProfile;
  let userProfile: Persist["userProfile"] = null;
  if (up !== undefined && up !== null) {
    if (typeof up !== "object") throw new TypeError("Config.UserProfile is not an object");
    const u = up as Record<string, unknown>;
    const id = u.ID ?? 0;
    if (typeof id !== "number") throw new TypeError("Config.UserProfile.ID is not a number");
    const str = (f: string) => {
      const s = u[f] ?? "";
      if (typeof s !== "string") throw new TypeError(`Config.UserProfile.${f} is not a string`);
      return s;
    };
    if (id !== 0 || str("LoginName") !== "") {
      userProfile = {
        id,
        loginName: str("LoginName"),
        displayName: str("DisplayName"),
        profilePicUrl: str("ProfilePicURL"),
      };
    }
  }
  const nodeId = o.NodeID ?? "";
  if (typeof nodeId !== "string") throw new TypeError("Config.NodeID is not a string");
  return {
    privateNodeKey: key("PrivateNodeKey"),
    oldPrivateNodeKey: key("OldPrivateNodeKey"),
    userProfile,
    nodeId,
  };
}
