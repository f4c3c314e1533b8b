/**
 * `tailnet login`: log in afresh. tailnet keeps one profile, so where `tailscale login`
 * switches to a new empty profile, this replaces the settings with the flags given (as
 * `up --reset`) and logs in with a new node key (as `up --force-reauth`).
 * @module
 */
import { type Command, parseGoFlags } from "./command.ts";
import { runUp, UP_FLAGS_USAGE, UP_OTHER_FLAG_SPEC, UP_PREF_FLAG_SPEC } from "./_up_flow.ts";

/** The `login` command. */
export const loginCommand: Command = {
  name: "login",
  summary: "Log in to a tailnet",
  usage: `tailnet login [flags]

Logs this node in with a new node key, replacing its settings with the flags given.

${UP_FLAGS_USAGE}`,
  run(args, ctx) {
    const f = parseGoFlags(args, { ...UP_PREF_FLAG_SPEC, ...UP_OTHER_FLAG_SPEC }, true);
    return runUp("login", f, ctx);
  },
};
