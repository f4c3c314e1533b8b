/**
 * The `tailnet` command line: global flags, dispatch to a subcommand, and the one rule for
 * failures: one line on stderr (`tailnet: …`), exit 2 for usage errors and 1 otherwise, and a
 * stack trace only with `--verbose`.
 * @module
 */
import { errorMessage, UsageError } from "../engine/base/errors.ts";
import type { Command, CommandContext } from "./command.ts";
import { defaultSocketPath } from "./paths.ts";

/**
 * A command as `tailnet --help` lists it. Its module loads only when it runs or its usage is
 * asked for: every command pays the start-up of what it imports, and the daemon's (the engine,
 * crypto, control client) is most of the program, which `tailnet status` must not wait for.
 */
export interface CommandEntry {
  /** The word after `tailnet`. */
  readonly name: string;
  /** One line for `tailnet --help`; the same as the loaded command's. */
  readonly summary: string;
  /** Imports the command's module. */
  load(): Promise<Command>;
}

/** The built commands, in help order. */
const BUILT: readonly CommandEntry[] = [
  {
    name: "daemon",
    summary: "Run the tailnet node (the daemon) in the foreground",
    load: async () => (await import("./daemon.ts")).daemonCommand,
  },
  {
    name: "up",
    summary: "Connect to a tailnet, logging in if needed",
    load: async () => (await import("./up.ts")).upCommand,
  },
  {
    name: "down",
    summary: "Disconnect from the tailnet",
    load: async () => (await import("./down.ts")).downCommand,
  },
  {
    name: "set",
    summary: "Change specified preferences",
    load: async () => (await import("./set.ts")).setCommand,
  },
  {
    name: "login",
    summary: "Log in to a tailnet",
    load: async () => (await import("./login.ts")).loginCommand,
  },
  {
    name: "logout",
    summary: "Disconnect from the tailnet and expire the current node key",
    load: async () => (await import("./logout.ts")).logoutCommand,
  },
  {
    name: "status",
    summary: "Show the state of the tailnet daemon and its connections",
    load: async () => (await import("./status.ts")).statusCommand,
  },
  {
    name: "ip",
    summary: "Show Tailscale IP addresses",
    load: async () => (await import("./ip.ts")).ipCommand,
  },
  {
    name: "dns",
    summary: "Diagnose the internal DNS forwarder",
    load: async () => (await import("./dns.ts")).dnsCommand,
  },
  {
    name: "exit-node",
    summary: "Show machines on your tailnet configured as exit nodes",
    load: async () => (await import("./exit_node.ts")).exitNodeCommand,
  },
  {
    name: "ping",
    summary: "Ping a host at the Tailscale layer, see how it routed",
    load: async () => (await import("./ping.ts")).pingCommand,
  },
  {
    name: "whois",
    summary: "Show the machine and user associated with a Tailscale IP (v4 or v6)",
    load: async () => (await import("./whois.ts")).whoisCommand,
  },
  {
    name: "metrics",
    summary: "Show the daemon's user metrics (Prometheus text)",
    load: async () => (await import("./debug.ts")).metricsCommand,
  },
  {
    name: "debug",
    summary: "Debug commands: prefs, derp-map, watch-ipn, netmap, metrics, reload-config, filter",
    load: async () => (await import("./debug.ts")).debugCommand,
  },
  {
    name: "install",
    summary: "Install the daemon as a system service (systemd or launchd)",
    load: async () => (await import("./install.ts")).installCommand,
  },
  {
    name: "uninstall",
    summary: "Remove the system service that 'tailnet install' wrote (the state stays)",
    load: async () => (await import("./install.ts")).uninstallCommand,
  },
  {
    name: "netcheck",
    summary: "Print an analysis of local network conditions",
    load: async () => (await import("./netcheck.ts")).netcheckCommand,
  },
  {
    name: "version",
    summary: "Print tailnet version",
    load: async () => (await import("./version.ts")).versionCommand,
  },
];

/** Commands of `tailscale` that tailnet will have, not built yet; each says so and exits 1. */
const PLANNED = new Map<string, string>([
  ["ping", "Ping a host at the Tailscale layer, see how it routed"],
]);

function plannedCommand(name: string, summary: string): Command {
  return {
    name,
    summary: `${summary} (not built yet)`,
    usage: `tailnet ${name}: not built yet in this version of tailnet.`,
    run() {
      throw new NotBuiltError(name);
    },
  };
}

