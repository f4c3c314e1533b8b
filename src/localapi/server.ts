/**
 * The LocalAPI server: HTTP on a Unix socket, a table from endpoint name to handler, as
 * tailscaled's `ipn/localapi` serves it under `/localapi/v0/`. It holds no state of its own.
 *
 * Deno cannot read a connecting peer's credentials, so access is guarded by the socket's mode
 * (0600) and its directory's (0700), both set here before the first request is served.
 * @module
 */
import { dirname } from "node:path";
import type { Logger } from "../engine/base/logger.ts";
import { TailnetError } from "../engine/base/errors.ts";
import { LOCALAPI_PREFIX } from "../version.ts";

/** The Host every LocalAPI request must carry (or none), as tailscaled requires. */
export const LOCALAPI_HOST = "local-tailscaled.sock";

/** A handler for one endpoint. Throw a {@linkcode LocalApiError} to answer with its status. */
export type LocalApiHandler = (req: Request, url: URL) => Response | Promise<Response>;

/** An error that becomes an HTTP error reply with `status` and the message as the body. */
export class LocalApiError extends TailnetError {
  /** The HTTP status to answer with. */
  readonly status: number;
  /**
   * @param status HTTP status
   * @param message one line
   */
  constructor(status: number, message: string) {
    super("localapi", message);
    this.name = "LocalApiError";
    this.status = status;
  }
}

/** Options for {@linkcode LocalApiServer.listen}. */
export interface LocalApiServerOptions {
  /** The socket path; its directory is created with mode 0700 when missing. */
  socketPath: string;
  /** Endpoint name (after `/localapi/v0/`) to handler. */
  routes: Map<string, LocalApiHandler>;
  /** Logger for request errors. */
  log: Logger;
}

/** Returns a JSON response. @param value body @param status HTTP status */
export function jsonResponse(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value, null, "\t") + "\n", {
    status,
    headers: { "content-type": "application/json" },
  });
}

/**
 * About how many characters of a body {@linkcode textPiecesResponse} sends at a time: below
 * glibc's initial mmap threshold (128 KiB), so the buffer behind each write comes from malloc's
 * arenas and goes back there, and the threshold never moves.
 */
export const RESPONSE_BATCH_CHARS = 64 * 1024;

/**
 * Returns a 200 response whose body is `pieces` joined, made as the client reads it: pieces are
 * gathered into writes of about {@linkcode RESPONSE_BATCH_CHARS}, so neither the whole text nor
 * one buffer of its size exists at once (a body that fits one write is sent as one string).
 * Each piece must be whole UTF-16 (no pair split between two pieces).
 * @param pieces the body's text, in order
 * @param contentType its media type
 * @returns the response
 */
export function textPiecesResponse(
  pieces: Iterator<string>,
  contentType = "application/json",
): Response {
  const headers = { "content-type": contentType };
  const batch = (): { text: string; done: boolean } => {
    let text = "";
    while (text.length < RESPONSE_BATCH_CHARS) {
      const r = pieces.next();
      if (r.done) return { text, done: true };
      text += r.value;
    }
    return { text, done: false };
  };
  const first = batch();
  if (first.done) return new Response(first.text, { headers });
  const enc = new TextEncoder();
  let next: { text: string; done: boolean } | null = first;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const b = next ?? batch();
      next = null;
      if (b.text !== "") controller.enqueue(enc.encode(b.text));
      if (b.done) controller.close();
    },
    cancel() {
      pieces.return?.(undefined);
    },
  }, { highWaterMark: 0 });
  return new Response(body, { headers });
}

/** A running LocalAPI server; close it to stop serving and remove the socket. */
export class LocalApiServer implements AsyncDisposable {
  readonly #server: Deno.HttpServer<Deno.UnixAddr>;
  readonly #socketPath: string;
  #closed = false;

  private constructor(server: Deno.HttpServer<Deno.UnixAddr>, socketPath: string) {
    this.#server = server;
    this.#socketPath = socketPath;
  }

  /**
   * Creates the socket directory, replaces a stale socket, and starts serving.
   * Fails with a {@linkcode TailnetError} when another daemon is already serving there.
   * @param options socket, routes and logger
   * @returns the running server
   */
  static async listen(options: LocalApiServerOptions): Promise<LocalApiServer> {
    const { socketPath, routes, log } = options;
    const dir = dirname(socketPath);
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    await removeStaleSocket(socketPath);
    const server = Deno.serve({
      path: socketPath,
      onListen: () => {},
      onError: (err) => {
        log.error("localapi:", err);
        return new Response("internal error\n", { status: 500 });
      },
    }, (req) => dispatch(req, routes, log));
    await Deno.chmod(socketPath, 0o600);
    return new LocalApiServer(server, socketPath);
  }

  /** The path of the socket being served. */
  get socketPath(): string {
    return this.#socketPath;
  }

  /** Stops serving and removes the socket file. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#server.shutdown();
    await Deno.remove(this.#socketPath).catch(() => {});
  }

  /** Same as {@linkcode LocalApiServer.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

async function dispatch(
  req: Request,
  routes: Map<string, LocalApiHandler>,
  log: Logger,
): Promise<Response> {
  const url = new URL(req.url);
  if (!url.pathname.startsWith(LOCALAPI_PREFIX)) {
    return new Response("404 page not found\n", { status: 404 });
  }
  // tailscaled's guard against browsers (DNS rebinding, cross-site requests).
  const host = req.headers.get("host") ?? "";
  if (
    req.headers.has("referer") || req.headers.has("origin") ||
    (host !== "" && host !== LOCALAPI_HOST)
  ) {
    return new Response("invalid localapi request\n", { status: 403 });
  }
  const name = url.pathname.slice(LOCALAPI_PREFIX.length);
  // As tailscaled: an exact name ("profiles/current"), else the prefix through the first
  // slash ("profiles/" serves "profiles/<id>").
  const slash = name.indexOf("/");
  const handler = routes.get(name) ??
    (slash >= 0 ? routes.get(name.slice(0, slash + 1)) : undefined);
  // tailscaled answers an unknown call as Go's http.NotFound does, whatever the name.
  if (!handler) return new Response("404 page not found\n", { status: 404 });
  try {
    return await handler(req, url);
  } catch (err) {
    if (err instanceof LocalApiError) {
      return new Response(err.message + "\n", { status: err.status });
    }
    log.error(`localapi: ${name}:`, err);
    return new Response(`${err instanceof Error ? err.message : String(err)}\n`, { status: 500 });
  }
}

async function removeStaleSocket(path: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch {
    return;
  }
  if (!info.isSocket) {
    throw new TailnetError(
      "socket-path",
      `Cannot listen on ${path}: a file that is not a socket is there`,
    );
  }
  try {
    const conn = await Deno.connect({ transport: "unix", path });
    conn.close();
    throw new TailnetError(
      "daemon-running",
      `Cannot listen on ${path}: another daemon is serving there`,
    );
  } catch (err) {
    if (err instanceof TailnetError) throw err;
    await Deno.remove(path);
  }
}
