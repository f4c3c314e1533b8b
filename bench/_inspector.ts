/**
 * A minimal V8 inspector-protocol client over the WebSocket a `deno run --inspect` process
 * opens: method calls, and the chunked heap snapshot `HeapProfiler.takeHeapSnapshot` streams.
 * Shared by the benches that look inside our daemon (`profile_direct.ts`, `idle_memory.ts`).
 * @module
 */

/** One inspector-protocol connection to a process started with `--inspect=127.0.0.1:PORT`. */
export class Inspector {
  readonly #ws: WebSocket;
  #seq = 0;
  readonly #pending = new Map<number, (r: Record<string, unknown>) => void>();
  #chunks: string[] = [];

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.onmessage = (e) => {
      const m = JSON.parse(String(e.data)) as {
        id?: number;
        method?: string;
        params?: { chunk?: string };
        result?: Record<string, unknown>;
      };
      if (m.id !== undefined) this.#pending.get(m.id)?.(m.result ?? {});
      else if (m.method === "HeapProfiler.addHeapSnapshotChunk") {
        this.#chunks.push(m.params?.chunk ?? "");
      }
    };
  }

  /**
   * Connects to the first target the inspector lists, retrying while it starts.
   * @param port the `--inspect` port on 127.0.0.1
   * @returns the connection
   */
  static async connect(port: number): Promise<Inspector> {
    let url = "";
    for (let i = 0; i < 100 && !url; i++) {
      try {
        const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as {
          webSocketDebuggerUrl: string;
        }[];
        url = list[0]?.webSocketDebuggerUrl ?? "";
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    if (!url) throw new Error(`no inspector on 127.0.0.1:${port}`);
    const ws = new WebSocket(url);
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = reject;
    });
    return new Inspector(ws);
  }

  /**
   * Calls one protocol method.
   * @param method e.g. "Profiler.start"
   * @param params its parameters
   * @returns its result
   */
  call(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = ++this.#seq;
    this.#ws.send(JSON.stringify({ id, method, params }));
    return new Promise((resolve) => this.#pending.set(id, resolve));
  }

  /**
   * Evaluates an expression in the process and returns its value (JSON-serialisable).
   * @param expression JavaScript
   * @returns the value
   */
  async evaluate(expression: string): Promise<unknown> {
    const r = await this.call("Runtime.evaluate", { expression, returnByValue: true });
    return (r.result as { value?: unknown } | undefined)?.value;
  }

  /**
   * Takes a heap snapshot (after a full GC) and returns its text (`.heapsnapshot` JSON).
   * @returns the snapshot
   */
  async heapSnapshot(): Promise<string> {
    this.#chunks = [];
    await this.call("HeapProfiler.enable");
    await this.call("HeapProfiler.collectGarbage");
    await this.call("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
    const text = this.#chunks.join("");
    this.#chunks = [];
    return text;
  }

  /** Closes the connection. */
  close(): void {
    this.#ws.close();
  }
}

/** Shallow size and count of one constructor's objects in a heap snapshot. */
export interface HeapGroup {
  /** Constructor or node name ("(compiled code)", "Uint8Array", "system / Map", …). */
  name: string;
  /** V8 node type ("object", "code", "string", "array", "hidden", "native", …). */
  type: string;
  /** Objects of this name. */
  count: number;
  /** Sum of their shallow sizes, bytes. */
  selfBytes: number;
}

/** A `.heapsnapshot` as V8 writes it (the parts read here). */
interface HeapSnapshotJson {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/**
 * Groups a heap snapshot's nodes by type and name (constructor for objects), largest first.
 * Shallow sizes: what each group itself holds, which adds up to the heap's total.
 * @param text the snapshot JSON
 * @returns the groups and the total shallow size
 */
export function summarizeHeapSnapshot(text: string): { groups: HeapGroup[]; totalBytes: number } {
  const snap = JSON.parse(text) as HeapSnapshotJson;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const sizeAt = fields.indexOf("self_size");
  const groups = new Map<string, HeapGroup>();
  let totalBytes = 0;
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]];
    const raw = snap.strings[snap.nodes[i + nameAt]];
    // Strings and numbers are named by their value: group them by type alone.
    const name = type === "string" || type === "concatenated string" || type === "sliced string" ||
        type === "number"
      ? `(${type})`
      : raw.length > 60
      ? raw.slice(0, 57) + "..."
      : raw;
    const size = snap.nodes[i + sizeAt];
    totalBytes += size;
    const key = `${type}\u0000${name}`;
    const g = groups.get(key) ?? { name, type, count: 0, selfBytes: 0 };
    g.count++;
    g.selfBytes += size;
    groups.set(key, g);
  }
  return { groups: [...groups.values()].sort((a, b) => b.selfBytes - a.selfBytes), totalBytes };
}

/** One node of a `.cpuprofile`. */
export interface CpuProfileNode {
  /** Node id. */
  id: number;
  /** The function this node samples. */
  callFrame: { functionName: string; url: string; lineNumber: number };
  /** Samples that hit this node. */
  hitCount?: number;
  /** Child node ids. */
  children?: number[];
}

/** The profile `Profiler.stop` returns (a `.cpuprofile`). */
export interface CpuProfile {
  /** The call tree. */
  nodes: CpuProfileNode[];
  /** Start, µs. */
  startTime: number;
  /** End, µs. */
  endTime: number;
  /** Node id of each sample. */
  samples?: number[];
  /** µs before each sample. */
  timeDeltas?: number[];
}

/**
 * Self time per function (name and file:line), largest first.
 * @param p the profile
 * @param n how many functions
 * @returns the top `n`, with milliseconds and share of all samples
 */
export function topSelfTime(
  p: CpuProfile,
  n: number,
): { name: string; ms: number; share: number }[] {
  const byId = new Map(p.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  let total = 0;
  for (let i = 0; i < samples.length; i++) {
    const node = byId.get(samples[i]);
    if (!node) continue;
    const f = node.callFrame;
    const file = f.url.replace(/^.*\/(src|ext|node):?\/?/, "$1/");
    const key = `${f.functionName || "(anonymous)"} ${file}:${f.lineNumber + 1}`;
    const us = deltas[i] ?? 0;
    self.set(key, (self.get(key) ?? 0) + us);
    total += us;
  }
  return [...self.entries()]
    .map(([name, us]) => ({ name, ms: us / 1000, share: us / total }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, n);
}
