/**
 * `userns run`: the command in a new user namespace (or in a pod), with
 * exit status and signals passed through.
 *
 * @module
 */
import { UsernsCommand } from "../command/command.ts";
import type { UsernsChild } from "../command/child.ts";
import { UsernsPod } from "../pod/pod.ts";
import type { UsernsCommandOptions } from "../command/options.ts";
import { Errno } from "../errors/errno.ts";
import { UsernsError } from "../errors/errors.ts";
import { FileCallError, StagedFile } from "../system/safe_write.ts";
import { HELP, helpText, type OptionSpecs, parse, usageError } from "./args.ts";
import {
  COMMAND_OPTIONS,
  commandOptions,
  MAP_OPTIONS,
  MOUNT_OPTIONS,
  NAMESPACE_OPTIONS,
  SANDBOX_OPTIONS,
} from "./run_options.ts";

/** Options of `userns run`. */
export const RUN_OPTIONS: OptionSpecs = {
  ...MAP_OPTIONS,
  ...NAMESPACE_OPTIONS,
  ...MOUNT_OPTIONS,
  ...SANDBOX_OPTIONS,
  ...COMMAND_OPTIONS,
  in: {
    type: "string",
    value: "NAME",
    help:
      "run inside the pod NAME (see userns start): its namespaces and maps, no helper",
  },
  help: HELP,
};

const USAGE = "Usage: userns run [OPTIONS] [--] [COMMAND [ARG...]]\n\n" +
  "Runs COMMAND (default $SHELL) in a new user and mount namespace, as inside root,\n" +
  "with your subordinate ranges mapped; or, with --in NAME, inside a pod.";

/** Signals `userns` passes on to the command. */
export const FORWARDED: readonly Deno.Signal[] = [
  "SIGINT",
  "SIGTERM",
  "SIGHUP",
  "SIGQUIT",
  "SIGUSR1",
  "SIGUSR2",
  "SIGWINCH",
];

/** The command to run: the operands, else `$SHELL`, else /bin/sh. */
function commandOf(operands: string[]): [string, string[]] {
  const [file, ...args] = operands;
  if (file !== undefined) return [file, args];
  let shell = "";
  try {
    shell = Deno.env.get("SHELL") ?? "";
  } catch {
    // not permitted: as unset
  }
  return [shell || "/bin/sh", []];
}

/** The one-line error for a pid file that cannot be written. */
function pidFileError(
  file: string,
  e: unknown,
  hint = "check that its directory exists and that you may write there",
): UsernsError {
  const why = (e as { code?: string }).code ?? (e as Error).name;
  return new UsernsError(
    "INVALID_ARGUMENT",
    `cannot write the pid file ${file}: ${why}`,
    { hint, cause: e },
  );
}

/**
 * A pid file, written so that nothing planted in its directory (a shared
 * one such as /tmp) redirects it: a new temporary with an unpredictable
 * name is made before the command runs (so that a path that cannot be
 * written fails before anything runs), gets the pid and is renamed into
 * place once the command runs; at the end it is removed only if the name
 * still holds it (see system/safe_write.ts).
 */
class PidFile {
  readonly #file: StagedFile;

  /**
   * @param path where the pid is to be
   * @throws {UsernsError} INVALID_ARGUMENT when it cannot be written
   */
  constructor(readonly path: string) {
    try {
      this.#file = StagedFile.create(path, 0o644);
    } catch (e) {
      throw pidFileError(path, e);
    }
    if (!this.#file.replaceable()) {
      this.#file.removeIfOurs();
      throw pidFileError(
        path,
        new FileCallError(-Errno.EPERM), // as the rename would fail
        "another user's file is there, in a sticky directory, and only they may replace it; choose another path",
      );
    }
  }

  /** Writes the pid and renames the file into place. */
  commit(pid: number): void {
    try {
      this.#file.write(`${pid}\n`);
      this.#file.commit();
    } catch (e) {
      throw pidFileError(this.path, e);
    }
  }

  /** Removes the file, written or not, if it is still ours. */
  remove(): void {
    this.#file.removeIfOurs();
  }
}

/**
 * Runs the command and waits for it, forwarding {@link FORWARDED} signals.
 *
 * @param operands the program and its arguments (none: `$SHELL`)
 * @param make builds the command from the program and its arguments
 * @param pidFile where to write the host pid once it runs, if anywhere
 * @returns the exit status to exit with
 */
export async function runAndWait(
  operands: string[],
  make: (file: string, args: string[]) => UsernsCommand,
  pidFile?: string,
): Promise<number> {
  const [file, args] = commandOf(operands);
  const pid = pidFile === undefined ? undefined : new PidFile(pidFile);
  let child: UsernsChild;
  try {
    child = make(file, args).spawn();
  } catch (e) {
    pid?.remove();
    throw e;
  }
  const forward = new Map(FORWARDED.map((sig) => [sig, () => {
    try {
      child.kill(sig);
    } catch {
      // it has just ended
    }
  }]));
  for (const [sig, fn] of forward) Deno.addSignalListener(sig, fn);
  try {
    if (pid !== undefined) {
      await child.ready;
      try {
        pid.commit(child.pid);
      } catch (e) {
        // Nothing may wait for a pid that never comes: the command goes.
        child.kill("SIGKILL");
        await child.status;
        throw e;
      }
    }
    return (await child.status).code;
  } finally {
    for (const [sig, fn] of forward) Deno.removeSignalListener(sig, fn);
    pid?.remove();
  }
}

/** Map options that a pod's maps replace. */
const POD_REFUSES = ["map", "uid-map", "gid-map", "setgroups", "strict"];

/**
 * `userns run`.
 *
 * @param argv arguments after `run`
 * @returns the exit status
 */
export async function run(argv: string[]): Promise<number> {
  const parsed = parse(argv, RUN_OPTIONS, true);
  if (parsed.values.help) {
    console.log(helpText(USAGE, RUN_OPTIONS));
    return 0;
  }
  const options = commandOptions(parsed);
  const pidFile = parsed.values["pid-file"] as string | undefined;
  const pod = parsed.values.in as string | undefined;
  if (pod !== undefined) {
    const refused = POD_REFUSES.find((name) =>
      parsed.values[name] !== undefined
    );
    if (refused) {
      throw usageError(
        `--${refused} cannot be given with --in: the pod's maps apply`,
      );
    }
    const opened = UsernsPod.open(pod);
    return await runAndWait(
      parsed.operands,
      (file, args) => opened.command(file, { ...podOptions(options), args }),
      pidFile,
    );
  }
  return await runAndWait(
    parsed.operands,
    (file, args) => new UsernsCommand(file, { ...options, args }),
    pidFile,
  );
}

/** The options a pod's command takes: those of a command, no maps. */
function podOptions(o: UsernsCommandOptions): UsernsCommandOptions {
  const {
    map: _m,
    uidMap: _u,
    gidMap: _g,
    setgroups: _s,
    strict: _t,
    ...rest
  } = o;
  return rest;
}
