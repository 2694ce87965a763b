/**
 * Which helper runs, found where, and with what arguments: pasta (podman's
 * default) first, slirp4netns as the fallback or when asked. Pure, but for
 * the PATH search, which a test may replace.
 *
 * Both helpers keep the host's loopback closed unless asked: pasta maps
 * the gateway address to the host's 127.0.0.1 unless `--no-map-gw`, and by
 * default (`-T auto`, `-U auto`) forwards every port the host listens on to
 * the namespace's own 127.0.0.1, re-scanned each second: both are turned
 * off. slirp4netns maps its gateway (10.0.2.2) to the host's 127.0.0.1
 * unless `--disable-host-loopback`.
 *
 * @module
 */
import { UsernsError } from "../errors/errors.ts";
import { NetworkError } from "./errors.ts";
import { findOnPath, whyNotOnPath } from "../system/path_search.ts";
import {
  checkNetworkOptions,
  formatPublish,
  type NetworkHelper,
  type NetworkOptions,
  type Published,
} from "./options.ts";

/** What {@link planNetwork} decided. */
export interface NetworkPlan {
  /** The helper. */
  helper: NetworkHelper;
  /** Its absolute path. */
  path: string;
  /** setpriv's path, to give the helper a parent-death signal; undefined when not found. */
  setpriv?: string;
  /** The published ports, defaults filled in. */
  publish: Published[];
  /** Whether the host's 127.0.0.1 is reachable through the gateway. */
  allowHostLoopback: boolean;
  /** The resolver address inside: the helper's DNS forwarder. */
  nameserver: string;
  /** How long the helper may take to be ready, in ms. */
  timeout: number;
  /** Warnings to show: a fallback helper, a missing setpriv. */
  warnings: string[];
}

/** The address pasta forwards DNS queries from (podman's, link-local). */
export const PASTA_DNS = "169.254.0.1";
/** slirp4netns's built-in resolver with its default 10.0.2.0/24. */
export const SLIRP_DNS = "10.0.2.3";
/** The interface slirp4netns makes inside. */
export const SLIRP_IFNAME = "tap0";
/** The MTU slirp4netns is given (podman's; pasta's default is the same). */
export const SLIRP_MTU = 65520;

const INSTALL: Record<NetworkHelper, string> = {
  pasta: "install passt (apt-get install passt)",
  slirp4netns: "install slirp4netns (apt-get install slirp4netns)",
};

/** Looks a program up; returns its absolute path. */
export type Lookup = (name: string) => string | undefined;

function callerPath(): string {
  try {
    return Deno.env.get("PATH") ?? "";
  } catch {
    return ""; // not permitted: as unset
  }
}

function missing(
  name: NetworkHelper,
  path: string,
  other?: NetworkHelper,
): NetworkError {
  const why = whyNotOnPath(name, path, INSTALL[name]);
  const hint = other ? `${why.hint}, or use --network ${other}` : why.hint;
  return new NetworkError("HELPER_MISSING", "missing", why.what, {
    hint,
    helper: name,
  });
}

/**
 * Decides what runs for the options: nothing for `host` and `none`, else
 * the helper, found on PATH. `pasta` falls back to slirp4netns, with a
 * warning, when only slirp4netns is installed.
 *
 * @param o the options (checked here)
 * @param lookup how programs are found @default {a search of `o.path` or PATH}
 * @returns the plan, or undefined when no helper runs
 * @throws {UsernsError} HELPER_MISSING with the package to install;
 * INVALID_ARGUMENT for a port the helper cannot forward
 * @throws {UsernsTypeError} {UsernsRangeError} for invalid options
 */
export function planNetwork(
  o: NetworkOptions,
  lookup?: Lookup,
): NetworkPlan | undefined {
  const publish = checkNetworkOptions(o);
  const mode = o.network ?? "host";
  if (mode !== "pasta" && mode !== "slirp4netns") return undefined;
  const path = o.path ?? callerPath();
  const find = lookup ?? ((name: string) => findOnPath(name, path));
  let helper: NetworkHelper = mode;
  let file = find(mode);
  const warnings: string[] = [];
  if (!file && mode === "pasta") {
    file = find("slirp4netns");
    if (!file) {
      throw new NetworkError(
        "HELPER_MISSING",
        "missing",
        "neither pasta nor slirp4netns found on PATH",
        {
          hint: `${INSTALL.pasta} or slirp4netns`,
          helper: "pasta",
        },
      );
    }
    helper = "slirp4netns";
    warnings.push(
      `pasta not found on PATH (${INSTALL.pasta}): using slirp4netns`,
    );
  }
  if (!file) {
    throw missing(mode, path, mode === "slirp4netns" ? "pasta" : undefined);
  }
  if (helper === "slirp4netns") checkSlirpPorts(publish);
  const setpriv = find("setpriv");
  if (!setpriv && helper === "pasta") {
    warnings.push(
      "setpriv not found on PATH (apt-get install util-linux): pasta will outlive userns if userns is killed",
    );
  }
  return {
    helper,
    path: file,
    setpriv,
    publish,
    allowHostLoopback: o.allowHostLoopback ?? false,
    nameserver: helper === "pasta" ? PASTA_DNS : SLIRP_DNS,
    timeout: o.helperTimeout ?? 10_000,
    warnings,
  };
}

