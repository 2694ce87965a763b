/**
 * The `userns` command line: parse argv, call the library, print one-line
 * errors, exit with SPEC's codes.
 *
 * @module
 */
import config from "./deno.json" with { type: "json" };
import { permissionError, UsernsError } from "./lib/errors.ts";
import { run } from "./lib/cli/run.ts";
import { enter } from "./lib/cli/enter.ts";
import { maps } from "./lib/cli/maps.ts";
import { subids } from "./lib/cli/subids.ts";
import { doctor } from "./lib/cli/doctor.ts";
import { ps } from "./lib/cli/ps.ts";

const USAGE =
  `userns ${config.version}: run programs in a new user namespace with your subordinate IDs mapped

Usage:
  userns run   [OPTIONS] [--] COMMAND [ARG...]
  userns enter [OPTIONS] PID [--] COMMAND [ARG...]
  userns subids [USER] [--check] [--subuid FILE] [--subgid FILE] [--json]
  userns maps  [PID] [--json]
  userns doctor [--json]
  userns ps    [--json]
  userns --help | --version

Run "userns SUBCOMMAND --help" for a subcommand's options.`;

/** Subcommands, each returning its exit status. */
const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  enter,
  run,
  subids,
  maps,
  doctor,
  ps,
};

/** Exit status for an error: 127 not found, 126 cannot execute, else `fallback`. */
function exitCode(e: unknown, fallback: number): number {
  const code = (e as { code?: unknown })?.code;
  if (code === "EXEC_NOT_FOUND") return 127;
  if (code === "EXEC_DENIED") return 126;
  return fallback;
}

/** One line: `userns: what failed: why; what to do`. */
function describe(e: unknown): string {
  const typed = permissionError(e);
  if (typed instanceof UsernsError) return typed.message;
  if (typeof (typed as { code?: unknown })?.code === "string") {
    return (typed as Error).message; // the library's NotFound and kin
  }
  return `internal error: ${(e as Error)?.message?.split("\n")[0] ?? e}`;
}

/**
 * Runs the CLI.
 *
 * @param argv the arguments
 * @returns the exit status
 */
export async function main(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === "--version" || sub === "-V") {
    console.log(`userns ${config.version}`);
    return 0;
  }
  if (sub === undefined || sub === "--help" || sub === "-h" || sub === "help") {
    console.log(USAGE);
    return sub === undefined ? 2 : 0;
  }
  const command = COMMANDS[sub];
  if (!command) {
    console.error(`userns: unknown subcommand "${sub}"; see userns --help`);
    return 2;
  }
  try {
    return await command(rest);
  } catch (e) {
    console.error(`userns: ${describe(e)}`);
    return exitCode(e, sub === "run" || sub === "enter" ? 125 : 2);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
