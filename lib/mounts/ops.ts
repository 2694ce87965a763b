/**
 * The mounts of a command's new mount namespace (`mounts`, `mountProc`, and
 * the CLI's `--bind`, `--ro-bind`, `--tmpfs`, `--dev`, `--proc`), turned
 * into the primitive operations `c/mounts.c` runs in order: bind, mount a
 * file system, make a symbolic link. Pure, but for the stat() of bind
 * sources, which tells whether a missing target is a directory or a file.
 *
 * @module
 */
import { UsernsError } from "../errors/errors.ts";
import { MountFlag } from "../../ffi/abi.ts";
import { MountAttr } from "../../ffi/linux.ts";
import type { MountOp } from "../../ffi/request.ts";

/** One mount of the `mounts` option, applied in order. */
export type Mount =
  | {
    /** Bind the host path `source` at `target`. */
    type: "bind";
    /** A path in the caller's view. */
    source: string;
    /** Inside the new root when `root` is set. */
    target: string;
    /** Read-only, recursively: writing gives EROFS. @default {false} */
    readonly?: boolean;
  }
  | {
    /** A fresh tmpfs at `target`. */
    type: "tmpfs";
    /** Where. */
    target: string;
    /** Its size: bytes, or a tmpfs size such as `"64m"` or `"50%"`. */
    size?: number | string;
  }
  | {
    /** A minimal /dev at `target`, as `bwrap --dev`. */
    type: "dev";
    /** Where. */
    target: string;
  }
  | {
    /** A fresh proc at `target` (needs a pid namespace of its own). */
    type: "proc";
    /** Where. */
    target: string;
  };

/** A primitive operation with what to call it in a message. */
export type LabeledOp = MountOp & {
  /** The mount it comes from, e.g. `bind /a on /b`. */
  label: string;
};

/** The host devices `--dev` binds, as bwrap does. */
const DEVICES = ["null", "zero", "full", "random", "urandom", "tty"];

/** The links `--dev` makes: name, link text. */
const DEV_LINKS: [string, string][] = [
  ["ptmx", "pts/ptmx"],
  ["fd", "/proc/self/fd"],
  ["stdin", "/proc/self/fd/0"],
  ["stdout", "/proc/self/fd/1"],
  ["stderr", "/proc/self/fd/2"],
];

const join = (dir: string, name: string) =>
  dir.endsWith("/") ? dir + name : `${dir}/${name}`;

/** Whether the bind source is a directory; a missing one is named. */
function sourceIsDir(source: string): boolean {
  try {
    return Deno.statSync(source).isDirectory;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new UsernsError(
        "INVALID_ARGUMENT",
        `cannot bind-mount ${source}: it does not exist`,
        {
          hint: "check the source path (it is looked up outside the new root)",
        },
      );
    }
    return true; // not readable here: the child's open_tree() says why
  }
}

function tmpfs(target: string, data: string, label: string): LabeledOp {
  return {
    kind: "fs",
    a: "tmpfs",
    target,
    data,
    ms: MountAttr.NOSUID | MountAttr.NODEV,
    flags: MountFlag.MKDIR,
    label,
  };
}

function dev(target: string): LabeledOp[] {
  const label = `set up a /dev on ${target}`;
  const ops: LabeledOp[] = [tmpfs(target, "mode=0755", label)];
  for (const name of DEVICES) {
    ops.push({
      kind: "bind",
      a: `/dev/${name}`,
      target: join(target, name),
      flags: MountFlag.MKFILE,
      label: `${label} (bind /dev/${name})`,
    });
  }
  ops.push({
    kind: "fs",
    a: "devpts",
    target: join(target, "pts"),
    data: "newinstance,ptmxmode=0666,mode=620",
    ms: MountAttr.NOSUID | MountAttr.NOEXEC,
    flags: MountFlag.MKDIR,
    label: `${label} (pts)`,
  });
  ops.push(tmpfs(join(target, "shm"), "mode=1777", `${label} (shm)`));
  for (const [name, text] of DEV_LINKS) {
    ops.push({ kind: "symlink", a: text, target: join(target, name), label });
  }
  return ops;
}

function proc(target: string, create: boolean, label: string): LabeledOp {
  return {
    kind: "fs",
    a: "proc",
    target,
    ms: MountAttr.NOSUID | MountAttr.NODEV | MountAttr.NOEXEC,
    flags: create ? MountFlag.MKDIR : 0,
    label,
  };
}

