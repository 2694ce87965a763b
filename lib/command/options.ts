/**
 * The options of {@link UsernsCommand}, shaped like `Deno.CommandOptions`:
 * what a caller may pass, each with its default. How they are checked is
 * `check.ts` (ours) and `check_deno.ts` (those `Deno.Command` has too); how
 * they become a request for the native side, `prepare.ts`.
 *
 * @module
 */
import type { MapMode } from "../idmap/plan.ts";
import type { IdMapping } from "../idmap/rules.ts";
import type { Mount } from "../mounts/ops.ts";
import type { StdioMode } from "../../ffi/request.ts";
import type { Namespace } from "./namespaces.ts";
import type { RlimitName, RlimitValue } from "./rlimits.ts";
import type { SeccompProfile } from "../sandbox/seccomp.ts";
import type { NetworkMode, PublishedPort } from "../net/options.ts";

/** The default of `helperTimeout`: how long newuidmap and newgidmap may
 * take, in ms. */
export const HELPER_TIMEOUT_MS = 10_000;

/** Options of {@link UsernsCommand}, shaped like `Deno.CommandOptions`. */
export interface UsernsCommandOptions {
  /** Arguments after the command name. @default {[]} */
  args?: string[];
  /** Working directory; a relative one is resolved inside `root` when that is set. @default the caller's, or `/` with `root` */
  cwd?: string | URL;
  /** Variables to set in the command's environment. */
  env?: Record<string, string>;
  /** Start from an empty environment instead of the caller's. @default {false} */
  clearEnv?: boolean;
  /** fd 0. @default "inherit" for spawn(), "null" for output() */
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
  /** Inside uid to run as. @default 0, or the own uid with `map: "current"` or `"subids"` */
  user?: number;
  /** Inside gid to run as. @default 0, or the own gid with `map: "current"` or `"subids"` */
  group?: number;
  /** setgroups policy. @default "allow" where the kernel permits it */
  setgroups?: "allow" | "deny";
  /** More namespaces to unshare. @default {[]} */
  namespaces?: Namespace[];
  /** A new mount namespace, as `podman unshare` makes; `false` stays in the caller's. @default {true} */
  mountNamespace?: boolean;
  /** Mount propagation of the new mount namespace. @default {"slave"} */
  propagation?: "slave" | "private" | "unchanged";
  /** Mount a fresh /proc (inside `root`); implies the pid namespace. @default {false} */
  mountProc?: boolean;
  /** With a pid namespace, a minimal PID 1 (userns-init) reaps orphans and forwards signals; `false` makes the command PID 1. @default {true} */
  init?: boolean;
  /** Hostname inside; implies the uts namespace. */
  hostname?: string;
  /** Make this directory the root (pivot_root), after the mounts. */
  root?: string | URL;
  /** Mounts, applied in order; targets inside `root` when it is set. @default {[]} */
  mounts?: Mount[];
  /** Resource limits of the command, as `prlimit(1)` names them. */
  rlimits?: Partial<Record<RlimitName, RlimitValue>>;
  /** Set no_new_privs before the command runs. @default {false} */
  noNewPrivs?: boolean;
  /** Clock offsets (seconds) of a new time namespace; implies it. */
  timeOffsets?: { monotonic?: number; boottime?: number };
  /** New session. @default {false} */
  setsid?: boolean;
  /** Make stdin's terminal the controlling one; implies setsid. @default {false} */
  ctty?: boolean;
  /** Run the command on a new pseudo-terminal that userns relays to its own stdin and stdout (as `podman run -t`); stdin, stdout and stderr must then be left "inherit". @default {false} */
  tty?: boolean;
  /** A locked-down preset for running code you do not trust (see README, "Sandbox"): the host read-only, the working directory writable, fresh /tmp /dev /proc /sys, new pid, ipc, uts and network namespaces, every capability dropped, the default seccomp filter, no_new_privs, a new session, a cleared environment; each part widened by the option that names it. @default {false} */
  sandbox?: boolean;
  /** Capabilities to drop from the command's five sets, or `["ALL"]`, as capsh/bwrap name them (`CAP_SYS_ADMIN` or `sys_admin`); applied before `capAdd`. @default all kept, as podman unshare */
  capDrop?: string[];
  /** Capabilities to keep after `capDrop`. */
  capAdd?: string[];
  /** A seccomp filter installed last before the command runs: `"default"` (the containers' default profile, with userns's denylist), `"none"`, or a profile in the OCI/podman JSON format. @default {"none"}, or "default" with `sandbox` */
  seccomp?: "default" | "none" | SeccompProfile;
  /** Paths made inaccessible: an empty read-only tmpfs over a directory, /dev/null over a file (missing ones are passed over). */
  hide?: string[];
  /** The network: `"host"` (the caller's), `"none"` (a new network namespace, loopback up), `"pasta"` or `"slirp4netns"` (user-mode networking). @default {"host"}, or "none" with `sandbox` */
  network?: NetworkMode;
  /** Host ports forwarded inside, with `pasta` or `slirp4netns` (`hostIp` defaults to 127.0.0.1). */
  publish?: PublishedPort[];
  /** With `pasta` or `slirp4netns`: the host's 127.0.0.1 reachable from inside through the gateway. @default {false} */
  allowHostLoopback?: boolean;
  /** The command's OOM score adjustment (-1000..1000). */
  oomScoreAdj?: number;
  /** Fail when `auto` cannot map the subordinate ranges. @default {false} */
  strict?: boolean;
  /** Aborting kills the command (SIGTERM), or stops it before it starts. */
  signal?: AbortSignal;
  /** How long newuidmap/newgidmap may take, in ms. @default {10000} (HELPER_TIMEOUT_MS) */
  helperTimeout?: number;
  /** Called with the host pid after the maps are written, before the command runs. */
  beforeExec?: (pid: number) => void | Promise<void>;
  /** Receives the one-line fallback warning. @default printWarning: `userns: warning: ...` on stderr */
  onWarning?: (message: string) => void;
}

/**
 * The default of `onWarning`: the warning on stderr, as one line.
 *
 * @param message the warning
 */
export function printWarning(message: string): void {
  console.error(`userns: warning: ${message}`);
}
