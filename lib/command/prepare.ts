/**
 * How the options of {@link UsernsCommand} become a validated map plan and
 * a request for the native side ({@link prepare}), before anything is
 * cloned: the identity and sub-ID files read, the maps planned, the
 * namespaces, mounts, limits, environment, working directory and session
 * decided. Pods and `enter` build their requests from the same parts.
 *
 * @module
 */
import { UsernsError } from "../errors/errors.ts";
import { cwdError } from "../errors/spawn.ts";
import { pathFromUrl } from "../check/file_url.ts";
import { currentIdentity, type Identity } from "../system/identity.ts";
import type { IdMapPlan } from "../idmap/plan.ts";
import type { IdMapping } from "../idmap/rules.ts";
import { findHelpers, type HelperPaths } from "../idmap/helpers.ts";
import { lockMaps } from "../mounts/lock.ts";
import {
  hideOps,
  type LabeledOp,
  mountOps,
  resolvConfOp,
  sysfsOps,
} from "../mounts/ops.ts";
import { type NetworkPlan, planNetwork, resolvConf } from "../net/plan.ts";
import { allCaps, capsGiven, keptCaps } from "../sandbox/caps.ts";
import { seccompFilter } from "../sandbox/seccomp.ts";
import { withSandbox } from "./sandbox.ts";
import { planFor } from "./_plan.ts";
import { cloneFlags, type Namespace } from "./namespaces.ts";
import type { UsernsCommandOptions } from "./options.ts";
import { limits } from "./rlimits.ts";
import type { TtyRelay } from "./tty.ts";
import { MS } from "../../ffi/linux.ts";
import type { SpawnRequest, StdioMode } from "../../ffi/request.ts";

/** A validated plan and native request, ready to spawn. */
export interface Prepared {
  /** The ID maps and how to write them; none when joining namespaces. */
  plan?: IdMapPlan;
  /** Where the helpers are. */
  helpers: HelperPaths;
  /** What the native side is to do; its mounts carry their labels. */
  request: SpawnRequest & { mounts?: LabeledOp[] };
  /** The pseudo-terminal relayed with `tty`. */
  tty?: TtyRelay;
  /** The user-mode network to start once the maps are written. */
  network?: NetworkPlan;
  /** The file bound over /etc/resolv.conf for it; removed once bound. */
  resolvConf?: string;
}

function invalid(what: string): UsernsError {
  return new UsernsError("INVALID_ARGUMENT", what);
}

/** The namespaces to create besides the user namespace, with what the
 * options imply: a pid namespace for `root`, `mountProc`, `init` and `proc`
 * mounts (a command under a new root must not see, nor trace by its pid, a
 * process that has the caller's root: the caller itself, a pod's holder),
 * uts for `hostname`, time for `timeOffsets`.
 *
 * @param o checked options
 * @returns the namespaces to create
 */
export function namespaceSet(o: UsernsCommandOptions): Set<Namespace> {
  // Its names were checked with the options (checkNamespaces()).
  const set = new Set<Namespace>(o.namespaces ?? []);
  if (o.mountNamespace !== false) set.add("mount");
  if (o.network !== undefined && o.network !== "host") set.add("net");
  if (o.mountProc || o.mounts?.some((m) => m.type === "proc")) set.add("pid");
  if (o.init || o.root !== undefined) set.add("pid");
  if (o.hostname !== undefined) set.add("uts");
  if (o.timeOffsets) set.add("time");
  return set;
}

/** What needs a mount namespace, which `mountNamespace: false` refuses. */
function needsMount(o: UsernsCommandOptions): string | undefined {
  if (o.root !== undefined) return "root";
  if (o.mounts?.length) return "mounts";
  if (o.mountProc) return "mountProc";
  if (o.hide?.length) return "hide";
  return undefined;
}

/**
 * The namespace part of a native request: flags, mounts, clocks, network,
 * the init. Shared by new namespaces and pods.
 *
 * @param o the options
 * @param set the namespaces to create
 * @returns that part of the request
 */
