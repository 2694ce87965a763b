/**
 * A command in a pod ({@link PodCommand}), what `pod.command()` returns.
 *
 * @module
 */
import { UsernsCommand } from "../command/command.ts";
import type { UsernsCommandOptions } from "../command/options.ts";
import { namespaceSet, type Prepared } from "../command/prepare.ts";
import { sandboxProcess, withSandbox } from "../command/sandbox.ts";
import { joinRequest } from "../enter/join.ts";
import { joinFlags } from "../enter/target.ts";
import { UsernsError } from "../errors/errors.ts";
import { notRunning, type PodRecord } from "./state.ts";
import type { StdioMode } from "../../ffi/request.ts";

/** Options of a command in a pod: those of a command, without the maps. */
export type PodCommandOptions = Omit<
  UsernsCommandOptions,
  "map" | "uidMap" | "gidMap" | "setgroups" | "strict"
>;

/**
 * A command that joins a pod's namespaces: no map helper runs, the pod's
 * maps apply; namespaces, mounts and a root asked for come on top.
 */
export class PodCommand extends UsernsCommand {
  readonly #pod: PodRecord;

  /**
   * @param pod the pod's record
   * @param command the program
   * @param options as a command's, without the maps
   */
  constructor(
    pod: PodRecord,
    command: string | URL,
    options: PodCommandOptions,
  ) {
    super(command, options);
    this.#pod = pod;
  }

  /** Plans the join; see {@link UsernsCommand.prepared}. */
  protected override prepared(
    command: string | URL,
    options: UsernsCommandOptions,
    stdioDefault: StdioMode,
  ): Prepared {
    const pod = this.#pod;
    if (options.network !== undefined) {
      throw new UsernsError(
        "INVALID_ARGUMENT",
        "network cannot be given to a command in a pod: the pod's network applies (start the pod with it)",
      );
    }
    const o = withSandbox(pod.sandbox ? sandboxProcess(options) : options);
    for (const key of ["map", "uidMap", "gidMap", "setgroups"] as const) {
      if (o[key] !== undefined) {
        throw new UsernsError(
          "INVALID_ARGUMENT",
          `${key} cannot be given to a command in a pod: the pod's maps apply`,
        );
      }
    }
    const mount = o.mountNamespace ??
      (o.root !== undefined || !!o.mounts?.length || !!o.mountProc ||
        !!o.hide?.length);
    // Under a new root, a new pid namespace and /proc on top of the pod's:
    // the holder keeps the pod's mount namespace, which may have the
    // caller's root, and must be neither seen nor traced from there.
    const rooted = o.root !== undefined;
    const mounts = rooted && !o.mountProc &&
        !o.mounts?.some((m) => m.type === "proc" && m.target === "/proc")
      ? [...o.mounts ?? [], { type: "proc" as const, target: "/proc" }]
      : o.mounts;
    const fresh = namespaceSet({ ...o, mountNamespace: mount, mounts });
    const request = joinRequest(
      command,
      // Its holder's pid could be another process's by now: the native
      // side opens a pidfd, then checks the start time, and never joins
      // another process.
      {
        pid: pod.pid,
        start: pod.start,
        flags: joinFlags(pod.namespaces),
        gone: () => notRunning(pod),
      },
      { ...o, mounts },
      stdioDefault,
      pod.setgroups === "allow",
      // A pod with a root of its own is a sandbox as `run --root` is: its
      // commands get no controlling terminal to push input into yours.
      { fresh, maps: pod, isolated: pod.isolated },
    );
    request.precheck = false;
    // A sandbox's environment holds only what it keeps (see environment()
    // in prepare.ts, which knows `sandbox` but not a sandboxed pod's).
    if (pod.sandbox) {
      request.env = Object.fromEntries(
        Object.entries(request.env).filter(([k]) =>
          !k.startsWith("_CONTAINERS_") || o.env?.[k] !== undefined
        ),
      );
    }
    return { helpers: {}, request };
  }
}
