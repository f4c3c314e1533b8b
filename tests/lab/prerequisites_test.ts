import { assert, assertEquals, assertMatch } from "../../src/engine/base/testing/assert.ts";
import { requiredGoVersion } from "./build.ts";
import {
  debianInstallCommand,
  findOnPath,
  missingPrerequisites,
  missingPrerequisitesLine,
  type Prerequisite,
  PREREQUISITES,
} from "./prerequisites.ts";

const PING = PREREQUISITES.find((p) => p.tool === "ping")!;
const GO = PREREQUISITES.find((p) => p.tool === "go")!;

/** A temp dir holding executable shell scripts `name` that exit with `code`. */
async function fakeBin(scripts: Record<string, number>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "tailnet-prereq-" });
  for (const [name, code] of Object.entries(scripts)) {
    await Deno.writeTextFile(`${dir}/${name}`, `#!/bin/sh\nexit ${code}\n`, { mode: 0o755 });
  }
  return dir;
}

Deno.test("a missing ping names iputils-ping and the apt-get command in one line", () => {
  assertEquals(
    missingPrerequisitesLine([{ prerequisite: PING, detail: "" }]),
    "tests: missing prerequisite 'ping' (Debian package iputils-ping): " +
      "apt-get install -y iputils-ping",
  );
});

Deno.test("several missing programs share one line and one apt-get command; Go says where", () => {
  const curl = PREREQUISITES.find((p) => p.tool === "curl")!;
  const line = missingPrerequisitesLine([
    { prerequisite: PING, detail: "'/bin/ping -V' exited 2" },
    { prerequisite: GO, detail: "" },
    { prerequisite: curl, detail: "" },
  ]);
  assertEquals(
    line,
    "tests: missing prerequisites 'ping' (Debian package iputils-ping; '/bin/ping -V' exited 2), " +
      `'go' (Go >= ${requiredGoVersion()} from https://go.dev/dl), ` +
      "'curl' (Debian package curl): apt-get install -y iputils-ping curl",
  );
  assert(!line.includes("\n"));
  assertEquals(
    missingPrerequisitesLine([{ prerequisite: GO, detail: "" }]),
    `tests: missing prerequisite 'go' (Go >= ${requiredGoVersion()} from https://go.dev/dl)`,
  );
});

Deno.test("findOnPath() finds executables only, in PATH order, skipping empty entries", async () => {
  const a = await fakeBin({ tool: 0 });
  const b = await fakeBin({ tool: 0, other: 0 });
  try {
    await Deno.writeTextFile(`${a}/plain`, "not executable", { mode: 0o644 });
    assertEquals(findOnPath("tool", `::${a}:${b}`), `${a}/tool`);
    assertEquals(findOnPath("other", `${a}:${b}`), `${b}/other`);
    assertEquals(findOnPath("plain", a), null);
    assertEquals(findOnPath("nothing", `${a}:${b}`), null);
  } finally {
    await Deno.remove(a, { recursive: true });
    await Deno.remove(b, { recursive: true });
  }
});

Deno.test("missingPrerequisites() reports absent programs and failing probes, in order", async () => {
  const dir = await fakeBin({ works: 0, broken: 1, plain: 0 });
  const list: Prerequisite[] = [
    { tool: "absent", debianPackage: "absent-pkg", neededBy: "x" },
    { tool: "works", debianPackage: "w", probe: ["-V"], neededBy: "x" },
    { tool: "broken", debianPackage: "b", probe: ["-V"], neededBy: "x" },
    { tool: "plain", debianPackage: "p", neededBy: "x" },
  ];
  try {
    const missing = await missingPrerequisites(list, dir);
    assertEquals(missing.map((m) => m.prerequisite.tool), ["absent", "broken"]);
    assertEquals(missing[0].detail, "");
    assertEquals(missing[1].detail, `'${dir}/broken -V' exited 1`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the list names each program once, each with a package or a place to get it", () => {
  const tools = PREREQUISITES.map((p) => p.tool);
  assertEquals(new Set(tools).size, tools.length);
  for (const p of PREREQUISITES) assert(p.debianPackage !== null || p.elsewhere, p.tool);
  for (const t of ["ping", "ip", "curl", "python3", "chromium", "nft", "go"]) {
    assert(tools.includes(t), t);
  }
  assertEquals(
    debianInstallCommand(),
    "apt-get install -y iputils-ping iproute2 procps curl python3 chromium nftables bind9-dnsutils",
  );
});

Deno.test("the README lists every prerequisite and the one command that installs them", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const section = readme.slice(readme.indexOf("## Prerequisites"));
  assertMatch(section, /^## Prerequisites/);
  const body = section.slice(0, section.indexOf("\n## ", 1));
  assert(body.includes(debianInstallCommand()), "the apt-get command in the README");
  for (const p of PREREQUISITES) {
    assert(body.includes(`\`${p.tool}\``), `README lists ${p.tool}`);
    if (p.debianPackage) assert(body.includes(p.debianPackage), `README names ${p.debianPackage}`);
  }
  assert(body.includes(`Go ≥ ${requiredGoVersion()}`), `README asks for Go ${requiredGoVersion()}`);
});