export function namespaceRequest(
  o: UsernsCommandOptions,
  set: Set<Namespace>,
):
  & Pick<
    SpawnRequest,
    | "propagation"
    | "mounts"
    | "time"
    | "loopback"
    | "ownNetwork"
    | "init"
    | "root"
    | "rootReadonly"
  >
  & { mounts: LabeledOp[] } {
  const mount = set.has("mount");
  const why = needsMount(o);
  if (!mount && why) {
    throw invalid(
      `${why} needs a mount namespace, but mountNamespace is false`,
    );
  }
  const propagation = o.propagation ?? "slave";
  const t = o.timeOffsets;
  // "/" is the root already: nothing to pivot to (the cwd is still /),
  // but for a sandbox, whose root is a read-only copy of it.
  const root = o.root === undefined ||
      (absolute(o.root) === "/" && !o.sandbox)
    ? undefined
    : absolute(o.root);
  const mounts = mountOps(o.mounts ?? [], !!o.mountProc);
  const hides = hideOps(o.hide ?? [], root);
  const net = set.has("net");
  // A network namespace with nothing attached is made where the mounts are
  // locked, its sysfs mounted there after them (lock.c): but not over a
  // mount of the caller's under /sys, which the kernel would then refuse.
  const ownNetwork = net && o.network !== "pasta" &&
    o.network !== "slirp4netns" &&
    ![...mounts, ...hides].some((m) => /^\/sys(\/|$)/.test(m.target));
  // Where userns builds the tree, /sys of the network namespace made.
  if (root !== undefined && net) mounts.push(...sysfsOps("/sys", ownNetwork));
  mounts.push(...hides);
  return {
    propagation: !mount || propagation === "unchanged"
      ? 0
      : propagation === "slave"
      ? MS.SLAVE
      : MS.PRIVATE,
    mounts,
    time: set.has("time")
      ? { monotonic: t?.monotonic ?? 0, boottime: t?.boottime ?? 0 }
      : undefined,
    loopback: net,
    ownNetwork,
    init: set.has("pid") && o.init !== false,
    root,
    rootReadonly: !!o.sandbox,
  };
}

/**
 * The command's environment, and the PATH to search: the caller's
 * environment (none with `clearEnv`), then `env`, then, when the command
 * runs as inside root (and not in a sandbox, whose environment holds only
 * what it keeps), the `_CONTAINERS_*` variables that make podman and
 * buildah inside behave as under `podman unshare`: as another id they must
 * do what they do for an ordinary user. Built on the object
 * `Deno.env.toObject()` returns, fresh for each call, and packed as it is:
 * no `NAME=VALUE` string is made here.
 *
 * @param o the options
 * @param id the caller, for the `_CONTAINERS_ROOTLESS_*` variables
 * @param insideRoot the command runs as inside uid 0
 * @returns the environment and the PATH
 */
export function environment(
  o: UsernsCommandOptions,
  id: Pick<Identity, "uid" | "gid">,
  insideRoot: boolean,
): [Record<string, string>, string | undefined] {
  const env: Record<string, string> = o.clearEnv ? {} : Deno.env.toObject();
  if (o.env) Object.assign(env, o.env);
  if (insideRoot && !o.sandbox) {
    env._CONTAINERS_USERNS_CONFIGURED = "done";
    env._CONTAINERS_ROOTLESS_UID = String(id.uid);
    env._CONTAINERS_ROOTLESS_GID = String(id.gid);
  }
  // Without clearEnv, env.PATH is the caller's unless env gave one.
  const path = o.clearEnv ? o.env?.PATH ?? Deno.env.get("PATH") : env.PATH;
  return [env, path];
}

/**
 * Checks the options that need no I/O.
 *
 * @param o the options
 * @throws {UsernsError} INVALID_ARGUMENT, or ABORTED for an aborted signal
 */
export function checkOptions(o: UsernsCommandOptions): void {
  // Types and ranges were checked by the constructor (check.ts).
  if (o.signal?.aborted) {
    throw new UsernsError(
      "ABORTED",
      "not started: the signal was already aborted",
      {
        cause: o.signal.reason,
      },
    );
  }
}

