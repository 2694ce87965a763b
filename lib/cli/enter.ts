/**
 * `userns enter PID|NAME`: run a command in the namespaces of a running
 * process, or of a pod.
 *
 * @module
 */
import { readProcLink } from "../../ffi/process.ts";
import { errnoName } from "../errors/errno.ts";
import { EnterCommand, type EnterOptions } from "../enter/enter.ts";
import type { Namespace } from "../command/namespaces.ts";
import { UsernsPod } from "../pod/pod.ts";
import {
  decimal,
  HELP,
  helpText,
  isDecimal,
  type OptionSpecs,
  parse,
  usageError,
} from "./args.ts";
import { UsernsError } from "../errors/errors.ts";
import { runAndWait } from "./run.ts";
import { COMMAND_OPTIONS, commandOptions } from "./run_options.ts";
import { NAMESPACES } from "../command/namespaces.ts";

/** Options of `userns enter`. */
export const ENTER_OPTIONS: OptionSpecs = {
  ns: {
    type: "string",
    value: "LIST",
    help:
      "join only these namespaces (comma-separated, e.g. user,net; the user namespace always)",
  },
  ...Object.fromEntries(NAMESPACES.map((ns) => [ns, {
    type: "boolean",
    help: `join the ${ns} namespace too (adds to --ns)`,
  }])),
  all: {
    type: "boolean",
    help: "join every namespace of PID or NAME that differs (the default)",
  },
  ...COMMAND_OPTIONS,
  // enter has no --root and no init of its own: glossed for what it does.
  cwd: {
    ...COMMAND_OPTIONS.cwd!,
    help:
      "working directory of the command, in the process's view (default: its root)",
  },
  "pid-file": {
    ...COMMAND_OPTIONS["pid-file"]!,
    help:
      "write the host pid of the entered process to FILE once it runs; removed at the end",
  },
  help: HELP,
};

const USAGE =
  "Usage: userns enter [OPTIONS] PID|NAME [--] [COMMAND [ARG...]]\n\n" +
  "Runs COMMAND (default $SHELL) in every namespace of PID, or of the pod NAME,\n" +
  "that differs from yours (or those --ns names), as inside root, in a new session.";

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
  const isPod = target !== undefined && !isDecimal(target);
  const pid = isPod ? UsernsPod.open(target).pid : targetPid(target);
  const listed = nsList(v.ns as string | undefined);
  const wanted = [...listed, ...NAMESPACES.filter((ns) => v[ns])];
  const o = commandOptions({ ...parsed, values: { ...v, ...noCreate } });
  const options: EnterOptions = {
    ...o,
    namespaces: v.all || (v.ns === undefined && wanted.length === 0)
      ? "all"
      : [...new Set(wanted)] as Namespace[],
  };
  return await runAndWait(
    command,
    (file, args) => new EnterCommand(pid, file, { ...options, args }),
    v["pid-file"] as string | undefined,
  );
}

/** The namespaces of `--ns LIST`: `user` (always joined) may be named. */
function nsList(list: string | undefined): string[] {
  if (list === undefined) return [];
  const names = list.split(",").map((n) =>
    n.trim() === "mnt" ? "mount" : n.trim()
  );
  for (const n of names) {
    if (n !== "user" && !(NAMESPACES as readonly string[]).includes(n)) {
      throw usageError(
        `invalid --ns "${list}": unknown namespace "${n}"`,
        `use names of user,${NAMESPACES.join(",")}`,
      );
    }
  }
  return names.filter((n) => n !== "user");
}

/** The namespace flags of enter say what to join, not what to create. */
const noCreate = Object.fromEntries(NAMESPACES.map((ns) => [ns, undefined]));

/**
 * Parses the target operand and checks that its user namespace can be read.
 *
 * @param operand the word after the options, if any
 * @param proc the proc file system @default "/proc"
 * @returns the pid
 * @throws {UsernsError} INVALID_ARGUMENT when it is missing or not a pid;
 *   PROC_READ when the process does not exist or the caller may not
 *   inspect it (EACCES: another user's, or root's outside a container)
 * @throws {Deno.errors.NotCapable} without Deno's permission to read it
 */
function targetPid(operand: string | undefined, proc = "/proc"): number {
  if (operand === undefined) throw usageError("missing PID or NAME");
  const pid = decimal(operand);
  if (pid === undefined || pid < 1) {
    throw usageError(`invalid pid ${JSON.stringify(operand)}`);
  }
  const path = `${proc}/${pid}/ns/user`;
  // Through the native library: Deno grants /proc only to --allow-all.
  const link = readProcLink(path);
  if (typeof link === "number") {
    const errno = errnoName(link);
    const [why, hint] = errno === "ENOENT" || errno === "ESRCH"
      ? ["no such process", "check the pid (userns ps)"]
      : [
        `${errno}: not permitted to inspect process ${pid}`,
        "name one of your own processes (userns ps lists those you can see)",
      ];
    throw new UsernsError("PROC_READ", `cannot read ${path}: ${why}`, {
      hint,
      errno,
    });
  }
  return pid;
}
