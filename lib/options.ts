/**
 * The options of {@link UsernsCommand} and how they turn into a validated
 * map plan and a request for the native side, before anything is cloned.
 *
 * @module
 */
import { UsernsError } from "./errors.ts";
import { currentIdentity, type Identity } from "./identity.ts";
import { cached } from "./filecache.ts";
import {
  type IdMapping,
  type IdMapPlan,
  type MapMode,
  planIdMaps,
} from "./idmap.ts";
import { findHelpers, type HelperPaths } from "./mapwrite.ts";
import { rangesFor, readSubIdFileSync, type SubIdFile } from "./subid.ts";
import { CloneFlag } from "../ffi/abi.ts";
import type { SpawnRequest, StdioMode } from "../ffi/native.ts";

/** A namespace `userns` can unshare besides the user namespace. */
export type Namespace = "mount" | "pid" | "uts" | "ipc" | "net" | "cgroup";

/** Options of {@link UsernsCommand}, shaped like `Deno.CommandOptions`. */
export interface UsernsCommandOptions {
  /** Arguments after the command name. @default {[]} */
  args?: string[];
  /** Working directory; inside `root` when that is set. @default the caller's, or `/` with `root` */
  cwd?: string | URL;
  /** Variables to set in the command's environment. */
  env?: Record<string, string>;
  /** Start from an empty environment instead of the caller's. @default {false} */
  clearEnv?: boolean;
  /** fd 0. @default {"inherit"} */
  stdin?: StdioMode;
  /** fd 1. @default "inherit" for spawn(), "piped" for output() */
  stdout?: StdioMode;
  /** fd 2. @default "inherit" for spawn(), "piped" for output() */
  stderr?: StdioMode;
  /** How to map IDs when `uidMap`/`gidMap` do not say. @default {"auto"} */
  map?: MapMode;
  /** Explicit uid map lines; replace the uid side of `map`. */
  uidMap?: IdMapping[];
  /** Explicit gid map lines; replace the gid side of `map`. */
  gidMap?: IdMapping[];
  /** Inside uid to run as. @default 0, or the own uid with `map: "current"` */
  user?: number;
  /** Inside gid to run as. @default 0, or the own gid with `map: "current"` */
  group?: number;
  /** setgroups policy. @default "allow" where the kernel permits it */
  setgroups?: "allow" | "deny";
  /** More namespaces to unshare. @default {[]} */
  namespaces?: Namespace[];
  /** A new mount namespace (as `podman unshare`); `false` stays in the caller's. @default {true} */
  mountNamespace?: boolean;
  /** Mount a fresh /proc; implies the mount and pid namespaces. @default {false} */
  mountProc?: boolean;
  /** A minimal PID 1 reaps and forwards signals; implies pid. @default {false} */
  init?: boolean;
  /** Hostname inside; implies the uts namespace. */
  hostname?: string;
  /** chroot into this directory before running the command. */
  root?: string;
  /** New session. @default {false} */
  setsid?: boolean;
  /** Make stdin's terminal the controlling one; implies setsid. @default {false} */
  ctty?: boolean;
  /** The command's OOM score adjustment (-1000..1000). */
  oomScoreAdj?: number;
  /** Fail when `auto` cannot map the subordinate ranges. @default {false} */
  strict?: boolean;
  /** Aborting kills the command, or stops it before it starts. */
  signal?: AbortSignal;
  /** Called with the host pid after the maps are written, before the command runs. */
  beforeExec?: (pid: number) => void | Promise<void>;
  /** Receives the one-line fallback warning. @default prints `userns: warning: ...` on stderr */
  onWarning?: (message: string) => void;
}

/** A validated plan and native request, ready to spawn. */
export interface Prepared {
  /** The ID maps and how to write them; none when joining namespaces. */
  plan?: IdMapPlan;
  /** Where the helpers are. */
  helpers: HelperPaths;
  /** What the native side is to do. */
  request: SpawnRequest;
}

const NAMESPACES: readonly Namespace[] = [
  "mount",
  "pid",
  "uts",
  "ipc",
  "net",
  "cgroup",
];

function invalid(what: string): UsernsError {
  return new UsernsError("INVALID_ARGUMENT", what);
}

function checkId(value: number | undefined, name: string): void {
  if (
    value !== undefined &&
    !(Number.isInteger(value) && value >= 0 && value < 4294967295)
  ) {
    throw invalid(`${name} must be an id from 0 to 4294967294, got ${value}`);
  }
}

/** The ID map plan for these options, from /etc/sub{u,g}id and PATH. */
function planFor(
  o: UsernsCommandOptions,
  id: Identity,
  helpers: HelperPaths,
): IdMapPlan {
  const user = { name: id.name, uid: id.uid };
  const subuid = cached<SubIdFile>("/etc/subuid", readSubIdFileSync);
  const subgid = cached<SubIdFile>("/etc/subgid", readSubIdFileSync);
  return planIdMaps({
    mode: o.map ?? "auto",
    uidMap: o.uidMap,
    gidMap: o.gidMap,
    uid: {
      kind: "uid",
      ownId: id.uid,
      delegated: rangesFor(subuid, user),
      file: subuid.path,
    },
    gid: {
      kind: "gid",
      ownId: id.gid,
      delegated: rangesFor(subgid, user),
      file: subgid.path,
    },
    privileged: id.uid === 0,
    helpers: { newuidmap: !!helpers.newuidmap, newgidmap: !!helpers.newgidmap },
    strict: o.strict ?? false,
    user: o.user,
    group: o.group,
    setgroups: o.setgroups,
  });
}

