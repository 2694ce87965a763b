/**
 * userns's own denylist: the part of `--seccomp default` that is userns's,
 * in the same JSON format as any profile. Where podman's profile is
 * installed it is stacked on top of that profile (a second filter: the
 * kernel runs both and the stricter answer wins); elsewhere it is the whole
 * of `default`. Everything not listed is allowed.
 *
 * | denied | why |
 * | --- | --- |
 * | `add_key`, `keyctl`, `request_key` | the kernel keyrings are not isolated per container (Docker and Flatpak deny them; podman's profile allows `keyctl`) |
 * | `bpf`, `perf_event_open` | in-kernel programs and performance counters: a large attack surface and kernel address leaks; their privileged uses need capabilities of the host's namespace anyway |
 * | `userfaultfd` | used to stretch race windows in kernel exploits (Docker denies it) |
 * | `io_uring_setup`, `io_uring_enter`, `io_uring_register` | its operations bypass seccomp altogether, and it has had many kernel bugs (Docker and ChromeOS deny it) |
 * | `kexec_load`, `kexec_file_load`, `init_module`, `finit_module`, `delete_module`, `create_module`, `query_module` | the host's kernel and modules: never allowed in a user namespace, now refused by the filter too |
 * | `acct`, `swapon`, `swapoff`, `iopl`, `ioperm`, `lookup_dcookie`, `nfsservctl`, `uselib`, `vm86`, `vm86old`, `open_by_handle_at` | host administration or obsolete: only the host's root may use them (`open_by_handle_at` is the "shocker" escape) |
 * | `ioctl` `TIOCSTI`, `TIOCLINUX` | pushing keystrokes into a terminal (bwrap CVE-2017-5226) and its console-selection twin (CVE-2023-1523); compared on the low 32 bits, as the kernel reads the command |
 *
 * The system calls fail with ENOSYS, as podman's profile refuses what it
 * does not list, so that programs take their "not available" path (runc,
 * for one, ignores ENOSYS from `keyctl`); the ioctls fail with EPERM.
 *
 * @module
 */
import type { SeccompProfile } from "./_types.ts";

const ENOSYS = 38;
const EPERM = 1;
/** `<asm-generic/ioctls.h>`: every architecture Deno runs on. */
const TIOCSTI = 0x5412;
const TIOCLINUX = 0x541c;

const denyIoctl = (cmd: number) => ({
  names: ["ioctl"],
  action: "SCMP_ACT_ERRNO",
  errnoRet: EPERM,
  args: [{
    index: 1,
    value: 0xffffffff,
    valueTwo: cmd,
    op: "SCMP_CMP_MASKED_EQ",
  }],
});

function deepFreeze<T>(v: T): T {
  if (typeof v === "object" && v !== null) {
    Object.values(v).forEach(deepFreeze);
    Object.freeze(v);
  }
  return v;
}

/** The denylist, as a profile (frozen). */
export const DENYLIST: SeccompProfile = deepFreeze({
  defaultAction: "SCMP_ACT_ALLOW",
  // The 32-bit system calls of each 64-bit architecture too: a 32-bit
  // program has other numbers for the same calls.
  archMap: [
    {
      architecture: "SCMP_ARCH_X86_64",
      subArchitectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    },
    { architecture: "SCMP_ARCH_AARCH64", subArchitectures: ["SCMP_ARCH_ARM"] },
  ],
  syscalls: [
    {
      names: [
        "add_key",
        "keyctl",
        "request_key",
        "bpf",
        "perf_event_open",
        "userfaultfd",
        "io_uring_setup",
        "io_uring_enter",
        "io_uring_register",
        "kexec_load",
        "kexec_file_load",
        "init_module",
        "finit_module",
        "delete_module",
        "create_module",
        "query_module",
        "acct",
        "swapon",
        "swapoff",
        "iopl",
        "ioperm",
        "lookup_dcookie",
        "nfsservctl",
        "uselib",
        "vm86",
        "vm86old",
        "open_by_handle_at",
      ],
      action: "SCMP_ACT_ERRNO",
      errnoRet: ENOSYS,
    },
    denyIoctl(TIOCSTI),
    denyIoctl(TIOCLINUX),
  ],
});
