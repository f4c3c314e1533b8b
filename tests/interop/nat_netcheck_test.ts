/**
 * Issue 13, NAT lab: `tailnet netcheck` agrees with the real `tailscale netcheck` run in the
 * same kind of node namespace behind a real NAT (nftables routers, `tests/lab/nat_lab.ts`) on
 * UDP, IPv4, IPv6, MappingVariesByDestIP, hair-pinning (present or not, and its value) and the
 * preferred DERP region, and both `--format json` documents carry the same top-level names (all
 * of them, not only those compared).
 *
 * Per NAT kind (easy `masquerade`, hard `masquerade-random`, `udp-blocked`) a fresh router with
 * two nodes: a real tailscaled on one, our daemon on the other. Each CLI runs inside its node's
 * namespace (`ip netns exec`) twice:
 * - against its own daemon's socket: the DERP map headscale serves (one STUN server, so
 *   MappingVariesByDestIP is unknown for both);
 * - against a socket of the test that serves only `GET /localapi/v0/derpmap` with a second
 *   region whose STUN server is a responder at a second public address (203.0.113.2, added to
 *   the public bridge for this test and removed after), so the mapping is known. The socket is a
 *   file, so a CLI in another network namespace reaches it.
 * The table of values goes to stderr as `[nat-netcheck] …`.
 * @module
 */
import { assertEquals } from "../../src/engine/base/testing/assert.ts";
import { Lab, labAvailable, type LabNode } from "../lab/mod.ts";
import { TAILSCALE_RELEASES } from "../lab/versions.ts";
import { TailnetDaemon } from "../lab/tailnet_daemon.ts";
import { tailnetMain } from "../lab/tailnet_process.ts";
import { tailscaleBin } from "../lab/paths.ts";
import { type CommandResult, runCommand } from "../lab/run_command.ts";
import { type NatHost, type NatKind, NatLab } from "../lab/nat_lab.ts";
import { stunResponder } from "../../src/engine/magicsock/testing/stun_responder.ts";
import type { DerpMap } from "../../src/engine/wire/derp_map.ts";

/** The second public address, where the second STUN server listens. */
const SECOND_PUBLIC = "203.0.113.2";

/** The fields the issue names, as both CLIs' JSON spell them. */
const COMPARED = ["UDP", "IPv4", "IPv6", "MappingVariesByDestIP", "HairPinning", "PreferredDERP"];

/** What each NAT kind must show (the facts the NAT is built for), with two STUN servers. */
const EXPECTED: Record<string, { UDP: boolean; MappingVariesByDestIP: boolean | null }> = {
  "masquerade": { UDP: true, MappingVariesByDestIP: false },
  "masquerade-random": { UDP: true, MappingVariesByDestIP: true },
  // IPv4 stays true for both with UDP blocked (the HTTPS latency to derper over IPv4).
  "udp-blocked": { UDP: false, MappingVariesByDestIP: null },
};

function report(line: string): void {
  // deno-lint-ignore no-console -- the comparison table is the point of this test's output
  console.error(`[nat-netcheck] ${line}`);
}

/** The compared fields of a report: each value, or "absent" when the key is not there. */
function compared(j: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(COMPARED.map((k) => [k, k in j ? j[k] : "absent"]));
}

/** Runs a netcheck CLI inside `ns`, parses its JSON; a clear failure otherwise. */
async function netcheckJson(
  ns: string,
  argv: string[],
  what: string,
): Promise<Record<string, unknown>> {
  const r: CommandResult = await runCommand(
    "ip",
    { args: ["netns", "exec", ns, ...argv], env: { NO_COLOR: "1" } },
    60_000,
  );
  assertEquals(r.code, 0, `${what}: exit ${r.code}\n${r.stderr}${r.stdout}`);
  try {
    return JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    throw new Error(`${what}: not JSON:\n${r.stdout}\n${r.stderr}`);
  }
}

function tailscaleArgv(version: string, socket: string): string[] {
  return [tailscaleBin("tailscale", version), "--socket", socket, "netcheck", "--format=json"];
}

function tailnetArgv(socket: string): string[] {
  return [
    Deno.execPath(),
    "run",
    "--allow-all",
    "--unstable-net",
    tailnetMain(),
    "--socket",
    socket,
    "netcheck",
    "--format",
    "json",
  ];
}

/** A socket serving only `GET /localapi/v0/derpmap` with `map`, as a daemon would. */
function derpMapSocket(path: string, map: DerpMap): Deno.HttpServer {
  return Deno.serve({ path, transport: "unix", onListen() {} }, (req) => {
    if (new URL(req.url).pathname === "/localapi/v0/derpmap") return Response.json(map);
    return new Response("not found", { status: 404 });
  });
}

/** The interface of the test namespace that holds `address` (the NAT lab's public bridge). */
async function deviceOf(address: string): Promise<string> {
  const r = await runCommand("ip", { args: ["-o", "-4", "addr", "show"] }, 10_000);
  const line = r.stdout.split("\n").find((l) => l.includes(` ${address}/`));
  if (line === undefined) throw new Error(`no interface holds ${address}:\n${r.stdout}`);
  return line.split(/\s+/)[1];
}

