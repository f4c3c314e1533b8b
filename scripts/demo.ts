// deno-lint-ignore-file no-console -- a demo talks to the person running it
/**
 * `deno task demo`: tailnet on a real tailnet, end to end, on this machine and offline. It
 * builds the interop lab's programs if needed (Go), starts real headscale, derper and one real
 * tailscaled, starts our `tailnet daemon`, joins it with `tailnet up`, and shows
 * `tailnet status`, `tailnet ping` to the real node, the real node's `tailscale ping` to us, and
 * an HTTP fetch through our SOCKS5 proxy (curl) from a server on the real node's machine.
 * Everything it started is stopped and removed at the end, also on Ctrl-C.
 * @module
 */
import { buildLabTools, LabBuildError } from "../tests/lab/build.ts";
import { Lab, labAvailable, waitFor } from "../tests/lab/mod.ts";
import { PortClaims } from "../tests/lab/ports.ts";
import { TailnetDaemon } from "../tests/lab/tailnet_daemon.ts";

if (!import.meta.main) throw new Error("scripts/demo.ts is a program, not a module");

function step(text: string): void {
  console.log(`\n== ${text}`);
}

function show(cmd: string, r: { code: number; stdout: string; stderr: string }): void {
  console.log(`$ ${cmd}`);
  const out = (r.stdout + r.stderr).trimEnd();
  if (out) console.log(out.split("\n").map((l) => `  ${l}`).join("\n"));
  if (r.code !== 0) console.log(`  (exit ${r.code})`);
}

const abort = new AbortController();
const onSigint = () => abort.abort();
Deno.addSignalListener("SIGINT", onSigint);
let failed = false;
try {
  step("building the lab's real Tailscale programs (cached after the first run)");
  try {
    await buildLabTools({ log: (l) => console.error(l) });
  } catch (err) {
    if (err instanceof LabBuildError) {
      console.error(`demo: ${err.message}`);
      Deno.exit(1);
    }
    throw err;
  }
  const avail = labAvailable();
  if (!avail.ok) {
    console.error(`demo: ${avail.reason}`);
    Deno.exit(1);
  }

  step("starting headscale, derper and one real tailscaled on loopback");
  await using lab = await Lab.start({ tailscaleds: 1 });
  const ts1 = lab.nodes[0];
  console.log(`control ${lab.controlUrl}, DERP region ${lab.derpRegionId}, real node ${ts1.name}`);

  step("starting our daemon, with a SOCKS5 proxy into the tailnet");
  const ports = new PortClaims(`demo-${Deno.pid}`);
  await using _ports = { [Symbol.asyncDispose]: () => ports.releaseAll() };
  const socks5 = `127.0.0.1:${await ports.claim()}`;
  await using tn = await TailnetDaemon.create({ args: ["--socks5-server", socks5] });
  console.log(`tailnet daemon socket: ${tn.socket}, SOCKS5 on ${socks5}`);

  step("joining the tailnet");
  const upArgs = [
    "up",
    "--login-server",
    lab.controlUrl,
    "--authkey",
    "<key>",
    "--hostname",
    "tailnet-demo",
  ];
  const up = await tn.cli(upArgs.map((a) => a === "<key>" ? lab.authKey : a));
  show(`tailnet ${upArgs.join(" ")}`, up);
  if (up.code !== 0) throw new Error("tailnet up failed");
  await waitFor("the real node to see us on DERP", async () => {
    const st = await ts1.status();
    return Object.values(st.Peer ?? {}).some((p) =>
      p.HostName === "tailnet-demo" && p.Relay !== ""
    );
  }, { timeoutMs: 20_000 });

  step("status");
  show("tailnet status", await tn.cli(["status"]));
  const peerIp = (await ts1.ips())[0];
  const ourIp = (await tn.cli(["ip", "-4"])).stdout.trim();

  step(
    "pinging the real node from tailnet (disco: DERP, then the direct path it finds; ICMP and TSMP through WireGuard)",
  );
  show(
    `tailnet ping -c 2 --until-direct=false ${peerIp}`,
    await tn.cli(["ping", "-c", "2", "--until-direct=false", peerIp]),
  );
  show(`tailnet ping --icmp ${peerIp}`, await tn.cli(["ping", "--icmp", peerIp]));
  show(`tailnet ping --tsmp ${ts1.name}`, await tn.cli(["ping", "--tsmp", ts1.name]));

  step("the real tailscaled pinging us");
  show(`tailscale ping --icmp -c 1 ${ourIp}`, await ts1.cli(["ping", "--icmp", "-c", "1", ourIp]));
  show(
    `tailscale ping -c 2 --until-direct=false ${ourIp}`,
    await ts1.cli(["ping", "-c", "2", "--until-direct=false", ourIp]),
  );
  step("an HTTP fetch from the real node's machine through our SOCKS5 proxy");
  // tailscaled in userspace mode forwards tailnet connections to its host's 127.0.0.1:<port>.
  const body = "hello from a web server behind the real tailscaled\n";
  await using web = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(body),
  );
  const url = `http://${ts1.name}:${web.addr.port}/`;
  const curl = await new Deno.Command("curl", {
    args: ["-sS", "--max-time", "20", "--socks5-hostname", socks5, url],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  show(`curl --socks5-hostname ${socks5} ${url}`, {
    code: curl.code,
    stdout: dec.decode(curl.stdout),
    stderr: dec.decode(curl.stderr),
  });
  if (dec.decode(curl.stdout) !== body) {
    throw new Error("the fetch through SOCKS5 did not return the page");
  }
  step("done: tearing everything down");
} catch (err) {
  failed = true;
  console.error(`demo: ${err instanceof Error ? err.message : err}`);
} finally {
  Deno.removeSignalListener("SIGINT", onSigint);
}
Deno.exit(failed ? 1 : 0);
