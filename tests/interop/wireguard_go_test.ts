/**
 * Interop with real wireguard-go (the userspace daemon, pinned in `tests/lab/versions.ts` and
 * built by `deno task lab build`): it runs in a network namespace of its own, joined to this one
 * by a veth pair; our Device listens on a real UDP socket on the host end. Skipped, with the
 * reason in the test name, when the lab's wireguard-go, /dev/net/tun, `ip` or root are missing.
 *
 * Addresses: veth 10.99.A.1 (us) / 10.99.A.2 (namespace); tunnel 10.99.B.1 (us) / 10.99.B.2
 * (wireguard-go's tun), with A and B picked from the process id so parallel runs differ.
 */
import { assert, assertEquals } from "../../src/engine/base/testing/assert.ts";
import { Logger } from "../../src/engine/base/logger.ts";
import { generatePrivate, publicOf, toHex } from "../../src/engine/key/keys.ts";
import { parseIp } from "../../src/engine/wg/allowed_ips.ts";
import { Device, type DeviceOptions } from "../../src/engine/wg/device.ts";
import { mac1Key } from "../../src/engine/wg/cookie.ts";
import { LoopbackForwarder, Stack } from "../../src/engine/stack/mod.ts";
import { blake2sMac } from "../../src/engine/crypto/blake2s.ts";
import { wireguardGoAvailable } from "../lab/available.ts";
import { wireguardGoBin } from "../lab/paths.ts";
import { WIREGUARD_GO_RELEASE } from "../lab/versions.ts";
import { answerEcho, icmpEcho, run, uapi, UdpBind, UdpEndpoint } from "./wireguard_go.ts";

const WG_PORT = 51820;

async function skipReason(): Promise<string | null> {
  if (Deno.build.os !== "linux") return "not Linux";
  try {
    await Deno.stat("/dev/net/tun");
  } catch {
    return "/dev/net/tun unavailable";
  }
  if (Deno.uid() !== 0) return "needs root for network namespaces";
  try {
    if (!(await run("ip", ["-V"], false)).ok) return "`ip` unavailable";
  } catch {
    return "`ip` unavailable";
  }
  const wg = wireguardGoAvailable();
  return wg.ok ? null : wg.reason;
}

const reason = await skipReason();
const WG_BIN = wireguardGoBin();

interface Lab {
  ns: string;
  iface: string;
  hostIp: string;
  nsIp: string;
  tunOurs: string;
  tunTheirs: string;
  /** IPv6 tunnel addresses beside the IPv4 ones. */
  tunOurs6: string;
  tunTheirs6: string;
  wgPublic: Uint8Array;
  socket: string;
  log: () => string;
  /** Configures wireguard-go with us as its one peer and brings its tun up. */
  configure(ourPublic: Uint8Array, ourPort: number): Promise<void>;
  /** Runs a command inside the namespace. */
  inNs(...args: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }>;
}

