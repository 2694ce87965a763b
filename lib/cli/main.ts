/**
 * The `userns` command line: parse argv, call the library, print one-line
 * errors, exit with the codes the README's CLI section gives. Each
 * subcommand's module is loaded only
 * when it runs. It runs as the main module too (the published package's
 * CLI, and `build/cli.js`, its bundle).
 *
 * @module
 */
import config from "../../deno.json" with { type: "json" };
import type { OptionSpecs } from "./args.ts";
import { errorLine, exitStatus } from "./report.ts";

/** The version, from deno.json. */
export const VERSION: string = config.version;

const USAGE =
  `userns ${VERSION}: run programs in a new user namespace with your subordinate IDs mapped

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

/** How to load each subcommand. */
const COMMANDS: Record<string, () => Promise<Subcommand>> = {
  run: async () => {
    const m = await import("./run.ts");
    return [m.run, m.RUN_OPTIONS];
  },
  enter: async () => {
    const m = await import("./enter.ts");
    return [m.enter, m.ENTER_OPTIONS];
  },
  start: async () => {
    const m = await import("./pod.ts");
    return [m.start, m.START_OPTIONS];
  },
  stop: async () => {
    const m = await import("./pod.ts");
    return [m.stop, m.STOP_OPTIONS];
  },
  ls: async () => {
    const m = await import("./pod.ts");
    return [m.ls, m.LS_OPTIONS];
  },
  subids: async () => {
    const m = await import("./subids.ts");
    return [m.subids, m.SUBIDS_OPTIONS];
  },
  maps: async () => {
    const m = await import("./maps.ts");
    return [m.maps, m.MAPS_OPTIONS];
  },
  doctor: async () => {
    const m = await import("./doctor.ts");
    return [m.doctor, m.DOCTOR_OPTIONS];
  },
  ps: async () => {
    const m = await import("./ps.ts");
    return [m.ps, m.PS_OPTIONS];
  },
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
    console.log(`userns ${VERSION}`);
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
  const [command, options] = await COMMANDS[sub]!();
  try {
    return await command(rest);
  } catch (e) {
    console.error(errorLine(e, sub, options));
    return exitStatus(e, sub);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
