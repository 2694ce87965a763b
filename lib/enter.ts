/**
 * {@link EnterCommand}: run a command inside the namespaces of a running
 * process. The join happens in the cloned child, before it executes
 * anything: the kernel refuses to let a multi-threaded process join a user
 * namespace.
 *
 * @module
 */
import { UsernsCommand } from "./command.ts";
import { UsernsError } from "./errors/mod.ts";
import { pathFromUrl } from "./file_url.ts";
import type { IdMapping } from "./idmap.ts";
import {
  checkOptions,
  cloneFlags,
  environment,
  lockMaps,
  type Namespace,
  namespaceRequest,
  type Prepared,
  processRequest,
  sessionRequest,
  type UsernsCommandOptions,
  workingDirectory,
} from "./options.ts";
import { CloneFlag } from "../ffi/linux.ts";
import { type NS_NAMES, type ProcessId, processId } from "../ffi/process.ts";
import type { JoinTarget, StdioMode } from "../ffi/request.ts";

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
    | "tty"
    | "signal"
    | "beforeExec"
    | "oomScoreAdj"
    | "rlimits"
    | "noNewPrivs"
    | "helperTimeout"
    | "onWarning"
  > {
  /** Namespaces to join besides the user namespace, or "all": of those,
   * each that differs from the caller's. @default {"all"} */
  namespaces?: Namespace[] | "all";
}

/** The namespaces `enter` and pods join, by option name, with their
 * `/proc/PID/ns/` name: user first, mount last. */
export const ORDER: [Namespace | "user", typeof NS_NAMES[number]][] = [
  ["user", "user"],
  ["ipc", "ipc"],
  ["uts", "uts"],
  ["net", "net"],
  ["pid", "pid"],
  ["cgroup", "cgroup"],
  ["time", "time"],
  ["mount", "mnt"],
];

/** The clone(2) flags of namespaces named as {@link ORDER} names them. */
export function joinFlags(names: Iterable<string>): number {
  let flags = 0;
  for (const n of names) {
    flags |= n === "user" ? CloneFlag.user : CloneFlag[n as Namespace];
  }
  return flags;
}

/** A process's identity, or the error that says why it cannot be had. */
function identify(pid: number): ProcessId {
  const id = processId(pid);
  if (id) return id;
  throw new UsernsError(
    "PROC_READ",
    `cannot inspect process ${pid}: no such process, or not yours`,
    {
      hint: "name one of your own processes that runs (userns ps)",
    },
  );
}

/**
 * What `enter` joins of `pid`: of the namespaces asked for, those that
 * differ from the caller's; refused unless the user namespace is one of
 * them, and when the process is traced or not dumpable (a process in its
 * set-up, or one that holds secrets: its namespaces are not the caller's to
 * walk into through it).
 */
