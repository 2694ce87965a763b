/**
 * `userns enter PID`: run a command in the namespaces of a running process.
 *
 * @module
 */
import { EnterCommand } from "../enter.ts";
import type { Namespace } from "../options.ts";
import { HELP, helpText, type OptionSpecs, parse } from "./args.ts";
import { COMMAND_OPTIONS, commandOptions, runAndWait } from "./run.ts";
import { targetPid } from "./target.ts";

/** Options of `userns enter`. */
export const ENTER_OPTIONS: OptionSpecs = {
  mount: { type: "boolean", help: "also join the mount namespace" },
  pid: { type: "boolean", help: "also join the pid namespace" },
  uts: { type: "boolean", help: "also join the uts namespace" },
  ipc: { type: "boolean", help: "also join the ipc namespace" },
  net: { type: "boolean", help: "also join the network namespace" },
  cgroup: { type: "boolean", help: "also join the cgroup namespace" },
  all: { type: "boolean", help: "join every namespace of PID" },
  user: {
    type: "string",
    value: "UID",
    help: "inside uid to run as (default 0)",
  },
  group: {
    type: "string",
    value: "GID",
    help: "inside gid to run as (default 0)",
  },
  ...COMMAND_OPTIONS,
  help: HELP,
};

const USAGE = "Usage: userns enter [OPTIONS] PID [--] COMMAND [ARG...]\n\n" +
  "Runs COMMAND in the user namespace of PID (and the others asked for), as inside root.";

/**
 * `userns enter`.
 *
 * @param argv arguments after `enter`
 * @returns the exit status
 */
export async function enter(argv: string[]): Promise<number> {
  const { values, operands } = parse(argv, ENTER_OPTIONS, true);
  if (values.help) {
    console.log(helpText(USAGE, ENTER_OPTIONS));
    return 0;
  }
  const [pidText, ...command] = operands;
  const pid = targetPid(pidText);
  if (command[0] === "--") command.shift();
  const o = commandOptions(values);
  const namespaces = values.all ? "all" : o.namespaces as Namespace[];
  return await runAndWait(
    command,
    (file, args) => new EnterCommand(pid, file, { ...o, args, namespaces }),
  );
}