function cloneFlags(o: UsernsCommandOptions): number {
  const set = new Set<Namespace>(o.namespaces ?? []);
  if (o.mountNamespace !== false) set.add("mount");
  for (const ns of set) {
    if (!NAMESPACES.includes(ns)) throw invalid(`unknown namespace "${ns}"`);
  }
  if (o.mountProc) set.add("mount").add("pid");
  if (o.init) set.add("pid");
  if (o.hostname !== undefined) set.add("uts");
  let flags = CloneFlag.user;
  for (const ns of set) flags |= CloneFlag[ns];
  return flags;
}

/**
 * The command's environment as `NAME=VALUE`, and the PATH to search.
 *
 * @param o the options
 * @param id the caller, for the `_CONTAINERS_ROOTLESS_*` variables
 * @returns the environment and the PATH
 */
export function environment(
  o: UsernsCommandOptions,
  id: Identity,
): [string[], string | undefined] {
  const env: Record<string, string> = o.clearEnv ? {} : Deno.env.toObject();
  Object.assign(env, o.env ?? {}, {
    _CONTAINERS_USERNS_CONFIGURED: "done",
    _CONTAINERS_ROOTLESS_UID: String(id.uid),
    _CONTAINERS_ROOTLESS_GID: String(id.gid),
  });
  const path = o.env?.PATH ?? Deno.env.get("PATH");
  return [Object.entries(env).map(([k, v]) => `${k}=${v}`), path];
}

/**
 * Checks the options that need no I/O.
 *
 * @param o the options
 * @throws {UsernsError} INVALID_ARGUMENT, or ABORTED for an aborted signal
 */
export function checkOptions(o: UsernsCommandOptions): void {
  checkId(o.user, "user");
  checkId(o.group, "group");
  const oom = o.oomScoreAdj;
  if (
    oom !== undefined && !(Number.isInteger(oom) && oom >= -1000 && oom <= 1000)
  ) {
    throw invalid(
      `oomScoreAdj must be an integer from -1000 to 1000, got ${oom}`,
    );
  }
  if (
    o.hostname !== undefined &&
    (o.hostname.length === 0 || o.hostname.length > 64)
  ) {
    throw invalid(`hostname must be 1 to 64 characters, got "${o.hostname}"`);
  }
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
  o: UsernsCommandOptions,
  stdioDefault: StdioMode,
): Prepared {
  checkOptions(o);
  const id = currentIdentity();
  const file = command instanceof URL ? command.pathname : command;
  const [env, path] = environment(o, id);
  const helpers = findHelpers(Deno.env.get("PATH") ?? "");
  const plan = planFor(o, id, helpers);
  const root = o.root === undefined ? undefined : absolute(o.root);
  const cwd = o.cwd === undefined
    ? (root ? "/" : undefined)
    : absolute(o.cwd, !!root);
  const explicit = o.user !== undefined || o.group !== undefined;
  return {
    plan,
    helpers,
    request: {
      file,
      argv: [file, ...(o.args ?? [])],
      env,
      path,
      cloneFlags: cloneFlags(o),
      uid: plan.user,
      gid: plan.group,
      clearGroups: explicit && plan.setgroups === "allow",
      ...sessionRequest(o, stdioDefault),
      fork: !!o.init,
      oomScoreAdj: o.oomScoreAdj,
      cwd,
      root,
      hostname: o.hostname,
      proc: o.mountProc ? `${root ?? ""}/proc` : undefined,
      sharedVm: keepsIds(plan, id),
    },
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
 * `enter`: stdin inherits by default, `ctty` implies `setsid`.
 *
 * @param o the options
 * @param stdioDefault the default of stdout and stderr
 * @returns the request's stdio, setsid and ctty
 */
export function sessionRequest(
  o: Pick<
    UsernsCommandOptions,
    "stdin" | "stdout" | "stderr" | "setsid" | "ctty"
  >,
  stdioDefault: StdioMode,
): Pick<SpawnRequest, "stdio" | "setsid" | "ctty"> {
  return {
    stdio: [
      o.stdin ?? "inherit",
      o.stdout ?? stdioDefault,
      o.stderr ?? stdioDefault,
    ],
    setsid: !!(o.setsid || o.ctty),
    ctty: !!o.ctty,
  };
}

/**
 * Resolves a path against the caller's directory, or keeps it as it is for
 * a directory inside a new root.
 *
 * @param p the path
 * @param insideRoot whether it is looked up inside the new root
 * @returns the path to use
 */
export function absolute(p: string | URL, insideRoot = false): string {
  const s = p instanceof URL ? p.pathname : p;
  if (s.startsWith("/") || insideRoot) return s;
  return `${Deno.cwd()}/${s}`;
}