/**
 * The primitive operations for `mounts`, then `mountProc`.
 *
 * @param mounts the mounts, in order (targets absolute, checked before)
 * @param mountProc mount a fresh proc at /proc last, whose mount point must
 * exist (a missing one is an error that names it, not created)
 * @returns the operations, in order
 * @throws {UsernsError} INVALID_ARGUMENT for a bind source that does not exist
 */
export function mountOps(
  mounts: readonly Mount[],
  mountProc: boolean,
): LabeledOp[] {
  const ops: LabeledOp[] = [];
  for (const m of mounts) {
    if (m.type === "bind") {
      const dir = sourceIsDir(m.source);
      ops.push({
        kind: "bind",
        a: m.source,
        target: m.target,
        flags: (m.readonly ? MountFlag.RDONLY : 0) |
          (dir ? MountFlag.MKDIR : MountFlag.MKFILE),
        label: `bind-mount ${m.source}${
          m.readonly ? " read-only" : ""
        } on ${m.target}`,
      });
    } else if (m.type === "tmpfs") {
      const size = m.size === undefined ? "" : `,size=${m.size}`;
      ops.push(
        tmpfs(m.target, `mode=0755${size}`, `mount a tmpfs on ${m.target}`),
      );
    } else if (m.type === "dev") {
      ops.push(...dev(m.target));
    } else {
      ops.push(proc(m.target, true, `mount a proc on ${m.target}`));
    }
  }
  if (mountProc) ops.push(proc("/proc", false, "mount a proc on /proc"));
  return ops;
}

/**
 * A fresh sysfs at `target`, read-only: with a network namespace of the
 * command's own, `/sys/class/net` then lists only its interfaces. The
 * kernel mounts one only for a network namespace the command's user
 * namespace owns: one made where the mounts are locked (`late`) gets its
 * sysfs there too, after the lock, over one of the outer namespace's that
 * is locked, so that unmounting it reveals nothing of the host's (an
 * empty tmpfs there would hide the sysfs below, and the kernel mounts a
 * sysfs in a user namespace only where one is fully visible).
 *
 * @param target where, inside the root
 * @param late the network namespace is made where the mounts are locked
 * @returns the operations, in order
 */
export function sysfsOps(target = "/sys", late = false): LabeledOp[] {
  const ms = MountAttr.RDONLY | MountAttr.NOSUID | MountAttr.NODEV |
    MountAttr.NOEXEC;
  const sysfs: LabeledOp = {
    kind: "fs",
    a: "sysfs",
    target,
    ms,
    flags: MountFlag.MKDIR | (late ? MountFlag.LATE : 0),
    label: `mount a sysfs on ${target}`,
  };
  return late ? [{ ...sysfs, flags: MountFlag.MKDIR }, sysfs] : [sysfs];
}

/**
 * The operations of `hide`: an empty read-only tmpfs over a directory,
 * `/dev/null` bound read-only over anything else; a path that does not
 * exist has nothing to hide and is passed over.
 *
 * @param paths the paths, absolute, inside the new root
 * @param root the new root, where the kind of each path is looked up
 * @returns the operations, in order
 */
export function hideOps(
  paths: readonly string[],
  root: string | undefined,
): LabeledOp[] {
  const ops: LabeledOp[] = [];
  const base = root === undefined || root === "/" ? "" : root;
  for (const target of paths) {
    let dir: boolean;
    try {
      dir = Deno.statSync(base + target).isDirectory;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) continue;
      dir = false; // not for us to see: the child resolves it
    }
    ops.push(
      dir
        ? {
          kind: "fs",
          a: "tmpfs",
          target,
          data: "mode=0,size=4k",
          ms: MountAttr.RDONLY | MountAttr.NOSUID | MountAttr.NODEV |
            MountAttr.NOEXEC,
          label: `hide ${target}`,
        }
        : {
          kind: "bind",
          a: "/dev/null",
          target,
          flags: MountFlag.RDONLY,
          label: `hide ${target}`,
        },
    );
  }
  return ops;
}

/**
 * `/etc/resolv.conf` of a user-mode network: the file written for it,
 * bound read-only (a missing mount point is created inside a root).
 *
 * @param source the file
 * @returns the operation
 */
export function resolvConfOp(source: string): LabeledOp {
  return {
    kind: "bind",
    a: source,
    target: "/etc/resolv.conf",
    flags: MountFlag.RDONLY | MountFlag.MKFILE,
    label: "bind the network's resolv.conf on /etc/resolv.conf",
  };
}
