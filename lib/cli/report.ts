/**
 * How the CLI reports a failure: one line on stderr in the CLI's words, and
 * the exit status it gives: 127 not found, 126 cannot execute, 125 for
 * the rest of `run`, `enter` and the pod commands, 2 for the others.
 *
 * @module
 */
import { isUsernsError, permissionError } from "../errors/errors.ts";
import type { OptionSpecs } from "./args.ts";
import { RUNNERS } from "./bundle.ts";

/**
 * The library's name of an option (`oomScoreAdj must be ...`) as the
 * subcommand's option (`--oom-score-adj must be ...`), where it has one; a
 * field of an option (`timeOffsets.monotonic must be ...`) by the field's
 * name (`--monotonic must be ...`).
 */
function cliWording(message: string, specs: OptionSpecs): string {
  const name = /^([a-z][A-Za-z]*(?:\.[a-z][A-Za-z]*)?) must /.exec(message)
    ?.[1];
  if (name === undefined) return message;
  const flag = name.slice(name.indexOf(".") + 1)
    .replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  if (!Object.hasOwn(specs, flag)) return message;
  return `--${flag}${message.slice(name.length)}`;
}

/**
 * The one line to print for a failure of a subcommand: a usage error as
 * `userns: SUB: what; see userns SUB --help` (or its own hint), anything
 * else as `userns: what failed: why; what to do`.
 *
 * @param e what was thrown
 * @param sub the subcommand
 * @param specs its options, to name them as the command line does
 * @returns the line, without a newline
 */
export function errorLine(e: unknown, sub: string, specs: OptionSpecs): string {
  const typed = permissionError(e);
  if (!isUsernsError(typed)) {
    return `userns: internal error: ${
      (e as Error)?.message?.split("\n")[0] ?? e
    }`;
  }
  if (typed.code !== "INVALID_ARGUMENT") return `userns: ${typed.message}`;
  const help = typed.hint === undefined ? `; see userns ${sub} --help` : "";
  return `userns: ${sub}: ${cliWording(typed.message, specs)}${help}`;
}

/**
 * The exit status for a failure: 127 not found, 126 cannot execute; else
 * 125 for a subcommand that runs a command or handles pods (it never ran,
 * or did nothing), but 2 for a usage error of `ls` and `stop`, which run
 * nothing, and 2 for the others.
 *
 * @param e what was thrown
 * @param sub the subcommand
 * @returns the exit status
 */
export function exitStatus(e: unknown, sub: string): number {
  const code = isUsernsError(e) ? e.code : undefined;
  if (code === "EXEC_NOT_FOUND") return 127;
  if (code === "EXEC_DENIED") return 126;
  // ls and stop run nothing: a usage error of theirs is one (2).
  if (code === "INVALID_ARGUMENT" && (sub === "ls" || sub === "stop")) {
    return 2;
  }
  return RUNNERS.includes(sub) ? 125 : 2;
}
