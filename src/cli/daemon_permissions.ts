/**
 * The Deno flags the daemon runs with, in one place: `scripts/compile.ts` bakes them into the
 * binary, `deno task daemon` and `tailnet install` (for a `deno run` service) use the same.
 * @module
 */

/**
 * The permissions baked into the binary: the narrowest set the daemon works with.
 * - net: control server, DERP, UDP for WireGuard/disco/STUN, the LocalAPI socket, proxies.
 * - read/write: the state directory and socket, chosen at run time by flags, so they cannot be
 *   narrowed to a path at build time ({@linkcode daemonRunFlags} narrows them for a service).
 * - env: the TS_DEBUG_* knobs tailscaled also honours, HOME and XDG paths.
 * - sys: hostname and OS release for Hostinfo, network interfaces for endpoints.
 * - unstable-net: Deno.listenDatagram (UDP), which is still behind this flag.
 * No --allow-run and no --allow-ffi.
 */
export const DAEMON_PERMISSIONS: readonly string[] = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys=hostname,osRelease,networkInterfaces,uid,gid",
  "--unstable-net",
];

/**
 * V8 flags beside the permissions. Semi-spaces of at most 4 MiB keep the young generation
 * near 7 MiB (V8 otherwise grows it to about 45 MiB): every packet buffer is short-lived
 * garbage, and what piles up between scavenges stays resident in malloc's heap after it is
 * freed. Measured with `deno task bench:vs` (100 MiB): RSS after the transfers 134 -> 121 MiB
 * (median of 5), daemon CPU per transfer no higher, throughput unchanged.
 *
 * `--gc-memory-reducer-start-delay-ms=3000`: V8's memory reducer (the full GCs that give the
 * heap back to the system once allocation goes quiet) may start 3 s after the isolate does,
 * not 30 s. The daemon joined and idle then shrinks within 10 s of `up` rather than after
 * 20–30 s (lab, RSS 10 s after up: 76.7 -> 71.5 MiB; both about 71 MiB from 30 s on). It moves
 * only when the reducer may first act, and the reducer acts only when the mutator allocates
 * little, so a busy daemon is not affected.
 *
 * Tried for idle memory and left out (daemon joined to the lab, idle 8 s, two rounds each;
 * RSS default 75.8 / 80.9 MiB): `--optimize-for-size` 74.5 / 76.4 MiB (about 3 MiB less
 * anonymous memory) but `deno bench bench/stack_bench.ts` "1 MiB through two stacks" went from
 * 12.8 / 13.2 ms to 29.2 / 25.2 ms, half the throughput; `--single-threaded-gc` 77.6 / 79.7,
 * `--max-old-space-size=64` 79.0 / 79.7 and `--max-semi-space-size=2` 77.6: no change beyond
 * the noise. What does shrink the idle daemon is running one minified bundle rather than the
 * module graph (see `scripts/compile.ts`).
 */
export const DAEMON_V8_FLAGS: readonly string[] = [
  "--v8-flags=--max-semi-space-size=4,--gc-memory-reducer-start-delay-ms=3000",
];

/**
 * `deno run` flags for a daemon whose paths are known in advance (an installed service): the
 * baked set with reads narrowed to `readPaths` and writes to `writePaths`.
 * @param readPaths what the daemon reads: state and socket directories, config, key file
 * @param writePaths what it writes: state and socket directories
 * @returns the flags, before the main module
 */
export function daemonRunFlags(
  readPaths: readonly string[],
  writePaths: readonly string[],
): string[] {
  return [
    ...DAEMON_V8_FLAGS,
    ...DAEMON_PERMISSIONS.map((f) =>
      f === "--allow-read"
        ? `--allow-read=${readPaths.join(",")}`
        : f === "--allow-write"
        ? `--allow-write=${writePaths.join(",")}`
        : f
    ),
  ];
}
