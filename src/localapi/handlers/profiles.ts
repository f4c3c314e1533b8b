/**
 * `profiles/…`, as tailscaled serves them for `tailscale switch` and `tailscale login`.
 * tailnet keeps one login profile: `GET profiles/` lists it (none before the first login),
 * `GET profiles/current` answers it as `ipn.LoginProfile` JSON (ID "" while logged out),
 * `PUT profiles/` (a new empty profile) drops it and answers 201, `GET`/`POST
 * profiles/<id>` read or switch to it (404 / 500 "profile not found" for any other ID, as
 * tailscaled), and `DELETE profiles/<id>` is not built yet (501).
 * @module
 */
import type { LocalApiDeps } from "../deps.ts";
import type { Backend } from "../../ipn/backend.ts";
import { jsonResponse, LocalApiError, type LocalApiHandler } from "../server.ts";
import { callBackend, noContent, requireMethod } from "./_common.ts";
import { LOCALAPI_PREFIX } from "../../version.ts";

/** The one profile's ID (Go picks 4 random hex digits; any string will do for its clients). */
export const PROFILE_ID = "tailnet";

/**
 * The `profiles/` handler (the prefix: it serves every `profiles/…` path).
 * @param deps the backend
 * @returns the handler
 */
export function profilesHandler({ backend }: LocalApiDeps): LocalApiHandler {
  return async (req, url) => {
    const suffix = url.pathname.slice(LOCALAPI_PREFIX.length + "profiles/".length);
    if (suffix === "") {
      if (req.method === "GET") {
        const cur = loginProfile(backend);
        return jsonResponse(cur.ID === "" ? [] : [cur]);
      }
      if (req.method === "PUT") {
        await callBackend(() => backend.switchToEmptyProfile());
        return new Response(null, { status: 201 });
      }
      throw new LocalApiError(405, "use GET or PUT");
    }
    if (suffix === "current") {
      requireMethod(req, ["GET"], 405, "use GET");
      return jsonResponse(loginProfile(backend));
    }
    const id = decodeURIComponent(suffix);
    const cur = loginProfile(backend);
    const known = cur.ID !== "" && id === cur.ID;
    switch (req.method) {
      case "GET":
        if (!known) throw new LocalApiError(404, "Profile not found");
        return jsonResponse(cur);
      case "POST":
        if (!known) throw new LocalApiError(500, "profile not found");
        return noContent();
      case "DELETE":
        throw new LocalApiError(
          501,
          "deleting profiles is not built yet in this version of tailnet",
        );
      default:
        throw new LocalApiError(405, "use POST or DELETE");
    }
  };
}

/** Go's `ipn.LoginProfile` JSON for the one profile; the zero profile while logged out. */
function loginProfile(backend: Backend): Record<string, unknown> {
  const persist = backend.persist();
  const user = persist.userProfile;
  const nm = backend.netmap;
  const loggedIn = persist.privateNodeKey !== null && user !== null;
  return {
    ID: loggedIn ? PROFILE_ID : "",
    Name: loggedIn ? user.loginName : "",
    NetworkProfile: {
      MagicDNSName: nm?.domain ?? "",
      DomainName: nm?.domain ?? "",
      DisplayName: "",
    },
    Key: loggedIn ? `profile-${PROFILE_ID}` : "",
    UserProfile: {
      ID: user?.id ?? 0,
      LoginName: user?.loginName ?? "",
      DisplayName: user?.displayName ?? "",
      ...(user?.profilePicUrl ? { ProfilePicURL: user.profilePicUrl } : {}),
    },
    NodeID: persist.nodeId,
    LocalUserID: "",
    ControlURL: backend.prefs().ControlURL,
  };
}
