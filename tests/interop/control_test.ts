/**
 * The control client against real headscale (and a real tailscaled): registration with a
 * pre-auth key, the netmap, what headscale and tailscaled see of us, reconnecting across a
 * headscale restart, logout, interactive login, and the errors a user meets. Skipped with the
 * reason when the lab is not built. Measured times go to stderr as `[control interop] …`.
 * @module
 */
import { assert, assertEquals } from "../../src/engine/base/testing/assert.ts";
import { Lab, labAvailable, waitFor } from "../lab/mod.ts";
import {
  type ControlClient,
  type ControlStatus,
  createControlClient,
  emptyPersist,
  type NetworkMap,
  type Persist,
} from "../../src/engine/control/mod.ts";
import {
  generatePrivate,
  type MachinePrivate,
  publicOf,
  publicToText,
} from "../../src/engine/key/keys.ts";
import { Logger } from "../../src/engine/base/logger.ts";

const available = labAvailable();

interface Harness {
  client: ControlClient;
  statuses: ControlStatus[];
  last(): ControlStatus;
  until(
    what: string,
    pred: (s: ControlStatus) => boolean,
    timeoutMs?: number,
  ): Promise<ControlStatus>;
}

function harness(
  serverUrl: string,
  hostname: string,
  persist: Persist = emptyPersist(),
  machineKey: MachinePrivate = generatePrivate("machine"),
): Harness {
  const statuses: ControlStatus[] = [];
  const client = createControlClient({
    serverUrl,
    machineKey,
    persist,
    discoKey: publicOf(generatePrivate("disco")),
    hostinfo: {
      IPNVersion: "0.1.0-tailnet",
      OS: "linux",
      Hostname: hostname,
      Package: "tailnet",
      GoArch: "amd64",
      BackendLogID: "ab".repeat(32),
    },
    onStatus: (s) => statuses.push(s),
    log: new Logger({ sink: () => {} }),
  });
  const last = () => statuses[statuses.length - 1];
  return {
    client,
    statuses,
    last,
    async until(what, pred, timeoutMs = 20_000) {
      await waitFor(what, () => statuses.length > 0 && pred(last()), {
        timeoutMs,
        intervalMs: 50,
        details: () => JSON.stringify({ ...last(), netmap: last()?.netmap ? "…" : null }),
      });
      return last();
    },
  };
}

function nodeKeyOf(s: ControlStatus): string {
  return publicToText("node", publicOf(s.persist.privateNodeKey!));
}

interface HsNode {
  id: number | string;
  name: string;
  given_name: string;
  node_key: string;
  online?: boolean;
  expiry?: { seconds?: number };
}

async function hsNodes(lab: Lab): Promise<HsNode[]> {
  return await lab.headscale(["nodes", "list"]) as HsNode[];
}

function netmapBytes(nm: NetworkMap): number {
  const { self, peers, derpMap, dns, packetFilter } = nm;
  return JSON.stringify({
    self: self.raw,
    peers: peers.map((p) => p.raw),
    derpMap,
    dns,
    packetFilter,
  })
    .length;
}

function report(line: string): void {
  // deno-lint-ignore no-console -- the measured numbers are the point of this test's output
  console.error(`[control interop] ${line}`);
}

