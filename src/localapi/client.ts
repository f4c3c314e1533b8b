/**
 * The LocalAPI client every CLI command uses: HTTP over the daemon's Unix socket through
 * `fetch` with a Unix-socket `Deno.HttpClient`, which also streams long responses such as
 * `watch-ipn-bus`. Not node:http: loading Deno's Node compatibility for it costs a CLI command
 * about 60 ms of start-up, as much as the rest of `tailnet status`.
 * It speaks tailscaled's paths and JSON, so it also works against tailscaled's socket.
 * @module
 */
import { errorMessage, TailnetError } from "../engine/base/errors.ts";
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

/** A response and the HTTP client (one connection) it came over, closed once it is read. */
interface Exchange {
  res: Response;
  close(): void;
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
    const ex = await this.#send(method, name, body);
    let text: string;
    try {
      text = await ex.res.text();
    } finally {
      ex.close();
    }
    const status = ex.res.status;
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
  async stream(
    method: string,
    name: string,
    body: unknown,
    onChunk: (chunk: Uint8Array) => boolean,
  ): Promise<number> {
    const ex = await this.#send(method, name, body);
    const reader = ex.res.body?.getReader();
    try {
      while (reader) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch {
          break; // the daemon went away mid-stream: what came is what there is
        }
        if (chunk.done) break;
        if (!onChunk(chunk.value)) {
          await reader.cancel().catch(() => {});
          break;
        }
      }
    } finally {
      ex.close();
    }
    return ex.res.status;
  }

  /**
   * Opens a stream of JSON values, one per line (`watch-ipn-bus`). Resolves once the daemon
   * has answered (so it is subscribed), or rejects with its error reply.
   * @param name endpoint name, with any query
   * @returns the open stream; close it when done
   */
  async openJsonLines(name: string): Promise<JsonLineStream> {
    const ex = await this.#send("GET", name, undefined);
    const status = ex.res.status;
    if (status !== 200 || ex.res.body === null) {
      const text = await ex.res.text().finally(() => ex.close());
      throw new LocalApiClientError(status, errorText(text, status));
    }
    const reader = ex.res.body.getReader();
    const lines = new LineQueue(() => {
      reader.cancel().catch(() => {}).finally(() => ex.close());
    });
    void (async () => {
      const dec = new TextDecoder();
      try {
        while (true) {
          const { done, value } = await reader.read();
          if (done) break;
          lines.push(dec.decode(value, { stream: true }));
        }
        lines.end(null);
      } catch (err) {
        lines.end(err instanceof Error ? err : new Error(String(err)));
      }
    })();
    return lines;
  }

  /** Sends the request over a fresh connection; the caller closes the exchange. */
  async #send(method: string, name: string, body: unknown): Promise<Exchange> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const client = Deno.createHttpClient({
      proxy: { transport: "unix", path: this.#socketPath },
    });
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      client.close();
    };
    try {
      // The URL's host is the Host header tailscaled insists on (its DNS rebinding guard).
      const res = await fetch(`http://local-tailscaled.sock${LOCALAPI_PREFIX}${name}`, {
        method,
        body: payload,
        headers: payload === undefined ? {} : { "content-type": "application/json" },
        client,
      });
      return { res, close };
    } catch (err) {
      close();
      throw this.#connectError(err);
    }
  }

  #connectError(err: unknown): LocalApiClientError {
    // fetch says only "fetch failed"; the cause names the OS error.
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : "";
    const why = /\(os error (2|111)\)/.test(cause)
      ? `failed to connect to local tailnet daemon at ${this.#socketPath}; is it running? ` +
        `Start one with: tailnet daemon --socket ${this.#socketPath}`
      : `LocalAPI request failed: ${lastPart(cause) || errorMessage(err)}`;
    return new LocalApiClientError(0, why);
  }
}

/** The OS's words at the end of a fetch error chain ("…: Permission denied (os error 13)"). */
function lastPart(message: string): string {
  const parts = message.split(": ");
  return parts[parts.length - 1] ?? "";
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
