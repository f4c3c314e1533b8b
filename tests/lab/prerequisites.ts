/**
 * The host programs the test suite runs, and where Debian gets them. `scripts/run_tests.ts`
 * checks them once, before the lab build and before any test: a missing one stops `npm test`
 * with one line that names it, its Debian package and the command that installs it. The README's
 * Prerequisites section lists the same programs and the same command (a test keeps them in step).
 *
 * Programs every Debian system has (the Essential set: `sh`, `sleep`) are not listed; programs the
 * lab builds (headscale, derper, tailscaled, tailscale, wireguard-go) are `versions.ts`' business.
 * A test that starts running a new host program adds one line here.
 * @module
 */

import { join } from "node:path";
import { requiredGoVersion } from "./build.ts";

/** One host program that tests (or the lab build) run. */
export interface Prerequisite {
  /** The executable's name, looked up on PATH. */
  readonly tool: string;
  /** The Debian package that installs it, or null when Debian's is not usable (Go is too old). */
  readonly debianPackage: string | null;
  /** Where to get it when {@linkcode Prerequisite.debianPackage} is null. */
  readonly elsewhere?: string;
  /** Arguments it must run with and exit 0, for a program whose presence alone proves little. */
  readonly probe?: readonly string[];
  /** What needs it, for the README and the reader of this list. */
  readonly neededBy: string;
}

/** Every host program the suite runs. */
export const PREREQUISITES: readonly Prerequisite[] = [
  {
    tool: "ping",
    debianPackage: "iputils-ping",
    // Some images ship a ping that cannot open its socket; `-V` shows it runs at all.
    probe: ["-V"],
    neededBy: "the kernel-mode tailscaled and wireguard-go tests ping through the tunnel",
  },
  {
    tool: "ip",
    debianPackage: "iproute2",
    neededBy: "the offline test namespace, the wireguard-go and kernel-mode tailscaled tests",
  },
  {
    tool: "sysctl",
    debianPackage: "procps",
    neededBy: "the wireguard-go test turns on forwarding inside its namespace",
  },
  {
    tool: "curl",
    debianPackage: "curl",
    neededBy: "the proxy tests and the demo fetch through our SOCKS5 and HTTP proxies",
  },
  {
    tool: "python3",
    debianPackage: "python3",
    neededBy:
      "the wireguard-go test's kernel-side TCP and UDP client; the install test parses the launchd plist",
  },
  {
    tool: "chromium",
    debianPackage: "chromium",
    neededBy: "the status --web test loads the live page in headless Chromium",
  },
  {
    tool: "nft",
    debianPackage: "nftables",
    neededBy: "the NAT lab's routers (masquerade, port forward, UDP blocked) and path faults",
  },
  {
    tool: "dig",
    debianPackage: "bind9-dnsutils",
    neededBy: "the MagicDNS test asks the daemon's --dns-listen socket with dig, as a user would",
  },
  {
    tool: "go",
    debianPackage: null,
    elsewhere: `Go >= ${requiredGoVersion()} from https://go.dev/dl`,
    neededBy: "the lab build (headscale, derper, tailscaled, tailscale, wireguard-go)",
  },
];

/** A prerequisite that is not usable here, and what was found instead. */
export interface MissingPrerequisite {
  /** The entry of {@linkcode PREREQUISITES}. */
  readonly prerequisite: Prerequisite;
  /** Empty when not on PATH at all; else what went wrong with the program found. */
  readonly detail: string;
}

/**
 * The one Debian command that installs every listed package.
 * @param list prerequisites (default: {@linkcode PREREQUISITES})
 * @returns e.g. `apt-get install -y iputils-ping iproute2 ...`
 */
export function debianInstallCommand(list: readonly Prerequisite[] = PREREQUISITES): string {
  return installCommand(list.map((p) => p.debianPackage));
}

/**
 * Looks an executable up the way a shell does.
 * @param tool a bare program name
 * @param path a PATH value (colon-separated)
 * @returns the path of the first executable file of that name, or null
 */
