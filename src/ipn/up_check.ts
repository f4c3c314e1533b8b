/**
 * The `up` flag check of Go's `tailscale up` (`checkForAccidentalSettingReverts`): running
 * `up` with a subset of the flags it was first run with would silently reset the flags left
 * out, so it is refused, naming every non-default setting the command did not mention,
 * unless `--reset` is given. Pure functions over prefs JSON, so the CLI may import them.
 * @module
 */
import { isLoginServerSynonym, type Prefs } from "./prefs.ts";

/** The `up` flags that map to prefs, in the order `tailscale up` defines them. */
export const UP_PREF_FLAGS = [
  "login-server",
  "accept-routes",
  "accept-dns",
  "shields-up",
  "advertise-tags",
  "hostname",
  "advertise-routes",
  "advertise-exit-node",
  "exit-node",
  "exit-node-allow-lan-access",
] as const;

/** One of {@linkcode UP_PREF_FLAGS}. */
export type UpPrefFlag = typeof UP_PREF_FLAGS[number];

/** A flag's value as `up` would need to say it: a string or a boolean. */
export type FlagValue = string | boolean;

const EXIT_ROUTES = new Set(["0.0.0.0/0", "::/0"]);

/**
 * The value each pref flag would need to keep `p` as it is (Go's `prefsToFlags`).
 * @param p prefs
 * @returns flag name to value
 */
export function prefsToFlags(p: Prefs): Map<UpPrefFlag, FlagValue> {
  const routes = p.AdvertiseRoutes ?? [];
  return new Map<UpPrefFlag, FlagValue>([
    ["login-server", p.ControlURL],
    ["accept-routes", p.RouteAll],
    ["accept-dns", p.CorpDNS],
    ["shields-up", p.ShieldsUp],
    ["advertise-tags", (p.AdvertiseTags ?? []).join(",")],
    ["hostname", p.Hostname],
    ["advertise-routes", routes.filter((r) => !EXIT_ROUTES.has(r)).join(",")],
    ["advertise-exit-node", routes.some((r) => EXIT_ROUTES.has(r))],
    ["exit-node", p.ExitNodeIP !== "" ? p.ExitNodeIP : p.ExitNodeID],
    ["exit-node-allow-lan-access", p.ExitNodeAllowLANAccess],
  ]);
}

/**
 * Formats `--flag=value` as Go's `fmtFlagValueArg`: `--flag` for true, `--flag=` for "",
 * shell-quoted otherwise.
 * @param flag flag name without dashes
 * @param value its value
 * @returns the argument
 */
export function formatFlagArg(flag: string, value: FlagValue): string {
  if (value === true) return `--${flag}`;
  if (value === "") return `--${flag}=`;
  return `--${flag}=${shellQuote(String(value))}`;
}

function shellQuote(s: string): string {
  if (/^[A-Za-z0-9_\-+=.,/:@%]+$/.test(s)) return s;
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** What {@linkcode checkUpFlags} needs to know about the command line and the daemon. */
export interface UpCheckInput {
  /** The prefs the flags ask for (defaults where a flag was not given). */
  newPrefs: Prefs;
  /** The daemon's current prefs. */
  curPrefs: Prefs;
  /** The login name from the current prefs' `Config.UserProfile`, "" when none. */
  curLoginName: string;
  /** The daemon's backend state name, e.g. "Running". */
  backendState: string;
  /** Every flag given on the command line (pref flags and others), without dashes. */
  flagsGiven: ReadonlySet<string>;
  /** The given flags as they should be repeated, e.g. `["--hostname=a", "--reset"]`. */
  explicitArgs: readonly string[];
  /** The command to show, e.g. "tailnet up". */
  command: string;
}

/** The outcome of {@linkcode checkUpFlags}. */
export type UpCheckResult =
  | { kind: "ok"; simpleUp: boolean }
  | { kind: "missing"; missing: string[]; message: string };

/**
 * Go's `checkForAccidentalSettingReverts`. A first `up` (empty current ControlURL) is never
 * refused; a bare `up` of a logged-in node is a "simple up" (just set WantRunning).
 * @param input see {@linkcode UpCheckInput}
 * @returns ok, or the missing flags and a one-line message naming them
 *
 * @example Leaving out --hostname is refused
 * ```ts
 * import { defaultPrefs } from "./prefs.ts";
 * import { checkUpFlags } from "./up_check.ts";
 * const cur = { ...defaultPrefs(), ControlURL: "http://hs", Hostname: "a" };
 * const r = checkUpFlags({ newPrefs: { ...defaultPrefs(), ControlURL: "http://hs" }, curPrefs: cur,
 *   curLoginName: "u", backendState: "Running", flagsGiven: new Set(["login-server"]),
 *   explicitArgs: ["--login-server=http://hs"], command: "tailnet up" });
 * if (r.kind !== "missing" || r.missing[0] !== "--hostname=a") throw new Error();
 * ```
 */
export function checkUpFlags(input: UpCheckInput): UpCheckResult {
  const { newPrefs, curPrefs, flagsGiven } = input;
  if (curPrefs.ControlURL === "") return { kind: "ok", simpleUp: false };
  if (flagsGiven.size === 0 && input.curLoginName !== "" && input.backendState !== "NeedsLogin") {
    return { kind: "ok", simpleUp: true };
  }
  const cur = prefsToFlags(curPrefs);
  const next = prefsToFlags(newPrefs);
  const missing: string[] = [];
  for (const [flag, valCur] of cur) {
    if (flagsGiven.has(flag)) continue;
    const valNew = next.get(flag);
    if (valCur === valNew) continue;
    if (flag === "login-server" && isLoginServerSynonym(valCur) && isLoginServerSynonym(valNew)) {
      continue;
    }
    missing.push(formatFlagArg(flag, valCur));
  }
  if (missing.length === 0) return { kind: "ok", simpleUp: false };
  missing.sort();
  const suggestion = [input.command, ...input.explicitArgs, ...missing].join(" ");
  const message = `changing settings via '${input.command}' requires mentioning all ` +
    `non-default flags. To proceed, either re-run your command with --reset or use the ` +
    `command below to explicitly mention the current value of all non-default settings: ` +
    suggestion;
  return { kind: "missing", missing, message };
}
