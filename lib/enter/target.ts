/**
 * The process whose namespaces `enter` (and a pod's command) joins: which
 * of them differ from the caller's, in the order they are joined, and the
 * checks before any is: it runs, is not traced, is dumpable, and is in
 * another user namespace. Its start time goes with it, so that a pid reused
 * meanwhile is never joined.
 *
 * @module
 */
import type { Namespace } from "../command/namespaces.ts";
import { UsernsError } from "../errors/errors.ts";
import { CloneFlag } from "../../ffi/linux.ts";
import {
  type NS_NAMES,
  type ProcessId,
  processId,
  readProcFile,
} from "../../ffi/process.ts";
import type { JoinTarget } from "../../ffi/request.ts";

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

/**
 * The clone(2) flags of namespaces named as {@link ORDER} names them.
 *
 * @param names the namespaces
 * @returns the flags
 */
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
 *
 * @param pid the process
 * @param wanted the namespaces asked for, as {@link ORDER} names them
 * @returns the target: pid, start time, the flags of what to join
 * @throws {UsernsError} PROC_READ when it cannot be inspected;
 * INVALID_ARGUMENT when it is traced, not dumpable, or in the caller's own
 * user namespace
 */
export function joinTarget(pid: number, wanted: Set<string>): JoinTarget {
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

/**
 * The setgroups policy of a process's user namespace.
 *
 * @param pid the process
 * @returns `allow` or `deny` (`deny` when it cannot be read)
 */
export function readSetgroups(pid: number): string {
  const text = readProcFile(`/proc/${pid}/setgroups`);
  return typeof text === "string" ? text.trim() : "deny";
}