function joinTarget(pid: number, wanted: Set<string>): JoinTarget {
  const target = identify(pid), self = identify(Deno.pid);
  if (target.tracer !== 0) {
    throw new UsernsError(
      "INVALID_ARGUMENT",
      `cannot enter process ${pid}: it is being traced (by pid ${target.tracer})`,
      { hint: "name a process that no debugger holds" },
    );
  }
  if (target.owner !== target.euid) {
    throw new UsernsError(
      "INVALID_ARGUMENT",
      `cannot enter process ${pid}: it is not dumpable (a process in its set-up, or a privileged one)`,
      { hint: "name another process of the namespace (userns ps)" },
    );
  }
  const names = ORDER.filter(([ns, name]) =>
    wanted.has(ns) && target.ns[name] !== 0 &&
    target.ns[name] !== self.ns[name]
  ).map(([ns]) => ns);
  if (!names.includes("user")) {
    throw new UsernsError(
      "INVALID_ARGUMENT",
      `process ${pid} is in your own user namespace: there is nothing to enter`,
      { hint: "name a process that runs inside a namespace (userns ps)" },
    );
  }
  return { pid, start: target.start, flags: joinFlags(names) };
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

  /**
   * A relayed pseudo-terminal unless `tty` says otherwise: by default when
   * stdin is a terminal and the process belongs to another user (root
   * entering a user's container), whose root must get no hold of the
   * caller's terminal.
   */
  protected override wantsTty(o: UsernsCommandOptions): boolean {
    if (o.tty !== undefined) return o.tty;
    try {
      if (!Deno.stdin.isTerminal()) return false;
    } catch {
      return false;
    }
    const target = processId(this.#pid);
    return target !== undefined && target.euid !== Deno.uid();
  }

  /** Plans the join; see {@link UsernsCommand.prepared}. */
  protected override prepared(
    command: string | URL,
    o: UsernsCommandOptions & EnterOptions,
    stdioDefault: StdioMode,
  ): Prepared {
    checkOptions({ ...o, namespaces: undefined });
    const all = ORDER.map(([ns]) => ns);
    const asked = this.#namespaces ?? "all";
    const wanted = new Set<string>([
      "user",
      ...(asked === "all" ? all : asked),
    ]);
    for (const ns of wanted) {
      if (!all.includes(ns as Namespace)) {
        throw new UsernsError("INVALID_ARGUMENT", `unknown namespace "${ns}"`);
      }
    }
    const join = joinTarget(this.#pid, wanted);
    const clearGroups = readSetgroups(this.#pid) === "allow";
    return {
      helpers: {},
      request: joinRequest(command, join, o, stdioDefault, clearGroups, {
        isolated: true,
      }),
    };
  }
}

/** How {@link joinRequest} sets up on top of what it joins. */
export interface JoinSetup {
  /** Namespaces to create on top of the joined ones. */
  fresh?: Set<Namespace>;
  /** A new session unless `ctty` is given (see `sessionRequest`). */
  isolated?: boolean;
  /** The joined user namespace's maps, to lock the mounts made on top. */
  maps?: { uid: readonly IdMapping[]; gid: readonly IdMapping[] };
}

/**
 * The native request of a command that joins the namespaces of a running
 * process, then unshares `fresh` ones on top of them, with their mounts,
 * root, clocks and limits: `enter` and pods share it.
 *
 * @param command the program
 * @param join the process and the namespaces to join
 * @param o the options
 * @param stdioDefault the default of stdout and stderr
 * @param clearGroups drop supplementary groups (setgroups is allowed there)
 * @param setup what to create on top, and how
 * @returns the request
 */
export function joinRequest(
  command: string | URL,
  join: JoinTarget,
  o: UsernsCommandOptions,
  stdioDefault: StdioMode,
  clearGroups: boolean,
  setup: JoinSetup = {},
): Prepared["request"] {
  const file = pathFromUrl(command, "command");
  const fresh = setup.fresh;
  // Only the ids: no need to look the caller up in /etc/passwd (about a
  // tenth of a pod spawn's own time).
  const [env, path] = environment(o, {
    uid: Deno.uid() ?? 0,
    gid: Deno.gid() ?? 0,
  });
  const ns = fresh ? namespaceRequest(o, fresh) : undefined;
  const built = ns !== undefined &&
    (ns.root !== undefined || ns.mounts.length > 0);
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
    ...sessionRequest(o, stdioDefault, setup.isolated || o.root !== undefined),
    ...ns,
    ...processRequest(o),
    // Joining a pid namespace takes effect for children only: the child
    // forks the command and stays as its userns-init. A new pid namespace
    // on top gets its PID 1 from the child (c/child.c, enter_new_pid());
    // `init` then says whether that PID 1 is an init or the command.
    init: fresh?.has("pid") ? !!ns?.init : (join.flags & CloneFlag.pid) !== 0,
    cwd: workingDirectory(file, o, o.root !== undefined, false),
    hostname: o.hostname,
    lock: built && setup.maps
      ? lockMaps(setup.maps.uid, setup.maps.gid)
      : undefined,
  };
}
