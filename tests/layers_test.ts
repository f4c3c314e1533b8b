/**
 * The import rule of STYLE.md §5.2 as a test: imports point down the layer order below, never
 * up or sideways; nothing under `src/` imports `tests/`, `bench/`, `scripts/` or the entry
 * points; and `wire/`, `crypto/` and `key/` use no `Deno.*` API.
 *
 * The graph comes from `deno info --json` on one throwaway module that imports `main.ts`,
 * `mod.ts` and every `.ts` file under `src/`, so unit tests and their `testing/` helpers are
 * held to the same order as the code `deno compile` ships.
 * @module
 */
import { assert, assertEquals } from "../src/engine/base/testing/assert.ts";

/** One row of the layer table: the paths it covers (repo-relative) and its rank. */
interface Layer {
  /** Short name, used in messages; distinct folders of one rank have distinct names. */
  name: string;
  /** Lower ranks sit below higher ones; a module may import any lower rank. */
  rank: number;
  /**
   * `dir/` covers the folder and everything below it; `dir/*.ts` only files directly in it;
   * anything else is one file.
   */
  paths: readonly string[];
}

/**
 * STYLE.md §5.2, lowest first. Folders of one rank may not import each other, except in the
 * rank marked in {@linkcode PEER_RANKS}. A file under `src/` that no row covers fails the test,
 * so a new folder has to be placed here.
 *
 * | rank | layer                                          | may import                          |
 * | ---- | ---------------------------------------------- | ----------------------------------- |
 * | 0    | version.ts, build_info.ts, engine/base         | nothing of ours                     |
 * | 1    | engine/wire, engine/crypto, engine/key         | each other, base/bytes, base/errors |
 * | 2    | engine/wg, derp, disco, netcheck, control, stack | ranks 0-1                         |
 * | 3    | engine/magicsock, engine/ping                  | ranks 0-2                           |
 * | 4    | engine/filter, engine/dns, engine/proxy        | ranks 0-3                           |
 * | 5    | engine/*.ts (engine.ts: assembles the layers)  | ranks 0-4                           |
 * | 6    | ipn                                            | ranks 0-5                           |
 * | 7    | localapi                                       | ranks 0-6                           |
 * | 8    | node.ts                                        | ranks 0-7                           |
 * | 9    | cli                                            | ranks 0-8                           |
 * | 10   | main.ts, mod.ts                                | everything above                    |
 */
const LAYERS: readonly Layer[] = [
  { name: "version", rank: 0, paths: ["src/version.ts", "src/build_info.ts"] },
  { name: "base", rank: 0, paths: ["src/engine/base/"] },
  { name: "wire", rank: 1, paths: ["src/engine/wire/"] },
  { name: "crypto", rank: 1, paths: ["src/engine/crypto/"] },
  { name: "key", rank: 1, paths: ["src/engine/key/"] },
  { name: "wg", rank: 2, paths: ["src/engine/wg/"] },
  { name: "derp", rank: 2, paths: ["src/engine/derp/"] },
  { name: "disco", rank: 2, paths: ["src/engine/disco/"] },
  { name: "netcheck", rank: 2, paths: ["src/engine/netcheck/"] },
  { name: "control", rank: 2, paths: ["src/engine/control/"] },
  { name: "stack", rank: 2, paths: ["src/engine/stack/"] },
  { name: "magicsock", rank: 3, paths: ["src/engine/magicsock/"] },
  { name: "ping", rank: 3, paths: ["src/engine/ping/"] },
  { name: "filter", rank: 4, paths: ["src/engine/filter/"] },
  { name: "dns", rank: 4, paths: ["src/engine/dns/"] },
  { name: "proxy", rank: 4, paths: ["src/engine/proxy/"] },
  { name: "engine", rank: 5, paths: ["src/engine/*.ts"] },
  { name: "ipn", rank: 6, paths: ["src/ipn/"] },
  { name: "localapi", rank: 7, paths: ["src/localapi/"] },
  { name: "node", rank: 8, paths: ["src/node.ts"] },
  { name: "cli", rank: 9, paths: ["src/cli/"] },
  { name: "entry", rank: 10, paths: ["main.ts", "mod.ts"] },
];

/** Ranks whose folders may import each other (STYLE: "wire, crypto, key → each other"). */
const PEER_RANKS: ReadonlySet<number> = new Set([1]);

/** What rank-1 codecs may take from base/: bytes and errors, and test support in tests. */
const RANK1_BASE_ALLOWED: readonly string[] = [
  "src/engine/base/bytes.ts",
  "src/engine/base/errors.ts",
  "src/engine/base/testing/",
];

