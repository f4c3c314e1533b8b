/**
 * The one table `deno task bench` prints: each figure for tailnet and for real tailscaled, the
 * ratio tailnet / tailscaled, and the mark issue 16 holds that ratio to ("What the figures are
 * held to"), met or not met. The same rows are what `--json` prints.
 * @module
 */
import type { Machine } from "./_machine.ts";

/** Which way a figure is better. */
export type Better = "higher" | "lower";

/** The mark a figure is held to: the ratio (or tailnet's own value) against a bound. */
export interface HeldTo {
  /** What is compared: the ratio tailnet / tailscaled, or tailnet's value alone. */
  of: "ratio" | "tailnet";
  /** At least (`>=`) or at most (`<=`). */
  op: ">=" | "<=";
  /** The bound. */
  bound: number;
}

/** One figure for both systems. */
export interface Row {
  /** The group it belongs to ("bulk TCP, direct path", "control plane, 10,000 nodes"). */
  section: string;
  /** What it is. */
  figure: string;
  /** Its unit ("MiB/s", "µs", "ms", "MiB", "s/GiB", "/s", "%"). */
  unit: string;
  /** tailnet's value (NaN when not measured). */
  tailnet: number;
  /** real tailscaled's value (NaN for a figure of the machine alone). */
  tailscaled: number;
  /** Which way is better. */
  better: Better;
  /** The mark, when issue 16 sets one. */
  heldTo?: HeldTo;
}

/** A whole run. */
export interface Report {
  /** Where it ran. */
  machine: Machine;
  /** Load average (1, 5, 15 min) when the run began and when it ended. */
  loadStart: string;
  loadEnd: string;
  /** Whether `--quick` sizes were used. */
  quick: boolean;
  /** Wall-clock seconds of the run. */
  seconds: number;
  /** The figures. */
  rows: Row[];
  /** The path each end used, per pair and mode (label -> "ours / theirs"). */
  paths: Record<string, string>;
  /** Lines printed under the table. */
  notes: string[];
}

/**
 * tailnet / tailscaled.
 * @param r the row
 * @returns the ratio (NaN when either is missing)
 */
export function ratioOf(r: Row): number {
  return r.tailnet / r.tailscaled;
}

/**
 * Whether a row meets its mark.
 * @param r the row
 * @returns "met", "not met", or "" when it has no mark or no value
 */
export function verdictOf(r: Row): "met" | "not met" | "" {
  if (!r.heldTo) return "";
  const v = r.heldTo.of === "ratio" ? ratioOf(r) : r.tailnet;
  if (!Number.isFinite(v)) return "";
  const ok = r.heldTo.op === ">=" ? v >= r.heldTo.bound : v <= r.heldTo.bound;
  return ok ? "met" : "not met";
}

/**
 * A figure to print: 3 significant digits, thousands grouped, "-" when missing.
 * @param v the value
 * @returns the text
 */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return "-";
  const abs = Math.abs(v);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return v.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function markText(h: HeldTo | undefined): string {
  if (!h) return "";
  return `${h.of === "ratio" ? "ratio" : "tailnet"} ${h.op === ">=" ? "≥" : "≤"} ${h.bound}`;
}

/**
 * The report as one text table (sections as headed groups), the paths and the notes.
 * @param rep the run
 * @returns the lines to print
 */
export function formatReport(rep: Report): string {
  const m = rep.machine;
  const out: string[] = [
    `tailnet vs real tailscaled ${m.tailscaled}, headscale ${m.headscale}` +
    `${rep.quick ? " (--quick)" : ""}; ${rep.seconds.toFixed(0)} s wall clock`,
    `machine: ${m.cpu}, ${m.cores} cores, Linux ${m.kernel}; load average ${rep.loadStart} at ` +
    `start, ${rep.loadEnd} at end`,
    `Deno ${m.deno}, V8 ${m.v8}, TypeScript ${m.typescript}; Go ${m.go} (tailscaled, headscale)`,
    "",
  ];
  const head = ["figure", "unit", "tailnet", "tailscaled", "ratio", "held to", ""];
  const body: string[][] = [];
  let section = "";
  const sections: number[] = [];
  for (const r of rep.rows) {
    if (r.section !== section) {
      section = r.section;
      sections.push(body.length);
      body.push([`${section}:`, "", "", "", "", "", ""]);
    }
    const ratio = ratioOf(r);
    body.push([
      `  ${r.figure}`,
      r.unit,
      formatNumber(r.tailnet),
      formatNumber(r.tailscaled),
      Number.isFinite(ratio) ? ratio.toFixed(2) : "",
      markText(r.heldTo),
      verdictOf(r),
    ]);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) =>
    cells.map((
      c,
      i,
    ) => (i === 0 || i === 1 || i >= 5 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join("  ").trimEnd();
  out.push(line(head), "-".repeat(widths.reduce((a, b) => a + b + 2, -2)));
  body.forEach((b, i) => out.push(sections.includes(i) ? b[0] : line(b)));
  out.push("", "paths (ours / the peer's, read after each transfer):");
  for (const [k, v] of Object.entries(rep.paths)) out.push(`  ${k}: ${v}`);
  if (rep.notes.length) out.push("", ...rep.notes);
  return out.join("\n");
}

/**
 * The report as JSON, each row with its ratio and verdict.
 * @param rep the run
 * @returns the JSON text
 */
export function reportJson(rep: Report): string {
  return JSON.stringify(
    {
      ...rep,
      rows: rep.rows.map((r) => ({
        ...r,
        tailnet: Number.isFinite(r.tailnet) ? r.tailnet : null,
        tailscaled: Number.isFinite(r.tailscaled) ? r.tailscaled : null,
        ratio: Number.isFinite(ratioOf(r)) ? ratioOf(r) : null,
        verdict: verdictOf(r) || null,
      })),
    },
    null,
    2,
  );
}