/**
 * The process part of a native request: limits, no_new_privs, OOM score,
 * the capabilities kept and the seccomp filter (compiled here, in the
 * parent, once per profile and capability set).
 *
 * @param o the options
 * @returns that part of the request
 * @throws {UsernsError} INVALID_ARGUMENT for a profile that cannot be
 * compiled, naming the entry; NATIVE_LOAD without libseccomp
 */
export function processRequest(
  o: UsernsCommandOptions,
): Pick<
  SpawnRequest,
  "rlimits" | "noNewPrivs" | "oomScoreAdj" | "caps" | "filter"
> {
  const caps = capsGiven(o) ? keptCaps(o) : undefined;
  const filter = o.seccomp === undefined || o.seccomp === "none"
    ? undefined
    : seccompFilter(o.seccomp, caps ?? allCaps(), { disk: true });
  return {
    rlimits: o.rlimits ? limits(o.rlimits) : undefined,
    noNewPrivs: !!o.noNewPrivs,
    oomScoreAdj: o.oomScoreAdj,
    caps,
    filter: filter && { bytes: filter.bytes, lengths: filter.lengths },
  };
}

/**
 * The working directory: a relative one against the caller's, or against
 * `/` of the new root; with a new root, `/` by default. A directory that
 * is looked up in the caller's own view and does not exist is refused here,
 * as `Deno.Command` refuses it.
 *
 * @param file the command, for the message
 * @param o the options
 * @param rooted a new root is given (`root`)
 * @param ownView the command sees the caller's file system (no root, no
 * mounts, no joined mount namespace)
 * @returns the directory, or undefined to keep the caller's
 * @throws {Deno.errors.NotFound} the library's NOT_FOUND error for a
 * missing directory
 */
export function workingDirectory(
  file: string,
  o: UsernsCommandOptions,
  rooted: boolean,
  ownView: boolean,
): string | undefined {
  if (o.cwd === undefined) return rooted ? "/" : undefined;
  const dir = pathFromUrl(o.cwd, "cwd");
  const cwd = dir.startsWith("/")
    ? dir
    : rooted
    ? `/${dir}`
    : `${Deno.cwd()}/${dir}`;
  if (ownView) {
    try {
      Deno.statSync(cwd);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw cwdError(file, cwd, "ENOENT");
      }
    }
  }
  return cwd;
}

/**
 * Validates options and plans the maps, without side effects.
 *
 * @param command the program name or path
 * @param o the options
 * @param stdioDefault the default of stdout/stderr (`piped` for output())
 * @returns the plan and the native request
 * @throws {UsernsError} INVALID_ARGUMENT, and the map planner's errors
 */
export function prepare(
  command: string | URL,
  options: UsernsCommandOptions,
  stdioDefault: StdioMode,
): Prepared {
  checkOptions(options);
  const o = withSandbox(options);
  const id = currentIdentity();
  const file = pathFromUrl(command, "command");
  const helpers = findHelpers(Deno.env.get("PATH") ?? "");
  const plan = planFor(o, id, helpers);
  const [env, path] = environment(o, id, plan.user === 0);
  const set = namespaceSet(o);
  const ns = namespaceRequest(o, set);
  const ownView = ns.root === undefined && ns.mounts.length === 0;
  const built = ns.root !== undefined || ns.mounts.length > 0;
  const explicit = o.user !== undefined || o.group !== undefined;
  return {
    plan,
    helpers,
    network: networkPlan(o),
    request: {
      file,
      argv: [file, ...(o.args ?? [])],
      env,
      path,
      cloneFlags: cloneFlags(set, true),
      uid: plan.user,
      gid: plan.group,
      clearGroups: explicit && plan.setgroups === "allow",
      ...sessionRequest(o, stdioDefault, o.root !== undefined),
      ...ns,
      ...processRequest(o),
      cwd: workingDirectory(file, o, o.root !== undefined, ownView),
      hostname: o.hostname,
      precheck: ownView,
      sharedVm: keepsIds(plan, id),
      lock: built ? lockMaps(plan.uid, plan.gid) : undefined,
    },
  };
}

