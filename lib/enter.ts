/**
 * {@link EnterCommand}: run a command inside the namespaces of a running
 * process. The join happens in the cloned child, before it executes
 * anything: the kernel refuses to let a multi-threaded process join a user
 * namespace.
 *
 * @module
 */
import { UsernsCommand } from "./command.ts";
import { UsernsError } from "./errors.ts";
import { pathFromUrl } from "./file_url.ts";
import {
  checkOptions,
  cloneFlags,
  environment,
  type Namespace,
  namespaceRequest,
  type Prepared,
  processRequest,
  sessionRequest,
  type UsernsCommandOptions,
  workingDirectory,
} from "./options.ts";
import type { StdioMode } from "../ffi/native.ts";

/** Options of {@link EnterCommand}: those of a command, and what to join. */
export interface EnterOptions extends
  Pick<
    UsernsCommandOptions,
    | "args"
    | "cwd"
    | "env"
    | "clearEnv"
    | "stdin"
    | "stdout"
    | "stderr"
    | "user"
    | "group"
    | "setsid"
    | "ctty"
    | "signal"
    | "beforeExec"
    | "oomScoreAdj"
    | "rlimits"
    | "noNewPrivs"
    | "helperTimeout"
    | "onWarning"
  > {
  /** Namespaces to join besides the user namespace, or "all". @default {[]} */
  namespaces?: Namespace[] | "all";
}

/** `/proc/PID/ns/` names in the order they are joined: user first, mount last. */
export const ORDER: [Namespace | "user", string][] = [
  ["user", "user"],
  ["ipc", "ipc"],
  ["uts", "uts"],
  ["net", "net"],
  ["pid", "pid"],
  ["cgroup", "cgroup"],
  ["time", "time"],
  ["mount", "mnt"],
];

function nsLink(pid: number | "self", name: string): string | undefined {
  try {
    return Deno.readLinkSync(`/proc/${pid}/ns/${name}`);
  } catch (e) {
    if (pid === "self") return undefined;
    const why = e instanceof Deno.errors.NotFound
      ? "no such process"
      : (e as Error).name;
    throw new UsernsError(
      "PROC_READ",
      `cannot read /proc/${pid}/ns/${name}: ${why}`,
      {
        hint: e instanceof Deno.errors.NotCapable
          ? "run deno with -A (reading another process's /proc needs it)"
          : "check the pid (userns ps)",
        cause: e,
      },
    );
  }
}

/** The namespaces of `pid` to join: those asked for that differ from ours. */
function joinPaths(pid: number, wanted: Set<string>): string[] {
  const paths: string[] = [];
  for (const [ns, name] of ORDER) {
    if (!wanted.has(ns)) continue;
    if (nsLink(pid, name) !== nsLink("self", name)) {
      paths.push(`/proc/${pid}/ns/${name}`);
    }
  }
  if (!paths.includes(`/proc/${pid}/ns/user`)) {
    throw new UsernsError(
      "INVALID_ARGUMENT",
      `process ${pid} is in your own user namespace: there is nothing to enter`,
      { hint: "name a process that runs inside a namespace (userns ps)" },
    );
  }
  return paths;
}

function readSetgroups(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/setgroups`).trim();
  } catch {
    return "deny";
  }
}

/**
 * A command to run inside the namespaces of a running process, as inside
 * root (or `user`/`group`). Same API as {@link UsernsCommand}.
 *
 * @example Usage
 * ```ts ignore
 * import { EnterCommand } from "./enter.ts";
 * const out = await new EnterCommand(1234, "hostname", { namespaces: "all" }).output();
 * ```
 */
export class EnterCommand extends UsernsCommand {
  readonly #pid: number;
  readonly #namespaces: EnterOptions["namespaces"];

  /**
   * @param pid the process whose namespaces to join
   * @param command the program
   * @param options as {@link UsernsCommand}'s, with `namespaces` to join
   */
  constructor(pid: number, command: string | URL, options: EnterOptions = {}) {
    // The namespaces are the ones to join, not to create: checked apart.
    super(command, {
      ...options,
      namespaces: undefined,
    } as UsernsCommandOptions);
    this.#namespaces = options.namespaces;
    if (!Number.isInteger(pid) || pid <= 0) {
      throw new UsernsError("INVALID_ARGUMENT", `invalid pid ${pid}`);
    }
    this.#pid = pid;
  }

  /** Plans the join; see {@link UsernsCommand.prepared}. */
  protected override prepared(
    command: string | URL,
    o: UsernsCommandOptions & EnterOptions,
    stdioDefault: StdioMode,
  ): Prepared {
    checkOptions({ ...o, namespaces: undefined });
    const all = ORDER.map(([ns]) => ns);
    const wanted = new Set<string>([
      "user",
      ...(this.#namespaces === "all" ? all : this.#namespaces ?? []),
    ]);
    for (const ns of wanted) {
      if (!all.includes(ns as Namespace)) {
        throw new UsernsError("INVALID_ARGUMENT", `unknown namespace "${ns}"`);
      }
    }
    const join = joinPaths(this.#pid, wanted);
    const clearGroups = readSetgroups(this.#pid) === "allow";
    return {
      helpers: {},
      request: joinRequest(command, join, o, stdioDefault, clearGroups),
    };
  }
}

/**
 * The native request of a command that joins namespaces (user first), then
 * unshares `fresh` ones on top of them, with their mounts, root, clocks and
 * limits: `enter` and pods share it.
 *
 * @param command the program
 * @param join the `/proc/PID/ns/*` paths, user first, mount last
 * @param o the options
 * @param stdioDefault the default of stdout and stderr
 * @param clearGroups drop supplementary groups (setgroups is allowed there)
 * @param fresh namespaces to create on top
 * @returns the request
 */
export function joinRequest(
  command: string | URL,
  join: string[],
  o: UsernsCommandOptions,
  stdioDefault: StdioMode,
  clearGroups: boolean,
  fresh?: Set<Namespace>,
): Prepared["request"] {
  const file = pathFromUrl(command, "command");
  // Only the ids: no need to look the caller up in /etc/passwd (about a
  // tenth of a pod spawn's own time).
  const [env, path] = environment(o, {
    uid: Deno.uid() ?? 0,
    gid: Deno.gid() ?? 0,
  });
  const ns = fresh ? namespaceRequest(o, fresh) : undefined;
  return {
    file,
    argv: [file, ...(o.args ?? [])],
    env,
    path,
    cloneFlags: fresh ? cloneFlags(fresh, false) : 0,
    join,
    uid: o.user ?? 0,
    gid: o.group ?? 0,
    clearGroups,
    ...sessionRequest(o, stdioDefault),
    ...ns,
    ...processRequest(o),
    // Joining a pid namespace takes effect for children only: the child
    // forks the command and stays as its userns-init. A new pid namespace
    // on top gets its PID 1 from the child (c/child.c, enter_new_pid());
    // `init` then says whether that PID 1 is an init or the command.
    init: fresh?.has("pid") ? !!ns?.init : join.some((p) => p.endsWith("/pid")),
    cwd: workingDirectory(file, o, o.root !== undefined, false),
    hostname: o.hostname,
  };
}
