/**
 * Pods: named, long-lived namespaces, held by a tiny `userns-pause` process
 * (the library's own program, not a runtime), as podman holds its rootless
 * namespace. A command spawned into a pod joins its namespaces in the child
 * (setns), so it runs no map helper: it costs about a plain spawn.
 *
 * @module
 */
import { checkCommandOptions } from "../command/check.ts";
import type { UsernsCommand } from "../command/command.ts";
import type { IdMapping } from "../idmap/rules.ts";
import { PodCommand, type PodCommandOptions } from "./command.ts";
export type { PodCommandOptions } from "./command.ts";
import { type PodOptions, startHolder } from "./holder.ts";
export type { PodOptions } from "./holder.ts";
import {
  checkName,
  claimName,
  findPod,
  forgetPod,
  isAlive,
  type PodRecord,
  sweep,
} from "./state.ts";
import { stateDir } from "./state_dir.ts";
import { stopPodNetwork } from "../net/pod.ts";
import { listProcDir, signalProcess, usernsOf } from "../../ffi/process.ts";
import * as libc from "../../ffi/libc.ts";

/** A live pod, as {@link UsernsPod.list} and `userns ls --json` show it. */
export interface PodInfo {
  /** Its name. */
  name: string;
  /** The holder's host pid. */
  pid: number;
  /** The namespaces it holds. */
  namespaces: string[];
  /** Its uid map. */
  uid: IdMapping[];
  /** Its gid map. */
  gid: IdMapping[];
  /** Processes in its user namespace, the holder included. */
  processes: number;
  /** When it was started (ISO 8601). */
  created: string;
}

/** What {@link UsernsPod.stop} left. */
export interface PodStopped {
  /** Processes still in its namespaces (none when it had a pid namespace). */
  remaining: number;
}

/** Processes per user namespace inode, from /proc. */
function processesByUserns(): Map<number, number[]> {
  const by = new Map<number, number[]>();
  for (const name of listProcDir("/proc") ?? []) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const userns = usernsOf(pid);
    if (userns === undefined) continue;
    const list = by.get(userns);
    if (list) list.push(pid);
    else by.set(userns, [pid]);
  }
  return by;
}

/**
 * A pod: a set of namespaces held by its `userns-pause` process.
 *
 * @example Usage
 * ```ts ignore
 * import { UsernsPod } from "./pod.ts";
 * await using pod = await UsernsPod.start({ name: "build" });
 * await pod.command("sh", { args: ["-c", "mount -t tmpfs t /mnt"] }).output();
 * await pod.command("ls", { args: ["/mnt"] }).output(); // the tmpfs is there
 * ```
 */
export class UsernsPod implements AsyncDisposable {
  /** Its name. */
  readonly name: string;
  /** The holder's host pid. */
  readonly pid: number;
  readonly #record: PodRecord;

  private constructor(record: PodRecord) {
    this.name = record.name;
    this.pid = record.pid;
    this.#record = record;
  }

  /**
   * Starts a pod and returns once it is ready and recorded.
   *
   * @param options its name, maps and namespaces
   * @returns the pod
   * @throws {UsernsError} POD_EXISTS when a live pod has the name; POD_STATE
   * when the state directory cannot be used; the errors of a spawn
   * @throws {UsernsTypeError} {UsernsRangeError} INVALID_ARGUMENT for
   * options a command would refuse (see `checkCommandOptions()`)
   */
  static async start(options: PodOptions = {}): Promise<UsernsPod> {
    checkCommandOptions(options);
    const name = options.name ?? `pod-${crypto.randomUUID().slice(0, 8)}`;
    checkName(name);
    const dir = stateDir(true)!;
    sweep(dir);
    claimName(dir, name);
    try {
      return new UsernsPod(await startHolder(dir, name, options));
    } catch (e) {
      forgetPod(name);
      throw e;
    }
  }

