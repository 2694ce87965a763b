/**
 * The system checks of `userns doctor` (all but the live namespace): each
 * reads what the kernel, PATH, the sub-ID files and the identity say, and
 * turns it into a verdict with a hint.
 *
 * @module
 */
import { readProcFile } from "../../ffi/process.ts";
import type { Identity } from "../system/identity.ts";
import { INSTALL_HELPERS } from "../idmap/helpers.ts";
import { findOnPath, whyNotOnPath } from "../system/path_search.ts";
import { rangesFor, readSubIdFile, type SubIdRange } from "../idmap/subid.ts";
import { delegateHint } from "../idmap/suggest_read.ts";

/** The verdict of one check. */
export type DoctorStatus = "ok" | "warn" | "fail";

/** One line of `userns doctor`. */
export interface DoctorCheck {
  /** What was checked, e.g. `newuidmap`. */
  check: string;
  /** `fail`: `auto` cannot work; `warn`: it could not be told. */
  status: DoctorStatus;
  /** What was found. */
  detail: string;
  /** What to do about it; `""` when ok. */
  hint: string;
}

/** The inputs of a check, defaults filled in. */
export interface CheckEnv {
  /** PATH to search for the helpers. */
  path: string;
  /** The subuid file. */
  subuid: string;
  /** The subgid file. */
  subgid: string;
  /** Whose set-up to check. */
  id: Identity;
  /** The proc file system holding `sys/` and `self/`. */
  proc: string;
  /** `id` is root, which writes maps itself and needs no helper. */
  root: boolean;
}

const AS_ROOT = "not needed as root: root writes the maps directly";

/**
 * Makes a verdict.
 *
 * @param check what was checked
 * @param detail what was found
 * @param status the verdict @default "ok"
 * @param hint what to do; `""` when ok
 * @returns the check
 */
export function verdict(
  check: string,
  detail: string,
  status: DoctorCheck["status"] = "ok",
  hint = "",
): DoctorCheck {
  return { check, status, detail, hint };
}

/**
 * Reads a small file such as a sysctl.
 *
 * @param path the file
 * @returns its trimmed text, or undefined when it does not exist
 */
