/**
 * `userns run`: the command in a new user namespace, with exit status and
 * signals passed through.
 *
 * @module
 */
import { UsernsCommand } from "../command.ts";
import { UsernsError } from "../errors.ts";
import { type IdMapping, type MapMode, parseIdMapSpec } from "../idmap.ts";
import type { Namespace, UsernsCommandOptions } from "../options.ts";
import { HELP, helpText, type OptionSpecs, parse } from "./args.ts";

/** Options `run` and `enter` share: the command's own set-up. */
export const COMMAND_OPTIONS: OptionSpecs = {
  cwd: {
    type: "string",
    value: "DIR",
    help: "working directory of the command",
  },
  setsid: { type: "boolean", help: "run the command in a new session" },
  ctty: {
    type: "boolean",
    help: "make stdin's terminal the controlling one; implies --setsid",
  },
  env: {
    type: "string",
    multiple: true,
    value: "NAME=VALUE",
    help: "set a variable",
  },
  "clear-env": { type: "boolean", help: "start from an empty environment" },
};

/** Options of `userns run`. */
export const RUN_OPTIONS: OptionSpecs = {
  map: {
    type: "string",
    value: "auto|root|current|subids",
    help: "how to map IDs (default auto: own ID to 0, then all subordinate " +
      "ranges; subids: own ID and all ranges onto themselves)",
  },
  "uid-map": {
    type: "string",
    multiple: true,
    value: "IN:OUT:N",
    help: "explicit uid map line; replaces the uid side of --map",
  },
  "gid-map": {
    type: "string",
    multiple: true,
    value: "IN:OUT:N",
    help: "explicit gid map line; replaces the gid side of --map",
  },
  user: {
    type: "string",
    value: "UID",
    help: "inside uid to run as (must be mapped)",
  },
  group: {
    type: "string",
    value: "GID",
    help: "inside gid to run as (must be mapped)",
  },
  setgroups: {
    type: "string",
    value: "allow|deny",
    help: "setgroups policy (default: allow where the kernel permits)",
  },
  mount: { type: "boolean", help: "also unshare the mount namespace" },
  pid: { type: "boolean", help: "also unshare the pid namespace" },
  uts: { type: "boolean", help: "also unshare the uts namespace" },
  ipc: { type: "boolean", help: "also unshare the ipc namespace" },
  net: { type: "boolean", help: "also unshare the network namespace" },
  cgroup: { type: "boolean", help: "also unshare the cgroup namespace" },
  "mount-proc": {
    type: "boolean",
    help: "mount a fresh /proc; implies --mount --pid",
  },
  init: {
    type: "boolean",
    help: "run a minimal PID 1 that reaps and forwards signals; implies --pid",
  },
  hostname: {
    type: "string",
    value: "NAME",
    help: "set the hostname inside; implies --uts",
  },
  root: {
    type: "string",
    value: "DIR",
    help: "chroot into DIR before running the command",
  },
  "oom-score-adj": {
    type: "string",
    value: "N",
    help: "the command's OOM score adjustment",
  },
  strict: {
    type: "boolean",
    help: "fail when auto cannot map the subordinate ranges",
  },
  quiet: { type: "boolean", help: "no warnings on stderr" },
  ...COMMAND_OPTIONS,
  help: HELP,
};

const USAGE = "Usage: userns run [OPTIONS] [--] COMMAND [ARG...]\n\n" +
  "Runs COMMAND in a new user namespace, as inside root, with your subordinate ranges mapped.";

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

function oneOf<T extends string>(
  value: unknown,
  allowed: readonly T[],
  name: string,
): T | undefined {
  if (value === undefined) return undefined;
  if (allowed.includes(value as T)) return value as T;
  throw new UsernsError("INVALID_ARGUMENT", `invalid --${name} "${value}"`, {
    hint: `use one of ${allowed.join(", ")}`,
  });
}

function integer(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(String(value))) {
    throw new UsernsError(
      "INVALID_ARGUMENT",
      `invalid --${name} "${value}": not an integer`,
    );
  }
  return Number(value);
}

function environment(pairs: string[] = []): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) {
      throw new UsernsError("INVALID_ARGUMENT", `invalid --env "${pair}"`, {
        hint: "use NAME=VALUE",
      });
    }
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

/**
 * Turns parsed `run` options into library options (also used by `enter`).
 *
 * @param v parsed option values
 * @returns the library options
 * @throws {UsernsError} INVALID_ARGUMENT for a bad value
 */
export function commandOptions(
  v: Record<string, unknown>,
): UsernsCommandOptions {
  const maps = (specs?: string[]): IdMapping[] | undefined =>
    specs?.map(parseIdMapSpec);
  const namespaces = (["mount", "pid", "uts", "ipc", "net", "cgroup"] as const)
    .filter((ns) => v[ns]) as Namespace[];
  return {
    map: oneOf<MapMode>(v.map, ["auto", "root", "current", "subids"], "map"),
    uidMap: maps(v["uid-map"] as string[] | undefined),
    gidMap: maps(v["gid-map"] as string[] | undefined),
    user: integer(v.user, "user"),
    group: integer(v.group, "group"),
    setgroups: oneOf(v.setgroups, ["allow", "deny"] as const, "setgroups"),
    namespaces,
    mountProc: !!v["mount-proc"],
    init: !!v.init,
    hostname: v.hostname as string | undefined,
    root: v.root as string | undefined,
    cwd: v.cwd as string | undefined,
    setsid: !!v.setsid,
    ctty: !!v.ctty,
    oomScoreAdj: integer(v["oom-score-adj"], "oom-score-adj"),
    env: environment(v.env as string[] | undefined),
    clearEnv: !!v["clear-env"],
    strict: !!v.strict,
    onWarning: v.quiet ? () => {} : undefined,
  };
}

/**
 * Runs the command and waits for it, forwarding {@link FORWARDED} signals.
 *
 * @param command the program and its arguments
 * @param make builds the command from the program and its arguments
 * @returns the exit status to exit with
 */
export async function runAndWait(
  command: string[],
  make: (file: string, args: string[]) => UsernsCommand,
): Promise<number> {
  const [file, ...args] = command;
  if (file === undefined) {
    throw new UsernsError("INVALID_ARGUMENT", "no command given");
  }
  const child = make(file, args).spawn();
  const forward = new Map(FORWARDED.map((sig) => [sig, () => {
    try {
      child.kill(sig);
    } catch {
      // it has just ended
    }
  }]));
  for (const [sig, fn] of forward) Deno.addSignalListener(sig, fn);
  try {
    return (await child.status).code;
  } finally {
    for (const [sig, fn] of forward) Deno.removeSignalListener(sig, fn);
  }
}

/**
 * `userns run`.
 *
 * @param argv arguments after `run`
 * @returns the exit status
 */
export async function run(argv: string[]): Promise<number> {
  const { values, operands } = parse(argv, RUN_OPTIONS, true);
  if (values.help) {
    console.log(helpText(USAGE, RUN_OPTIONS));
    return 0;
  }
  const options = commandOptions(values);
  return await runAndWait(
    operands,
    (file, args) => new UsernsCommand(file, { ...options, args }),
  );
}
