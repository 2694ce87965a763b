/**
 * The options of `run`, `enter` and `start`, in groups, and how they turn
 * into the library's options.
 *
 * @module
 */
import { MAP_MODES, type MapMode } from "../idmap/plan.ts";
import { parseIdMapSpec } from "../idmap/rules.ts";
import {
  checkRlimits,
  parseRlimit,
  RLIMIT_NAMES,
  type RlimitName,
  type RlimitValue,
} from "../command/rlimits.ts";
import type { Mount } from "../mounts/ops.ts";
import { mountOperations } from "../mounts/check.ts";
import { MAX_MOUNTS } from "../../ffi/abi.ts";
import { applyCapSteps, capNames, type CapStep } from "../sandbox/caps.ts";
import {
  NETWORK_MODES,
  type NetworkMode,
  parsePublish,
  type PublishedPort,
} from "../net/options.ts";
import { PROPAGATIONS, SETGROUPS } from "../command/check.ts";
import { type Namespace, NAMESPACES } from "../command/namespaces.ts";
import type { UsernsCommandOptions } from "../command/options.ts";
import {
  decimal,
  isDecimal,
  type OptionSpecs,
  type Parsed,
  usageError,
} from "./args.ts";

/** The command's own set-up: `run`, `enter`. */
export const COMMAND_OPTIONS: OptionSpecs = {
  cwd: {
    type: "string",
    value: "DIR",
    help:
      "working directory of the command (relative: inside --root when given)",
  },
  tty: {
    type: "boolean",
    short: "t",
    help:
      "run the command on a new pseudo-terminal that userns relays (as podman run -t)",
  },
  setsid: { type: "boolean", help: "run the command in a new session" },
  ctty: {
    type: "boolean",
    help: "make stdin's terminal the controlling one; implies --setsid",
  },
  env: {
    type: "string",
    multiple: true,
    value: "NAME=VALUE",
    help: "set a variable",
  },
  "clear-env": { type: "boolean", help: "start from an empty environment" },
  user: {
    type: "string",
    value: "UID",
    help: "inside uid to run as (must be mapped)",
  },
  group: {
    type: "string",
    value: "GID",
    help: "inside gid to run as (must be mapped)",
  },
  "oom-score-adj": {
    type: "string",
    value: "N",
    help: "the command's OOM score adjustment",
  },
  rlimit: {
    type: "string",
    multiple: true,
    value: "NAME=SOFT[:HARD]",
    help: `a resource limit, as prlimit(1) names it (${
      RLIMIT_NAMES.join(" ")
    }); unlimited allowed`,
  },
  "no-new-privs": {
    type: "boolean",
    help: "set no_new_privs before the command runs",
  },
  "pid-file": {
    type: "string",
    value: "FILE",
    help:
      "write the host pid of the first process (the init, else the command) to FILE once it runs; removed at the end",
  },
  quiet: { type: "boolean", help: "no warnings on stderr" },
};

/** How IDs are mapped: `run`, `start`. */
export const MAP_OPTIONS: OptionSpecs = {
  map: {
    type: "string",
    value: MAP_MODES.join("|"),
    help: "how to map IDs (default auto: own ID to 0, then all subordinate " +
      "ranges; subids: own ID and all ranges onto themselves)",
  },
  "uid-map": {
    type: "string",
    multiple: true,
    value: "IN:OUT:N",
    help: "explicit uid map line; replaces the uid side of --map",
  },
  "gid-map": {
    type: "string",
    multiple: true,
    value: "IN:OUT:N",
    help: "explicit gid map line; replaces the gid side of --map",
  },
  setgroups: {
    type: "string",
    value: SETGROUPS.join("|"),
    help: "setgroups policy (default: allow where the kernel permits)",
  },
  strict: {
    type: "boolean",
    help: "fail when auto cannot map the subordinate ranges",
  },
};

/** The namespaces to create, and theirs settings: `run`, `start`. */
export const NAMESPACE_OPTIONS: OptionSpecs = {
  mount: { type: "boolean", help: "a new mount namespace (the default)" },
  "no-mount": {
    type: "boolean",
    help: "stay in the caller's mount namespace (podman inside then fails)",
  },
  propagation: {
    type: "string",
    value: PROPAGATIONS.join("|"),
    help: "mount propagation of the new mount namespace (default slave)",
  },
  pid: { type: "boolean", help: "also unshare the pid namespace" },
  uts: { type: "boolean", help: "also unshare the uts namespace" },
  ipc: { type: "boolean", help: "also unshare the ipc namespace" },
  net: {
    type: "boolean",
    help: "also unshare the network namespace (loopback up)",
  },
  cgroup: { type: "boolean", help: "also unshare the cgroup namespace" },
  time: { type: "boolean", help: "also unshare the time namespace" },
  monotonic: {
    type: "string",
    value: "SECS",
    help: "CLOCK_MONOTONIC offset inside; implies --time",
  },
  boottime: {
    type: "string",
    value: "SECS",
    help: "CLOCK_BOOTTIME offset inside; implies --time",
  },
  hostname: {
    type: "string",
    value: "NAME",
    help: "set the hostname inside; implies --uts",
  },
  init: {
    type: "boolean",
    help:
      "with a pid namespace, a minimal PID 1 (userns-init) reaps and forwards signals (the default)",
  },
  "as-pid-1": {
    type: "boolean",
    help: "with a pid namespace, the command itself is PID 1",
  },
};

