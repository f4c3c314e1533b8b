/**
 * Issue 14, "Drop-in for tailscaled": the real `tailscale` CLI (v1.98.10) with `--socket <ours>`
 * drives our `tailnet daemon` through every everyday verb, and each verb's output is checked,
 * next to the same verb against a real tailscaled's socket where the two should agree. No
 * fakes: real headscale, real derper, a real tailscaled peer. Skipped, with the reason, when the
 * lab's programs are not built.
 */
import { assert, assertEquals, assertMatch } from "../../src/engine/base/testing/assert.ts";
import { Lab, labAvailable, waitFor } from "../lab/mod.ts";
import { TailnetDaemon } from "../lab/tailnet_daemon.ts";
import { tailscaleBin } from "../lab/paths.ts";
import { TAILSCALE_RELEASES } from "../lab/versions.ts";
import { type CommandResult, runCommand } from "../lab/run_command.ts";
import { runTailnet } from "../lab/tailnet_process.ts";

function assertStringIncludes(text: string, part: string): void {
  assert(text.includes(part), `${JSON.stringify(part)} in:\n${text}`);
}

/**
 * `tailscale --socket <socket> ...args` of one release, the real CLI, killed after 30 s.
 * @param version the tailscale release
 */
function tailscaleCli(version: string) {
  return (socket: string, ...args: string[]): Promise<CommandResult> =>
    runCommand(
      tailscaleBin("tailscale", version),
      { args: ["--socket", socket, ...args] },
      30_000,
    );
}

/** Fails with the command's whole output unless it exited 0; returns its stdout. */
async function ok(r: Promise<CommandResult>, what: string): Promise<string> {
  const res = await r;
  assertEquals(res.code, 0, `${what}: exit ${res.code}\n${res.stderr}${res.stdout}`);
  return res.stdout;
}