/** Folders that must not call the runtime: codecs and crypto see no socket, file or timer. */
const NO_DENO_DIRS: readonly string[] = [
  "src/engine/wire/",
  "src/engine/crypto/",
  "src/engine/key/",
];

/** One import edge, both ends repo-relative paths. */
export interface Edge {
  from: string;
  to: string;
}

function covers(pattern: string, path: string): boolean {
  if (pattern.endsWith("/")) return path.startsWith(pattern);
  if (pattern.endsWith("/*.ts")) {
    const dir = pattern.slice(0, -"*.ts".length);
    return path.startsWith(dir) && path.endsWith(".ts") && !path.slice(dir.length).includes("/");
  }
  return path === pattern;
}

/** The layer that covers `path`, or undefined when none does. */
export function layerOf(path: string): Layer | undefined {
  return LAYERS.find((l) => l.paths.some((p) => covers(p, path)));
}

/**
 * Every edge that breaks the rule, one line each: an import up or sideways in the layer table,
 * a rank-1 codec importing base/ beyond bytes and errors, a `src/` module importing outside
 * `src/`, or a `src/` module in no layer.
 */
export function layerViolations(edges: readonly Edge[]): string[] {
  const out = new Set<string>();
  for (const { from, to } of edges) {
    if (!from.startsWith("src/")) continue; // tests/, bench/, scripts/ may use anything
    const a = layerOf(from);
    if (!a) {
      out.add(`${from}: in no layer of tests/layers_test.ts`);
      continue;
    }
    if (!to.startsWith("src/")) {
      out.add(`${from} -> ${to}: src/ imports outside src/`);
      continue;
    }
    const b = layerOf(to);
    if (!b) {
      out.add(`${to}: in no layer of tests/layers_test.ts`);
      continue;
    }
    if (a.name === b.name) continue;
    if (b.rank > a.rank) {
      out.add(
        `${from} -> ${to}: ${a.name} (rank ${a.rank}) imports up into ${b.name} (rank ${b.rank})`,
      );
    } else if (b.rank === a.rank && !PEER_RANKS.has(a.rank)) {
      out.add(`${from} -> ${to}: ${a.name} imports its sibling ${b.name} (both rank ${a.rank})`);
    } else if (
      a.rank === 1 && b.name === "base" && !RANK1_BASE_ALLOWED.some((p) => covers(p, to))
    ) {
      out.add(`${from} -> ${to}: ${a.name} may take only bytes.ts and errors.ts from base/`);
    }
  }
  return [...out].sort();
}

/** Source with comments removed, so a doc that names `Deno.listen` is not a use of it. */
function withoutComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1");
}

/**
 * `path: line` for each `Deno.` use in a production file of a folder that must not call the
 * runtime. Tests and `testing/` helpers there may (they read captures, register tests).
 */
export function denoUses(path: string, source: string): string[] {
  if (!NO_DENO_DIRS.some((d) => path.startsWith(d))) return [];
  if (path.endsWith("_test.ts") || path.includes("/testing/")) return [];
  const lines = withoutComments(source).split("\n");
  const out: string[] = [];
  lines.forEach((line, i) => {
    if (/\bDeno\./.test(line)) out.push(`${path}:${i + 1}: uses Deno.* (${line.trim()})`);
  });
  return out;
}

const ROOT = new URL("../", import.meta.url);
const ROOT_PATH = decodeURIComponent(ROOT.pathname);

async function tsFilesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(new URL(dir, ROOT))) {
    const rel = `${dir}${e.name}`;
    if (e.isDirectory) out.push(...await tsFilesUnder(`${rel}/`));
    else if (e.isFile && e.name.endsWith(".ts")) out.push(rel);
  }
  return out;
}

