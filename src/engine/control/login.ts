/**
 * The registration flow of one login (Go: `direct.go` `doLogin`): register, then act on the
 * answer in Go's order: `Error` fails, `NodeKeyExpired` rotates to a fresh key and retries,
 * `AuthURL` is shown and long-polled with `Followup`, anything else is success. The candidate
 * key is committed only on success.
 * @module
 */
import { ControlError, type LoginOptions, type Persist } from "./client.ts";
import type { Hostinfo, UserProfile } from "./types.ts";
import type { RegisterResponse } from "./tailcfg.ts";
import type { ControlTransport } from "./transport.ts";
import { nodeKeyText, registerRequest, ZERO_NODE_KEY } from "./requests.ts";
import { generatePrivate, type NodePrivate, publicOf, shortKey } from "../key/keys.ts";
import type { Logger } from "../base/logger.ts";

/** How many times one login retries a NodeKeyExpired answer with a fresh key. */
export const MAX_KEY_REGENERATIONS = 2;

/** What {@linkcode runLogin} needs. */
export interface LoginFlowOptions {
  /** Where requests go. */
  transport: ControlTransport;
  /** The persisted keys and profile before this login. */
  persist: Persist;
  /** Our Hostinfo. */
  hostinfo: Hostinfo;
  /** The login options (auth key, tags, ephemeral). */
  login: LoginOptions;
  /** Register a new node key even when we have one. */
  regenerate: boolean;
  /** Called when control hands out an AuthURL (once per distinct URL). */
  onAuthUrl: (url: string) => void;
  /** Cancels the flow (and a pending Followup long-poll). */
  signal: AbortSignal;
  /**
   * Ends a register request that changes the node at control (any but a Followup poll). It
   * ends on close or a timeout, not when the login is superseded: control may still apply a
   * request we stopped listening to, after the next login's, and undo its key change.
   */
  settleSignal: AbortSignal;
  /** Logger. */
  log: Logger;
}

/** The outcome of a successful login. */
export interface LoginResult {
  /** Persist with the committed key(s) and user profile. */
  persist: Persist;
  /** Whether control authorized the machine (false: NeedsMachineAuth). */
  machineAuthorized: boolean;
}

/**
 * Registers until logged in. Throws a {@linkcode ControlError}: `invalid-auth-key` or
 * `login-failed` (not retryable) when control answers with `Error`, or whatever the transport
 * threw.
 * @param o see {@linkcode LoginFlowOptions}
 * @returns the new persist and machine authorization
 */
export async function runLogin(o: LoginFlowOptions): Promise<LoginResult> {
  const current = o.persist.privateNodeKey;
  let regenerate = o.regenerate || current === null;
  let trying: NodePrivate = regenerate ? generatePrivate("node") : current!;
  let old: NodePrivate | null = regenerate && current !== null ? current : null;
  let regenerations = 0;
  let lastAuthUrl = "";
  const req = registerRequest(trying, old, o.hostinfo, o.login);
  for (;;) {
    if (o.signal.aborted) throw o.signal.reason;
    const resp = await o.transport.register(req, req.Followup ? o.signal : o.settleSignal);
    if (o.signal.aborted) throw o.signal.reason;
    if (resp.Error) {
      if (req.Followup && /timed out/i.test(resp.Error)) {
        // headscale ends a Followup wait this way when its request context ends: wait again.
        continue;
      }
      throw req.Auth?.AuthKey !== undefined
        ? new ControlError(
          "invalid-auth-key",
          `Control rejected the auth key: ${resp.Error}`,
          false,
        )
        : new ControlError("login-failed", `Control refused login: ${resp.Error}`, false);
    }
    if (resp.NodeKeyExpired) {
      if (regenerations >= MAX_KEY_REGENERATIONS) {
        throw new ControlError(
          "node-key-expired",
          "Control says the node key expired, even a new one",
          false,
        );
      }
      regenerations++;
      old = regenerate ? old : trying;
      trying = generatePrivate("node");
      regenerate = true;
      req.NodeKey = nodeKeyText(trying);
      req.OldNodeKey = old ? nodeKeyText(old) : ZERO_NODE_KEY;
      req.Followup = "";
      o.log.info(`node key expired; registering new key ${shortKey(publicOf(trying))}`);
      continue;
    }
    if (resp.AuthURL) {
      if (resp.AuthURL !== lastAuthUrl) {
        lastAuthUrl = resp.AuthURL;
        o.log.info(`visit ${resp.AuthURL} to authenticate`);
        o.onAuthUrl(resp.AuthURL);
      }
      req.Followup = resp.AuthURL;
      continue;
    }
    const persist: Persist = regenerate
      ? { ...o.persist, oldPrivateNodeKey: old, privateNodeKey: trying }
      : { ...o.persist };
    persist.userProfile = userProfileOf(resp) ?? persist.userProfile;
    const machineAuthorized = resp.MachineAuthorized === true;
    o.log.info(
      `logged in as ${persist.userProfile?.loginName ?? "?"} with node key ${
        shortKey(publicOf(trying))
      }${machineAuthorized ? "" : " (waiting for machine authorization)"}`,
    );
    return { persist, machineAuthorized };
  }
}

/**
 * The user profile in a RegisterResponse (Login's names over User's), or null when absent.
 * @param resp the response
 * @returns the profile or null
 */
export function userProfileOf(resp: RegisterResponse): UserProfile | null {
  const id = resp.User?.ID ?? resp.Login?.ID;
  if (typeof id !== "number" || id === 0) return null;
  return {
    id,
    loginName: resp.Login?.LoginName ?? "",
    displayName: resp.Login?.DisplayName || resp.User?.DisplayName || "",
    profilePicUrl: resp.Login?.ProfilePicURL || resp.User?.ProfilePicURL || "",
  };
}
