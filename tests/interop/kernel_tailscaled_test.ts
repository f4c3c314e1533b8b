/**
 * A real tailscaled with a kernel TUN (how most Linux installs run it), not userspace
 * networking: the Linux kernel's TCP/IP carries the real node's side. The scenario
 * (`_kernel_tailscaled_scenario.ts`) runs in a network namespace this test creates, because a
 * kernel-mode tailscaled changes that namespace's routing. Skipped, with the reason, without
 * root, `ip`, /dev/net/tun or the lab.
 * @module
 */
import { assert } from "../../src/engine/base/testing/assert.ts";
import { labAvailable } from "../lab/mod.ts";

const SCENARIO = new URL("./_kernel_tailscaled_scenario.ts", import.meta.url).pathname;

async function skipReason(): Promise<string | null> {
  const lab = labAvailable();
  if (!lab.ok) return lab.reason;
  if (Deno.uid() !== 0) return "needs root for a network namespace and a TUN";
  try {
    await Deno.stat("/dev/net/tun");
  } catch {
    return "/dev/net/tun unavailable";
  }
  try {
    const r = await new Deno.Command("ip", { args: ["-V"], stdout: "null", stderr: "null" })
      .output();
    if (!r.success) return "`ip` unavailable";
  } catch {
    return "`ip` unavailable";
  }
  return null;
}

const reason = await skipReason();

async function ip(...args: string[]): Promise<void> {
  const r = await new Deno.Command("ip", { args, stdout: "null", stderr: "piped" }).output();
  if (!r.success) throw new Error(`ip ${args.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
}

Deno.test({
  name: `kernel-mode tailscaled: 10 MiB each way both directions over IPv4 and IPv6, pings, ` +
    `a refused port${reason ? ` (skipped: ${reason})` : ""}`,
  ignore: reason !== null,
  async fn() {
    const ns = `tnkern${Deno.pid}`;
    await ip("netns", "add", ns);
    try {
      await ip("netns", "exec", ns, "ip", "link", "set", "lo", "up");
      const out = await new Deno.Command("ip", {
        args: [
          "netns",
          "exec",
          ns,
          Deno.execPath(),
          "run",
          "--allow-all",
          "--unstable-net",
          SCENARIO,
        ],
        env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const dec = new TextDecoder();
      const stdout = dec.decode(out.stdout), stderr = dec.decode(out.stderr);
      const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
      assert(out.success && line !== undefined, `scenario failed:\n${stdout}\n${stderr}`);
      // deno-lint-ignore no-console -- the figures are what this test reports
      console.error(`[kernel tailscaled] ${line.slice("RESULT ".length)}`);
    } finally {
      await ip("netns", "del", ns).catch(() => {});
    }
  },
});
