/**
 * The `userns` command line: parse argv, call the library, print one-line
 * errors, exit with SPEC's codes.
 *
 * @module
 */
import config from "./deno.json" with { type: "json" };
import type { OptionSpecs } from "./lib/cli/args.ts";
import { errorLine, exitStatus } from "./lib/cli/report.ts";
import { run, RUN_OPTIONS } from "./lib/cli/run.ts";
import { enter, ENTER_OPTIONS } from "./lib/cli/enter.ts";
import { maps, MAPS_OPTIONS } from "./lib/cli/maps.ts";
import { subids, SUBIDS_OPTIONS } from "./lib/cli/subids.ts";
import { doctor, DOCTOR_OPTIONS } from "./lib/cli/doctor.ts";
import { ps, PS_OPTIONS } from "./lib/cli/ps.ts";
import {
  ls,
  LS_OPTIONS,
  start,
  START_OPTIONS,
  stop,
  STOP_OPTIONS,
} from "./lib/cli/pod.ts";

const USAGE =
  `userns ${config.version}: run programs in a new user namespace with your subordinate IDs mapped

Usage:
  userns run   [OPTIONS] [--] [COMMAND [ARG...]]
  userns enter [OPTIONS] PID|NAME [--] [COMMAND [ARG...]]
  userns start [OPTIONS] NAME          userns stop NAME...          userns ls [--json]
  userns subids [USER] [--check] [--suggest [COUNT]] [--subuid FILE] [--subgid FILE] [--json]
  userns maps  [PID] [--json]
  userns doctor [--json]
  userns ps    [--json]
  userns help [SUBCOMMAND]
  userns --help | --version

Run "userns SUBCOMMAND --help" for a subcommand's options.`;

/** A subcommand: its entry, returning the exit status, and its options. */
type Subcommand = [(argv: string[]) => Promise<number>, OptionSpecs];

const COMMANDS: Record<string, Subcommand> = {
  enter: [enter, ENTER_OPTIONS],
  run: [run, RUN_OPTIONS],
  subids: [subids, SUBIDS_OPTIONS],
  maps: [maps, MAPS_OPTIONS],
  doctor: [doctor, DOCTOR_OPTIONS],
  ps: [ps, PS_OPTIONS],
  start: [start, START_OPTIONS],
  stop: [stop, STOP_OPTIONS],
  ls: [ls, LS_OPTIONS],
};

/**
 * Runs the CLI.
 *
 * @param argv the arguments
 * @returns the exit status
 */
export async function main(argv: string[]): Promise<number> {
  let [sub, ...rest] = argv;
  if (sub === "--version" || sub === "-V") {
    console.log(`userns ${config.version}`);
    return 0;
  }
  if (sub === "help" && rest[0] !== undefined) {
    [sub, rest] = [rest[0], ["--help"]];
  }
  if (sub === undefined || sub === "--help" || sub === "-h" || sub === "help") {
    console.log(USAGE);
    return sub === undefined ? 2 : 0;
  }
  if (!Object.hasOwn(COMMANDS, sub)) {
    console.error(
      `userns: unknown subcommand ${JSON.stringify(sub)}; see userns --help`,
    );
    return 2;
  }
  const [command, options] = COMMANDS[sub]!;
  try {
    return await command(rest);
  } catch (e) {
    console.error(errorLine(e, sub, options));
    return exitStatus(e, sub);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
