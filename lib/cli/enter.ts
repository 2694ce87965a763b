/**
 * `userns enter PID|NAME`: run a command in the namespaces of a running
 * process, or of a pod.
 *
 * @module
 */
import { EnterCommand, type EnterOptions } from "../enter.ts";
import type { Namespace } from "../options.ts";
import { UsernsPod } from "../pod.ts";
import { HELP, helpText, type OptionSpecs, parse } from "./args.ts";
import { runAndWait } from "./run.ts";
import { COMMAND_OPTIONS, commandOptions } from "./run_options.ts";
import { targetPid } from "./target.ts";
import { NAMESPACES } from "../check.ts";

/** Options of `userns enter`. */
export const ENTER_OPTIONS: OptionSpecs = {
  ...Object.fromEntries(NAMESPACES.map((ns) => [ns, {
    type: "boolean",
    help: `also join the ${ns} namespace${
      ns === "mount" ? " (always, for a pod)" : ""
    }`,
  }])),
  all: { type: "boolean", help: "join every namespace of PID or NAME" },
  ...COMMAND_OPTIONS,
  help: HELP,
};

const USAGE =
  "Usage: userns enter [OPTIONS] PID|NAME [--] [COMMAND [ARG...]]\n\n" +
  "Runs COMMAND (default $SHELL) in the user namespace of PID, or of the pod NAME\n" +
  "(and the others asked for), as inside root.";

/**
 * `userns enter`.
 *
 * @param argv arguments after `enter`
 * @returns the exit status
 */
export async function enter(argv: string[]): Promise<number> {
  const parsed = parse(argv, ENTER_OPTIONS, true);
  const v = parsed.values;
  if (v.help) {
    console.log(helpText(USAGE, ENTER_OPTIONS));
    return 0;
  }
  const [target, ...command] = parsed.operands;
  if (command[0] === "--") command.shift();
  // Digits are a pid; anything else names a pod.
  const isPod = target !== undefined && !/^[0-9]+$/.test(target);
  const pid = isPod ? UsernsPod.open(target).pid : targetPid(target);
  const wanted = NAMESPACES.filter((ns) => v[ns] || (isPod && ns === "mount"));
  const o = commandOptions({ ...parsed, values: { ...v, ...noCreate } });
  const options: EnterOptions = {
    ...o,
    namespaces: v.all ? "all" : wanted as Namespace[],
  };
  return await runAndWait(
    command,
    (file, args) => new EnterCommand(pid, file, { ...options, args }),
    v["pid-file"] as string | undefined,
  );
}

/** The namespace flags of enter say what to join, not what to create. */
const noCreate = Object.fromEntries(NAMESPACES.map((ns) => [ns, undefined]));