/** The repo's import graph from `deno info --json`, as edges between repo-relative paths. */
async function repoGraph(files: readonly string[]): Promise<Edge[]> {
  const dir = await Deno.makeTempDir({ prefix: "tailnet-layers-" });
  try {
    const entry = `${dir}/all.ts`;
    const entryUrl = new URL(`file://${entry}`).href;
    const lines = ["main.ts", "mod.ts", ...files].map((f) => `import "${new URL(f, ROOT).href}";`);
    await Deno.writeTextFile(entry, lines.join("\n") + "\n");
    const cmd = new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--config", `${ROOT_PATH}deno.json`, entry],
      cwd: ROOT_PATH,
      stdout: "piped",
      stderr: "piped",
    });
    const { code, stdout, stderr } = await cmd.output();
    assertEquals(code, 0, `deno info failed: ${new TextDecoder().decode(stderr)}`);
    const graph = JSON.parse(new TextDecoder().decode(stdout)) as {
      modules: {
        specifier: string;
        dependencies?: { code?: { specifier?: string }; type?: { specifier?: string } }[];
      }[];
    };
    // Repo files by relative path; other local files by URL (so src/ reaching outside the repo
    // is caught); packages (npm:, jsr:, https:) are not ours to order.
    const rel = (s: string) =>
      s.startsWith(ROOT.href)
        ? decodeURIComponent(s.slice(ROOT.href.length))
        : s.startsWith("file:") && s !== entryUrl
        ? s
        : null;
    const edges: Edge[] = [];
    for (const m of graph.modules) {
      const from = rel(m.specifier);
      if (from === null) continue;
      for (const d of m.dependencies ?? []) {
        for (const spec of [d.code?.specifier, d.type?.specifier]) {
          const to = spec === undefined ? null : rel(spec);
          if (to !== null) edges.push({ from, to });
        }
      }
    }
    return edges;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Synthetic edges, `from -> to`, each followed by what the checker must say about it (nothing
 * when it is allowed): the checker's own proof that it fails on what it should.
 */
const CASES: readonly string[] = [
  "src/engine/wire/ipv4.ts -> src/engine/stack/stack.ts: wire (rank 1) imports up into stack (rank 2)",
  "src/ipn/backend.ts -> src/localapi/routes.ts: ipn (rank 6) imports up into localapi (rank 7)",
  "src/engine/derp/dial.ts -> src/engine/control/types.ts: derp imports its sibling control (both rank 2)",
  "src/engine/wire/stun.ts -> src/engine/base/logger.ts: wire may take only bytes.ts and errors.ts from base/",
  "src/engine/wg/device_test.ts -> tests/fakes/bind.ts: src/ imports outside src/",
  "src/engine/quic/conn.ts -> src/engine/base/bytes.ts => src/engine/quic/conn.ts: in no layer of tests/layers_test.ts",
  "src/engine/wire/tsmp.ts -> src/engine/key/keys.ts",
  "src/engine/wire/stun.ts -> src/engine/base/bytes.ts",
  "src/engine/wire/stun_test.ts -> src/engine/base/testing/assert.ts",
  "src/engine/engine.ts -> src/engine/magicsock/conn.ts",
  "src/engine/magicsock/conn.ts -> src/engine/derp/regions.ts",
  "src/engine/stack/stack.ts -> src/engine/stack/congestion/new_reno.ts",
  "src/cli/daemon.ts -> src/node.ts",
  "tests/interop/node_test.ts -> src/engine/wire/ipv4.ts",
  "mod.ts -> src/node.ts",
];

for (const c of CASES) {
  // "a -> b: why" expects that line back; "a -> b => line" expects another; "a -> b" nothing.
  const [edgeText, other] = c.split(" => ");
  const [from, rest] = edgeText.split(" -> ");
  const to = rest.split(": ")[0];
  const want = other ?? (rest.includes(": ") ? edgeText : null);
  Deno.test(`layerViolations() ${want === null ? "allows" : "flags"} ${from} -> ${to}`, () => {
    assertEquals(layerViolations([{ from, to }]), want === null ? [] : [want]);
  });
}

Deno.test("denoUses() finds Deno.* in codec code, not in comments or tests", () => {
  const code = "/** Never calls Deno.listen. */\nconst a = 1; // Deno.exit\nconst t = Deno.now;\n";
  assertEquals(denoUses("src/engine/wire/stun.ts", code), [
    "src/engine/wire/stun.ts:3: uses Deno.* (const t = Deno.now;)",
  ]);
  assertEquals(denoUses("src/engine/wire/stun_test.ts", code), []);
  assertEquals(denoUses("src/engine/derp/dial.ts", code), []);
});

Deno.test("every import in main.ts, mod.ts and src/ points down the layer order", async () => {
  const files = await tsFilesUnder("src/");
  assert(files.length > 100, `found only ${files.length} files under src/`);
  const edges = await repoGraph(files);
  assert(edges.length > 500, `deno info gave only ${edges.length} edges`);
  const unplaced = files.filter((f) => !layerOf(f)).map((f) =>
    `${f}: in no layer of tests/layers_test.ts`
  );
  assertEquals([...unplaced, ...layerViolations(edges)], []);
});

Deno.test("wire/, crypto/ and key/ use no Deno.* API", async () => {
  const bad: string[] = [];
  for (const f of await tsFilesUnder("src/engine/")) {
    if (NO_DENO_DIRS.some((d) => f.startsWith(d))) {
      bad.push(...denoUses(f, await Deno.readTextFile(new URL(f, ROOT))));
    }
  }
  assertEquals(bad, []);
});