async function withLab(fn: (lab: Lab) => Promise<void>): Promise<void> {
  const a = 100 + 2 * (Deno.pid % 50);
  const tag = Deno.pid % 100000;
  const ns = `tnwg${tag}`;
  const vh = `tnh${tag}`;
  const vn = `tnn${tag}`;
  const iface = `tnwg${tag}`;
  const inNsRaw = (check: boolean, ...args: string[]) =>
    run("ip", ["netns", "exec", ns, ...args], check);
  const inNs = (...args: string[]) => inNsRaw(true, ...args);
  let child: Deno.ChildProcess | null = null;
  let logText = "";
  let reader: Promise<void> | null = null;
  const wgPrivate = generatePrivate("node");
  const lab: Lab = {
    ns,
    iface,
    hostIp: `10.99.${a}.1`,
    nsIp: `10.99.${a}.2`,
    tunOurs: `10.99.${a + 1}.1`,
    tunTheirs: `10.99.${a + 1}.2`,
    tunOurs6: `fd99:${a + 1}::1`,
    tunTheirs6: `fd99:${a + 1}::2`,
    wgPublic: publicOf(wgPrivate),
    socket: `/var/run/wireguard/${iface}.sock`,
    log: () => logText,
    inNs: (...args) => inNsRaw(false, ...args),
    configure: async (ourPublic, ourPort) => {
      await uapi(
        lab.socket,
        [
          "set=1",
          `private_key=${toHex(wgPrivate)}`,
          `listen_port=${WG_PORT}`,
          "replace_peers=true",
          `public_key=${toHex(ourPublic)}`,
          `endpoint=${lab.hostIp}:${ourPort}`,
          "replace_allowed_ips=true",
          `allowed_ip=${lab.tunOurs}/32`,
          `allowed_ip=${lab.tunOurs6}/128`,
          "",
          "",
        ].join("\n"),
      );
      await inNs("ip", "addr", "add", `${lab.tunTheirs}/24`, "dev", iface);
      await inNs("ip", "-6", "addr", "add", `${lab.tunTheirs6}/64`, "dev", iface, "nodad");
      await inNs("ip", "link", "set", iface, "up");
    },
  };
  try {
    await run("ip", ["netns", "add", ns]);
    await run("ip", ["link", "add", vh, "type", "veth", "peer", "name", vn]);
    await run("ip", ["link", "set", vn, "netns", ns]);
    await run("ip", ["addr", "add", `${lab.hostIp}/24`, "dev", vh]);
    await run("ip", ["link", "set", vh, "up"]);
    await inNs("ip", "addr", "add", `${lab.nsIp}/24`, "dev", vn);
    await inNs("ip", "link", "set", vn, "up");
    await inNs("ip", "link", "set", "lo", "up");
    child = new Deno.Command("ip", {
      args: ["netns", "exec", ns, WG_BIN, "-f", iface],
      env: { LOG_LEVEL: "verbose" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const dec = new TextDecoder();
    const drain = async (s: ReadableStream<Uint8Array>) => {
      for await (const chunk of s) logText += dec.decode(chunk);
    };
    reader = Promise.all([drain(child.stdout), drain(child.stderr)]).then(() => {});
    let up = false;
    for (let i = 0; i < 100 && !up; i++) {
      try {
        await Deno.stat(lab.socket);
        up = true;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    assert(up, `wireguard-go did not open its UAPI socket: ${logText}`);
    await fn(lab);
  } finally {
    if (child !== null) {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
      await child.status;
      await reader;
    }
    await run("ip", ["netns", "del", ns], false);
    await run("ip", ["link", "del", vh], false);
  }
}

async function wgPeerStats(lab: Lab): Promise<Record<string, string>> {
  const pairs = await uapi(lab.socket, "get=1\n\n");
  const out: Record<string, string> = {};
  let inPeer = false;
  for (const [k, v] of pairs) {
    if (k === "public_key") inPeer = true;
    if (inPeer) out[k] = v;
  }
  return out;
}

/** Our side: a Device on a UDP socket at the host end of the veth, answering pings. */
function ourSide(lab: Lab, extra: Partial<DeviceOptions> = {}) {
  const key = generatePrivate("node");
  const bind = new UdpBind(lab.hostIp, 0);
  const others: Uint8Array[] = [];
  let echoed = 0;
  const dev: Device = new Device({
    privateKey: key,
    bind,
    mtu: 1420,
    log: new Logger({ sink: () => {} }),
    onPacket: (p) => {
      const echo = [...p.subarray(16, 20)].join(".") === lab.tunOurs ? answerEcho(p) : null;
      if (echo !== null) {
        echoed++;
        dev.sendPacket(echo);
      } else {
        others.push(p.slice());
      }
    },
    ...extra,
  });
  dev.setPeer({
    publicKey: lab.wgPublic,
    allowedIps: [`${lab.tunTheirs}/32`, `${lab.tunTheirs6}/128`],
    endpoint: new UdpEndpoint(lab.nsIp, WG_PORT),
  });
  dev.start();
  return { dev, bind, publicKey: publicOf(key), others, echoed: () => echoed };
}

const NAME = `interop: wireguard-go ${WIREGUARD_GO_RELEASE.version.slice(-12)}`;
const skip = reason ? ` (skipped: ${reason})` : "";

Deno.test({
  name: `${NAME}: handshake over UDP; its kernel pings us through it; UAPI get=1 shows it${skip}`,
  ignore: reason !== null,
  fn: () =>
    withLab(async (lab) => {
      const us = ourSide(lab);
      try {
        await lab.configure(us.publicKey, us.bind.port);
        const ping = await lab.inNs("ping", "-c", "5", "-i", "0.2", "-W", "2", lab.tunOurs);
        assert(
          ping.ok,
          `ping failed:\n${ping.stdout}${ping.stderr}\n--- wireguard-go:\n${lab.log()}`,
        );
        assertMatchCount(ping.stdout, /5 received/);
        assertEquals(us.echoed(), 5);
        await new Promise((r) => setTimeout(r, 300));
        const wg = await wgPeerStats(lab);
        const ours = us.dev.peer(lab.wgPublic)!.stats;
        const report = {
          wg_last_handshake_time_sec: wg.last_handshake_time_sec,
          wg_rx_bytes: wg.rx_bytes,
          wg_tx_bytes: wg.tx_bytes,
          our_tx_bytes: ours.txBytes,
          our_rx_bytes: ours.rxBytes,
          ping: ping.stdout.split("\n").filter((l) => l.includes("received") || l.includes("rtt")),
        };
        Deno.stderr.writeSync(new TextEncoder().encode(JSON.stringify(report) + "\n"));
        assert(Number(wg.last_handshake_time_sec) > 0, "wireguard-go saw no handshake");
        assertEquals(ours.handshakes, 1);
        assertEquals(ours.initiationsSent, 0, "wireguard-go initiated, we responded");
        // Both sides count whole datagrams: what we sent is what it received, and back.
        assertEquals(Number(wg.rx_bytes), ours.txBytes, "wireguard-go rx_bytes vs our tx");
        assertEquals(Number(wg.tx_bytes), ours.rxBytes, "wireguard-go tx_bytes vs our rx");
        assertEquals(Object.values(us.dev.drops).reduce((x, y) => x + y), 0, "our drops");
      } finally {
        await us.dev.close();
      }
    }),
});

Deno.test({
  name: `${NAME}: we rekey every few seconds (our timers shortened) and no ping is lost${skip}`,
  ignore: reason !== null,
  fn: () =>
    withLab(async (lab) => {
      // Test knob, OUR side only: rekey after 2 s instead of 120 s. wireguard-go runs with the
      // protocol's timers. Our initiations stay rate-limited by REKEY_TIMEOUT (5 s).
      const us = ourSide(lab, { timings: { rekeyAfterTimeMs: 2000 } });
      try {
        await lab.configure(us.publicKey, us.bind.port);
        const src = parseIp(lab.tunOurs);
        const dst = parseIp(lab.tunTheirs);
        const payload = new Uint8Array(56).fill(0x5a);
        const total = 130;
        for (let seq = 1; seq <= total; seq++) {
          us.dev.sendPacket(icmpEcho(src, dst, 8, 0x7e57, seq, payload));
          await new Promise((r) => setTimeout(r, 100));
        }
        await new Promise((r) => setTimeout(r, 500));
        const seqs = new Set(
          us.others.filter((p) => p[9] === 1 && p[20] === 0 && ((p[24] << 8) | p[25]) === 0x7e57)
            .map((p) => (p[26] << 8) | p[27]),
        );
        const ours = us.dev.peer(lab.wgPublic)!.stats;
        const wg = await wgPeerStats(lab);
        const report = {
          sent: total,
          replies: seqs.size,
          our_initiations: ours.initiationsSent,
          our_handshakes: ours.handshakes,
          wg_last_handshake_time_sec: wg.last_handshake_time_sec,
          wg_rx_bytes: wg.rx_bytes,
          wg_tx_bytes: wg.tx_bytes,
          drops: us.dev.drops,
        };
        Deno.stderr.writeSync(new TextEncoder().encode(JSON.stringify(report) + "\n"));
        assert(ours.handshakes >= 3, `only ${ours.handshakes} handshakes in 13 s`);
        assertEquals(ours.initiationsSent, ours.handshakes, "every initiation was answered");
        assertEquals(seqs.size, total, "echo replies lost across rekeys");
        assertEquals(Object.values(us.dev.drops).reduce((x, y) => x + y), 0, "our drops");
        const handshakeAge = Date.now() / 1000 - Number(wg.last_handshake_time_sec);
        assert(handshakeAge < 7, `wireguard-go's last handshake is ${handshakeAge} s old`);
      } finally {
        await us.dev.close();
      }
    }),
});

function assertMatchCount(text: string, re: RegExp): void {
  assert(re.test(text), `${JSON.stringify(text)} does not match ${re}`);
}

Deno.test({
  name:
    `${NAME}: flooded, it answers us with a cookie reply and our MAC2 retry gets through${skip}`,
  ignore: reason !== null,
  fn: () =>
    withLab(async (lab) => {
      const us = ourSide(lab);
      // Record when our initiations leave, and whether they carry a MAC2.
      const initiations: { at: number; mac2: boolean }[] = [];
      const send = us.bind.send.bind(us.bind);
      us.bind.send = (d, to) => {
        if (d.length === 148 && d[0] === 1) {
          initiations.push({ at: performance.now(), mac2: d.subarray(132).some((x) => x !== 0) });
        }
        send(d, to);
      };
      const flood = Deno.listenDatagram({ transport: "udp", hostname: lab.hostIp, port: 0 });
      const cookieTimes: number[] = [];
      let stop = false;
      try {
        await lab.configure(us.publicKey, us.bind.port);
        // Initiations with a valid MAC1 for wireguard-go but garbage keys: each costs it a DH,
        // so a fast enough stream fills its handshake queue and puts it under load.
        const junk = crypto.getRandomValues(new Uint8Array(148));
        junk.set([1, 0, 0, 0]);
        junk.fill(0, 132);
        junk.set(blake2sMac(mac1Key(lab.wgPublic), 16, junk.subarray(0, 116)), 116);
        const to = { transport: "udp" as const, hostname: lab.nsIp, port: WG_PORT };
        // Bursts, not a steady stream: each burst outruns its two handshake workers and fills
        // the queue past 1/8 (under load for the next second), then the queue drains, so our
        // own initiations between bursts are not dropped at a full queue.
        // A burst that wireguard-go's workers absorb draws no cookie: the burst doubles (up to
        // 8192) until one does, so the flood is heavy enough on a fast or a slow machine alike.
        let burst = 512;
        const flooding = (async () => {
          while (!stop) {
            const cookiesBefore = cookieTimes.length;
            await Promise.all(Array.from({ length: burst }, () => flood.send(junk, to)));
            await new Promise((r) => setTimeout(r, 300));
            if (cookieTimes.length === cookiesBefore && burst < 8192) burst *= 2;
          }
        })();
        const listening = (async () => {
          while (!stop) {
            try {
              const [d] = await flood.receive();
              if (d.length === 64 && d[0] === 3) cookieTimes.push(performance.now());
            } catch {
              return;
            }
          }
        })();
        // Our first initiation goes out only once wireguard-go is seen under load (a cookie
        // reply to the flood): sent earlier, it can be answered before the queue fills, and
        // the test would prove nothing about cookies.
        const loadDeadline = performance.now() + 20_000;
        while (cookieTimes.length === 0 && performance.now() < loadDeadline) {
          await new Promise((r) => setTimeout(r, 20));
        }
        const src = parseIp(lab.tunOurs);
        const dst = parseIp(lab.tunTheirs);
        us.dev.sendPacket(icmpEcho(src, dst, 8, 0xc00c, 1, new Uint8Array(32)));
        const deadline = performance.now() + 30_000;
        while (performance.now() < deadline && us.dev.peer(lab.wgPublic)!.stats.handshakes === 0) {
          await new Promise((r) => setTimeout(r, 50));
        }
        const doneAt = performance.now();
        stop = true;
        await flooding;
        flood.close();
        await listening;
        await new Promise((r) => setTimeout(r, 200));
        const stats = us.dev.peer(lab.wgPublic)!.stats;
        const retry = initiations.find((i) => i.mac2);
        // Flood cookie replies in the half second before t: wireguard-go was under load then,
        // and stays so for a second after its queue was last seen 1/8 full.
        const near = (t: number) => cookieTimes.filter((c) => c <= t && t - c < 500).length;
        const report = {
          floodCookieReplies: cookieTimes.length,
          ourInitiations: initiations.map((i) => ({
            mac2: i.mac2,
            floodCookiesInPrior500ms: near(i.at),
          })),
          cookiesReceived: stats.cookiesReceived,
          handshakes: stats.handshakes,
          handshakeAfterMs: Math.round(doneAt - (initiations[0]?.at ?? doneAt)),
          echoReplies: us.others.filter((p) =>
            p[20] === 0 && ((p[24] << 8) | p[25]) === 0xc00c
          ).length,
        };
        Deno.stderr.writeSync(new TextEncoder().encode(JSON.stringify(report) + "\n"));
        assert(cookieTimes.length > 0, "wireguard-go never went under load");
        assert(stats.cookiesReceived >= 1, "no cookie reply from wireguard-go was accepted");
        assert(!initiations[0].mac2, "first initiation already had a MAC2");
        assert(retry !== undefined, "no retry with MAC2");
        assertEquals(stats.handshakes, 1);
        // Every initiation of ours went out while wireguard-go was answering the flood with
        // cookies (under load). Only the first was answered with a cookie: a MAC2 retry that
        // failed its check would have drawn another. Retries lost in its full queue are
        // simply dropped, which is why this can take more than one retry.
        for (const i of initiations) {
          assert(near(i.at) > 0, "an initiation went out when not under load");
        }
        const ourCookieLines = lab.log().split("\n").filter((l) =>
          l.includes("Sending cookie response") && l.includes(`${lab.hostIp}:${us.bind.port}`)
        );
        assertEquals(ourCookieLines.length, 1, "cookie replies wireguard-go sent to us");
        assertEquals(stats.cookiesReceived, 1);
        assertEquals(report.echoReplies, 1);
      } finally {
        stop = true;
        try {
          flood.close();
        } catch {
          // closed above
        }
        await us.dev.close();
      }
    }),
});

Deno.test({
  name:
    `${NAME}: under load we answer it with a cookie reply and its MAC2 retry passes our check${skip}`,
  ignore: reason !== null,
  fn: () =>
    withLab(async (lab) => {
      // Test knob on our side: always under load, so every handshake needs a valid MAC2.
      const us = ourSide(lab, { underLoad: () => true });
      try {
        await lab.configure(us.publicKey, us.bind.port);
        // Its first initiation draws our cookie reply; it retries after 5 s with MAC2.
        const ping = await lab.inNs("ping", "-c", "1", "-w", "15", lab.tunOurs);
        const report = {
          ping: ping.stdout.split("\n").filter((l) => l.includes("received")),
          cookieRequired: us.dev.drops.cookieRequired,
          badMac: us.dev.drops.badMac,
          rateLimited: us.dev.drops.rateLimited,
          handshakes: us.dev.peer(lab.wgPublic)!.stats.handshakes,
        };
        Deno.stderr.writeSync(new TextEncoder().encode(JSON.stringify(report) + "\n"));
        assert(ping.ok, `ping failed: ${ping.stdout}`);
        assert(us.dev.drops.cookieRequired >= 1, "no cookie reply was needed");
        assert(
          lab.log().includes("Receiving cookie response"),
          "wireguard-go did not log our cookie reply",
        );
        assert(
          !lab.log().includes("Could not decrypt invalid cookie response"),
          "wireguard-go could not open our cookie reply",
        );
        assertEquals(report.handshakes, 1);
        // It staged the pings sent while waiting and delivers them all after the handshake.
        assert(us.echoed() >= 1);
      } finally {
        await us.dev.close();
      }
    }),
});

Deno.test("interop baseline: two of our devices over real loopback UDP sockets carry 2000 packets with 64 in flight", async () => {
  const bindA = new UdpBind("127.0.0.1", 0);
  const bindB = new UdpBind("127.0.0.1", 0);
  const got: number[] = [];
  const silent = new Logger({ sink: () => {} });
  const a = new Device({ privateKey: generatePrivate("node"), bind: bindA, log: silent });
  const b = new Device({
    privateKey: generatePrivate("node"),
    bind: bindB,
    log: silent,
    onPacket: (p) => got.push((p[28] << 8) | p[29]),
  });
  try {
    a.setPeer({
      publicKey: b.publicKey,
      allowedIps: ["10.0.0.2/32"],
      endpoint: new UdpEndpoint("127.0.0.1", bindB.port),
    });
    b.setPeer({ publicKey: a.publicKey, allowedIps: ["10.0.0.1/32"] }); // learns a's endpoint
    a.start();
    b.start();
    const src = parseIp("10.0.0.1");
    const dst = parseIp("10.0.0.2");
    const body = new Uint8Array(1200);
    const total = 2000;
    // The first packet waits for the handshake (at most 128 wait; more would be dropped).
    a.sendPacket(icmpEcho(src, dst, 8, 1, 0, body));
    for (let i = 0; i < 100 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    for (let i = 1; i < total; i++) {
      body[0] = i >> 8;
      body[1] = i & 0xff;
      a.sendPacket(icmpEcho(src, dst, 8, 1, i, body));
      // Keep at most 64 packets in flight: one JS thread both sends and receives here, and
      // the kernel drops what overflows the receive buffer (RcvbufErrors), not wg.
      while (got.length < i - 64) await new Promise((r) => setTimeout(r, 1));
    }
    for (let i = 0; i < 100 && got.length < total; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assertEquals(
      new Set(got).size,
      total,
      `drops ${JSON.stringify(a.drops)} ${JSON.stringify(b.drops)}`,
    );
    assertEquals(b.peer(a.publicKey)!.stats.handshakes, 1);
    assertEquals(String(b.peer(a.publicKey)!.endpoint), `127.0.0.1:${bindA.port}`);
  } finally {
    await a.close();
    await b.close();
  }
});

/**
 * Run inside the namespace: the Linux kernel's own TCP and UDP, through wireguard-go, against
 * our stack. A connected UDP socket reports a received ICMP port unreachable as
 * ConnectionRefusedError; a RST to a SYN refuses the TCP connect.
 */
const KERNEL_CLIENT = `
import hashlib, json, os, socket, sys
ip = sys.argv[1]
tcp_open, udp_open, tcp_closed, udp_closed = map(int, sys.argv[2:6])
family = socket.AF_INET6 if ":" in ip else socket.AF_INET
res = {}
def udp(port, payload):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.connect((ip, port))
    s.settimeout(5)
    s.send(payload)
    try:
        return s.recv(2048).decode()
    except ConnectionRefusedError:
        return "refused"
    except socket.timeout:
        return "timeout"
res["udp_closed"] = udp(udp_closed, b"anyone?")
res["udp_open"] = udp(udp_open, b"ping")
try:
    socket.create_connection((ip, tcp_closed), timeout=10).close()
    res["tcp_closed"] = "connected"
except ConnectionRefusedError:
    res["tcp_closed"] = "refused"
except OSError as e:
    res["tcp_closed"] = repr(e)
data = os.urandom(4 << 20)
c = socket.create_connection((ip, tcp_open), timeout=30)
c.sendall(data)
c.shutdown(socket.SHUT_WR)
got = bytearray()
while True:
    b = c.recv(1 << 16)
    if not b:
        break
    got += b
c.close()
res["tcp_echo_ok"] = bytes(got) == data
res["tcp_echo_bytes"] = len(got)
res["sha256"] = hashlib.sha256(data).hexdigest()[:16]
print(json.dumps(res))
`;

/** A host port nothing is bound to (bound, then released). */
function freePort(transport: "tcp" | "udp"): number {
  if (transport === "udp") {
    const s = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
    const port = (s.addr as Deno.NetAddr).port;
    s.close();
    return port;
  }
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Our side with our userspace stack on the tunnel addresses (IPv4 and IPv6) behind the Device. */
function ourStackSide(lab: Lab) {
  let stack: Stack | null = null;
  const us = ourSide(lab, { onPacket: (p) => stack?.input(p) });
  stack = new Stack({
    addresses: [lab.tunOurs, lab.tunOurs6],
    output: (buf, off, len) => us.dev.sendPacket(buf.slice(off, off + len)),
  });
  return { us, stack };
}

const python = await run("python3", ["--version"], false).then((r) => r.ok).catch(() => false);

Deno.test({
  name: `${NAME}: its Linux kernel's TCP and UDP reach our stack over IPv4 and IPv6: echo 4 MiB, ` +
    `RST and ICMP port unreachable for closed ports${
      skip || (python ? "" : " (skipped: no python3)")
    }`,
  ignore: reason !== null || !python,
  sanitizeResources: false,
  fn: () =>
    withLab(async (lab) => {
      const { us, stack } = ourStackSide(lab);
      const fwd = new LoopbackForwarder(stack);
      // Host services the forwarder reaches: a TCP echo and a UDP echo on 127.0.0.1.
      const tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const tcpServing = (async () => {
        for await (const c of tcp) {
          (async () => {
            const chunks: Uint8Array[] = [];
            const buf = new Uint8Array(1 << 16);
            for (;;) {
              const n = await c.read(buf);
              if (n === null) break;
              chunks.push(buf.slice(0, n));
            }
            for (const ch of chunks) {
              for (let off = 0; off < ch.length;) off += await c.write(ch.subarray(off));
            }
            c.close();
          })().catch(() => {});
        }
      })().catch(() => {});
      const udp = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
      const udpServing = (async () => {
        for (;;) {
          const [d, from] = await udp.receive();
          await udp.send(new TextEncoder().encode(`echo:${new TextDecoder().decode(d)}`), from);
        }
      })().catch(() => {});
      try {
        await lab.configure(us.publicKey, us.bind.port);
        for (const [n, ip] of [lab.tunOurs, lab.tunOurs6].entries()) {
          const r = await lab.inNs(
            "python3",
            "-c",
            KERNEL_CLIENT,
            ip,
            String((tcp.addr as Deno.NetAddr).port),
            String((udp.addr as Deno.NetAddr).port),
            String(freePort("tcp")),
            String(freePort("udp")),
          );
          assert(
            r.ok,
            `kernel client to ${ip} failed:\n${r.stdout}${r.stderr}\n--- wireguard-go:\n${lab.log()}`,
          );
          const res = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
          Deno.stderr.writeSync(new TextEncoder().encode(`${ip}: ${JSON.stringify(res)}\n`));
          assertEquals(
            res.udp_closed,
            "refused",
            `${ip}: the kernel took our ICMP port unreachable`,
          );
          assertEquals(res.udp_open, "echo:ping");
          assertEquals(res.tcp_closed, "refused", `${ip}: the kernel took our RST`);
          assertEquals(res.tcp_echo_bytes, 4 << 20);
          assertEquals(res.tcp_echo_ok, true, `${ip}: 4 MiB echoed whole`);
          assertEquals(stack.stats.icmpErrorsSent, n + 1);
          assertEquals(fwd.stats.tcpRefused, n + 1);
        }
        Deno.stderr.writeSync(
          new TextEncoder().encode(
            `stack ${JSON.stringify(stack.stats)} fwd ${JSON.stringify(fwd.stats)}\n`,
          ),
        );
      } finally {
        tcp.close();
        udp.close();
        await Promise.all([tcpServing, udpServing]);
        await fwd.close();
        stack.close();
        await us.dev.close();
      }
    }),
});

Deno.test({
  name: `${NAME}: its Linux kernel's ICMP unreachable (a route of type unreachable, IPv4 and ` +
    `IPv6) fails our TCP open at once${skip}`,
  ignore: reason !== null,
  sanitizeResources: false,
  fn: () =>
    withLab(async (lab) => {
      const { us, stack } = ourStackSide(lab);
      // Destinations behind the namespace that its kernel has "unreachable" routes for: it
      // forwards our SYN there and answers with ICMP host unreachable / ICMPv6 no route.
      const third = lab.tunTheirs.split(".")[2];
      const gone4 = `10.98.${third}.5`, gone6 = `fd98:${third}::5`;
      us.dev.setPeer({
        publicKey: lab.wgPublic,
        allowedIps: [
          `${lab.tunTheirs}/32`,
          `${lab.tunTheirs6}/128`,
          `10.98.${third}.0/24`,
          `fd98:${third}::/64`,
        ],
        endpoint: new UdpEndpoint(lab.nsIp, WG_PORT),
      });
      try {
        await lab.configure(us.publicKey, us.bind.port);
        for (
          const args of [
            ["sysctl", "-qw", "net.ipv4.ip_forward=1"],
            ["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"],
            ["ip", "route", "add", "unreachable", `10.98.${third}.0/24`],
            ["ip", "-6", "route", "add", "unreachable", `fd98:${third}::/64`],
          ]
        ) {
          const r = await lab.inNs(...args);
          assert(r.ok, `${args.join(" ")}: ${r.stderr}`);
        }
        for (const ip of [gone4, gone6]) {
          const t0 = performance.now();
          let err: unknown = null;
          await stack.connectTcp(ip, 443).then((c) => c.close(), (e) => err = e);
          const ms = performance.now() - t0;
          Deno.stderr.writeSync(
            new TextEncoder().encode(`${ip}: ${String(err)} after ${ms.toFixed(0)} ms\n`),
          );
          assert(err instanceof Deno.errors.NetworkUnreachable, `${ip}: ${err}`);
          // Without the ICMP the SYN would be resent for about a minute; this is one round trip
          // plus the first WireGuard handshake.
          assert(ms < 5_000, `${ip}: failed after ${ms} ms`);
        }
        assertEquals(stack.stats.icmpErrorsReceived, 2);
      } finally {
        stack.close();
        await us.dev.close();
      }
    }),
});