/** slirp4netns's API forwards IPv4 only. */
function checkSlirpPorts(publish: Published[]): void {
  const v6 = publish.find((p) => p.hostIp.includes(":"));
  if (v6) {
    throw new UsernsError(
      "INVALID_ARGUMENT",
      `-p ${formatPublish(v6)}: slirp4netns forwards IPv4 addresses only`,
      { hint: "publish on an IPv4 address, or use --network pasta" },
    );
  }
}

/** Where pasta attaches: a process (run), or a pod's namespaces by path. */
export type PastaTarget =
  | { pid: number }
  | { userns: string; netns: string };

/**
 * pasta's arguments. Attached to a pid it stays in the foreground (so it
 * can be the caller's child, ended with it); for a pod it forks to the
 * background once ready and quits when the `netns` path is removed. Either
 * way it writes its pid to fd 1 once the interface, routes and ports are
 * set up: the caller's readiness signal.
 *
 * @param plan the plan
 * @param target where to attach
 * @param root whether the caller is root: pasta would otherwise switch to
 *   nobody, who may not enter a namespace of root's
 * @returns the arguments, without the program
 */
export function pastaArgs(
  plan: NetworkPlan,
  target: PastaTarget,
  root: boolean,
): string[] {
  const args = [
    "--config-net",
    "--quiet",
    "--pid",
    `/proc/self/fd/${READY_FD}`,
  ];
  if ("pid" in target) args.push("--foreground");
  if (root) args.push("--runas", "0:0");
  for (const proto of ["tcp", "udp"] as const) {
    const flag = proto === "tcp" ? "-t" : "-u";
    const ports = plan.publish.filter((p) => p.protocol === proto);
    if (ports.length === 0) args.push(flag, "none");
    for (const p of ports) args.push(flag, pastaSpec(p));
  }
  args.push("-T", "none", "-U", "none");
  if (!plan.allowHostLoopback) args.push("--no-map-gw");
  args.push("--dns-forward", PASTA_DNS);
  if ("pid" in target) args.push(String(target.pid));
  else args.push("--userns", target.userns, "--netns", target.netns);
  return args;
}

/**
 * A published port as pasta's `-t`/`-u` take it: `ADDR/HOSTPORT:PORT`.
 *
 * @param p the port
 * @returns the spec
 */
export function pastaSpec(p: Published): string {
  return `${p.hostIp}/${p.hostPort}:${p.port}`;
}

/**
 * slirp4netns's arguments: it says it is ready on {@link READY_FD} (after the
 * interface, routes and its API socket are set up); attached, it also
 * exits when fd 0 (a pipe the caller holds) reports EOF. Ports are added
 * through the API socket afterwards.
 *
 * @param plan the plan
 * @param pid the namespace's process
 * @param socket its API socket's path
 * @param attached whether it ends with the caller (fd 0)
 * @returns the arguments, without the program
 */
export function slirpArgs(
  plan: NetworkPlan,
  pid: number,
  socket: string,
  attached: boolean,
): string[] {
  const args = [
    "--configure",
    `--mtu=${SLIRP_MTU}`,
    `--ready-fd=${READY_FD}`,
    "--api-socket",
    socket,
    "--enable-sandbox",
    "--enable-seccomp",
  ];
  if (attached) args.push("--exit-fd=0");
  if (!plan.allowHostLoopback) args.push("--disable-host-loopback");
  args.push(String(pid), SLIRP_IFNAME);
  return args;
}

/**
 * The fd a helper says "ready" on: the caller's stdout pipe, moved there by
 * {@link commandLine}, so that nothing else the helper prints (slirp4netns
 * prints a banner on stdout, buffered) can be taken for it.
 */
export const READY_FD = 3;

/**
 * The command line that runs a helper: `sh` moves the caller's stdout pipe
 * to {@link READY_FD} and points the helper's stdout at its stderr, then
 * executes it; before it, `setpriv --pdeathsig KILL` when `tie` (and
 * setpriv was found), so that the kernel kills the helper when the thread
 * that started it ends. Each executes the next in the same process.
 *
 * @param plan the plan
 * @param args the helper's arguments
 * @param tie whether it ends with its starter
 * @returns the program (absolute) and its arguments
 */
export function commandLine(
  plan: NetworkPlan,
  args: string[],
  tie: boolean,
): string[] {
  const sh = [
    "/bin/sh",
    "-c",
    `exec "$0" "$@" ${READY_FD}>&1 1>&2`,
    plan.path,
    ...args,
  ];
  return tie && plan.setpriv
    ? [plan.setpriv, "--pdeathsig", "KILL", "--", ...sh]
    : sh;
}

/**
 * The namespace's `resolv.conf`: the helper's resolver, with the host's
 * `search` and `options` lines (as podman writes it).
 *
 * @param nameserver the resolver address inside
 * @param host the host's resolv.conf text, if it could be read
 * @returns the file's text
 */
export function resolvConf(nameserver: string, host = ""): string {
  const kept = host.split("\n").map((l) => l.trim())
    .filter((l) => /^(search|domain|options)\s/.test(l));
  return [`nameserver ${nameserver}`, ...kept].join("\n") + "\n";
}
