/**
 * A pod's network: the helper outlives the `start` that made it and ends at
 * `stop`. It is started at the holder's `beforeExec` moment, as a
 * command's is, but detached: not this process's child for long, no
 * parent-death signal, its own session, its output in files.
 *
 * - pasta forks to the background once ready (as podman runs it) and
 *   attaches through a link in the pod's state directory to the holder's
 *   network namespace: it quits by itself, at once, when that link is
 *   removed (it watches the directory), so `stop`, and the sweep of a dead
 *   pod's record, end it by removing the link, with no pid to trust.
 * - slirp4netns has no such watch: it is ended by its pid, checked against
 *   its recorded start time so that a reused pid is never signalled.
 *
 * The pod's record keeps the {@link PodNetwork}.
 *
 * @module
 */
import { signalProcess, startTime } from "../../ffi/process.ts";
import { HelperProcess } from "./_helper.ts";
import {
  checkTun,
  helperFailure,
  helperLines,
  NetworkError,
  portFailure,
  timeoutFailure,
} from "./errors.ts";
import type { NetworkHelper, NetworkOptions, Published } from "./options.ts";
import {
  commandLine,
  type NetworkPlan,
  pastaArgs,
  planNetwork,
  READY_FD,
  resolvConf,
  slirpArgs,
} from "./plan.ts";
import { addHostForward } from "./slirp_api.ts";

/** What a pod's record keeps of its network. */
export interface PodNetwork {
  /** The helper. */
  helper: NetworkHelper;
  /** Its host pid (pasta's: the daemon's). */
  pid: number;
  /** Its start time, clock ticks after boot: tells it from a later process with its pid. */
  start: number;
  /** The namespace's `/etc/resolv.conf`. */
  resolvConf: string;
  /** The ports it forwards. */
  publish: Published[];
  /** Whether the host's 127.0.0.1 is reachable through the gateway. */
  allowHostLoopback: boolean;
}

/**
 * Where a pod's network files go: its state directory and its name. The
 * record keeps no path: they follow from this, so that a record read back
 * can name no other file.
 */
export interface PodPlace {
  /** The pod state directory (private, the caller's). */
  dir: string;
  /** The pod's name. */
  name: string;
}

/**
 * A pod's network files: pasta's link to the holder's network namespace
 * (removing it ends pasta), slirp4netns's API socket and log.
 *
 * @param at the pod's state directory and name
 * @returns their paths
 */
export function podNetworkFiles(
  at: PodPlace,
): { link: string; socket: string; log: string } {
  const base = `${at.dir}/${at.name}`;
  return {
    link: `${base}.netns`,
    socket: `${base}.slirp.sock`,
    log: `${base}.slirp.log`,
  };
}

/**
 * Starts a pod's network on its holder, detached, and returns once it is
 * ready. Nothing is started for `host` and `none`.
 *
 * @param pid the holder's host pid, at its `beforeExec` moment (maps
 *   written, nothing executed: still open to its owner)
 * @param options the network options
 * @param at the pod's state directory and name, for its files
 * @returns what the pod's record keeps, or undefined
 * @throws {NetworkError} as `startNetwork()`; nothing is left running
 */
export async function startPodNetwork(
  pid: number,
  options: NetworkOptions,
  at: PodPlace,
): Promise<PodNetwork | undefined> {
  const plan = planNetwork(options);
  if (!plan) return undefined;
  for (const w of plan.warnings) {
    if (!w.startsWith("setpriv")) (options.onWarning ?? warn)(w);
  }
  checkTun(plan.helper);
  const f = podNetworkFiles(at);
  return plan.helper === "pasta"
    ? await startPasta(pid, plan, f.link)
    : await startSlirp(pid, plan, f.socket, f.log);
}

function warn(message: string): void {
  console.error(`userns: warning: ${message}`);
}

function record(plan: NetworkPlan, pid: number): PodNetwork {
  const start = startTime(pid);
  if (start === undefined) {
    throw new NetworkError(
      "HELPER_FAILED",
      "failed",
      `${plan.helper} (pid ${pid}) ended right after it was ready`,
      { hint: "run userns doctor", helper: plan.helper },
    );
  }
  return {
    helper: plan.helper,
    pid,
    start,
    resolvConf: resolvConf(plan.nameserver, hostResolvConf()),
    publish: plan.publish,
    allowHostLoopback: plan.allowHostLoopback,
  };
}