export function findOnPath(tool: string, path: string): string | null {
  for (const dir of path.split(":")) {
    // An empty entry means the current directory to a shell; nobody means that for these tools.
    if (dir === "") continue;
    const candidate = join(dir, tool);
    try {
      const st = Deno.statSync(candidate);
      if (st.isFile && (st.mode === null || (st.mode & 0o111) !== 0)) return candidate;
    } catch {
      // Not in this directory.
    }
  }
  return null;
}

/**
 * Checks every prerequisite: on PATH, and for those with a probe, runs it.
 * @param list prerequisites (default: {@linkcode PREREQUISITES})
 * @param path the PATH to search (default: this process's)
 * @returns the ones that are missing or do not run, in list order
 */
export async function missingPrerequisites(
  list: readonly Prerequisite[] = PREREQUISITES,
  path: string = Deno.env.get("PATH") ?? "",
): Promise<MissingPrerequisite[]> {
  const missing: MissingPrerequisite[] = [];
  for (const p of list) {
    const found = findOnPath(p.tool, path);
    if (found === null) {
      missing.push({ prerequisite: p, detail: "" });
      continue;
    }
    if (p.probe === undefined) continue;
    const probe = [found, ...p.probe].join(" ");
    try {
      const r = await new Deno.Command(found, {
        args: [...p.probe],
        stdin: "null",
        stdout: "null",
        stderr: "null",
        signal: AbortSignal.timeout(10_000),
      }).output();
      if (!r.success) missing.push({ prerequisite: p, detail: `'${probe}' exited ${r.code}` });
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      missing.push({ prerequisite: p, detail: `'${probe}' failed: ${why}` });
    }
  }
  return missing;
}

/**
 * The one line `npm test` stops with, e.g.
 * `tests: missing prerequisite 'ping' (Debian package iputils-ping): apt-get install -y iputils-ping`.
 * @param missing non-empty, from {@linkcode missingPrerequisites}
 * @returns the line, without a newline
 */
export function missingPrerequisitesLine(missing: readonly MissingPrerequisite[]): string {
  const parts = missing.map(({ prerequisite: p, detail }) => {
    const source = p.debianPackage === null
      ? p.elsewhere ?? "not packaged"
      : `Debian package ${p.debianPackage}`;
    return `'${p.tool}' (${source}${detail ? `; ${detail}` : ""})`;
  });
  const s = missing.length === 1 ? "" : "s";
  const packages = missing.map((m) => m.prerequisite.debianPackage);
  const install = packages.some((p) => p !== null) ? `: ${installCommand(packages)}` : "";
  return `tests: missing prerequisite${s} ${parts.join(", ")}${install}`;
}

function installCommand(packages: readonly (string | null)[]): string {
  const unique = [...new Set(packages.filter((p): p is string => p !== null))];
  return `apt-get install -y ${unique.join(" ")}`;
}

/**
 * Under CI only: installs the Debian packages of the missing prerequisites with apt-get, when
 * this process is root and apt-get exists (a CI machine is set up by its run; a developer's is
 * not changed behind their back). Runs `apt-get update` and tries again if the first install
 * fails (no package lists yet).
 * @param missing what {@linkcode missingPrerequisites} found
 * @param log where to say what it does
 * @returns whether it ran an install that exited 0 (the caller checks again either way)
 */
export async function installMissingWithApt(
  missing: readonly MissingPrerequisite[],
  log: (line: string) => void,
): Promise<boolean> {
  const packages = [
    ...new Set(missing.map((m) => m.prerequisite.debianPackage).filter((p) => p !== null)),
  ] as string[];
  const aptGet = findOnPath("apt-get", Deno.env.get("PATH") ?? "");
  if (packages.length === 0 || aptGet === null || Deno.uid() !== 0) return false;
  const apt = async (args: string[]) => {
    const r = await new Deno.Command(aptGet, {
      args,
      env: { DEBIAN_FRONTEND: "noninteractive" },
      stdin: "null",
      stdout: "null",
      stderr: "inherit",
    }).output();
    return r.success;
  };
  log(
    `tests: under CI, installing missing prerequisites: apt-get install -y ${packages.join(" ")}`,
  );
  const install = ["install", "-y", "--no-install-recommends", ...packages];
  if (await apt(install)) return true;
  return await apt(["update"]) && await apt(install);
}
