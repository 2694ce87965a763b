/**
 * The native request of a command that joins the namespaces of a running
 * process ({@link joinRequest}), then creates new ones on top: what `enter`
 * and a pod's commands spawn.
 *
 * @module
 */
import { cloneFlags, type Namespace } from "../command/namespaces.ts";
import type { UsernsCommandOptions } from "../command/options.ts";
import {
  environment,
  namespaceRequest,
  type Prepared,
  processRequest,
  sessionRequest,
  workingDirectory,
} from "../command/prepare.ts";
import { pathFromUrl } from "../check/file_url.ts";
import type { IdMapping } from "../idmap/rules.ts";
import { lockMaps } from "../mounts/lock.ts";
import { CloneFlag } from "../../ffi/linux.ts";
import type { JoinTarget, StdioMode } from "../../ffi/request.ts";

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
  }, (o.user ?? 0) === 0);
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