/** The root and mounts, applied in order: `run`, `start`. */
export const MOUNT_OPTIONS: OptionSpecs = {
  root: {
    type: "string",
    value: "DIR",
    help: "make DIR the root (pivot_root, old root detached), after the mounts",
  },
  bind: {
    type: "string",
    arity: 2,
    multiple: true,
    ordered: true,
    value: "SRC DEST",
    help:
      "bind-mount host path SRC at DEST (inside --root); a missing DEST is created",
  },
  "ro-bind": {
    type: "string",
    arity: 2,
    multiple: true,
    ordered: true,
    value: "SRC DEST",
    help: "bind-mount SRC at DEST read-only",
  },
  tmpfs: {
    type: "string",
    multiple: true,
    ordered: true,
    value: "DEST",
    help: "a fresh tmpfs at DEST",
  },
  dev: {
    type: "string",
    multiple: true,
    ordered: true,
    value: "DEST",
    help:
      "a minimal /dev at DEST (null zero full random urandom tty, pts, shm), as bwrap --dev",
  },
  proc: {
    type: "string",
    multiple: true,
    ordered: true,
    value: "DEST",
    help: "a fresh proc at DEST; implies --pid",
  },
  "mount-proc": {
    type: "boolean",
    help: "mount a fresh /proc (inside --root); implies --pid",
  },
};

/** The sandbox and the network: `run`, `start`. */
export const SANDBOX_OPTIONS: OptionSpecs = {
  sandbox: {
    type: "boolean",
    help:
      "a locked-down run for code you do not trust: host read-only, cwd writable, fresh /tmp /dev /proc /sys, new pid ipc uts net namespaces, no capabilities, the default seccomp filter, no_new_privs, a new session, a cleared environment",
  },
  "cap-drop": {
    type: "string",
    multiple: true,
    ordered: true,
    value: "CAP|ALL",
    help:
      "drop a capability of the command (CAP_SYS_ADMIN or sys_admin), or all",
  },
  "cap-add": {
    type: "string",
    multiple: true,
    ordered: true,
    value: "CAP",
    help: "keep a capability (after --cap-drop ALL, or under --sandbox)",
  },
  seccomp: {
    type: "string",
    value: "default|none|FILE",
    help:
      "a seccomp filter: the containers' default profile, none, or a profile in the OCI/podman JSON format",
  },
  hide: {
    type: "string",
    multiple: true,
    value: "PATH",
    help:
      "make PATH inaccessible: an empty read-only tmpfs over a directory, /dev/null over a file",
  },
  network: {
    type: "string",
    value: NETWORK_MODES.join("|"),
    help:
      "host (default), none (loopback only), or user-mode networking through pasta or slirp4netns",
  },
  publish: {
    type: "string",
    short: "p",
    multiple: true,
    value: "[IP:]HOSTPORT:PORT[/tcp|/udp]",
    help:
      "with pasta or slirp4netns: forward a host port inside (IP 127.0.0.1 unless written)",
  },
  "allow-host-loopback": {
    type: "boolean",
    help:
      "with pasta or slirp4netns: the host's 127.0.0.1 services reachable through the gateway",
  },
};

/** The mount options, of those kept in command-line order. */
const MOUNT_NAMES = new Set(["bind", "ro-bind", "tmpfs", "dev", "proc"]);

/**
 * `--cap-drop` and `--cap-add` in the order given, from all capabilities
 * (none under `--sandbox`): as the library's `capDrop: ["ALL"]` and the
 * `capAdd` of what is kept.
 */
function caps(
  ordered: Parsed["ordered"],
  sandbox: boolean,
): Pick<UsernsCommandOptions, "capDrop" | "capAdd"> {
  const steps: CapStep[] = ordered
    .filter(([name]) => name === "cap-drop" || name === "cap-add")
    .map(([name, [value]]) => ({
      option: `--${name}` as CapStep["option"],
      value: value!,
    }));
  if (steps.length === 0) return {};
  if (sandbox) steps.unshift({ option: "--cap-drop", value: "ALL" });
  let keep: bigint;
  try {
    keep = applyCapSteps(steps);
  } catch (e) {
    throw usageError((e as Error).message.split("; ")[0]!);
  }
  return { capDrop: ["ALL"], capAdd: capNames(keep) };
}