class NotBuiltError extends Error {
  constructor(name: string) {
    super(`'${name}' is not built yet in this version of tailnet`);
  }
}

/**
 * Every command, in help order, none of them loaded yet.
 * @returns the built commands, then the planned ones
 */
export function commands(): CommandEntry[] {
  const builtNames = new Set(BUILT.map((c) => c.name));
  const planned = [...PLANNED].filter(([n]) => !builtNames.has(n)).map(([n, s]) => {
    const cmd = plannedCommand(n, s);
    return { name: n, summary: cmd.summary, load: () => Promise.resolve(cmd) };
  });
  return [...BUILT, ...planned];
}

function mainUsage(cmds: CommandEntry[]): string {
  const width = Math.max(...cmds.map((c) => c.name.length));
  return [
    "USAGE",
    "  tailnet [--socket PATH] <command> [command flags]",
    "",
    "A Tailscale-compatible node in TypeScript: `tailnet daemon` runs it, the other commands",
    "drive it over its LocalAPI socket.",
    "",
    "COMMANDS",
    ...cmds.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "  help".padEnd(width + 2) + "  Show help for a command",
    "",
    "GLOBAL FLAGS",
    `  --socket PATH  the daemon's LocalAPI socket (default ${defaultSocketPath()})`,
  ].join("\n");
}

/** Where the CLI writes; tests capture both. */
export interface CliIo {
  /** Standard output, one line per call. */
  out(line: string): void;
  /** Standard error, one line per call. */
  err(line: string): void;
}

/**
 * Runs the CLI and returns the exit code; never throws.
 * @param argv the arguments after the program name
 * @param io where output goes
 * @returns exit code: 0 ok, 1 failure, 2 usage error
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const verbose = argv.includes("--verbose") || argv.some((a) => a.startsWith("--verbose="));
  try {
    return await dispatch(argv, io);
  } catch (err) {
    // Output piped into a reader that went away (`| head`): stop quietly, as Go's SIGPIPE does.
    if (err instanceof Deno.errors.BrokenPipe) return 1;
    if (err instanceof UsageError) {
      io.err(`tailnet: ${err.message} (see 'tailnet --help')`);
      return 2;
    }
    io.err(`tailnet: ${errorMessage(err)}`);
    if (verbose && err instanceof Error && err.stack) io.err(err.stack);
    return 1;
  }
}

async function dispatch(argv: string[], io: CliIo): Promise<number> {
  const cmds = commands();
  let socketPath = defaultSocketPath();
  let i = 0;
  // Global flags come before the command word, as with `tailscale --socket=… status`.
  for (; i < argv.length && argv[i].startsWith("-"); i++) {
    const arg = argv[i];
    if (arg === "-h" || arg === "--help" || arg === "-help") {
      io.out(mainUsage(cmds));
      return 0;
    }
    if (arg === "--version") {
      const { versionCommand } = await import("./version.ts");
      return await versionCommand.run([], { socketPath, out: io.out, err: io.err });
    }
    if (arg === "--socket" || arg === "-socket") {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`flag ${arg} needs a value`);
      socketPath = v;
      continue;
    }
    if (arg.startsWith("--socket=") || arg.startsWith("-socket=")) {
      socketPath = arg.slice(arg.indexOf("=") + 1);
      continue;
    }
    throw new UsageError(`unknown flag: ${arg.split("=")[0]}`);
  }
  const word = argv[i];
  const rest = argv.slice(i + 1);
  if (word === undefined) {
    io.err(mainUsage(cmds));
    return 2;
  }
  const ctx: CommandContext = { socketPath, out: io.out, err: io.err };
  if (word === "help") {
    const target = rest[0];
    if (target === undefined) {
      io.out(mainUsage(cmds));
      return 0;
    }
    const entry = cmds.find((c) => c.name === target);
    if (!entry) throw new UsageError(`unknown command: ${target}`);
    io.out((await entry.load()).usage);
    return 0;
  }
  const entry = cmds.find((c) => c.name === word);
  if (!entry) throw new UsageError(`unknown command: ${word}`);
  const cmd = await entry.load();
  if (rest.includes("--help") || rest.includes("-h")) {
    io.out(cmd.usage);
    return 0;
  }
  return await cmd.run(rest, ctx);
}
