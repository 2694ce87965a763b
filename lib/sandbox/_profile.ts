/**
 * The checks of a seccomp profile and the plan of libseccomp calls it stands
 * for (pure: no I/O, no FFI), decided as podman decides it (containers/common
 * `setupSeccomp`, runc's `matchSyscall`): `includes`/`excludes` against the
 * command's capabilities, the architecture (Go's names: `amd64`, `arm64`)
 * and the kernel version; an entry whose action is the default action adds
 * nothing (libseccomp refuses it); conditions that test one argument twice
 * become one rule each (libseccomp takes one test per argument).
 *
 * @module
 */
import { UsernsError } from "../errors/errors.ts";
import { capNumber } from "./caps.ts";
import {
  ACTIONS,
  type Host,
  OPS,
  type PlanArch,
  type PlanCond,
  type PlanRule,
  type SeccompPlan,
} from "./_types.ts";

const EPERM = 1;
const MAX_U64 = (1n << 64n) - 1n;

type Obj = Record<string, unknown>;

/**
 * Throws the one-line error naming the profile and the entry.
 *
 * @param source how the profile is named: `"/path/x.json"`
 * @param path the entry: `syscalls[3].action`, or "" for the whole
 * @param what what is wrong with it
 * @param hint what to do
 * @throws {UsernsError} always, with code `INVALID_ARGUMENT`
 */
export function profileError(
  source: string,
  path: string,
  what: string,
  hint?: string,
): never {
  throw new UsernsError(
    "INVALID_ARGUMENT",
    `seccomp profile ${source}: ${path ? `${path}: ` : ""}${what}`,
    { hint },
  );
}

/** A problem of an entry, before the profile's name is put to it. */
class Issue extends Error {
  constructor(readonly path: string, what: string, readonly hint?: string) {
    super(what);
  }
}

function fail(path: string, what: string, hint?: string): never {
  throw new Issue(path, what, hint);
}

const show = (v: unknown): string =>
  typeof v === "bigint" ? String(v) : JSON.stringify(v) ?? String(v);

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function obj(path: string, v: unknown): Obj {
  if (!isObj(v)) fail(path, `${show(v)} is not an object`);
  return v;
}

function list(path: string, v: unknown): unknown[] {
  if (v === undefined || v === null) return []; // as Go reads null
  if (!Array.isArray(v)) fail(path, `${show(v)} is not a list`);
  return v;
}

function strings(path: string, v: unknown): string[] {
  const l = list(path, v);
  if (l.some((s) => typeof s !== "string")) {
    fail(path, `${show(v)} is not a list of strings`);
  }
  return l as string[];
}

function u64(path: string, v: unknown): bigint {
  if (
    typeof v === "number" && Number.isInteger(v) && !Number.isSafeInteger(v)
  ) {
    fail(
      path,
      `${
        BigInt(v)
      } is past 2^53, where numbers are not exact: write it as a bigint`,
    );
  }
  const n = typeof v === "number" && Number.isInteger(v)
    ? BigInt(v)
    : typeof v === "bigint"
    ? v
    : -1n;
  if (n < 0n || n > MAX_U64) {
    fail(path, `${show(v)} is not an integer from 0 to 2^64-1`);
  }
  return n;
}

function errnoRet(path: string, v: unknown): number {
  if (v === undefined || v === null) return EPERM;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xffff) {
    fail(path, `${show(v)} is not an integer from 0 to 65535`);
  }
  return v;
}

/** The action's 32-bit value, with its data for ERRNO and TRACE. */
function action(path: string, name: unknown, ret: number): number {
  if (typeof name !== "string" || !(name in ACTIONS)) {
    fail(
      path,
      name === undefined
        ? "no action"
        : name === "SCMP_ACT_NOTIFY"
        ? `action "SCMP_ACT_NOTIFY" needs a seccomp agent, which userns has not`
        : `unknown action ${show(name)}`,
      `use one of ${Object.keys(ACTIONS).join(", ")}`,
    );
  }
  const base = ACTIONS[name]!;
  return name === "SCMP_ACT_ERRNO" || name === "SCMP_ACT_TRACE"
    ? (base | ret) >>> 0
    : base;
}

function cond(path: string, v: unknown): PlanCond {
  const { index, op, value, valueTwo } = obj(path, v);
  if (typeof index !== "number" || !Number.isInteger(index) || index < 0) {
    fail(`${path}.index`, `${show(index)} is not an argument index`);
  }
  if (index > 5) {
    fail(`${path}.index`, `${index} is past the last argument (5)`);
  }
  if (typeof op !== "string" || !(op in OPS)) {
    fail(
      `${path}.op`,
      `unknown operator ${show(op)}`,
      `use one of ${Object.keys(OPS).join(", ")}`,
    );
  }
  return {
    arg: index,
    op: OPS[op]!,
    a: u64(`${path}.value`, value ?? 0),
    b: u64(`${path}.valueTwo`, valueTwo ?? 0),
  };
}