  /**
   * Attaches to a live pod, as one that `userns start` made.
   *
   * @param name the pod
   * @returns the pod
   * @throws {UsernsError} POD_NOT_FOUND when there is no such live pod
   */
  static open(name: string): UsernsPod {
    return new UsernsPod(findPod(name));
  }

  /**
   * The caller's live pods (dead ones are forgotten on the way).
   *
   * @returns them, by name
   */
  static list(): PodInfo[] {
    const dir = stateDir(false);
    if (!dir) return [];
    const live = sweep(dir);
    const by = live.length ? processesByUserns() : new Map();
    return live.map((r) => ({
      name: r.name,
      pid: r.pid,
      namespaces: r.namespaces,
      uid: r.uid,
      gid: r.gid,
      processes: by.get(r.userns)?.length ?? 0,
      created: r.created,
    }));
  }

  /** The namespaces it holds: user, mount, and those it was started with. */
  get namespaces(): readonly string[] {
    return this.#record.namespaces;
  }

  /**
   * A command that runs inside the pod: it joins every namespace the pod
   * holds (no map helper runs), then creates the namespaces, mounts and
   * root it asks for on top of them.
   *
   * @param command the program
   * @param options as a {@link UsernsCommand}'s, without maps
   * @returns the command
   */
  command(
    command: string | URL,
    options: PodCommandOptions = {},
  ): UsernsCommand {
    return new PodCommand(this.#record, command, options);
  }

  /**
   * Stops the pod: kills its holder (and with it every process of its pid
   * namespace, when it has one) and forgets it.
   *
   * @returns how many processes still run in its other namespaces
   */
  async stop(): Promise<PodStopped> {
    const rec = this.#record;
    const pin = pinUserns(rec);
    try {
      signalProcess(rec.pid, 9, () => isAlive(rec));
      for (let i = 0; i < 500 && isAlive(rec); i++) await delay(10);
      const dir = stateDir(false);
      if (dir) await stopPodNetwork(rec.net, { dir, name: rec.name });
      forgetPod(rec);
      if (!pin) return { remaining: 0 };
      const hasPid = rec.namespaces.includes("pid");
      for (let i = 0; hasPid && i < 200 && remaining(rec) > 0; i++) {
        await delay(10);
      }
      return { remaining: remaining(rec) };
    } finally {
      if (pin?.fd !== undefined) libc.closeFd(pin.fd);
    }
  }

  /** Stops the pod. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Holds the pod's user namespace open while its processes are counted by
 * its inode: once the last process of a namespace is gone, the kernel may
 * give its inode number to a new one, whose processes would be counted.
 *
 * It is opened through a process found in it, not through the holder: a
 * process of the pod may have moved the holder into a nested namespace.
 * What is opened is the pod's namespace when it has the recorded inode and
 * the holder (pid and start time) still runs after the open: while the
 * holder runs, so does the pod's namespace (the holder's own, or an
 * ancestor of it: a process can only move into namespaces nested in its
 * own), and no other namespace can have its inode.
 *
 * @returns `{ fd }`, the namespace held; `{}` when its processes could not
 * be opened (not dumpable: counted unpinned); undefined when there is
 * nothing to count: the holder has ended, or no process is left in the
 * namespace (the holder moved out of it, and only the holder let anyone
 * in)
 */
function pinUserns(rec: PodRecord): { fd?: number } | undefined {
  if (!isAlive(rec)) return undefined;
  const inside = processesByUserns().get(rec.userns) ?? [];
  for (const pid of inside) {
    const fd = libc.openAt(
      libc.AT.FDCWD,
      `/proc/${pid}/ns/user`,
      libc.O.RDONLY | libc.O.CLOEXEC,
    );
    if (fd < 0) continue;
    const st = libc.fstat(fd);
    const ours = typeof st !== "number" && st.ino === BigInt(rec.userns);
    if (ours && isAlive(rec)) return { fd };
    libc.closeFd(fd);
  }
  return inside.length > 0 && isAlive(rec) ? {} : undefined;
}

function remaining(rec: PodRecord): number {
  return processesByUserns().get(rec.userns)?.length ?? 0;
}
