/**
 * Linux's own numbers that a spawn request carries to the native side, as
 * the kernel's headers define them (the generic table: x86, arm, riscv).
 * The library's own numbers are in `abi.ts`, generated from `c/userns.h`;
 * errno numbers in `lib/errors/errno.ts`.
 *
 * @module
 */

/** clone(2) namespace flags (CLONE_NEW*). */
export const CloneFlag = {
  mount: 0x00020000,
  uts: 0x04000000,
  ipc: 0x08000000,
  user: 0x10000000,
  pid: 0x20000000,
  net: 0x40000000,
  cgroup: 0x02000000,
  time: 0x00000080,
} as const;

/** mount(2) flags: propagation of the new mount namespace. */
export const MS = {
  PRIVATE: 0x40000,
  SLAVE: 0x80000,
} as const;

/** MOUNT_ATTR_* flags of a new file system's mount (fsmount(2)). */
export const MountAttr = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
} as const;