/** `--network`, and `--net`, which means `--network none`. */
function network(v: Parsed["values"]): NetworkMode | undefined {
  const mode = oneOf(str(v.network), NETWORK_MODES, "network");
  if (v.net && mode !== undefined && mode !== "none") {
    throw usageError(`--net and --network ${mode} contradict each other`);
  }
  return mode ?? (v.net ? "none" : undefined);
}

/** `--allow-host-loopback`, which needs a user-mode network. */
function hostLoopback(v: Parsed["values"]): true | undefined {
  if (v["allow-host-loopback"] !== true) return undefined;
  const mode = network(v);
  if (mode !== "pasta" && mode !== "slirp4netns") {
    throw usageError(
      "--allow-host-loopback needs a user-mode network",
      "add --network pasta (or slirp4netns)",
    );
  }
  return true;
}

/** `--seccomp`: default, none, or a profile file that exists. */
function seccomp(
  value: string | undefined,
): UsernsCommandOptions["seccomp"] {
  if (value === undefined || value === "default" || value === "none") {
    return value;
  }
  try {
    Deno.statSync(value);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? "no such file"
      : (e as Error).name;
    throw usageError(
      `--seccomp ${value}: ${why}`,
      "give a profile in the OCI/podman JSON format, default or none",
    );
  }
  return { path: value } as unknown as UsernsCommandOptions["seccomp"];
}

/** The paths of `--hide`, against the working directory. */
function hide(paths: string[]): string[] | undefined {
  if (paths.length === 0) return undefined;
  return paths.map((p) => p.startsWith("/") ? p : `${Deno.cwd()}/${p}`);
}

/** `-p`'s specs; they need a user-mode network. */
function publish(
  specs: string[],
  mode: NetworkMode | undefined,
): PublishedPort[] | undefined {
  if (specs.length === 0) return undefined;
  if (mode !== "pasta" && mode !== "slirp4netns") {
    throw usageError(
      "-p/--publish needs a user-mode network",
      "add --network pasta (or slirp4netns)",
    );
  }
  return specs.map((spec) => {
    try {
      return parsePublish(spec);
    } catch (e) {
      throw usageError((e as Error).message.split("; ")[0]!);
    }
  });
}

/** A value as the one string it must be. */
function str(v: Parsed["values"][string]): string | undefined {
  return typeof v === "string" ? v : undefined;
}

function list(v: Parsed["values"][string]): string[] {
  return Array.isArray(v) ? v : [];
}

function oneOf<T extends string>(
  value: string | undefined,
  allowed: readonly T[],
  name: string,
): T | undefined {
  if (value === undefined) return undefined;
  if (allowed.includes(value as T)) return value as T;
  throw usageError(
    `invalid --${name} "${value}"`,
    `use one of ${allowed.join(", ")}`,
  );
}

function integer(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!isDecimal(value, true)) {
    throw usageError(`invalid --${name} "${value}": not an integer`);
  }
  // Ranges are the library's to check; a number that does not even fit
  // exactly is refused here, before it is rounded into another.
  const n = decimal(value, true);
  if (n === undefined) {
    throw usageError(`invalid --${name} "${value}": out of range`);
  }
  return n;
}