/** Whether the kernel is at least `v` (`MAJOR.MINOR`); "" is no test. */
function kernelAtLeast(path: string, v: unknown, host: Host): boolean | null {
  if (v === undefined || v === null || v === "") return null;
  const m = typeof v === "string" ? /^(\d+)\.(\d+)/.exec(v) : null;
  if (!m) fail(path, `${show(v)} is not a kernel version (MAJOR.MINOR)`);
  const [major, minor] = host.kernel();
  const want = [Number(m[1]), Number(m[2])] as const;
  return major > want[0] || (major === want[0] && minor >= want[1]);
}

/** Whether an entry applies, as containers/common decides it. */
function applies(path: string, e: Obj, caps: bigint, host: Host): boolean {
  const has = (c: string): boolean => {
    const n = capNumber(c);
    return n !== undefined && ((caps >> BigInt(n)) & 1n) === 1n;
  };
  const i = obj(`${path}.includes`, e.includes ?? {});
  const x = obj(`${path}.excludes`, e.excludes ?? {});
  const xArches = strings(`${path}.excludes.arches`, x.arches);
  const xCaps = strings(`${path}.excludes.caps`, x.caps);
  const iArches = strings(`${path}.includes.arches`, i.arches);
  const iCaps = strings(`${path}.includes.caps`, i.caps);
  const xKernel = kernelAtLeast(
    `${path}.excludes.minKernel`,
    x.minKernel,
    host,
  );
  const iKernel = kernelAtLeast(
    `${path}.includes.minKernel`,
    i.minKernel,
    host,
  );
  return !xArches.includes(host.goArch) && !xCaps.some(has) &&
    xKernel !== true &&
    (iArches.length === 0 || iArches.includes(host.goArch)) &&
    iCaps.every(has) && iKernel !== false;
}

/** The architectures to add: all of `architectures`, or the native
 * entry of `archMap` with its sub-architectures. */
function archesOf(p: Obj, host: Host): PlanArch[] {
  const given = strings("architectures", p.architectures);
  const map = list("archMap", p.archMap);
  if (given.length && map.length) {
    fail("", "both architectures and archMap are given", "use one of them");
  }
  const out = given.map((a, i) => ({
    written: a,
    path: `architectures[${i}]`,
  }));
  map.forEach((v, i) => {
    const m = obj(`archMap[${i}]`, v);
    if (m.architecture !== host.scmpArch) return;
    out.push({ written: host.scmpArch, path: `archMap[${i}].architecture` });
    const subs = `archMap[${i}].subArchitectures`;
    strings(subs, m.subArchitectures).forEach((a, j) =>
      out.push({ written: a, path: `${subs}[${j}]` })
    );
  });
  return out.map((a) => {
    const m = /^SCMP_ARCH_([A-Z0-9_]+)$/.exec(a.written);
    if (!m) fail(a.path, `unknown architecture ${show(a.written)}`);
    return { ...a, name: m[1]!.toLowerCase() };
  });
}

function namesOf(path: string, e: Obj): string[] {
  const names = strings(`${path}.names`, e.names);
  if (e.name === undefined || e.name === "") return names;
  if (names.length) fail(path, "both name and names are given", "use names");
  if (typeof e.name !== "string") {
    fail(`${path}.name`, `${show(e.name)} is not a string`);
  }
  return [e.name];
}

/** The rules of one entry of `syscalls`, checked whether it applies or not. */
function rulesOf(
  path: string,
  v: unknown,
  defaultAction: number,
  caps: bigint,
  host: Host,
): PlanRule[] {
  const e = obj(path, v);
  const act = action(
    `${path}.action`,
    e.action,
    errnoRet(`${path}.errnoRet`, e.errnoRet),
  );
  const conds = list(`${path}.args`, e.args).map((a, j) =>
    cond(`${path}.args[${j}]`, a)
  );
  const names = namesOf(path, e);
  if (!applies(path, e, caps, host) || act === defaultAction) return [];
  const split = new Set(conds.map((c) => c.arg)).size < conds.length;
  return names.map((name) => ({ path, name, action: act, conds, split }));
}

/**
 * Checks a profile and plans its libseccomp calls for a command with the
 * capabilities `caps`. Every entry is checked, whether it applies or not.
 *
 * @param profile the parsed profile (any value: it is checked)
 * @param caps the capabilities the command will have, as a mask
 * @param host the architecture and kernel
 * @param source how errors name the profile: `"/path/x.json"`
 * @returns the plan
 * @throws {UsernsError} `INVALID_ARGUMENT` naming the entry that cannot be
 *   compiled, e.g. `syscalls[3].action: unknown action "SCMP_ACT_FOO"`
 */
export function planProfile(
  profile: unknown,
  caps: bigint,
  host: Host,
  source: string,
): SeccompPlan {
  try {
    const p = obj("", profile);
    const defaultAction = action(
      "defaultAction",
      p.defaultAction,
      errnoRet("defaultErrnoRet", p.defaultErrnoRet),
    );
    const arches = archesOf(p, host);
    const rules = list("syscalls", p.syscalls).flatMap((e, i) =>
      rulesOf(`syscalls[${i}]`, e, defaultAction, caps, host)
    );
    return { defaultAction, arches, rules };
  } catch (e) {
    if (e instanceof Issue) profileError(source, e.path, e.message, e.hint);
    throw e;
  }
}