async function startPasta(
  pid: number,
  plan: NetworkPlan,
  link: string,
): Promise<PodNetwork> {
  await Deno.remove(link).catch(() => {});
  await Deno.symlink(`/proc/${pid}/ns/net`, link);
  const args = pastaArgs(
    plan,
    { userns: `/proc/${pid}/ns/user`, netns: link },
    Deno.uid() === 0,
  );
  try {
    // The first pasta writes its daemon's pid once the namespace is set
    // up, then exits.
    const h = new HelperProcess(commandLine(plan, args, false), "null");
    const r = await h.ready(plan.timeout);
    if (!r.ready && r.timedOut) {
      await h.end();
      throw timeoutFailure(plan.helper, plan.timeout);
    }
    const status = await h.status;
    if (!r.ready || !status.success) {
      const e = helperFailure(
        plan.helper,
        plan.publish,
        status,
        await h.stderr(),
        pid,
      );
      throw e instanceof NetworkError
        ? e
        : portFailure(plan.helper, e.port, e.line);
    }
    return record(plan, Number(r.line));
  } catch (e) {
    await Deno.remove(link).catch(() => {}); // a daemon quits with it
    throw e;
  }
}

async function startSlirp(
  pid: number,
  plan: NetworkPlan,
  socket: string,
  log: string,
): Promise<PodNetwork> {
  await Deno.remove(socket).catch(() => {});
  // Its own session, its output in a file: it outlives this process. As
  // commandLine() does, with stdout and stderr to the log.
  const sh = [
    "/bin/sh",
    "-c",
    `l="$0"; p="$1"; shift; exec setsid "$p" "$@" ${READY_FD}>&1 >"$l" 2>&1`,
    log,
    plan.path,
    ...slirpArgs(plan, pid, socket, false),
  ];
  const h = new HelperProcess(sh, "null");
  try {
    const r = await h.ready(plan.timeout);
    if (!r.ready) {
      if (r.timedOut) throw timeoutFailure(plan.helper, plan.timeout);
      const status = await h.status;
      const e = helperFailure(
        plan.helper,
        plan.publish,
        status,
        await readLog(log),
        pid,
      );
      throw e instanceof NetworkError
        ? e
        : portFailure(plan.helper, e.port, e.line);
    }
    for (const p of plan.publish) {
      const why = await addHostForward(socket, p);
      if (why) throw portFailure(plan.helper, p, why);
    }
    h.unref();
    return record(plan, h.pid);
  } catch (e) {
    await h.end();
    await removeAll([socket, log]);
    throw e;
  }
}

async function readLog(path: string): Promise<string> {
  try {
    return helperLines(await Deno.readTextFile(path)).join("\n");
  } catch {
    return "";
  }
}

function hostResolvConf(): string {
  try {
    return Deno.readTextFileSync("/etc/resolv.conf");
  } catch {
    return "";
  }
}

async function removeAll(files: string[]): Promise<void> {
  for (const f of files) await Deno.remove(f).catch(() => {});
}

/**
 * Whether a pod's helper still runs: the same pid and start time.
 *
 * @param net what the record keeps
 * @returns whether it runs
 */
export function podNetworkAlive(net: PodNetwork): boolean {
  return startTime(net.pid) === net.start;
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Ends a dead pod's helper without waiting (a sweep of records whose holder
 * is gone): pasta's link removed, which pasta watches, and SIGKILL to the
 * recorded process if it is still the same one; its other files removed.
 *
 * @param net what the record keeps, if anything
 * @param at the pod's state directory and name
 */
export function dropPodNetwork(
  net: PodNetwork | undefined,
  at: PodPlace,
): void {
  const f = podNetworkFiles(at);
  for (const file of [f.link, f.socket, f.log]) {
    try {
      Deno.removeSync(file);
    } catch {
      // not there
    }
  }
  if (net) signalProcess(net.pid, 9, () => podNetworkAlive(net));
}

/**
 * Ends a pod's helper and removes its files: pasta's link first (pasta
 * quits on its own), then SIGTERM and, a second later, SIGKILL to the
 * recorded process if it still runs (the same pid and start time). Safe to
 * call for a helper already gone, and for a pod whose start failed midway
 * (then `net` is undefined: only its files go).
 *
 * @param net what the record keeps, if anything
 * @param at the pod's state directory and name
 * @returns whether the helper is gone
 */
export async function stopPodNetwork(
  net: PodNetwork | undefined,
  at: PodPlace,
): Promise<boolean> {
  const f = podNetworkFiles(at);
  await Deno.remove(f.link).catch(() => {});
  if (net) {
    const alive = () => podNetworkAlive(net);
    // pasta quits by itself once its link is gone: give it a moment first.
    const steps = net.helper === "pasta"
      ? [[0, 500], [15, 1000], [9, 1000]] as const
      : [[15, 1000], [9, 1000]] as const;
    for (const [sig, ms] of steps) {
      if (sig) signalProcess(net.pid, sig, alive);
      for (let t = 0; t < ms && alive(); t += 10) await delay(10);
      if (!alive()) break;
    }
  }
  await removeAll([f.socket, f.log]);
  return !net || !podNetworkAlive(net);
}
