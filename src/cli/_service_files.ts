/**
 * The files `tailnet install` writes: a systemd unit (Linux) and a launchd plist (macOS) that
 * run `tailnet daemon` at boot in userspace mode, with no capabilities and the narrowest Deno
 * permissions. Pure text builders, so tests check them without root.
 * @module
 */

/** What the service runs and where its files live. */
export interface ServiceSpec {
  /** argv of the daemon: the compiled binary or `deno run ... main.ts`, then `daemon ...`. */
  argv: readonly string[];
  /** The state directory (kept on uninstall). */
  stateDir: string;
  /** The directory of the LocalAPI socket. */
  socketDir: string;
  /** Environment for the daemon (e.g. `DENO_DIR` for a `deno run` service). */
  env: Readonly<Record<string, string>>;
  /** What the daemon only reads besides its own directories: sources, DENO_DIR, config. */
  readOnlyPaths: readonly string[];
}

/** Where the systemd unit goes and its name. */
export const SYSTEMD_UNIT_PATH = "/etc/systemd/system/tailnet.service";
/** The symlink `systemctl enable` makes (WantedBy=multi-user.target); uninstall removes it. */
export const SYSTEMD_WANTS_LINK = "/etc/systemd/system/multi-user.target.wants/tailnet.service";
/** The launchd job's label. */
export const LAUNCHD_LABEL = "com.tailnet.tailnetd";
/** Where the launchd plist goes. */
export const LAUNCHD_PLIST_PATH = `/Library/LaunchDaemons/${LAUNCHD_LABEL}.plist`;
/** Where launchd sends the daemon's log. */
export const LAUNCHD_LOG_PATH = "/var/log/tailnetd.log";

/**
 * The systemd unit. Userspace mode needs no capabilities (the WireGuard port is above 1024 and
 * there is no TUN device), so the bounding set is empty, and the file system is read-only but
 * for the state and runtime directories systemd makes for it.
 * @param spec what to run
 * @returns the unit file's text
 */
export function systemdUnit(spec: ServiceSpec): string {
  const env = Object.entries(spec.env).map(([k, v]) => `Environment=${quoteSystemd(`${k}=${v}`)}`);
  const readOnly = spec.readOnlyPaths.length > 0
    ? [`ReadOnlyPaths=${spec.readOnlyPaths.map(quoteSystemd).join(" ")}`]
    : [];
  // ProtectHome=yes hides /root and /home; a `deno run` service reads its sources and
  // DENO_DIR from there, so it gets them read-only instead.
  // systemd makes /var/lib/<name> and /run/<name> writable itself; paths elsewhere are
  // opened up one by one.
  const stateName = /^\/var\/lib\/[^/]/.test(spec.stateDir) ? spec.stateDir.slice(9) : null;
  const runName = /^\/(var\/)?run\/[^/]+$/.test(spec.socketDir)
    ? spec.socketDir.replace(/^\/(var\/)?run\//, "")
    : null;
  const writable = [
    ...(stateName === null ? [spec.stateDir] : []),
    ...(runName === null ? [spec.socketDir] : []),
  ];
  const underHome = spec.readOnlyPaths.some((p) => /^\/(root|home|run\/user)(\/|$)/.test(p));
  return [
    "# Written by `tailnet install`; `tailnet uninstall` removes it (the state stays).",
    "[Unit]",
    "Description=tailnet node (Tailscale-compatible daemon, userspace networking)",
    "Documentation=https://jsr.io/@tailnet/tailnet",
    "Wants=network-online.target",
    "After=network-online.target",
    "",
    "[Service]",
    "Type=simple",
    `ExecStart=${spec.argv.map(quoteSystemd).join(" ")}`,
    ...env,
    "Restart=on-failure",
    "RestartSec=2",
    // SIGTERM is the daemon's graceful shutdown: map stream closed, state flushed.
    "KillSignal=SIGTERM",
    "TimeoutStopSec=15",
    ...(stateName === null ? [] : [`StateDirectory=${stateName}`, "StateDirectoryMode=0700"]),
    ...(runName === null ? [] : [`RuntimeDirectory=${runName}`, "RuntimeDirectoryMode=0700"]),
    ...(writable.length > 0 ? [`ReadWritePaths=${writable.map(quoteSystemd).join(" ")}`] : []),
    "UMask=0077",
    "CapabilityBoundingSet=",
    "AmbientCapabilities=",
    "NoNewPrivileges=yes",
    "ProtectSystem=strict",
    `ProtectHome=${underHome ? "read-only" : "yes"}`,
    ...readOnly,
    "PrivateTmp=yes",
    "PrivateDevices=yes",
    "ProtectKernelTunables=yes",
    "ProtectKernelModules=yes",
    "ProtectKernelLogs=yes",
    "ProtectControlGroups=yes",
    "ProtectClock=yes",
    "ProtectHostname=yes",
    "ProtectProc=invisible",
    "RestrictNamespaces=yes",
    "RestrictRealtime=yes",
    "RestrictSUIDSGID=yes",
    "LockPersonality=yes",
    // Netlink: Deno lists network interfaces through it (local endpoints for disco).
    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
    "SystemCallArchitectures=native",
    "SystemCallFilter=@system-service",
    // No MemoryDenyWriteExecute: V8 compiles JavaScript to machine code at run time.
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/**
 * The launchd plist for a system daemon: started at boot, restarted if it exits.
 * @param spec what to run
 * @returns the plist's XML
 */
export function launchdPlist(spec: ServiceSpec): string {
  const str = (s: string) => `<string>${escapeXml(s)}</string>`;
  const env = Object.entries(spec.env);
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">`,
    `<!-- Written by tailnet install; tailnet uninstall removes it (the state stays). -->`,
    `<plist version="1.0">`,
    `<dict>`,
    `  <key>Label</key>`,
    `  ${str(LAUNCHD_LABEL)}`,
    `  <key>ProgramArguments</key>`,
    `  <array>`,
    ...spec.argv.map((a) => `    ${str(a)}`),
    `  </array>`,
    ...(env.length > 0
      ? [
        `  <key>EnvironmentVariables</key>`,
        `  <dict>`,
        ...env.flatMap(([k, v]) => [`    <key>${escapeXml(k)}</key>`, `    ${str(v)}`]),
        `  </dict>`,
      ]
      : []),
    `  <key>RunAtLoad</key>`,
    `  <true/>`,
    `  <key>KeepAlive</key>`,
    `  <true/>`,
    `  <key>Umask</key>`,
    `  <integer>63</integer>`,
    `  <key>StandardOutPath</key>`,
    `  ${str(LAUNCHD_LOG_PATH)}`,
    `  <key>StandardErrorPath</key>`,
    `  ${str(LAUNCHD_LOG_PATH)}`,
    `</dict>`,
    `</plist>`,
    ``,
  ].join("\n");
}

/** Quotes one word for a systemd unit when it needs it (spaces, quotes, `%`, `$`). */
function quoteSystemd(word: string): string {
  const escaped = word.replaceAll("%", "%%").replaceAll("$", "$$");
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(escaped)) return escaped;
  return `"${escaped.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

function escapeXml(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}
