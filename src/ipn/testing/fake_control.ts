/**
 * A fake control client for backend tests, in the manner of Go's `state_test.go`: it records
 * every call in order ("new", "login", "logout", "setHostinfo", "setPaused", "close") and lets
 * the test push statuses as the real client would report them.
 * @module
 */
import type {
  ControlClient,
  ControlClientOptions,
  ControlStatus,
  LoginOptions,
  Persist,
} from "../../engine/control/client.ts";
import { ControlError } from "../../engine/control/client.ts";
import type { NetmapNode, NetworkMap } from "../../engine/control/types.ts";
import {
  generatePrivate,
  type NodePrivate,
  publicOf,
  publicToText,
} from "../../engine/key/keys.ts";

/** One recorded call. */
export interface FakeCall {
  /** Which method. */
  name: "new" | "login" | "logout" | "setHostinfo" | "setEndpoints" | "setPaused" | "close";
  /** Its argument, when it has one. */
  arg?: unknown;
}

/** Every fake client made by one factory, and their calls in order. */
export class FakeControl {
  /** All calls to all clients, in order. */
  readonly calls: FakeCall[] = [];
  /** Clients made, oldest first. */
  readonly clients: FakeControlClient[] = [];
  /** When set, `logout()` rejects with it. */
  logoutError: Error | null = null;

  /** The factory to hand to the backend. */
  readonly factory = (options: ControlClientOptions): ControlClient => {
    const c = new FakeControlClient(this, options);
    this.clients.push(c);
    this.calls.push({ name: "new", arg: options.serverUrl });
    return c;
  };

  /** The newest client; throws when none was made. */
  get current(): FakeControlClient {
    const c = this.clients.at(-1);
    if (!c) throw new Error("no fake control client was made");
    return c;
  }

  /** Call names, in order, optionally only since index `from`. */
  names(from = 0): string[] {
    return this.calls.slice(from).map((c) => c.name);
  }

  /** Forgets the calls so far. */
  reset(): void {
    this.calls.length = 0;
  }
}

/** One fake client. */
export class FakeControlClient implements ControlClient {
  readonly #owner: FakeControl;
  /** The options it was made with. */
  readonly options: ControlClientOptions;
  /** The persist it reports; `loginOk()` fills it. */
  persist: Persist;
  /** The last login options. */
  lastLogin: LoginOptions | null = null;
  /** Closed? */
  closed = false;

  /**
   * @param owner the recording factory
   * @param options as the backend passed them
   */
  constructor(owner: FakeControl, options: ControlClientOptions) {
    this.#owner = owner;
    this.options = options;
    this.persist = { ...options.persist };
  }

  /** Records the call. */
  login(options: LoginOptions): void {
    this.lastLogin = options;
    this.#owner.calls.push({ name: "login", arg: options });
  }

  /** Records the call; reports logged out, as the real one does. */
  logout(): Promise<void> {
    this.#owner.calls.push({ name: "logout" });
    if (this.#owner.logoutError) return Promise.reject(this.#owner.logoutError);
    this.persist = { ...this.persist, privateNodeKey: null };
    this.push({ loggedIn: false });
    return Promise.resolve();
  }

  /** Records the call. */
  setHostinfo(hostinfo: ControlClientOptions["hostinfo"]): void {
    this.#owner.calls.push({ name: "setHostinfo", arg: hostinfo });
  }

  /** Records the call. */
  setEndpoints(endpoints: { addr: string; type: number }[]): void {
    this.#owner.calls.push({ name: "setEndpoints", arg: endpoints });
  }

  /** Records the call. */
  setPaused(paused: boolean): void {
    this.#owner.calls.push({ name: "setPaused", arg: paused });
  }

  /** Records the call. */
  close(): Promise<void> {
    this.closed = true;
    this.#owner.calls.push({ name: "close" });
    return Promise.resolve();
  }

  /** Same as close. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Reports a status; unspecified fields are those of a client not logged in.
   * @param s the fields to set
   */
  push(s: Partial<ControlStatus>): void {
    this.options.onStatus({
      error: null,
      authUrl: null,
      loggedIn: false,
      machineAuthorized: true,
      nodeKeyExpired: false,
      netmap: null,
      persist: this.persist,
      ...s,
    });
  }

  /**
   * Reports a successful registration: a node key (new unless `keepKey`), the user, and
   * optionally a netmap.
   * @param netmap the first netmap, or null
   * @param keepKey reuse the persisted node key
   * @returns the node key in use
   */
  loginOk(netmap: NetworkMap | null = null, keepKey = false): NodePrivate {
    const key = keepKey && this.persist.privateNodeKey
      ? this.persist.privateNodeKey
      : generatePrivate("node");
    this.persist = {
      privateNodeKey: key,
      oldPrivateNodeKey: keepKey ? this.persist.oldPrivateNodeKey : this.persist.privateNodeKey,
      userProfile: { id: 1, loginName: "alice", displayName: "Alice", profilePicUrl: "" },
      nodeId: "nSTABLE1",
    };
    this.push({ loggedIn: true, netmap });
    return key;
  }

  /** Reports a fatal error (e.g. a bad auth key). @param code reason @param message text */
  fail(code: string, message: string): void {
    this.push({ error: new ControlError(code, message, false) });
  }
}

/**
 * A netmap with ourselves and the given peers.
 * @param selfKey our node key
 * @param peers peer hostnames
 * @returns the netmap
 */
export function fakeNetmap(selfKey: NodePrivate, peers: string[] = []): NetworkMap {
  const node = (i: number, host: string, key: string): NetmapNode => ({
    id: i,
    stableId: `n${i}`,
    name: `${host}.tailnet.test.`,
    hostname: host,
    userId: 1,
    key,
    keyExpiry: null,
    machine: "",
    discoKey: "",
    addresses: [`100.64.0.${i}/32`, `fd7a:115c:a1e0::${i}/128`],
    allowedIps: [`100.64.0.${i}/32`, `fd7a:115c:a1e0::${i}/128`],
    endpoints: [],
    homeDerp: 1,
    online: true,
    lastSeen: null,
    os: "linux",
    tags: [],
    capabilities: [],
    machineAuthorized: true,
    expired: false,
    raw: { ID: i, Key: key, Name: `${host}.tailnet.test.` },
  });
  const selfText = publicToText("node", publicOf(selfKey));
  return {
    self: node(1, "me", selfText),
    peers: peers.map((h, i) =>
      node(i + 2, h, publicToText("node", publicOf(generatePrivate("node"))))
    ),
    derpMap: {
      Regions: { "1": { RegionID: 1, RegionCode: "lab", RegionName: "Lab", Nodes: [] } },
    },
    dns: null,
    // headscale's allow-all default.
    packetFilter: [{ SrcIPs: ["*"], DstPorts: [{ IP: "*", Ports: { First: 0, Last: 65535 } }] }],
    userProfiles: new Map([[1, {
      id: 1,
      loginName: "alice",
      displayName: "Alice",
      profilePicUrl: "",
    }]]),
    domain: "tailnet.test",
    extra: {},
  };
}
