/**
 * The `tailnet` executable: daemon and CLI by subcommand. Parsing and dispatch live in
 * `src/cli/main.ts`; this file only hands over argv and exits with the code it returns.
 * @module
 */
import { runCli } from "./src/cli/main.ts";

if (import.meta.main) {
  const enc = new TextEncoder();
  const code = await runCli(Deno.args, {
    out: (line) => Deno.stdout.writeSync(enc.encode(line + "\n")),
    err: (line) => Deno.stderr.writeSync(enc.encode(line + "\n")),
  });
  Deno.exit(code);
}
