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
import { signalProcess, startTime } from "../../ffi/native.ts";
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
  /** pasta: the link to the namespace; removing it ends pasta. */
  link?: string;
  /** Files to remove at stop: the link, slirp4netns's API socket and log. */
  files: string[];
}

/** Where a pod's files go: its state directory and its name. */
export interface PodPlace {
  /** The pod state directory (private, the caller's). */
  dir: string;
  /** The pod's name. */
  name: string;
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
  const base = `${at.dir}/${at.name}`;
  const net = plan.helper === "pasta"
    ? await startPasta(pid, plan, `${base}.netns`)
    : await startSlirp(pid, plan, `${base}.slirp.sock`, `${base}.slirp.log`);
  return net;
}

function warn(message: string): void {
  console.error(`userns: warning: ${message}`);
}

function record(
  plan: NetworkPlan,
  pid: number,
  files: string[],
  link?: string,
): PodNetwork {
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
    ...link ? { link } : {},
    files,
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
    return record(plan, Number(r.line), [link], link);
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
    return record(plan, h.pid, [socket, log]);
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
 * Ends a pod's helper and removes its files: the link first (pasta quits on
 * its own), then SIGTERM and, a second later, SIGKILL to the recorded
 * process if it still runs. Safe to call for a helper already gone.
 *
 * @param net what the record keeps
 * @returns whether the helper is gone
 */
export async function stopPodNetwork(net: PodNetwork): Promise<boolean> {
  if (net.link) await Deno.remove(net.link).catch(() => {});
  const alive = () => podNetworkAlive(net);
  // pasta quits by itself once its link is gone: give it a moment first.
  const steps = net.link
    ? [[0, 500], [15, 1000], [9, 1000]] as const
    : [[15, 1000], [9, 1000]] as const;
  for (const [sig, ms] of steps) {
    if (sig) signalProcess(net.pid, sig, alive);
    for (let t = 0; t < ms && alive(); t += 10) await delay(10);
    if (!alive()) break;
  }
  await removeAll(net.files);
  return !alive();
}
