/**
 * Default locations of the daemon's state directory and LocalAPI socket, shared by the daemon
 * and every CLI command so that both agree without flags.
 * @module
 */

/** Environment lookups the defaults depend on; tests pass their own. */
export interface PathEnv {
  /** Returns an environment variable or undefined. */
  get(name: string): string | undefined;
  /** The effective user id (0 for root), or null where unknown. */
  uid: number | null;
}

/** The real process environment. */
export function processPathEnv(): PathEnv {
  return { get: (n) => Deno.env.get(n), uid: Deno.uid() };
}

/**
 * The default state directory: `/var/lib/tailnet` for root, otherwise
 * `$XDG_STATE_HOME/tailnet` or `~/.local/state/tailnet`.
 * @param env environment lookups
 * @returns an absolute path
 */
export function defaultStateDir(env: PathEnv = processPathEnv()): string {
  if (env.uid === 0) return "/var/lib/tailnet";
  const xdg = env.get("XDG_STATE_HOME");
  if (xdg) return join(xdg, "tailnet");
  return join(env.get("HOME") ?? "/tmp", ".local", "state", "tailnet");
}

/**
 * The default LocalAPI socket: `/var/run/tailnet/tailnetd.sock` for root, otherwise
 * `$XDG_RUNTIME_DIR/tailnet/tailnetd.sock`, or `tailnetd.sock` in the default state directory.
 * The socket always sits in a directory of its own with mode 0700: Deno cannot read a peer's
 * credentials, so the directory's mode is what keeps other users out.
 * @param env environment lookups
 * @returns an absolute path
 */
export function defaultSocketPath(env: PathEnv = processPathEnv()): string {
  const override = env.get("TAILNET_SOCKET");
  if (override) return override;
  if (env.uid === 0) return "/var/run/tailnet/tailnetd.sock";
  const runtime = env.get("XDG_RUNTIME_DIR");
  if (runtime) return join(runtime, "tailnet", "tailnetd.sock");
  return join(defaultStateDir(env), "tailnetd.sock");
}

/**
 * Joins path parts with one `/` between them. Not node:path's join: loading Node compatibility
 * costs every CLI command about 20 ms of start-up, and these parts are absolute directories
 * (perhaps with a trailing `/`) and plain names.
 */
function join(dir: string, ...names: string[]): string {
  return [dir.replace(/\/+$/, ""), ...names].join("/");
}