export function readText(path: string): string | undefined {
  // /proc through the native library: Deno grants it only to --allow-all.
  if (path.startsWith("/proc/")) {
    const text = readProcFile(path);
    if (text === 2) return undefined; // ENOENT
    if (typeof text === "string") return text.trim();
  }
  try {
    return Deno.readTextFileSync(path).trim();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/**
 * user.max_user_namespaces above 0 and, where the file exists,
 * kernel.unprivileged_userns_clone not 0 (root is exempt from the latter).
 *
 * @param env the inputs
 * @param name the check's name
 * @returns the verdict
 */
export function userNamespaces(env: CheckEnv, name: string): DoctorCheck {
  const max = readText(`${env.proc}/sys/user/max_user_namespaces`);
  if (max === undefined) {
    const what =
      "no user.max_user_namespaces: the kernel has no user namespaces";
    return verdict(
      name,
      what,
      "fail",
      "use a kernel built with CONFIG_USER_NS=y",
    );
  }
  const clone = readText(`${env.proc}/sys/kernel/unprivileged_userns_clone`);
  let detail = `user.max_user_namespaces = ${max}`;
  if (clone !== undefined) {
    detail += `, kernel.unprivileged_userns_clone = ${clone}`;
  }
  const hints: string[] = [];
  if (!(Number(max) > 0)) {
    hints.push("sysctl -w user.max_user_namespaces=15000");
  }
  if (clone === "0" && !env.root) {
    hints.push("sysctl -w kernel.unprivileged_userns_clone=1");
  }
  if (hints.length === 0) return verdict(name, detail);
  return verdict(
    name,
    `${detail}: creation is refused`,
    "fail",
    hints.join("; "),
  );
}

/** Whether getcap text like `cap_setuid,cap_setgid=ep` grants `cap` as ep. */
function grants(caps: string, cap: string): boolean {
  return caps.split(/\s+/).some((clause) => {
    const m = /^([\w,]+)[=+]([eip]+)$/.exec(clause);
    return !!m && m[1]!.split(",").includes(cap) && /e/.test(m[2]!) &&
      /p/.test(m[2]!);
  });
}

/** `getcap FILE` without the file name, or undefined without getcap. */
async function fileCaps(file: string, path: string) {
  const getcap = findOnPath("getcap", `${path}:/usr/sbin:/sbin`);
  if (!getcap) return undefined;
  const out = await new Deno.Command(getcap, { args: [file], stderr: "null" })
    .output();
  return new TextDecoder().decode(out.stdout).replace(file, "").trim();
}

/**
 * `name` (newuidmap or newgidmap) on PATH and setuid root or carrying
 * cap_setuid/cap_setgid as ep (read with getcap, when installed).
 *
 * @param env the inputs
 * @param name the check's name
 * @returns the verdict
 */
export async function helper(
  env: CheckEnv,
  name: string,
): Promise<DoctorCheck> {
  const file = findOnPath(name, env.path);
  if (!file) {
    if (env.root) return verdict(name, `not on PATH; ${AS_ROOT}`);
    const why = whyNotOnPath(name, env.path, INSTALL_HELPERS);
    return verdict(name, why.what, "fail", why.hint);
  }
  const st = Deno.statSync(file);
  const cap = name === "newuidmap" ? "cap_setuid" : "cap_setgid";
  const caps = await fileCaps(file, env.path);
  if (caps && grants(caps, cap)) {
    return verdict(
      name,
      `${file} has ${caps}: nested podman and unshare --map-auto work under --map subids too`,
    );
  }
  if (st.uid === 0 && ((st.mode ?? 0) & 0o4000)) {
    return verdict(
      name,
      `${file} is setuid root: under --map subids, where root is not mapped, the kernel ignores the setuid bit and a nested podman or unshare --map-auto fails (file capabilities, as Fedora ships them, do not have that limit); --map auto is not affected`,
    );
  }
  const unknown = caps === undefined ? " (getcap is not installed)" : "";
  const what = `${file} is neither setuid root nor has ${cap}+ep${unknown}`;
  if (env.root) return verdict(name, `${what}; ${AS_ROOT}`);
  const chown = st.uid === 0 ? "" : `chown root: ${file} && `;
  const hint = `${chown}chmod u+s ${file}, or setcap ${cap}+ep ${file}`;
  return verdict(name, what, "fail", hint);
}

/**
 * The caller's ranges in the subuid and subgid files; the hint delegates
 * the lowest free range (as `userns subids --suggest`).
 *
 * @param env the inputs
 * @param name the check's name
 * @returns the verdict
 */
export async function subordinateIds(
  env: CheckEnv,
  name: string,
): Promise<DoctorCheck> {
  const user = { name: env.id.name, uid: env.id.uid };
  const files = await Promise.all([
    readSubIdFile(env.subuid),
    readSubIdFile(env.subgid),
  ]);
  const [uids, gids] = files.map((f) =>
    rangesFor(f, user).filter((r) => r.count > 0)
  ) as [SubIdRange[], SubIdRange[]];
  const list = (rs: SubIdRange[]) =>
    rs.map((r) => `${r.start}-${r.start + r.count - 1}`).join(", ") || "none";
  const detail = `uids ${list(uids)} in ${env.subuid}, ` +
    `gids ${list(gids)} in ${env.subgid}`;
  if (uids.length > 0 && gids.length > 0) return verdict(name, detail);
  if (env.root) {
    return verdict(name, `${detail}; root maps the whole id space onto itself`);
  }
  const unknown = env.id.passwdError;
  if (unknown) {
    const what = `${detail}: ${unknown.what}, so ranges listed under your ` +
      "name are not seen";
    return verdict(name, what, "fail", unknown.hint);
  }
  const missing = {
    ...(uids.length ? {} : { uid: env.subuid }),
    ...(gids.length ? {} : { gid: env.subgid }),
  };
  const paths = { subuid: env.subuid, subgid: env.subgid, proc: env.proc };
  const hint = delegateHint(env.id, missing, paths);
  return verdict(name, `${detail}: auto maps only your own ids`, "fail", hint);
}

/**
 * `NoNewPrivs` of this process, under which the setuid helpers fail.
 *
 * @param env the inputs
 * @param name the check's name
 * @returns the verdict
 */
export function noNewPrivs(env: CheckEnv, name: string): DoctorCheck {
  const status = readText(`${env.proc}/self/status`) ?? "";
  const flag = /^NoNewPrivs:\s*(\d)/m.exec(status)?.[1];
  if (flag === undefined) {
    const what = `no NoNewPrivs line in ${env.proc}/self/status`;
    return verdict(name, what, "warn", "check that /proc is mounted");
  }
  if (flag === "0") return verdict(name, "NoNewPrivs: 0");
  if (env.root) return verdict(name, `NoNewPrivs: 1; ${AS_ROOT}`);
  const what = "NoNewPrivs: 1: setuid newuidmap/newgidmap fail under it";
  const hint = "run outside no_new_privs (systemd NoNewPrivileges=, " +
    "docker --security-opt no-new-privileges)";
  return verdict(name, what, "fail", hint);
}

/**
 * A passwd entry whose primary group is the real gid, as newuidmap requires.
 *
 * @param env the inputs
 * @param name the check's name
 * @returns the verdict
 */
export function primaryGroup(env: CheckEnv, name: string): DoctorCheck {
  const { uid, gid, name: user, passwdGid } = env.id;
  if (env.root) return verdict(name, `real gid ${gid}; ${AS_ROOT}`);
  if (env.id.passwdError) {
    const { what, hint } = env.id.passwdError;
    return verdict(name, `${what}: cannot check your entry`, "warn", hint);
  }
  if (user === undefined || passwdGid === undefined) {
    const what = `no passwd entry for uid ${uid}: newuidmap needs one`;
    return verdict(name, what, "fail", "add the user to /etc/passwd (useradd)");
  }
  if (gid === passwdGid) {
    return verdict(name, `real gid ${gid} is ${user}'s primary group`);
  }
  const what = `real gid ${gid} is not ${user}'s primary group ${passwdGid}` +
    ": newuidmap refuses";
  return verdict(
    name,
    what,
    "fail",
    "run from a login shell (newgrp changes it)",
  );
}
