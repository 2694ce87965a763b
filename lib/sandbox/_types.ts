/**
 * The types of the OCI/podman seccomp profile format, and of the plan of
 * libseccomp calls `_profile.ts` makes of a profile.
 *
 * @module
 */

/** One argument condition of a profile entry. */
export interface SeccompArg {
  /** The argument, 0 to 5. */
  index: number;
  /** The operand (the mask for `SCMP_CMP_MASKED_EQ`). */
  value: number | bigint;
  /** The second operand (the value for `SCMP_CMP_MASKED_EQ`). */
  valueTwo?: number | bigint;
  /** `SCMP_CMP_EQ`, `_NE`, `_LT`, `_LE`, `_GE`, `_GT` or `_MASKED_EQ`. */
  op: string;
}

/** When an entry applies. */
export interface SeccompCondition {
  /** Capabilities (`CAP_SYS_ADMIN`) the command must (not) have. */
  caps?: string[];
  /** Architectures, as Go names them (`amd64`, `arm64`, `s390x`). */
  arches?: string[];
  /** A kernel version, `MAJOR.MINOR`. */
  minKernel?: string;
}

/** One entry of `syscalls`. */
export interface SeccompSyscall {
  /** The system calls; names libseccomp does not know are skipped. */
  names?: string[];
  /** One system call (the older form; not with `names`). */
  name?: string;
  /** `SCMP_ACT_ALLOW`, `_ERRNO`, `_KILL`, `_KILL_PROCESS`, `_KILL_THREAD`,
   * `_TRAP`, `_TRACE` or `_LOG`. */
  action: string;
  /** The errno of `SCMP_ACT_ERRNO`, the data of `SCMP_ACT_TRACE`.
   * @default {1} EPERM */
  errnoRet?: number;
  /** Conditions on the arguments, all of which must hold. */
  args?: SeccompArg[] | null;
  /** The entry applies only when all of these hold. */
  includes?: SeccompCondition;
  /** The entry does not apply when any of these holds. */
  excludes?: SeccompCondition;
  /** Free text. */
  comment?: string;
}

/** A seccomp profile in the format podman and Docker read. */
export interface SeccompProfile {
  /** The action for system calls no entry names. */
  defaultAction: string;
  /** The errno of a `SCMP_ACT_ERRNO` default action. @default {1} EPERM */
  defaultErrnoRet?: number;
  /** Architectures (`SCMP_ARCH_X86`) to filter besides the native one. */
  architectures?: string[] | null;
  /** Per native architecture, the others to filter (not with
   * `architectures`). */
  archMap?:
    | { architecture: string; subArchitectures?: string[] | null }[]
    | null;
  /** The entries, in order. */
  syscalls?: SeccompSyscall[] | null;
}

/** What the plan depends on besides the profile and the capabilities. */
export interface Host {
  /** Go's name of the native architecture: `amd64`, `arm64`. */
  goArch: string;
  /** libseccomp's: `SCMP_ARCH_X86_64`. */
  scmpArch: string;
  /** The running kernel's `[major, minor]`, asked only when needed. */
  kernel: () => [number, number];
}

/** An architecture to add, with where the profile names it. */
export interface PlanArch {
  /** libseccomp's own name (`x86`), for `seccomp_arch_resolve_name`. */
  name: string;
  /** As the profile writes it. */
  written: string;
  /** Where: `archMap[0].subArchitectures[1]`. */
  path: string;
}

/** A `struct scmp_arg_cmp`. */
export interface PlanCond {
  arg: number;
  op: number;
  a: bigint;
  b: bigint;
}

/** One `seccomp_rule_add_array` call (or one per condition: `split`). */
export interface PlanRule {
  /** The entry, for errors: `syscalls[3]`. */
  path: string;
  name: string;
  action: number;
  conds: PlanCond[];
  split: boolean;
}

/** The libseccomp calls a profile stands for. */
export interface SeccompPlan {
  defaultAction: number;
  arches: PlanArch[];
  rules: PlanRule[];
}

/** The compare operators, as `enum scmp_compare` numbers them. */
export const OPS: Readonly<Record<string, number>> = {
  SCMP_CMP_NE: 1,
  SCMP_CMP_LT: 2,
  SCMP_CMP_LE: 3,
  SCMP_CMP_EQ: 4,
  SCMP_CMP_GE: 5,
  SCMP_CMP_GT: 6,
  SCMP_CMP_MASKED_EQ: 7,
};

/** The actions, as `<seccomp.h>` encodes them (without their data). */
export const ACTIONS: Readonly<Record<string, number>> = {
  SCMP_ACT_KILL: 0x00000000,
  SCMP_ACT_KILL_THREAD: 0x00000000,
  SCMP_ACT_KILL_PROCESS: 0x80000000,
  SCMP_ACT_TRAP: 0x00030000,
  SCMP_ACT_ERRNO: 0x00050000,
  SCMP_ACT_TRACE: 0x7ff00000,
  SCMP_ACT_LOG: 0x7ffc0000,
  SCMP_ACT_ALLOW: 0x7fff0000,
};
