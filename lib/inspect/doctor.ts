/**
 * `userns doctor`: checks, one by one, what an `auto` namespace needs, and
 * says what to do about each thing that is missing.
 *
 * @module
 */
import { readProcFile } from "../../ffi/process.ts";
import { errnoName } from "../errors/errno.ts";
import { UsernsCommand } from "../command/command.ts";
import { isUsernsError } from "../errors/errors.ts";
import { currentIdentity, type Identity } from "../system/identity.ts";
import { parseIdMap } from "../idmap/rules.ts";
import { formatCompactMap } from "./ps.ts";
import {
  type CheckEnv,
  type DoctorCheck,
  helper,
  noNewPrivs,
  primaryGroup,
  readText,
  subordinateIds,
  userNamespaces,
  verdict,
} from "./doctor_checks.ts";

import { networkChecks } from "../net/doctor.ts";
export type { DoctorCheck, DoctorStatus } from "./doctor_checks.ts";

type Check = (
  env: CheckEnv,
  name: string,
) => DoctorCheck | Promise<DoctorCheck>;

/** Inputs {@link runDoctor} reads, to point it elsewhere in tests. */
export interface DoctorEnv {
  /** PATH to search for the helpers. @default the PATH variable */
  path?: string;
  /** The subuid file. @default "/etc/subuid" */
  subuid?: string;
  /** The subgid file. @default "/etc/subgid" */
  subgid?: string;
  /** Whose set-up to check. @default the caller's */
  identity?: Identity;
  /** The proc file system holding `sys/` and `self/`. @default "/proc" */
  proc?: string;
}

/** Whether a path exists. */
function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The caller's AppArmor label, e.g. `unconfined` or `userns (unconfined)`. */
function apparmorLabel(proc: string): string {
  // Older kernels have only attr/current; without an LSM, neither.
  for (const file of ["attr/apparmor/current", "attr/current"]) {
    const text = readProcFile(`${proc}/self/${file}`);
    if (typeof text === "string") return text.trim();
  }
  return "unconfined";
}

/** The /etc/apparmor.d file that names `label` and allows `userns,`. */
function allowingProfile(label: string): string | undefined {
  if (!exists("/etc/apparmor.d")) return undefined;
  for (const entry of Deno.readDirSync("/etc/apparmor.d")) {
    const file = `/etc/apparmor.d/${entry.name}`;
    const text = entry.isFile ? readText(file) ?? "" : "";
    if (text.includes(label) && /^\s*userns\s*,/m.test(text)) return file;
  }
  return undefined;
}

/**
 * kernel.apparmor_restrict_unprivileged_userns, and whether the AppArmor
 * profile this process runs under allows `userns,`.
 */
function apparmor(env: CheckEnv, name: string): DoctorCheck {
  const sysctl = "kernel.apparmor_restrict_unprivileged_userns";
  const restrict = readText(`${env.proc}/sys/${sysctl.replace(".", "/")}`);
  if (restrict === undefined) {
    const on = exists("/sys/kernel/security/apparmor") ||
      exists("/sys/module/apparmor");
    return verdict(name, `${on ? "enabled" : "not enabled"}; no ${sysctl}`);
  }
  if (restrict === "0") return verdict(name, `${sysctl} = 0`);
  if (env.root) return verdict(name, `${sysctl} = ${restrict}; root is exempt`);
  const current = apparmorLabel(env.proc);
  const label = current.replace(/ \(\w+\)$/, "");
  const exe = Deno.execPath();
  const hint = `add "abi <abi/4.0>, include <tunables/global> profile userns ` +
    `${exe} flags=(unconfined) { userns, }" as /etc/apparmor.d/userns, ` +
    `then apparmor_parser -r /etc/apparmor.d/userns`;
  const what = `${sysctl} = 1 and ${exe} runs under "${current}"`;
  if (label === "unconfined") {
    return verdict(name, `${what}: user namespaces are denied`, "fail", hint);
  }
  const file = allowingProfile(label);
  if (file) return verdict(name, `${what}; ${file} allows userns`);
  return verdict(
    name,
    `${what}: cannot tell if it allows userns`,
    "warn",
    hint,
  );
}

/** `uid MAP, gid MAP` of a process, compactly. */
function mapsOf(pid: number): string {
  const read = (kind: string) => {
    const text = readProcFile(`/proc/${pid}/${kind}_map`);
    return typeof text === "string"
      ? formatCompactMap(parseIdMap(text))
      : errnoName(text);
  };
  return `uid map ${read("uid")}, gid map ${read("gid")}`;
}

async function liveNamespace(
  _env: CheckEnv,
  name: string,
): Promise<DoctorCheck> {
  let maps = "";
  const out = await new UsernsCommand("id", {
    args: ["-u"],
    stdout: "piped",
    stderr: "piped",
    strict: Deno.uid() !== 0,
    onWarning: () => {},
    beforeExec: (pid) => {
      maps = mapsOf(pid);
    },
  }).output();
  const printed = new TextDecoder().decode(out.stdout).trim();
  if (out.success && printed === "0") {
    return verdict(name, `id -u printed 0 with ${maps}`);
  }
  const why = new TextDecoder().decode(out.stderr).trim().split("\n")[0];
  const what = `id -u exited ${out.code} printing "${printed}"` +
    (why ? `: ${why}` : "");
  return verdict(name, what, "fail", "fix the failures above");
}

/** Runs one check; what it throws becomes its verdict. */
async function guard(
  name: string,
  run: () => DoctorCheck | Promise<DoctorCheck>,
): Promise<DoctorCheck> {
  try {
    return await run();
  } catch (e) {
    const message = (e as Error)?.message?.split("\n")[0] ?? String(e);
    if (isUsernsError(e)) {
      const hint = e.hint ?? "fix the failures above";
      const what = e.hint ? message.slice(0, -(e.hint.length + 2)) : message;
      return verdict(name, what, "fail", hint);
    }
    const hint = e instanceof Deno.errors.NotCapable
      ? "run with -A"
      : "check it by hand";
    return verdict(name, `cannot check: ${message}`, "warn", hint);
  }
}

const CHECKS: Array<[string, Check]> = [
  ["user namespaces", userNamespaces],
  ["newuidmap", helper],
  ["newgidmap", helper],
  ["subordinate ids", subordinateIds],
  ["no_new_privs", noNewPrivs],
  ["primary group", primaryGroup],
  ["apparmor", apparmor],
  ["live namespace", liveNamespace],
];

/**
 * Checks the set-up `userns run` needs: the kernel's user namespace sysctls,
 * `newuidmap`/`newgidmap`, the caller's subordinate ranges, no_new_privs,
 * the passwd primary group, AppArmor's userns restriction, and finally a live
 * `auto` namespace running `id -u`. The live check always uses the real
 * system (identity, PATH, sub-ID files), whatever `env` says.
 *
 * @param env other inputs than the system's, for tests
 * @returns one verdict per check, in that order
 */
export async function runDoctor(env: DoctorEnv = {}): Promise<DoctorCheck[]> {
  const id = env.identity ?? currentIdentity();
  const e: CheckEnv = {
    path: env.path ?? Deno.env.get("PATH") ?? "",
    subuid: env.subuid ?? "/etc/subuid",
    subgid: env.subgid ?? "/etc/subgid",
    id,
    proc: env.proc ?? "/proc",
    root: id.uid === 0,
  };
  const checks: DoctorCheck[] = [];
  for (const [name, check] of CHECKS) {
    checks.push(await guard(name, () => check(e, name)));
  }
  // User-mode networking is optional: what it lacks is a warning.
  checks.push(...networkChecks(e.path));
  return checks;
}