Deno.test({
  name: "control client interop with headscale v0.29.2 and tailscaled",
  ignore: !available.ok,
  async fn(t) {
    if (!available.ok) return;
    await using lab = await Lab.start({ tailscaleds: 1 });
    const ts1 = lab.nodes[0];
    const ts1Key = (await ts1.status()).Self.PublicKey;

    const machineKey = generatePrivate("machine");
    let a = harness(lab.controlUrl, "tailnet-interop-a", emptyPersist(), machineKey);
    try {
      await t.step(
        "registers with a pre-auth key and gets a netmap with the real peer",
        async () => {
          const t0 = performance.now();
          a.client.login({ authKey: lab.authKey });
          await a.until("logged in", (s) => s.loggedIn || s.error?.retryable === false);
          const tLogin = performance.now() - t0;
          assertEquals(a.last().error, null);
          const s = await a.until(
            "netmap with ts1",
            (s) => s.netmap?.peers.some((p) => p.key === ts1Key) === true,
          );
          const tNetmap = performance.now() - t0;
          assert(tLogin < 10_000, `registration took ${tLogin} ms`);
          const nm = s.netmap!;
          assert(
            nm.self.addresses.some((x) => /^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\./.test(x)),
            nm.self.addresses.join(),
          );
          assert(
            nm.self.addresses.some((x) => x.startsWith("fd7a:115c:a1e0:")),
            nm.self.addresses.join(),
          );
          assertEquals(nm.self.key, nodeKeyOf(s));
          assertEquals(nm.self.hostname, "tailnet-interop-a");
          const peer = nm.peers.find((p) => p.key === ts1Key)!;
          assertEquals(peer.os, "linux");
          assert(nm.derpMap !== null && Object.keys(nm.derpMap.Regions).length > 0);
          report(
            `registered in ${tLogin.toFixed(0)} ms, first netmap with the tailscaled peer after ` +
              `${tNetmap.toFixed(0)} ms; ${nm.peers.length} peer(s), self ${
                nm.self.addresses.join(" ")
              }, ` +
              `netmap ${netmapBytes(nm)} bytes as JSON`,
          );
        },
      );

      await t.step("headscale lists us online with our hostname", async () => {
        const key = nodeKeyOf(a.last());
        await waitFor("headscale to show us online", async () => {
          const n = (await hsNodes(lab)).find((x) => x.node_key === key);
          return n?.online === true && n.given_name === "tailnet-interop-a";
        }, { timeoutMs: 15_000 });
      });

      await t.step("tailscaled lists us as a peer with our node key and OS", async () => {
        const key = nodeKeyOf(a.last());
        await waitFor("ts1 to list us", async () => {
          const st = await ts1.status();
          const p = Object.values(st.Peer ?? {}).find((x) => x.PublicKey === key);
          return p !== undefined && p.OS === "linux" && p.HostName === "tailnet-interop-a";
        }, { timeoutMs: 20_000 });
      });

      await t.step("a lite update carries our endpoints through headscale to peers", async () => {
        // tailscaled's status shows a peer's Addrs only once magicsock talks to it, so a second
        // client of ours watches the netmap headscale sends it.
        const w = harness(lab.controlUrl, "tailnet-interop-watch");
        try {
          w.client.login({ authKey: lab.authKey });
          await w.until("watcher up", (s) => s.netmap !== null);
          a.client.setEndpoints([{ addr: "127.0.0.1:41999", type: 1 }]);
          const key = nodeKeyOf(a.last());
          await w.until(
            "the watcher to see our endpoint",
            (s) =>
              s.netmap?.peers.some((p) =>
                p.key === key && p.endpoints.includes("127.0.0.1:41999")
              ) === true,
          );
        } finally {
          await w.client.close();
        }
      });

      await t.step(
        "survives a headscale restart, keeps its netmap and sees a peer that joined after it",
        async () => {
          const before = a.last().netmap!;
          const seen = a.statuses.length;
          await lab.stopHeadscale();
          await a.until("the outage to be noticed", (s) => s.error !== null, 20_000);
          assert(a.last().netmap === before, "netmap kept during the outage");
          assertEquals(a.last().loggedIn, true);
          await new Promise((r) => setTimeout(r, 3000));
          const t0 = performance.now();
          await lab.startHeadscale();
          // A peer joins as soon as headscale is back. Whether that is before or after our client
          // reconnects depends on its backoff's jitter, so it is reported, not asserted.
          const b = harness(lab.controlUrl, "tailnet-interop-b");
          try {
            b.client.login({ authKey: lab.authKey });
            const sb = await b.until("b logged in", (s) => s.netmap !== null);
            const bKey = nodeKeyOf(sb);
            const joinedBeforeReconnect = a.last().error !== null;
            await a.until("reconnected", (s) => s.error === null && s.netmap !== null, 30_000);
            const tReconnect = performance.now() - t0;
            assert(a.statuses.slice(seen).every((s) => s.netmap !== null), "netmap never dropped");
            await a.until(
              "a to see b",
              (s) => s.netmap?.peers.some((p) => p.key === bKey) === true,
            );
            report(
              `reconnected ${tReconnect.toFixed(0)} ms after headscale came back (down ~3 s); ` +
                `peer b joined ${joinedBeforeReconnect ? "before" : "after"} we reconnected and ` +
                `is in a later netmap`,
            );
          } finally {
            await b.client.close();
          }
        },
      );

      await t.step(
        "a restarted client with the persisted key logs in without an auth key",
        async () => {
          const persist = a.last().persist;
          const nodeId = a.last().netmap!.self.id;
          await a.client.close();
          const again = harness(lab.controlUrl, "tailnet-interop-a", persist, machineKey);
          try {
            again.client.login({});
            const s = await again.until(
              "logged in again",
              (s) => s.netmap !== null || s.error !== null,
            );
            assertEquals(s.error, null);
            assertEquals(s.netmap!.self.id, nodeId);
            assertEquals(nodeKeyOf(s), nodeKeyOf({ persist } as ControlStatus));
          } finally {
            await again.client.close();
          }
          a = harness(lab.controlUrl, "tailnet-interop-a", persist, machineKey);
          a.client.login({});
          await a.until("a back", (s) => s.netmap !== null);
        },
      );

      await t.step(
        "an expired key is reported, and a new login rotates it with OldNodeKey",
        async () => {
          const oldKey = nodeKeyOf(a.last());
          const n = (await hsNodes(lab)).find((x) => x.node_key === oldKey)!;
          await lab.headscale(["nodes", "expire", "-i", String(n.id)]);
          await a.until(
            "expiry noticed",
            (s) => s.nodeKeyExpired || s.netmap?.self.expired === true,
          );
          a.client.login({ authKey: lab.authKey });
          const s = await a.until("new key", (s) => s.loggedIn && nodeKeyOf(s) !== oldKey);
          assertEquals(publicToText("node", publicOf(s.persist.oldPrivateNodeKey!)), oldKey);
          await waitFor("headscale to carry the new key on the same node", async () => {
            const same = (await hsNodes(lab)).find((x) => x.id === n.id);
            return same?.node_key === nodeKeyOf(s);
          }, { timeoutMs: 15_000 });
          await a.until(
            "netmap with the new key",
            (s) => s.netmap?.self.key === nodeKeyOf(s) && !s.netmap.self.expired,
          );
        },
      );

      await t.step("logout expires the node key in headscale", async () => {
        const key = nodeKeyOf(a.last());
        const t0 = performance.now();
        await a.client.logout();
        assertEquals([a.last().loggedIn, a.last().netmap, a.last().persist.privateNodeKey], [
          false,
          null,
          null,
        ]);
        const n = (await hsNodes(lab)).find((x) => x.node_key === key);
        assert(n !== undefined, "node still listed");
        const expiry = Number(n.expiry?.seconds ?? 0);
        assert(expiry > 0 && expiry * 1000 <= Date.now(), `expiry ${JSON.stringify(n.expiry)}`);
        report(
          `logout took ${(performance.now() - t0).toFixed(0)} ms; headscale expiry ${
            new Date(expiry * 1000).toISOString()
          }`,
        );
      });
    } finally {
      await a.client.close();
    }

    await t.step(
      "interactive login and --force-reauth: AuthURLs approved with `headscale auth register`",
      async () => {
        const c = harness(lab.controlUrl, "tailnet-interop-i");
        try {
          c.client.login({});
          const s = await c.until("an AuthURL", (s) => s.authUrl !== null || s.error !== null);
          assertEquals(s.error, null);
          const m = /\/register\/([^/?#]+)$/.exec(s.authUrl!);
          assert(m, `AuthURL ${s.authUrl}`);
          assert(s.authUrl!.startsWith(lab.controlUrl), s.authUrl!);
          assertEquals(s.loggedIn, false);
          await lab.headscale(["auth", "register", "--user", "lab", "--auth-id", m[1]]);
          const done = await c.until(
            "logged in after approval",
            (s) => s.loggedIn && s.netmap !== null,
          );
          assertEquals(done.authUrl, null);
          assertEquals(done.netmap!.self.hostname, "tailnet-interop-i");
          assert(done.netmap!.peers.some((p) => p.key === ts1Key));

          // --force-reauth: a new node key with OldNodeKey, approved again, same node.
          const oldKey = nodeKeyOf(done);
          const nodeId = done.netmap!.self.id;
          const seen = c.statuses.length;
          c.client.login({ forceReauth: true });
          const re = await c.until(
            "a second AuthURL",
            (s) => s.authUrl !== null && s.authUrl !== done.authUrl && c.statuses.length > seen,
          );
          const m2 = /\/register\/([^/?#]+)$/.exec(re.authUrl!)!;
          await lab.headscale(["auth", "register", "--user", "lab", "--auth-id", m2[1]]);
          const after = await c.until(
            "logged in with a new key",
            (s) =>
              s.authUrl === null && s.loggedIn && nodeKeyOf(s) !== oldKey && s.netmap !== null &&
              s.netmap.self.key === nodeKeyOf(s),
          );
          assertEquals(after.netmap!.self.id, nodeId, "same node, new key");
          assertEquals(publicToText("node", publicOf(after.persist.oldPrivateNodeKey!)), oldKey);
        } finally {
          await c.client.close();
        }
      },
    );

    await t.step(
      "a bad auth key is a non-retryable invalid-auth-key with headscale's message",
      async () => {
        const malformed = "hskey-auth-" + "x".repeat(80);
        const unknown = "hskey-auth-abcdefghijkl-" + "a".repeat(64);
        for (
          const [key, text] of [[malformed, "failed to parse auth-key"], [
            unknown,
            "invalid pre auth key",
          ]]
        ) {
          const c = harness(lab.controlUrl, "tailnet-interop-bad");
          try {
            c.client.login({ authKey: key });
            const s = await c.until("an error", (s) => s.error !== null);
            assertEquals([s.error!.code, s.error!.retryable, s.loggedIn], [
              "invalid-auth-key",
              false,
              false,
            ]);
            assert(!s.error!.message.includes("\n"));
            assert(s.error!.message.includes(text), s.error!.message);
            report(`bad key: ${s.error!.message}`);
            await new Promise((r) => setTimeout(r, 1500));
            assertEquals(c.statuses.filter((x) => x.error !== null).length, 1, "no retries");
          } finally {
            await c.client.close();
          }
        }
      },
    );
  },
});

Deno.test("control client reports an unreachable server and a non-control server", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closedPort = (l.addr as Deno.NetAddr).port;
  l.close();
  const down = harness(`http://127.0.0.1:${closedPort}`, "x");
  try {
    down.client.login({ authKey: "k" });
    const s = await down.until("an error", (s) => s.error !== null, 5000);
    assertEquals([s.error!.code, s.error!.retryable], ["unreachable", true]);
    report(`unreachable: ${s.error!.message}`);
  } finally {
    await down.client.close();
  }
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    () => new Response("404 page not found", { status: 404 }),
  );
  const other = harness(`http://127.0.0.1:${server.addr.port}`, "x");
  try {
    other.client.login({ authKey: "k" });
    const s = await other.until("an error", (s) => s.error !== null, 5000);
    assertEquals([s.error!.code, s.error!.retryable], ["not-tailscale-control", false]);
    report(`not control: ${s.error!.message}`);
  } finally {
    await other.client.close();
    ac.abort();
    await server.finished;
  }
});
