/**
 * Our node without the IPN backend, for interop tests that check the data plane directly: our
 * control client registers with the lab's headscale, an {@linkcode Engine} (DERP, WireGuard,
 * disco, the packet pipeline and the stack, the same assembly the daemon runs) is built once
 * control hands out the node key, is reconfigured from every netmap with default prefs
 * (`engineConfig`), and sends its home DERP region back to control.
 * @module
 */
import { waitFor } from "../lab/mod.ts";
import {
  type ControlClient,
  createControlClient,
  emptyPersist,
  type Hostinfo,
} from "../../src/engine/control/mod.ts";
import type { ControlStatus } from "../../src/engine/control/client.ts";
import { Engine } from "../../src/engine/engine.ts";
import { generatePrivate, publicOf } from "../../src/engine/key/keys.ts";
import { Logger } from "../../src/engine/base/logger.ts";
import type { NodeStack } from "../../src/engine/stack/mod.ts";
import { engineConfig } from "../../src/ipn/engine_config.ts";
import { defaultPrefs } from "../../src/ipn/prefs.ts";

/** Options of {@linkcode InProcessNode.start}. */
export interface InProcessNodeOptions {
  /** The lab's control server and auth key. */
  lab: { controlUrl: string; authKey: string };
  /** Hostname to register with. */
  hostname: string;
  /** Expose the engine's stack, forwarding inbound connections to 127.0.0.1. */
  withStack?: boolean;
  /** Wait until our netmap has at least this many peers. */
  minPeers: number;
  /** How long to wait for that netmap. */
  timeoutMs: number;
}

/** A control client, an engine and (optionally) a stack, joined to the lab's tailnet. */
export class InProcessNode implements AsyncDisposable {
  /** Our control client. */
  readonly control: ControlClient;
  /** Every status control reported, in order. */
  readonly statuses: ControlStatus[];
  readonly #withStack: boolean;
  #engine: Engine | null = null;
  #closed = false;

  private constructor(opts: InProcessNodeOptions) {
    const log = new Logger({ sink: () => {}, verbosity: 0 });
    this.#withStack = opts.withStack ?? false;
    const discoKey = generatePrivate("disco");
    let hostinfo: Hostinfo = {
      IPNVersion: "0.1.0-tailnet",
      OS: "linux",
      Hostname: opts.hostname,
      Package: "tailnet",
      GoArch: "amd64",
    };
    this.statuses = [];
    const control = createControlClient({
      serverUrl: opts.lab.controlUrl,
      machineKey: generatePrivate("machine"),
      persist: emptyPersist(),
      discoKey: publicOf(discoKey),
      hostinfo,
      onStatus: (s) => {
        this.statuses.push(s);
        if (s.loggedIn && this.#engine === null && s.persist.privateNodeKey !== null) {
          this.#engine = new Engine({
            nodeKey: s.persist.privateNodeKey,
            discoKey,
            log,
            forwardToLoopback: this.#withStack,
            onHomeDerp: (regionId) => {
              hostinfo = { ...hostinfo, NetInfo: { PreferredDERP: regionId } };
              control.setHostinfo(hostinfo);
            },
          });
        }
        if (s.netmap !== null && this.#engine !== null) {
          this.#engine.reconfig(engineConfig(defaultPrefs(), s.netmap));
        }
      },
      log,
    });
    this.control = control;
  }

  /**
   * Logs in with the lab's auth key and waits for a netmap with `minPeers` peers (and the
   * stack, when asked for). On failure everything started is closed again.
   * @param opts the lab, hostname, stack or not, what to wait for
   * @returns the running node
   */
  static async start(opts: InProcessNodeOptions): Promise<InProcessNode> {
    const node = new InProcessNode(opts);
    try {
      node.control.login({ authKey: opts.lab.authKey });
      const what = opts.minPeers === 1 ? "peer" : "peers";
      await waitFor(`our netmap with the real ${what}`, () => {
        const nm = node.statuses.at(-1)?.netmap;
        return nm !== null && nm !== undefined && nm.peers.length >= opts.minPeers &&
          node.#engine !== null;
      }, { timeoutMs: opts.timeoutMs });
    } catch (err) {
      await node.close();
      throw err;
    }
    return node;
  }

  /** The engine (built before {@linkcode InProcessNode.start} returns). */
  get engine(): Engine {
    if (this.#engine === null) throw new Error("Cannot use the engine: not logged in yet");
    return this.#engine;
  }

  /** The stack, when `withStack` was set (built before `start` returns). */
  get stack(): NodeStack {
    if (!this.#withStack) throw new Error("Cannot use the stack: none was asked for");
    return this.engine.stack;
  }

  /** Our Tailscale addresses, without prefix lengths, from the latest status's netmap. */
  ips(): string[] {
    return this.statuses.at(-1)!.netmap!.self.addresses.map((a) => a.split("/")[0]);
  }

  /** Closes the control client, then the engine. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.control.close();
    await this.#engine?.close();
  }

  /** Same as {@linkcode InProcessNode.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
