/**
 * The LocalAPI client every CLI command uses: HTTP over the daemon's Unix socket through
 * node:http (`socketPath`), which also streams long responses such as `watch-ipn-bus`.
 * It speaks tailscaled's paths and JSON, so it also works against tailscaled's socket.
 * @module
 */
import { request } from "node:http";
import { concat } from "../engine/base/bytes.ts";
import { TailnetError } from "../engine/base/errors.ts";
import { LOCALAPI_PREFIX } from "../version.ts";

/** An error reply from the daemon, or no daemon at all. */
export class LocalApiClientError extends TailnetError {
  /** The HTTP status, or 0 when the daemon could not be reached. */
  readonly status: number;
  /**
   * @param status HTTP status, 0 when unreachable
   * @param message one line
   */
  constructor(status: number, message: string) {
    super(status === 0 ? "daemon-unreachable" : "localapi-error", message);
    this.name = "LocalApiClientError";
    this.status = status;
  }
}

/** A client of one daemon's LocalAPI. */
export class LocalApiClient {
  readonly #socketPath: string;

  /** @param socketPath the daemon's socket */
  constructor(socketPath: string) {
    this.#socketPath = socketPath;
  }

  /** The socket this client talks to. */
  get socketPath(): string {
    return this.#socketPath;
  }

  /**
   * Sends one request and returns the whole body as text; non-2xx becomes an error.
   * @param method HTTP method
   * @param name endpoint name after `/localapi/v0/`, with any query
   * @param body optional JSON body
   * @returns the response body
   */
  async call(method: string, name: string, body?: unknown): Promise<string> {
    const chunks: Uint8Array[] = [];
    const status = await this.#send(method, name, body, (chunk) => {
      chunks.push(chunk);
      return true;
    });
    const text = new TextDecoder().decode(concat(chunks));
    if (status < 200 || status > 299) {
      throw new LocalApiClientError(status, errorText(text, status));
    }
    return text;
  }

  /**
   * Sends one request and parses the JSON reply.
   * @param method HTTP method
   * @param name endpoint name, with any query
   * @param body optional JSON body
   * @returns the parsed reply
   */
  async json<T>(method: string, name: string, body?: unknown): Promise<T> {
    const text = await this.call(method, name, body);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new LocalApiClientError(500, `Cannot parse LocalAPI reply to ${name}: not JSON`);
    }
  }

  /**
   * Streams a response, calling `onChunk` per chunk until it returns false or the stream ends.
   * @param method HTTP method
   * @param name endpoint name, with any query
   * @param body optional JSON body
   * @param onChunk receives each chunk; return false to stop
   * @returns the HTTP status
   */
  stream(
    method: string,
    name: string,
    body: unknown,
    onChunk: (chunk: Uint8Array) => boolean,
  ): Promise<number> {
    return this.#send(method, name, body, onChunk);
  }

  /**
   * Opens a stream of JSON values, one per line (`watch-ipn-bus`). Resolves once the daemon
   * has answered (so it is subscribed), or rejects with its error reply.
   * @param name endpoint name, with any query
   * @returns the open stream; close it when done
   */
  openJsonLines(name: string): Promise<JsonLineStream> {
    return new Promise((resolve, reject) => {
      const req = request({
        socketPath: this.#socketPath,
        path: LOCALAPI_PREFIX + name,
        method: "GET",
        headers: { host: "local-tailscaled.sock" },
      }, (res) => {
        const status = res.statusCode ?? 0;
        if (status !== 200) {
          const chunks: Uint8Array[] = [];
          res.on("data", (c: Uint8Array) => chunks.push(c));
          res.on("end", () => {
            const text = new TextDecoder().decode(concat(chunks));
            reject(new LocalApiClientError(status, errorText(text, status)));
          });
          return;
        }
        const lines = new LineQueue(() => res.destroy());
        const dec = new TextDecoder();
        res.on("data", (c: Uint8Array) => lines.push(dec.decode(c, { stream: true })));
        res.on("end", () => lines.end(null));
        res.on("close", () => lines.end(null));
        res.on("error", (err: Error) => lines.end(err));
        resolve(lines);
      });
      req.on("error", (err: NodeJS.ErrnoException) => reject(this.#connectError(err)));
      req.end();
    });
  }

  #connectError(err: NodeJS.ErrnoException): LocalApiClientError {
    const why = err.code === "ENOENT" || err.code === "ECONNREFUSED"
      ? `failed to connect to local tailnet daemon at ${this.#socketPath}; is it running? ` +
        `Start one with: tailnet daemon --socket ${this.#socketPath}`
      : `LocalAPI request failed: ${err.message}`;
    return new LocalApiClientError(0, why);
  }

  #send(
    method: string,
    name: string,
    body: unknown,
    onChunk: (chunk: Uint8Array) => boolean,
  ): Promise<number> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request({
        socketPath: this.#socketPath,
        path: LOCALAPI_PREFIX + name,
        method,
        // tailscaled rejects LocalAPI requests whose Host is not this name (DNS rebinding guard).
        headers: {
          host: "local-tailscaled.sock",
          ...(payload === undefined ? {} : { "content-type": "application/json" }),
        },
      }, (res) => {
        const status = res.statusCode ?? 0;
        res.on("data", (chunk: Uint8Array) => {
          if (!onChunk(chunk)) {
            res.destroy();
            resolve(status);
          }
        });
        res.on("end", () => resolve(status));
        res.on("error", () => resolve(status));
        res.on("close", () => resolve(status));
      });
      req.on("error", (err: NodeJS.ErrnoException) => reject(this.#connectError(err)));
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }
}

/** One line of an error reply: its JSON `Error`/`error` field, or the text. */
function errorText(text: string, status: number): string {
  const t = text.trim();
  if (t.startsWith("{")) {
    try {
      const v = JSON.parse(t) as Record<string, unknown>;
      const e = v.Error ?? v.error;
      if (typeof e === "string" && e !== "") return e.split("\n")[0];
    } catch { /* not JSON: use the text */ }
  }
  return t.split("\n")[0] || `HTTP ${status}`;
}

/** A stream of JSON values, one per line, from {@linkcode LocalApiClient.openJsonLines}. */
export interface JsonLineStream extends AsyncIterable<unknown> {
  /** Stops reading and closes the connection; ends any pending iteration. */
  close(): void;
}

class LineQueue implements JsonLineStream {
  #buf = "";
  readonly #ready: unknown[] = [];
  #ended = false;
  #error: Error | null = null;
  #wake: (() => void) | null = null;
  readonly #destroy: () => void;

  constructor(destroy: () => void) {
    this.#destroy = destroy;
  }

  push(text: string): void {
    this.#buf += text;
    let nl: number;
    while ((nl = this.#buf.indexOf("\n")) >= 0) {
      const line = this.#buf.slice(0, nl).trim();
      this.#buf = this.#buf.slice(nl + 1);
      if (line === "") continue;
      try {
        this.#ready.push(JSON.parse(line));
      } catch {
        this.end(new LocalApiClientError(500, "Cannot parse LocalAPI stream: a line is not JSON"));
        return;
      }
    }
    this.#wakeUp();
  }

  end(err: Error | null): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = err;
    this.#wakeUp();
  }

  close(): void {
    this.end(null);
    this.#destroy();
  }

  #wakeUp(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<unknown> {
    while (true) {
      if (this.#ready.length) {
        yield this.#ready.shift();
        continue;
      }
      if (this.#ended) {
        if (this.#error) throw this.#error;
        return;
      }
      await new Promise<void>((r) => (this.#wake = r));
    }
  }
}
