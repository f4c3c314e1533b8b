/**
 * `tailnet install` and `tailnet uninstall`: the daemon as a system service, a systemd unit on
 * Linux and a launchd plist on macOS. tailnet cannot run `systemctl` or `launchctl` (the
 * binary has no `--allow-run`), so it writes or removes the file and prints the one command
 * that starts or stops the service. `--dry-run` prints instead of writing, so no root needed.
 * @module
 */
import { UsageError } from "../engine/base/errors.ts";
import { type Command, type CommandContext, parseFlags, parseIntFlag } from "./command.ts";
import { daemonRunFlags } from "./daemon_permissions.ts";
import {
  LAUNCHD_LABEL,
  LAUNCHD_PLIST_PATH,
  launchdPlist,
  type ServiceSpec,
  SYSTEMD_UNIT_PATH,
  SYSTEMD_WANTS_LINK,
  systemdUnit,
} from "./_service_files.ts";

const INSTALL_FLAGS = {
  "dry-run": { type: "boolean" },
  os: { type: "string" },
  statedir: { type: "string" },
  socket: { type: "string" },
  config: { type: "string" },
  port: { type: "string" },
} as const;

const UNINSTALL_FLAGS = {
  "dry-run": { type: "boolean" },
  os: { type: "string" },
} as const;

/** The service's defaults: root's paths (the service runs as root, with no capabilities). */
const SERVICE_STATE_DIR = "/var/lib/tailnet";
const SERVICE_SOCKET = "/var/run/tailnet/tailnetd.sock";

type ServiceOs = "linux" | "darwin";

/** The `install` command. */
export const installCommand: Command = {
  name: "install",
  summary: "Install the daemon as a system service (systemd or launchd)",
  usage: `tailnet install [flags]

Writes ${SYSTEMD_UNIT_PATH} (Linux) or ${LAUNCHD_PLIST_PATH} (macOS) that runs
'tailnet daemon' at boot in userspace mode: no capabilities, a read-only file system but for
its state and socket directories, and Deno permissions narrowed to them. Needs root unless
--dry-run.

  --dry-run        print the file and where it would go; write nothing
  --statedir DIR   the daemon's state directory (default ${SERVICE_STATE_DIR})
  --socket PATH    the LocalAPI socket (default ${SERVICE_SOCKET})
  --config FILE    run with this config file (see 'tailnet help daemon'); checked now
  --port N         UDP port for WireGuard and disco (default 41641)
  --os linux|darwin  which service file to write (default: this system's)`,
  async run(args, ctx) {
    const { values } = parseFlags(args, INSTALL_FLAGS);
    const os = serviceOs(values.os);
    if (values.port !== undefined && parseIntFlag("port", values.port) > 65535) {
      throw new UsageError(`invalid value "${values.port}" for flag --port: out of range`);
    }
    const stateDir = absolute("statedir", values.statedir ?? SERVICE_STATE_DIR);
    const socket = absolute("socket", values.socket ?? SERVICE_SOCKET);
    const config = values.config === undefined ? null : absolute("config", values.config);
    const readPaths: string[] = [];
    if (config !== null) {
      readPaths.push(config);
      // Loaded now so that a bad config fails here, not at boot; its key file is read too.
      const { loadConfigFile } = await import("../ipn/conffile.ts");
      const c = await loadConfigFile(config);
      if (c.authKey?.startsWith("file:")) readPaths.push(c.authKey.slice("file:".length));
    }
    const daemonArgs = [
      "daemon",
      "--statedir",
      stateDir,
      "--socket",
      socket,
      ...(config === null ? [] : ["--config", config]),
      ...(values.port === undefined ? [] : ["--port", values.port]),
    ];
    const spec = serviceSpec(stateDir, dirname(socket), readPaths, daemonArgs);
    const [path, text, start] = os === "linux"
      ? [
        SYSTEMD_UNIT_PATH,
        systemdUnit(spec),
        "systemctl daemon-reload && systemctl enable --now tailnet",
      ]
      : [
        LAUNCHD_PLIST_PATH,
        launchdPlist(spec),
        `launchctl bootstrap system ${LAUNCHD_PLIST_PATH}`,
      ];
    if (values["dry-run"]) {
      ctx.out(`# would write ${path}`);
      for (const line of text.trimEnd().split("\n")) ctx.out(line);
      return 0;
    }
    await writeServiceFile(path, text);
    ctx.out(`wrote ${path}`);
    ctx.out(`start it with: ${start}`);
    return 0;
  },
};