/**
 * The user-mode network of `network: "pasta" | "slirp4netns"`, planned
 * before anything is cloned: a missing helper fails here.
 *
 * @param o the options, with the sandbox's
 * @returns the plan, or undefined for the other modes
 */
export function networkPlan(o: UsernsCommandOptions): NetworkPlan | undefined {
  return planNetwork({
    network: o.network,
    publish: o.publish,
    allowHostLoopback: o.allowHostLoopback,
    onWarning: o.onWarning,
  });
}

/**
 * Binds the resolv.conf of a user-mode network over /etc/resolv.conf: the
 * host's may name a resolver on its loopback, which the namespace cannot
 * reach. The file is written here and removed once the child has bound it
 * (see `Prepared.resolvConf`); without a mount namespace, nothing is bound.
 *
 * @param prepared the spawn's plan, with its network
 */
export function bindResolvConf(prepared: Prepared): void {
  const net = prepared.network!;
  if (!prepared.request.cloneFlags || !prepared.request.mounts) return;
  let host = "";
  try {
    host = Deno.readTextFileSync("/etc/resolv.conf");
  } catch {
    // none: the search domains are left out
  }
  const file = Deno.makeTempFileSync({ prefix: "userns-resolv-" });
  try {
    Deno.writeTextFileSync(file, resolvConf(net.nameserver, host));
    Deno.chmodSync(file, 0o644); // any inside user resolves names
  } catch (e) {
    Deno.removeSync(file);
    throw e;
  }
  prepared.resolvConf = file;
  prepared.request = {
    ...prepared.request,
    mounts: [...prepared.request.mounts, resolvConfOp(file)],
  };
}

/**
 * Whether the inside user and group map to the caller's own ids, so that the
 * child's switch to them changes nothing the kernel tracks: then the child
 * may run in this process's memory until it executes (c/child.c, c/region.c).
 */
function keepsIds(plan: IdMapPlan, id: Identity): boolean {
  return outsideOf(plan.uid, plan.user) === id.uid &&
    outsideOf(plan.gid, plan.group) === id.gid;
}

function outsideOf(map: IdMapping[], inside: number): number | undefined {
  const m = map.find((m) => inside >= m.inner && inside - m.inner < m.count);
  return m && m.outer + (inside - m.inner);
}

/**
 * The stdio and session part of a native request, the same for `run` and
 * `enter`: stdin inherits by default, `ctty` implies `setsid`, and so does
 * `isolated` unless `ctty` is given alone (then the caller's session and
 * terminal are kept, as they were): a command under a new root, or in
 * another user's namespaces, must not hold the caller's terminal as its
 * controlling one, from which it could push input into the caller's shell
 * (TIOCSTI).
 *
 * @param o the options
 * @param stdioDefault the default of stdout and stderr
 * @param isolated a new session unless `ctty` says otherwise
 * @returns the request's stdio, setsid and ctty
 */
export function sessionRequest(
  o: Pick<
    UsernsCommandOptions,
    "stdin" | "stdout" | "stderr" | "setsid" | "ctty"
  >,
  stdioDefault: StdioMode,
  isolated = false,
): Pick<SpawnRequest, "stdio" | "setsid" | "ctty"> {
  // `ctty` alone where a new session is the default keeps the caller's
  // session and terminal, as before; with `setsid`, it takes the terminal.
  const keep = isolated && o.ctty && !o.setsid;
  return {
    stdio: [
      o.stdin ?? "inherit",
      o.stdout ?? stdioDefault,
      o.stderr ?? stdioDefault,
    ],
    setsid: !keep && !!(o.setsid || o.ctty || isolated),
    ctty: !keep && !!o.ctty,
  };
}

/**
 * Resolves a path against the caller's directory.
 *
 * @param p the path, or a `file:` URL
 * @returns the absolute path
 */
export function absolute(p: string | URL): string {
  const s = pathFromUrl(p, "root");
  return s.startsWith("/") ? s : `${Deno.cwd()}/${s}`;
}
