/**
 * The tailcfg JSON shapes the control client sends and reads (Go: `tailcfg/tailcfg.go`), with
 * Go's field names. Only the fields tailnet uses are typed; every shape is open (`[key: string]:
 * unknown`) so unknown fields survive a decode, as Go's decoder ignores and we keep them.
 * @module
 */
import type { Hostinfo } from "./types.ts";

/** A JSON object with unknown extra fields. */
export type JsonObject = Record<string, unknown>;

/** `tailcfg.RegisterRequest`. */
export interface RegisterRequest {
  Version: number;
  NodeKey: string;
  OldNodeKey: string;
  NLKey?: string;
  Auth?: { AuthKey?: string; [key: string]: unknown };
  Expiry: string;
  Followup: string;
  Hostinfo: Hostinfo;
  Ephemeral?: boolean;
  NodeKeySignature?: string | null;
  [key: string]: unknown;
}

/** `tailcfg.RegisterResponse`. */
export interface RegisterResponse {
  User?: { ID?: number; DisplayName?: string; ProfilePicURL?: string; [key: string]: unknown };
  Login?: {
    ID?: number;
    Provider?: string;
    LoginName?: string;
    DisplayName?: string;
    ProfilePicURL?: string;
    [key: string]: unknown;
  };
  NodeKeyExpired?: boolean;
  MachineAuthorized?: boolean;
  AuthURL?: string;
  NodeKeySignature?: string | null;
  Error?: string;
  [key: string]: unknown;
}

/** `tailcfg.MapRequest`. */
export interface MapRequest {
  Version: number;
  Compress?: string;
  KeepAlive: boolean;
  NodeKey: string;
  DiscoKey: string;
  Stream: boolean;
  Hostinfo: Hostinfo;
  Endpoints?: string[];
  EndpointTypes?: number[];
  OmitPeers?: boolean;
  [key: string]: unknown;
}

/** `tailcfg.PingRequest`. */
export interface PingRequest {
  URL: string;
  URLIsNoise?: boolean;
  Log?: boolean;
  Types?: string;
  IP?: string;
  Payload?: string;
  [key: string]: unknown;
}

/** `tailcfg.PeerChange` (an entry of `PeersChangedPatch`). */
export interface PeerChange {
  NodeID: number;
  DERPRegion?: number;
  Cap?: number;
  CapMap?: JsonObject | null;
  Endpoints?: string[] | null;
  Key?: string | null;
  KeySignature?: string | null;
  DiscoKey?: string | null;
  Online?: boolean | null;
  LastSeen?: string | null;
  KeyExpiry?: string | null;
  [key: string]: unknown;
}

/** `tailcfg.UserProfile` as JSON. */
export interface UserProfileJson {
  ID: number;
  LoginName?: string;
  DisplayName?: string;
  ProfilePicURL?: string;
  [key: string]: unknown;
}

/** `tailcfg.MapResponse`. Absent and null both mean "unchanged" unless said otherwise. */
export interface MapResponse {
  KeepAlive?: boolean;
  PingRequest?: PingRequest | null;
  PopBrowserURL?: string;
  Node?: JsonObject | null;
  DERPMap?: JsonObject | null;
  Peers?: JsonObject[] | null;
  PeersChanged?: JsonObject[] | null;
  PeersRemoved?: number[] | null;
  PeersChangedPatch?: PeerChange[] | null;
  PeerSeenChange?: Record<string, boolean> | null;
  OnlineChange?: Record<string, boolean> | null;
  DNSConfig?: JsonObject | null;
  Domain?: string;
  CollectServices?: boolean | null;
  /** Legacy whole filter; `[]` means deny all, null/absent means unchanged. */
  PacketFilter?: JsonObject[] | null;
  /** Named filters; a null value deletes that name, `"*": null` clears all. */
  PacketFilters?: Record<string, JsonObject[] | null> | null;
  UserProfiles?: UserProfileJson[] | null;
  Health?: string[] | null;
  DisplayMessages?: Record<string, unknown> | null;
  SSHPolicy?: JsonObject | null;
  ControlTime?: string | null;
  Debug?: { SleepSeconds?: number; Exit?: number | null; [key: string]: unknown } | null;
  [key: string]: unknown;
}

/**
 * Parses one map frame's JSON as a MapResponse. Throws `SyntaxError` when it is not a JSON
 * object.
 * @param text the JSON text
 * @returns the response
 */
export function parseMapResponse(text: string): MapResponse {
  const v: unknown = JSON.parse(text);
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new SyntaxError("Cannot parse MapResponse: not a JSON object");
  }
  return v as MapResponse;
}