/** The `uninstall` command. */
export const uninstallCommand: Command = {
  name: "uninstall",
  summary: "Remove the system service that 'tailnet install' wrote (the state stays)",
  usage: `tailnet uninstall [flags]

Removes ${SYSTEMD_UNIT_PATH} and its enablement link (Linux) or ${LAUNCHD_PLIST_PATH}
(macOS). The state directory stays, so a later install comes back as the same node. Stop the
service first (systemctl stop tailnet / launchctl bootout system/${LAUNCHD_LABEL}).

  --dry-run        print what would be removed; remove nothing
  --os linux|darwin  which service file to remove (default: this system's)`,
  async run(args, ctx) {
    const { values } = parseFlags(args, UNINSTALL_FLAGS);
    const os = serviceOs(values.os);
    const paths = os === "linux" ? [SYSTEMD_WANTS_LINK, SYSTEMD_UNIT_PATH] : [LAUNCHD_PLIST_PATH];
    if (values["dry-run"]) {
      for (const p of paths) ctx.out(`# would remove ${p}`);
      ctx.out(`# the state directory (default ${SERVICE_STATE_DIR}) is kept`);
      return 0;
    }
    let removed = 0;
    for (const p of paths) removed += await removeIfPresent(p, ctx) ? 1 : 0;
    if (removed === 0) {
      ctx.out("nothing to remove: the service is not installed");
      return 0;
    }
    ctx.out(
      os === "linux"
        ? "then run: systemctl stop tailnet; systemctl daemon-reload"
        : `then run: launchctl bootout system/${LAUNCHD_LABEL}`,
    );
    ctx.out(`the state directory (default ${SERVICE_STATE_DIR}) is kept`);
    return 0;
  },
};

/**
 * What the service runs: the compiled binary itself (its permissions are baked in), or this
 * `deno run` with the daemon's flags and reads and writes narrowed to its own paths. Files it
 * reads (config, key file) are listed read-only, which also keeps them visible when they live
 * under /root or /home.
 */
function serviceSpec(
  stateDir: string,
  socketDir: string,
  readPaths: readonly string[],
  daemonArgs: readonly string[],
): ServiceSpec {
  const exe = Deno.execPath();
  if (Deno.build.standalone) {
    return {
      argv: [exe, ...daemonArgs],
      stateDir,
      socketDir,
      env: {},
      readOnlyPaths: [...readPaths],
    };
  }
  const main = new URL(Deno.mainModule);
  const mainPath = main.protocol === "file:" ? decodeURIComponent(main.pathname) : main.href;
  const denoDir = defaultDenoDir();
  const rw = [stateDir, socketDir];
  // /var/run is a link to /run: the socket's directory is allowed by both names.
  if (socketDir.startsWith("/var/run/")) rw.push(socketDir.slice(4));
  const argv = [exe, "run", ...daemonRunFlags([...rw, ...readPaths], rw), mainPath, ...daemonArgs];
  const sources = main.protocol === "file:" ? [dirname(mainPath)] : [];
  return {
    argv,
    stateDir,
    socketDir,
    env: denoDir === null ? {} : { DENO_DIR: denoDir },
    readOnlyPaths: [...sources, ...(denoDir === null ? [] : [denoDir]), ...readPaths],
  };
}

/** Deno's cache directory as this `deno run` uses it, which the service must reuse. */
function defaultDenoDir(): string | null {
  const set = Deno.env.get("DENO_DIR");
  if (set) return set;
  const home = Deno.env.get("HOME");
  if (Deno.build.os === "darwin") return home ? `${home}/Library/Caches/deno` : null;
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  if (xdg) return `${xdg}/deno`;
  return home ? `${home}/.cache/deno` : null;
}

function serviceOs(flag: string | undefined): ServiceOs {
  const os = flag ?? Deno.build.os;
  if (os === "linux" || os === "darwin") return os;
  if (flag !== undefined) {
    throw new UsageError(`invalid value "${flag}" for flag --os: want linux or darwin`);
  }
  throw new UsageError(`install is for Linux (systemd) and macOS (launchd), not ${os}`);
}

function absolute(flag: string, path: string): string {
  if (!path.startsWith("/")) {
    throw new UsageError(`invalid value "${path}" for flag --${flag}: want an absolute path`);
  }
  return path.replace(/\/+$/, "") || "/";
}

function dirname(path: string): string {
  return path.slice(0, path.lastIndexOf("/")) || "/";
}

async function writeServiceFile(path: string, text: string): Promise<void> {
  try {
    await Deno.writeTextFile(path, text, { mode: 0o644 });
  } catch (err) {
    if (err instanceof Deno.errors.PermissionDenied) {
      throw new UsageError(`cannot write ${path}: permission denied (run as root, or --dry-run)`);
    }
    throw err;
  }
}

async function removeIfPresent(path: string, ctx: CommandContext): Promise<boolean> {
  try {
    await Deno.remove(path);
    ctx.out(`removed ${path}`);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    if (err instanceof Deno.errors.PermissionDenied) {
      throw new UsageError(`cannot remove ${path}: permission denied (run as root, or --dry-run)`);
    }
    throw err;
  }
}