async function ip(args: string[]): Promise<void> {
  const r = await runCommand("ip", { args }, 10_000);
  if (r.code !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr}`);
}

const isRoot = Deno.uid() === 0;

for (const { version } of TAILSCALE_RELEASES) {
  const available = labAvailable(version);
  Deno.test({
    name: `NAT lab: tailnet netcheck agrees with tailscale ${version} netcheck behind each NAT`,
    ignore: !available.ok || !isRoot,
    sanitizeResources: false, // the labs' child processes are stopped by the labs themselves
    sanitizeOps: false,
    async fn(t) {
      await using nat = await NatLab.create([]);
      await using lab = await Lab.start({
        tailscaleds: 0,
        tailscaleVersion: version,
        host: nat.publicAddress,
      });
      const bridge = await deviceOf(nat.publicAddress);
      await ip(["addr", "add", `${SECOND_PUBLIC}/24`, "dev", bridge]);
      const second = stunResponder(SECOND_PUBLIC);
      const base = lab.derpMap.Regions[String(lab.derpRegionId)];
      const twoStun: DerpMap = {
        // Both regions sit on the same bridge, so which is nearer is noise; a score (Go's
        // HomeParams.RegionScore, a latency multiplier) makes the lab's derper the home for both.
        HomeParams: { RegionScore: { "901": 100 } },
        Regions: {
          ...lab.derpMap.Regions,
          "901": {
            RegionID: 901,
            RegionCode: "two",
            RegionName: "Second STUN",
            Nodes: [{
              ...base.Nodes[0],
              Name: "901a",
              RegionID: 901,
              HostName: SECOND_PUBLIC,
              IPv4: SECOND_PUBLIC,
              STUNPort: second.port,
            }],
          },
        },
      };
      const mapSocket = nat.path("two-stun.sock");
      const mapServer = derpMapSocket(mapSocket, twoStun);
      const rows: string[] = [];
      try {
        for (const kind of Object.keys(EXPECTED) as NatKind[]) {
          await t.step(kind, async () => {
            const router = await nat.addRouter({ nat: kind, nodes: 2 });
            const [realHost, ourHost]: NatHost[] = router.hosts;
            let real: LabNode | undefined;
            let ours: TailnetDaemon | undefined;
            try {
              real = await lab.addTailscaled({ netns: realHost.netns, name: `nc-${kind}` });
              ours = await TailnetDaemon.create({ netns: ourHost.netns });
              await ours.up(lab.controlUrl, lab.authKey, `nc-ours-${kind}`);
              const cases: Array<[string, string, string]> = [
                ["own daemon (headscale's map, 1 STUN)", real.socket, ours.socket],
                ["two STUN servers", mapSocket, mapSocket],
              ];
              for (const [label, realSocket, ourSocket] of cases) {
                const theirs = await netcheckJson(
                  realHost.netns,
                  tailscaleArgv(version, realSocket),
                  `tailscale netcheck, ${kind}, ${label}`,
                );
                const mine = await netcheckJson(
                  ourHost.netns,
                  tailnetArgv(ourSocket),
                  `tailnet netcheck, ${kind}, ${label}`,
                );
                const both = `${kind}, ${label}\nours:   ${JSON.stringify(mine)}\ntheirs: ${
                  JSON.stringify(theirs)
                }\n${await router.ruleset()}`;
                const c = { ours: compared(mine), theirs: compared(theirs) };
                for (const who of ["theirs", "ours"] as const) {
                  rows.push(
                    `| ${version} | ${kind} | ${label} | ${who} | ${
                      COMPARED.map((k) => JSON.stringify(c[who][k])).join(" | ")
                    } |`,
                  );
                }
                assertEquals(c.ours, c.theirs, `compared fields differ: ${both}`);
                const names = (j: Record<string, unknown>) => Object.keys(j).sort();
                assertEquals(names(mine), names(theirs), `top-level names: ${both}`);
                const want = EXPECTED[kind];
                assertEquals(mine.UDP, want.UDP, `UDP: ${both}`);
                assertEquals(mine.IPv6, false, `IPv6 is off in the NAT lab: ${both}`);
                assertEquals(mine.PreferredDERP, lab.derpRegionId, `home: ${both}`);
                assertEquals(
                  mine.MappingVariesByDestIP,
                  label === "two STUN servers" ? want.MappingVariesByDestIP : null,
                  `MappingVariesByDestIP: ${both}`,
                );
              }
            } finally {
              await ours?.stop().catch(() => "");
              await ours?.[Symbol.asyncDispose]().catch(() => {});
              await real?.stop().catch(() => {});
              await nat.removeRouter(router);
            }
          });
        }
      } finally {
        await mapServer.shutdown();
        await second.close();
        await ip(["addr", "del", `${SECOND_PUBLIC}/24`, "dev", bridge]).catch(() => {});
        report(
          `| release | NAT | DERP map | netcheck | ${COMPARED.join(" | ")} |\n|${
            "---|".repeat(4 + COMPARED.length)
          }\n${rows.join("\n")}`,
        );
      }
    },
  });
}
