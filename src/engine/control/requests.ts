/**
 * Building the RegisterRequest and MapRequest JSON the Go client sends (`tailcfg.RegisterRequest`,
 * `tailcfg.MapRequest`), as pure functions of keys, Hostinfo and login options.
 * @module
 */
import type { LoginOptions } from "./client.ts";
import type { Hostinfo } from "./types.ts";
import type { MapRequest, RegisterRequest } from "./tailcfg.ts";
import { LOGOUT_EXPIRY, ZERO_TIME } from "./constants.ts";
import { CAPABILITY_VERSION } from "../../version.ts";
import { type DiscoPublic, type NodePrivate, publicOf, publicToText } from "../key/keys.ts";

/** `nodekey:` and 64 zeros: Go's OldNodeKey when there is none. */
export const ZERO_NODE_KEY = "nodekey:" + "0".repeat(64);

/**
 * The text form of a private node key's public half.
 * @param key the private key
 * @returns `nodekey:…`
 */
export function nodeKeyText(key: NodePrivate): string {
  return publicToText("node", publicOf(key));
}

/**
 * A RegisterRequest for logging in with `key` (rotating from `old` when given).
 * @param key the node key to register
 * @param old the key being replaced, or null
 * @param hostinfo our Hostinfo
 * @param login auth key, tags, ephemeral
 * @returns the request
 */
export function registerRequest(
  key: NodePrivate,
  old: NodePrivate | null,
  hostinfo: Hostinfo,
  login: LoginOptions = {},
): RegisterRequest {
  const hi: Hostinfo = { ...hostinfo };
  if (login.tags) hi.RequestTags = [...login.tags];
  const req: RegisterRequest = {
    Version: CAPABILITY_VERSION,
    NodeKey: nodeKeyText(key),
    OldNodeKey: old ? nodeKeyText(old) : ZERO_NODE_KEY,
    Expiry: ZERO_TIME,
    Followup: "",
    Hostinfo: hi,
  };
  if (login.authKey) req.Auth = { AuthKey: login.authKey };
  if (login.ephemeral) req.Ephemeral = true;
  return req;
}

/**
 * The logout request: the current key with `Expiry` = Unix 123.
 * @param key the current node key
 * @param hostinfo our Hostinfo
 * @returns the request
 */
export function logoutRequest(key: NodePrivate, hostinfo: Hostinfo): RegisterRequest {
  return { ...registerRequest(key, null, hostinfo), Expiry: LOGOUT_EXPIRY };
}

/**
 * A MapRequest: the streaming long poll (`stream` true, with KeepAlive) or a lite update
 * (`Stream: false, OmitPeers: true`). `Compress` is left out: we take plain JSON.
 * @param key our node key
 * @param discoKey this process's disco key
 * @param hostinfo our Hostinfo
 * @param endpoints our endpoints with their types
 * @param stream true for the long poll
 * @returns the request
 */
export function mapRequest(
  key: NodePrivate,
  discoKey: DiscoPublic,
  hostinfo: Hostinfo,
  endpoints: readonly { addr: string; type: number }[],
  stream: boolean,
): MapRequest {
  const req: MapRequest = {
    Version: CAPABILITY_VERSION,
    KeepAlive: stream,
    NodeKey: nodeKeyText(key),
    DiscoKey: publicToText("disco", discoKey),
    Stream: stream,
    Hostinfo: { ...hostinfo },
  };
  if (endpoints.length > 0) {
    req.Endpoints = endpoints.map((e) => e.addr);
    req.EndpointTypes = endpoints.map((e) => e.type);
  }
  if (!stream) req.OmitPeers = true;
  return req;
}