/** One raw LocalAPI request over a Unix socket: status, body and the headers. */
async function localApi(
  socket: string,
  path: string,
  init: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: string; headers: Headers }> {
  using client = Deno.createHttpClient({ proxy: { transport: "unix", path: socket } });
  const host = init.headers?.host ?? "local-tailscaled.sock";
  const res = await fetch(`http://${host}/localapi/v0/${path}`, {
    client,
    method: init.method ?? "GET",
    body: init.body,
    headers: init.headers,
  });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

/** Bad requests both daemons must answer alike: [method, path, body, extra headers]. */
const BAD_REQUESTS: [string, string, string?, Record<string, string>?][] = [
  ["GET", "no-such-call"],
  ["GET", "start"],
  ["POST", "start", "[1]"],
  ["GET", "login-interactive"],
  ["GET", "logout"],
  ["PUT", "prefs", "{}"],
  ["PATCH", "prefs", "[]"],
  ["GET", "check-prefs"],
  ["POST", "check-prefs", "{oops"],
  ["GET", "ping?ip=100.64.0.1&type=disco"],
  ["POST", "ping?ip=bogus&type=disco"],
  ["GET", "watch-ipn-bus?mask=x"],
  ["POST", "derpmap"],
  ["GET", "debug?action=current-netmap"],
  ["POST", "debug"],
  ["POST", "debug?action=no-such-action"],
  ["GET", "whois"],
  ["GET", "whois?addr=bogus"],
  ["GET", "whois?addr=nodekey:12"],
  ["DELETE", "serve-config"],
  ["POST", "profiles/current"],
  ["GET", "status", undefined, { host: "evil.example" }],
  ["GET", "status", undefined, { origin: "http://evil.example" }],
];

/** The `Machine:`/`User:` block `tailscale whois` prints, without the capabilities. */
function whoisIdentity(out: string): string {
  return out.split("\n").filter((l) => !/^\s*$/.test(l)).slice(0, 7).join("\n");
}

// Every pinned release whose programs are built: the CLI of each drives our daemon, next to
// a real tailscaled of the same release.
for (const { version } of TAILSCALE_RELEASES) {
  const lab = labAvailable(version);
  const ignore = !lab.ok;
  if (ignore) {
    // deno-lint-ignore no-console -- the reason a test is skipped belongs in the test output
    console.error(`tests/interop/tailscale_cli_test.ts ${version} skipped: ${lab.reason}`);
  }
  Deno.test({
    name:
      `the real tailscale ${version} CLI drives tailnet's daemon: up, set, status, whois, ping, debug`,
    ignore,
    sanitizeResources: false, // the lab's child processes are stopped by the lab itself
    sanitizeOps: false,
    async fn(t) {
      const tailscale = tailscaleCli(version);
      await using l = await Lab.start({ tailscaleds: 1, tailscaleVersion: version });
      await using d = await TailnetDaemon.create();
      const real = l.nodes[0];
      const ours = d.socket;
      /** The flags that join the lab's tailnet with its auth key as `hostname`. */
      const joinFlags = (hostname: string) => [
        "--login-server",
        l.controlUrl,
        "--auth-key",
        l.authKey,
        "--hostname",
        hostname,
      ];
      const realIp = (await ok(tailscale(real.socket, "ip", "-4"), "real ip -4")).trim();

      await t.step("up --login-server --auth-key --hostname", async () => {
        await ok(
          tailscale(
            ours,
            "up",
            ...joinFlags("tn-cli"),
          ),
          "up",
        );
        const st = JSON.parse(await ok(tailscale(ours, "status", "--json"), "status --json"));
        assertEquals(st.BackendState, "Running");
        assertEquals(st.Self.HostName, "tn-cli");
      });

      const ourIps = (await ok(tailscale(ours, "ip"), "ip")).trim().split("\n");
      await t.step("ip, ip -4", async () => {
        assertEquals(ourIps.length, 2);
        assertMatch(ourIps[0], /^100\.64\.\d+\.\d+$/);
        assertMatch(ourIps[1], /^fd7a:115c:a1e0::/);
        assertEquals((await ok(tailscale(ours, "ip", "-4"), "ip -4")).trim(), ourIps[0]);
      });

      await t.step(
        "status: both nodes, no Funnel warning; the real node lists the same two",
        async () => {
          await waitFor("the real peer in our status", async () => {
            return (await tailscale(ours, "status")).stdout.includes(real.name);
          }, { timeoutMs: 15_000 });
          const table = await ok(tailscale(ours, "status"), "status");
          assertMatch(
            table,
            new RegExp(`^${ourIps[0].replaceAll(".", "\\.")}\\s+tn-cli\\s+lab\\s+linux`, "m"),
          );
          assertMatch(
            table,
            new RegExp(`^${realIp.replaceAll(".", "\\.")}\\s+${real.name}\\s+lab\\s+linux`, "m"),
          );
          assert(!table.includes("Funnel"), `no Funnel warning:\n${table}`);
          await waitFor("us in the real node's status", async () => {
            return (await tailscale(real.socket, "status")).stdout.includes("tn-cli");
          }, { timeoutMs: 15_000 });
        },
      );

      await t.step(
        "status --json: tailscaled's top-level fields, the peer by node key",
        async () => {
          const st = JSON.parse(await ok(tailscale(ours, "status", "--json"), "status --json"));
          const theirs = JSON.parse(await ok(tailscale(real.socket, "status", "--json"), "real"));
          for (const k of Object.keys(theirs)) {
            if (k === "ClientVersion") continue;
            assert(k in st, `status --json has ${k}`);
          }
          assertEquals(st.TailscaleIPs, ourIps);
          const peer = st.Peer[theirs.Self.PublicKey];
          assert(peer !== undefined, "the real node in Peer by its node key");
          assertEquals(peer.HostName, real.name);
          assertEquals(peer.TailscaleIPs, theirs.Self.TailscaleIPs);
        },
      );

      await t.step(
        "whois by IP and IP:port: the same identity the real tailscaled prints",
        async () => {
          const fromUs = await ok(tailscale(ours, "whois", realIp), "whois");
          const fromThem = await ok(tailscale(real.socket, "whois", realIp), "real whois");
          assertStringIncludes(fromUs, `Name:          ${real.name}.`);
          assertStringIncludes(fromUs, "Name:     lab");
          assertEquals(whoisIdentity(fromUs), whoisIdentity(fromThem));
          const withPort = await ok(tailscale(ours, "whois", `${realIp}:80`), "whois ip:port");
          assertEquals(whoisIdentity(withPort), whoisIdentity(fromUs));
          const self = await ok(tailscale(ours, "whois", ourIps[1]), "whois self v6");
          assertStringIncludes(self, "tn-cli.");
          const none = await tailscale(ours, "whois", "100.64.99.99");
          const noneThem = await tailscale(real.socket, "whois", "100.64.99.99");
          assertEquals([none.code, none.stderr], [noneThem.code, noneThem.stderr]);
          assertEquals(none.stderr.trim(), "peer not found");
        },
      );

      await t.step("ping <peer>: pongs via DERP or, once found, the direct path", async () => {
        const r = await tailscale(ours, "ping", "-c", "2", real.name);
        assertMatch(
          r.stdout,
          new RegExp(
            `^pong from ${real.name} \\(${
              realIp.replaceAll(".", "\\.")
            }\\) via (DERP\\(lab\\)|[0-9.]+:\\d+|\\[[0-9a-f:]+\\]:\\d+) in \\d+ms$`,
            "m",
          ),
        );
      });

      await t.step("ping --tsmp <peer>: a pong through WireGuard", async () => {
        const out = await ok(
          tailscale(ours, "ping", "--tsmp", "-c", "1", real.name),
          "ping --tsmp",
        );
        assertMatch(
          out,
          new RegExp(`^pong from ${real.name} \\(${realIp.replaceAll(".", "\\.")}`, "m"),
        );
      });

      await t.step("debug prefs: Go decodes ours, with the fields tailscaled serves", async () => {
        const prefs = JSON.parse(await ok(tailscale(ours, "debug", "prefs"), "debug prefs"));
        const theirs = JSON.parse(await ok(tailscale(real.socket, "debug", "prefs"), "real"));
        assertEquals(Object.keys(prefs), Object.keys(theirs));
        assertEquals(Object.keys(prefs.Config), Object.keys(theirs.Config));
        assertEquals(prefs.Hostname, "tn-cli");
        assertEquals(prefs.ControlURL, l.controlUrl);
        assertEquals(prefs.WantRunning, true);
        assertEquals(prefs.Config.UserProfile.LoginName, "lab");
        assertEquals(
          prefs.Config.PrivateNodeKey,
          theirs.Config.PrivateNodeKey,
          "zeroed, as theirs",
        );
        assertEquals(prefs.Config.NetworkLockKey, theirs.Config.NetworkLockKey);
      });

      await t.step("set --hostname: applied live", async () => {
        await ok(tailscale(ours, "set", "--hostname", "tn-cli2"), "set --hostname");
        const prefs = JSON.parse(await ok(tailscale(ours, "debug", "prefs"), "debug prefs"));
        assertEquals(prefs.Hostname, "tn-cli2");
        await waitFor("the new hostname in the real node's status", async () => {
          return (await tailscale(real.socket, "status")).stdout.includes("tn-cli2");
        }, { timeoutMs: 15_000 });
        const st = JSON.parse(await ok(tailscale(ours, "status", "--json"), "status --json"));
        assertEquals(st.BackendState, "Running");
      });

      await t.step(
        "tailnet whois and tailnet set, against ours and against a real tailscaled",
        async () => {
          // Our CLI prints what tailscale's prints, from either daemon.
          const theirs = await ok(tailscale(real.socket, "whois", realIp), "real whois");
          for (const socket of [ours, real.socket]) {
            const r = await runTailnet(["--socket", socket, "whois", realIp], {
              timeoutMs: 30_000,
            });
            assertEquals(r.code, 0, r.stderr);
            assertEquals(r.stdout, theirs, `tailnet whois via ${socket}`);
            const none = await runTailnet(["--socket", socket, "whois", "100.64.99.99"], {
              timeoutMs: 30_000,
            });
            assertEquals([none.code, none.stderr], [1, "tailnet: peer not found\n"]);
          }
          const json = await runTailnet(["--socket", ours, "whois", "--json", `${realIp}:443`], {
            timeoutMs: 30_000,
          });
          assertEquals(JSON.parse(json.stdout).UserProfile.LoginName, "lab");
          // set: only the named pref changes, on both daemons.
          for (const [socket, name] of [[ours, "tn-cli3"], [real.socket, `${real.name}-b`]]) {
            const before = JSON.parse(await ok(tailscale(socket, "debug", "prefs"), "prefs"));
            const r = await runTailnet([
              "--socket",
              socket,
              "set",
              "--hostname",
              name,
              "--shields-up",
            ], {
              timeoutMs: 30_000,
            });
            assertEquals(r.code, 0, r.stderr);
            const after = JSON.parse(await ok(tailscale(socket, "debug", "prefs"), "prefs"));
            assertEquals(
              { ...after, Hostname: before.Hostname, ShieldsUp: before.ShieldsUp },
              before,
            );
            assertEquals([after.Hostname, after.ShieldsUp], [name, true]);
            const undo = await runTailnet(["--socket", socket, "set", "--shields-up=false"], {
              timeoutMs: 30_000,
            });
            assertEquals(undo.code, 0, undo.stderr);
          }
          const bad = await runTailnet(["--socket", ours, "set", "--hostname", "-bad-"], {
            timeoutMs: 30_000,
          });
          assertEquals(bad.code, 1);
          assertMatch(bad.stderr, /^tailnet: .*-bad-.* not a valid DNS label.*\n$/);
          await ok(tailscale(ours, "set", "--hostname", "tn-cli2"), "set back");
        },
      );

      await t.step(
        "tailnet debug and metrics print, against ours and against a real tailscaled",
        async () => {
          const tn = async (socket: string, ...args: string[]) => {
            const r = await runTailnet(["--socket", socket, ...args], { timeoutMs: 30_000 });
            assertEquals(r.code, 0, `tailnet ${args.join(" ")}: ${r.stderr}`);
            return r;
          };
          for (const socket of [ours, real.socket]) {
            // Ours prints the daemon's JSON as served; tailscale's CLI decodes it into its own
            // release's struct first, which adds and drops fields across releases (v1.102
            // adds RemoteConfig, drops AllowSingleHosts). So: ours against the served JSON,
            // and against tailscale's own output where the daemon is the same release.
            const served = JSON.parse((await localApi(socket, "prefs")).body);
            assertEquals(JSON.parse((await tn(socket, "debug", "prefs")).stdout), served);
            if (socket === real.socket) {
              assertEquals(
                served,
                JSON.parse(await ok(tailscale(socket, "debug", "prefs"), "prefs")),
              );
            }
            const derpMap = JSON.parse((await tn(socket, "debug", "derp-map")).stdout);
            assertEquals(
              derpMap,
              JSON.parse(await ok(tailscale(socket, "debug", "derp-map"), "dm")),
            );
            const nm = JSON.parse((await tn(socket, "debug", "netmap")).stdout);
            const st = JSON.parse(await ok(tailscale(socket, "status", "--json"), "status"));
            assertEquals(nm.NodeKey, st.Self.PublicKey);
            const w = await tn(
              socket,
              "debug",
              "watch-ipn",
              "--initial",
              "--netmap=false",
              "--count",
              "1",
            );
            assertEquals(w.stderr, "Connected.\n");
            const first = JSON.parse(w.stdout);
            assertEquals(first.State, 6);
            assert(!first.NetMap, "no netmap");
            assertEquals(first.Prefs.ControlURL, l.controlUrl);
            const metrics = (await tn(socket, "metrics", "print")).stdout;
            assertStringIncludes(metrics, `tailscaled_home_derp_region_id ${l.derpRegionId}\n`);
            assertMatch((await tn(socket, "debug", "metrics")).stdout, /^# TYPE /m);
          }
        },
      );

      await t.step("debug watch-ipn -initial: the initial state and prefs", async () => {
        const help = await tailscale(ours, "debug", "watch-ipn", "--help");
        const netmapFlag = (help.stdout + help.stderr).includes("-netmap");
        const r = await tailscale(
          ours,
          "debug",
          "watch-ipn",
          "-initial",
          // v1.102's watch-ipn has no -netmap flag (and sends no initial netmap).
          ...(netmapFlag ? ["-netmap=false"] : []),
          "-count",
          "1",
        );
        assertEquals(r.code, 0, r.stderr);
        assertEquals(r.stderr, "Connected.\n");
        const n = JSON.parse(r.stdout);
        assertEquals(n.State, 6, "Running");
        assertEquals(n.Prefs.Hostname, "tn-cli2");
        assert(!n.NetMap, "no netmap");
      });

      await t.step("debug derp-map: the map control sent, as the real node has it", async () => {
        const ourMap = JSON.parse(await ok(tailscale(ours, "debug", "derp-map"), "debug derp-map"));
        const theirMap = JSON.parse(await ok(tailscale(real.socket, "debug", "derp-map"), "real"));
        assertEquals(ourMap, theirMap);
        assert(String(l.derpRegionId) in ourMap.Regions);
      });

      await t.step("netcheck: uses the tailnet's DERP map, not the internet", async () => {
        const out = await ok(tailscale(ours, "netcheck"), "netcheck");
        assertStringIncludes(out, "* UDP: true");
        assertStringIncludes(out, "* Nearest DERP: Lab DERP");
      });

      await t.step("metrics print: tailscaled's metric names in Prometheus text", async () => {
        const out = await ok(tailscale(ours, "metrics", "print"), "metrics print");
        const theirs = await ok(tailscale(real.socket, "metrics", "print"), "real");
        const names = (s: string) =>
          new Set(s.split("\n").filter((x) => x.startsWith("# TYPE ")).map((x) => x.split(" ")[2]));
        for (const n of names(out)) assert(names(theirs).has(n), `tailscaled also has ${n}`);
        assertStringIncludes(out, `tailscaled_home_derp_region_id ${l.derpRegionId}\n`);
        assertMatch(out, /^tailscaled_outbound_packets_total\{path="derp"\} [1-9]\d*$/m);
      });

      await t.step(
        "debug reload-config without a config file: the same answer as tailscaled's",
        async () => {
          for (const socket of [ours, real.socket]) {
            const r = await tailscale(socket, "debug", "reload-config");
            assertEquals([r.code, r.stdout], [1, "config mode not in use\n"], r.stderr);
            const tn = await runTailnet(["--socket", socket, "debug", "reload-config"]);
            assertEquals([tn.code, tn.stdout], [1, "config mode not in use\n"], tn.stderr);
          }
        },
      );

      await t.step("LocalAPI: serve-config and bad requests answer as tailscaled's", async () => {
        const a = await localApi(ours, "serve-config");
        const b = await localApi(real.socket, "serve-config");
        assertEquals([a.status, a.body, a.headers.get("etag")], [
          b.status,
          b.body,
          b.headers.get("etag"),
        ]);
        for (const [method, path, body, headers] of BAD_REQUESTS) {
          const what = `${method} ${path} ${body ?? ""} ${JSON.stringify(headers ?? {})}`;
          const x = await localApi(ours, path, { method, body, headers });
          const y = await localApi(real.socket, path, { method, body, headers });
          assert(x.status >= 400, what);
          assertEquals([x.status, x.body], [y.status, y.body], what);
        }
        // The daemon keeps serving, its prefs unchanged.
        assertEquals(JSON.parse((await localApi(ours, "prefs")).body).Hostname, "tn-cli2");
      });

      await t.step("dns status: what a userspace tailscaled prints, but for our name", async () => {
        const mine = await ok(tailscale(ours, "dns", "status"), "dns status");
        const theirs = await ok(tailscale(real.socket, "dns", "status"), "real dns status");
        const selfLine = /^Other devices in your tailnet can reach this device at (\S+)\.$/m;
        assertMatch(mine.match(selfLine)?.[1] ?? "", /^tn-cli\d*\.tailnet\.test$/);
        assertEquals(mine.replace(selfLine, ""), theirs.replace(selfLine, ""));
      });

      await t.step("down: stopped, as tailscaled says it", async () => {
        await ok(tailscale(ours, "down"), "down");
        const r = await tailscale(ours, "status");
        assertEquals([r.code, r.stdout], [1, "Tailscale is stopped.\n"]);
      });

      await t.step("up --reset: back up, the hostname flag cleared", async () => {
        await ok(
          tailscale(ours, "up", "--reset", "--login-server", l.controlUrl, "--auth-key", l.authKey),
          "up --reset",
        );
        const prefs = JSON.parse(await ok(tailscale(ours, "debug", "prefs"), "debug prefs"));
        assertEquals(prefs.Hostname, "");
        assertEquals(prefs.WantRunning, true);
        const st = JSON.parse(await ok(tailscale(ours, "status", "--json"), "status --json"));
        assertEquals(st.BackendState, "Running");
      });

      await t.step(
        "up --advertise-routes: sent, no IP forwarding warning (userspace routing, as tailscaled's netstack)",
        async () => {
          const r = await tailscale(
            ours,
            "up",
            "--login-server",
            l.controlUrl,
            "--advertise-routes",
            "10.9.0.0/24",
          );
          assertEquals(r.code, 0, r.stderr);
          assert(!(r.stdout + r.stderr).includes("Warning"), r.stdout + r.stderr);
          let prefs = JSON.parse(await ok(tailscale(ours, "debug", "prefs"), "debug prefs"));
          assertEquals(prefs.AdvertiseRoutes, ["10.9.0.0/24"]);
          await ok(tailscale(ours, "set", "--advertise-routes="), "set --advertise-routes=");
          prefs = JSON.parse(await ok(tailscale(ours, "debug", "prefs"), "debug prefs"));
          assertEquals(prefs.AdvertiseRoutes, null);
        },
      );

      await t.step("set of what tailnet lacks: refused in one line, prefs untouched", async () => {
        for (
          const flag of [
            "--exit-node=auto:any",
            "--relay-server-port=4000",
            "--advertise-connector",
          ]
        ) {
          const r = await tailscale(ours, "set", flag);
          assertEquals(r.code, 1, flag);
          assertMatch(
            r.stderr,
            /^--[a-z-]+(=auto:any)? is not built yet in this version of tailnet\n$/,
          );
        }
        const prefs = JSON.parse(await ok(tailscale(ours, "debug", "prefs"), "debug prefs"));
        assertEquals([prefs.ExitNodeID, "AutoExitNode" in prefs, "RelayServerPort" in prefs], [
          "",
          false,
          false,
        ]);
      });

      await t.step("debug netmap: self, the real peer, the tailnet's domain", async () => {
        const nm = JSON.parse(await ok(tailscale(ours, "debug", "netmap"), "debug netmap"));
        const theirs = JSON.parse(await ok(tailscale(real.socket, "debug", "netmap"), "real"));
        const st = JSON.parse(await ok(tailscale(ours, "status", "--json"), "status --json"));
        assertEquals(nm.NodeKey, st.Self.PublicKey);
        assertEquals(nm.Domain, theirs.Domain);
        assert(
          nm.Peers.some((p: { Key: string }) => p.Key === theirs.NodeKey),
          "the real node among the peers",
        );
      });

      await t.step("switch --list: the one profile, as tailscale lists profiles", async () => {
        const out = await ok(tailscale(ours, "switch", "--list"), "switch --list");
        const theirs = await ok(tailscale(real.socket, "switch", "--list"), "real");
        const rows = (s: string) => s.trim().split("\n").map((l) => l.trim().split(/\s+/));
        assertEquals(rows(out)[0], ["ID", "Tailnet", "Account"]);
        assertEquals(rows(out).length, 2);
        assertEquals(rows(out)[1].slice(1), rows(theirs)[1].slice(1), "same tailnet and account*");
      });

      await t.step(
        "logout, then login --auth-key: logged out, then Running with a new node key",
        async () => {
          const before = JSON.parse(await ok(tailscale(ours, "status", "--json"), "status")).Self
            .PublicKey;
          await ok(tailscale(ours, "logout"), "logout");
          const out = await tailscale(ours, "status");
          assertEquals([out.code, out.stdout], [1, "Logged out.\n"]);
          assertEquals(
            (await ok(tailscale(ours, "switch", "--list"), "list")).trim(),
            "ID  Tailnet  Account",
          );
          await ok(
            tailscale(
              ours,
              "login",
              ...joinFlags("tn-login"),
            ),
            "login",
          );
          const st = JSON.parse(await ok(tailscale(ours, "status", "--json"), "status --json"));
          assertEquals(st.BackendState, "Running");
          assert(st.Self.PublicKey !== before, "a new node key");
          const prefs = JSON.parse(await ok(tailscale(ours, "debug", "prefs"), "debug prefs"));
          assertEquals(prefs.Hostname, "tn-login");
          // login again while logged in: tailscale switches to an empty profile first; tailnet
          // keeps one profile, so that one starts afresh, with another new node key.
          await ok(
            tailscale(ours, "login", "--login-server", l.controlUrl, "--auth-key", l.authKey),
            "login again",
          );
          const again = JSON.parse(await ok(tailscale(ours, "status", "--json"), "status --json"));
          assertEquals(again.BackendState, "Running");
          assert(again.Self.PublicKey !== st.Self.PublicKey, "another new node key");
        },
      );

      await t.step(
        "SIGTERM: the map stream is closed (control sees us offline), the socket removed",
        async () => {
          const nodeKey = JSON.parse(await ok(tailscale(ours, "status", "--json"), "status")).Self
            .PublicKey;
          const onlineInControl = async () => {
            const nodes = (await l.headscale(["nodes", "list"])) as {
              node_key: string;
              online?: boolean;
            }[];
            return nodes.find((n) => n.node_key === nodeKey)?.online === true;
          };
          await waitFor("control to see us online", onlineInControl, { timeoutMs: 15_000 });
          const log = await d.stop();
          assertStringIncludes(log, "SIGTERM: shutting down");
          // headscale marks a node offline about 10 s after its map stream ends (measured: the
          // same for a real tailscaled stopped with SIGTERM).
          await waitFor("control to see us offline", async () => !(await onlineInControl()), {
            timeoutMs: 20_000,
          });
          let socketGone = false;
          await Deno.lstat(ours).catch(() => socketGone = true);
          assert(socketGone, "socket removed");
        },
      );

      await t.step("tailnet down, up, logout, login against a real tailscaled", async () => {
        const tn = (...args: string[]) =>
          runTailnet(["--socket", real.socket, ...args], { timeoutMs: 30_000 });
        const state = async () =>
          JSON.parse(await ok(tailscale(real.socket, "status", "--json"), "status")).BackendState;
        assertEquals((await tn("down")).code, 0);
        assertEquals(await state(), "Stopped");
        const stopped = await tn("status");
        assertEquals([stopped.code, stopped.stdout], [1, "Tailscale is stopped.\n"]);
        assertEquals((await tn("up")).code, 0);
        assertEquals(await state(), "Running");
        assertEquals((await tn("logout")).code, 0);
        const out = await tn("status");
        assertEquals([out.code, out.stdout], [1, "Logged out.\n"]);
        const login = await tn("login", "--login-server", l.controlUrl, "--auth-key", l.authKey);
        assertEquals(login.code, 0, login.stderr);
        assertEquals(await state(), "Running");
      });
    },
  });
}