function environment(pairs: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw usageError(`invalid --env "${pair}"`, "use NAME=VALUE");
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

function limits(
  specs: string[],
): Partial<Record<RlimitName, RlimitValue>> | undefined {
  if (specs.length === 0) return undefined;
  const out: Partial<Record<RlimitName, RlimitValue>> = {};
  for (const spec of specs) {
    let name: RlimitName, value: RlimitValue;
    try {
      [name, value] = parseRlimit(spec);
      checkRlimits({ [name]: value }, "rlimits");
    } catch (e) {
      // In the words of the command line, not of the library's option.
      const msg = (e as Error).message;
      throw usageError(
        /^rlimits\./.test(msg)
          ? `--rlimit ${spec}: ${
            msg.replace(/^rlimits\.[a-z]+(\[\d\])?:? ?/, "")
          }`
          : msg,
      );
    }
    out[name] = value;
  }
  return out;
}

/**
 * The mounts, in command-line order: no more operations, with
 * `--mount-proc`, than the native side takes (each `--dev` is several).
 */
function mounts(ordered: Parsed["ordered"], mountProc: boolean): Mount[] {
  const list = ordered.filter(([name]) => MOUNT_NAMES.has(name)).map((
    [name, [a, b]],
  ): Mount => {
    const dest = b ?? a!;
    if (!dest.startsWith("/")) {
      throw usageError(
        `--${name} DEST must be an absolute path (inside --root when given), got ${
          JSON.stringify(dest)
        }`,
      );
    }
    if (name === "bind" || name === "ro-bind") {
      return {
        type: "bind",
        // A relative source is the caller's, as bwrap takes it.
        source: a!.startsWith("/") ? a! : `${Deno.cwd()}/${a}`,
        target: b!,
        readonly: name === "ro-bind",
      };
    }
    return { type: name as "tmpfs" | "dev" | "proc", target: a! };
  });
  const n = mountOperations(list, mountProc);
  if (n > MAX_MOUNTS) {
    throw usageError(
      `too many mounts: --bind, --ro-bind, --tmpfs, --dev, --proc and --mount-proc come to ${n} mount operations, at most ${MAX_MOUNTS}`,
      `each --dev is ${
        mountOperations([{ type: "dev" }], false)
      } of them; bind one directory that holds the files instead of each file`,
    );
  }
  return list;
}

/** What needs a mount namespace, for the --no-mount refusal. */
function mountUser(v: Parsed["values"]): string | undefined {
  return [
    "root",
    "bind",
    "ro-bind",
    "tmpfs",
    "dev",
    "proc",
    "mount-proc",
    "propagation",
    "hide",
    "sandbox",
  ]
    .find((name) => v[name] !== undefined);
}

/** The namespaces a flag of its name adds (`--pid`, ...): all but mount,
 * which is new unless `--no-mount`. */
const FLAGGED = NAMESPACES.filter((ns) => ns !== "mount");

/**
 * Turns parsed options of any of the groups into library options.
 *
 * @param p the parsed command line
 * @returns the library options (those of groups not given stay unset)
 * @throws {UsernsError} INVALID_ARGUMENT (a usage error) for a bad value
 */
export function commandOptions(p: Parsed): UsernsCommandOptions {
  const v = p.values;
  const maps = (specs: string[]) =>
    specs.length ? specs.map(parseIdMapSpec) : undefined;
  if (v["no-mount"]) {
    const needs = mountUser(v);
    if (needs) {
      throw usageError(
        `--${needs} needs a mount namespace, but --no-mount was given`,
      );
    }
    if (v.mount) {
      throw usageError(`--mount and --no-mount contradict each other`);
    }
  }
  if (v.init && v["as-pid-1"]) {
    throw usageError(`--init and --as-pid-1 contradict each other`);
  }
  const monotonic = integer(str(v.monotonic), "monotonic");
  const boottime = integer(str(v.boottime), "boottime");
  const mountList = mounts(p.ordered, v["mount-proc"] === true);
  return {
    sandbox: v.sandbox === true ? true : undefined,
    ...caps(p.ordered, v.sandbox === true),
    seccomp: seccomp(str(v.seccomp)),
    hide: hide(list(v.hide)),
    network: network(v),
    publish: publish(list(v.publish), network(v)),
    allowHostLoopback: hostLoopback(v),
    map: oneOf<MapMode>(str(v.map), MAP_MODES, "map"),
    uidMap: maps(list(v["uid-map"])),
    gidMap: maps(list(v["gid-map"])),
    user: integer(str(v.user), "user"),
    group: integer(str(v.group), "group"),
    setgroups: oneOf(str(v.setgroups), SETGROUPS, "setgroups"),
    strict: v.strict === true ? true : undefined,
    // --net is --network none: the network says which namespace.
    namespaces: FLAGGED.filter((ns) => v[ns] && ns !== "net") as Namespace[],
    mountNamespace: v["no-mount"] ? false : undefined,
    propagation: oneOf(str(v.propagation), PROPAGATIONS, "propagation"),
    timeOffsets: monotonic !== undefined || boottime !== undefined
      ? { monotonic, boottime }
      : undefined,
    hostname: str(v.hostname),
    init: v["as-pid-1"] ? false : undefined,
    root: str(v.root),
    mounts: mountList.length ? mountList : undefined,
    mountProc: v["mount-proc"] === true ? true : undefined,
    cwd: str(v.cwd),
    setsid: v.setsid === true ? true : undefined,
    ctty: v.ctty === true ? true : undefined,
    tty: v.tty === true ? true : undefined,
    oomScoreAdj: integer(str(v["oom-score-adj"]), "oom-score-adj"),
    rlimits: limits(list(v.rlimit)),
    noNewPrivs: v["no-new-privs"] === true ? true : undefined,
    env: environment(list(v.env)),
    clearEnv: v["clear-env"] === true ? true : undefined,
    onWarning: v.quiet ? () => {} : undefined,
  };
}
