/**
 * Headless Chromium driven over the DevTools protocol, for tests of tailnet's web pages: open
 * a URL, then evaluate JavaScript in the live page as often as needed (so a test can watch the
 * page change without reloading it).
 * @module
 */

/** A headless Chromium with one page open. Dispose it to stop the browser. */
export class HeadlessChromium implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #profile: string;
  readonly #ws: WebSocket;
  #nextId = 1;
  readonly #pending = new Map<number, (msg: Record<string, unknown>) => void>();

  private constructor(child: Deno.ChildProcess, profile: string, ws: WebSocket) {
    this.#child = child;
    this.#profile = profile;
    this.#ws = ws;
    ws.onmessage = (e) => {
      const msg = JSON.parse(String(e.data));
      const resolve = this.#pending.get(msg.id);
      if (resolve) {
        this.#pending.delete(msg.id);
        resolve(msg);
      }
    };
  }

  /**
   * Starts Chromium on `url` and connects to the page.
   * @param url the page to open
   * @param program the browser (default `chromium`, Debian's package)
   * @returns the browser
   */
  static async open(url: string, program = "chromium"): Promise<HeadlessChromium> {
    const profile = await Deno.makeTempDir({ prefix: "tailnet-chromium-" });
    const child = new Deno.Command(program, {
      args: [
        "--headless",
        // Root in a container has no user namespaces for the sandbox; the page is our own.
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
        `--user-data-dir=${profile}`,
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        url,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    try {
      const browserWs = await devToolsUrl(child.stderr);
      const port = new URL(browserWs).port;
      const page = await pageTarget(port, url);
      const ws = new WebSocket(page);
      await new Promise<void>((resolve, reject) => {
        ws.onopen = () => resolve();
        ws.onerror = () => reject(new Error(`cannot connect to ${page}`));
      });
      return new HeadlessChromium(child, profile, ws);
    } catch (err) {
      child.kill("SIGKILL");
      await child.status;
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      throw err;
    }
  }

  /**
   * Evaluates an expression in the page.
   * @param expression JavaScript, awaited if it is a promise
   * @returns its value, as JSON carries it
   */
  async evaluate<T>(expression: string): Promise<T> {
    const id = this.#nextId++;
    const reply = new Promise<Record<string, unknown>>((r) => this.#pending.set(id, r));
    this.#ws.send(JSON.stringify({
      id,
      method: "Runtime.evaluate",
      params: { expression, returnByValue: true, awaitPromise: true },
    }));
    const msg = await reply;
    const result = msg.result as { result?: { value?: T }; exceptionDetails?: unknown };
    if (msg.error || result.exceptionDetails) {
      throw new Error(`evaluate failed: ${JSON.stringify(msg.error ?? result.exceptionDetails)}`);
    }
    return result.result?.value as T;
  }

  /** Stops the browser and removes its profile. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#ws.close();
    try {
      this.#child.kill("SIGTERM");
    } catch { /* already gone */ }
    await this.#child.status;
    await Deno.remove(this.#profile, { recursive: true }).catch(() => {});
  }
}

/** Reads stderr until Chromium prints its DevTools URL; the rest of stderr is drained. */
async function devToolsUrl(stderr: ReadableStream<Uint8Array>): Promise<string> {
  const lines = stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const { value, done } = await lines.read();
    if (done) break;
    text += value;
    const m = /DevTools listening on (ws:\/\/\S+)/.exec(text);
    if (m) {
      // Keep draining so that Chromium never blocks on a full pipe.
      (async () => {
        while (!(await lines.read()).done) { /* discard */ }
      })().catch(() => {});
      return m[1];
    }
  }
  throw new Error(`chromium did not print its DevTools URL: ${text.slice(-500)}`);
}

/** The DevTools WebSocket of the page showing `url`. */
async function pageTarget(port: string, url: string): Promise<string> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as {
      type: string;
      url: string;
      webSocketDebuggerUrl: string;
    }[];
    const page = targets.find((t) => t.type === "page" && t.url.startsWith(url));
    if (page) return page.webSocketDebuggerUrl;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no page for ${url} in chromium`);
}
