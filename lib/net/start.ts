/**
 * Starting the network helper on a child that is about to run a command
 * (the `beforeExec` moment: its maps are written, it has executed
 * nothing), and ending it.
 *
 * The helper is this process's child, for as long as the namespace is
 * used: ended by {@link NetworkHandle.close}, and by the kernel when this
 * process dies, even by SIGKILL: it runs under `setpriv --pdeathsig KILL`
 * (the signal comes when the thread that started it ends: the main thread,
 * or a Worker's), which pasta keeps as it enters the namespace (its
 * credentials do not change: pasta runs as the caller, or `--runas 0:0` as
 * root), and slirp4netns also exits when its fd 0, a pipe only this process
 * holds, reports EOF (`--exit-fd`).
 *
 * @module
 */
import { readProcLink } from "../../ffi/process.ts";
import {
  checkTun,
  helperFailure,
  NetworkError,
  portFailure,
  timeoutFailure,
} from "./errors.ts";
import { HelperProcess } from "./_helper.ts";
import type { NetworkHelper, NetworkOptions, Published } from "./options.ts";
import {
  commandLine,
  type NetworkPlan,
  pastaArgs,
  planNetwork,
  resolvConf,
  slirpArgs,
} from "./plan.ts";
import { addHostForward } from "./slirp_api.ts";

/** A running network helper. */
export interface NetworkHandle extends AsyncDisposable {
  /** The helper that runs. */
  readonly helper: NetworkHelper;
  /** Its host pid. */
  readonly pid: number;
  /** The namespace's `/etc/resolv.conf`: the helper's resolver. */
  readonly resolvConf: string;
  /** The ports it forwards. */
  readonly publish: readonly Published[];
  /** Settles when the helper has ended (closed, or died), with how. */
  readonly ended: Promise<Deno.CommandStatus>;
  /** Ends the helper and waits until it is reaped. Safe to call twice. */
  close(): Promise<void>;
}

function warn(message: string): void {
  console.error(`userns: warning: ${message}`);
}

/**
 * Starts the network helper on `pid` and returns once the namespace's
 * interface, routes, DNS forwarder and published ports are ready: a
 * command started after this finds them working. Nothing is started for
 * `host` and `none`.
 *
 * @example Usage
 * ```ts ignore
 * import { UsernsCommand } from "../mod.ts";
 * import { startNetwork } from "./mod.ts";
 * let net;
 * const out = await new UsernsCommand("wget", {
 *   args: ["-qO-", "http://example.com"],
 *   namespaces: ["net", "pid"],
 *   beforeExec: async (pid) => {
 *     net = await startNetwork(pid, { network: "pasta" });
 *   },
 * }).output();
 * await net?.close();
 * ```
 *
 * @param pid the child's host pid: a new network namespace, maps written,
 *   nothing executed yet
 * @param options the network options
 * @returns the handle, or undefined when no helper is needed
 * @throws {NetworkError} a missing helper, an unusable /dev/net/tun, a host
 * port that cannot be had, a helper that failed or was not ready in time;
 * nothing is left running
 * @throws {UsernsTypeError} {UsernsRangeError} invalid options
 */
export async function startNetwork(
  pid: number,
  options: NetworkOptions,
): Promise<NetworkHandle | undefined> {
  const plan = planNetwork(options);
  if (!plan) return undefined;
  for (const w of plan.warnings) (options.onWarning ?? warn)(w);
  return await startPlanned(pid, plan);
}

/**
 * {@link startNetwork} for a plan already made.
 *
 * @param pid the child's host pid
 * @param plan the plan
 * @returns the handle
 * @throws as {@link startNetwork}
 */
export async function startPlanned(
  pid: number,
  plan: NetworkPlan,
): Promise<NetworkHandle> {
  checkTarget(pid, plan.helper);
  checkTun(plan.helper);
  const dir = plan.helper === "slirp4netns"
    ? Deno.makeTempDirSync({ prefix: "userns-net-" })
    : undefined;
  const socket = `${dir}/api.sock`;
  const args = plan.helper === "pasta"
    ? pastaArgs(plan, { pid }, Deno.uid() === 0)
    : slirpArgs(plan, pid, socket, true);
  const argv = commandLine(plan, args, true);
  const removeDir = async () => {
    if (dir) await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  let h: HelperProcess;
  try {
    h = new HelperProcess(argv, dir ? "piped" : "null");
  } catch (e) {
    await removeDir();
    throw e;
  }
  try {
    const r = await h.ready(plan.timeout);
    if (!r.ready) {
      throw r.timedOut
        ? timeoutFailure(plan.helper, plan.timeout)
        : await failure(h, plan, pid);
    }
    if (dir) await publishAll(plan, socket);
  } catch (e) {
    await h.end();
    throw e;
  } finally {
    // The API socket is not needed once the ports are set up: gone now, it
    // is not left behind if this process is killed later.
    await removeDir();
  }
  return new Network(h, plan, resolvConf(plan.nameserver, hostResolvConf()));
}

/** Why a helper that ended before it was ready failed. */
async function failure(
  h: HelperProcess,
  plan: NetworkPlan,
  pid: number,
): Promise<NetworkError> {
  const status = await h.status;
  const e = helperFailure(
    plan.helper,
    plan.publish,
    status,
    await h.stderr(),
    pid,
  );
  return e instanceof NetworkError
    ? e
    : portFailure(plan.helper, e.port, e.line);
}

async function publishAll(plan: NetworkPlan, socket: string): Promise<void> {
  for (const p of plan.publish) {
    const why = await addHostForward(socket, p);
    if (why) throw portFailure(plan.helper, p, why);
  }
}

/**
 * Refuses a process that shares this process's network namespace: the
 * helper would try to configure the host's.
 */
function checkTarget(pid: number, helper: NetworkHelper): void {
  let same: boolean;
  try {
    const ns = readProcLink(`/proc/${pid}/ns/net`);
    if (ns === 2) throw new Deno.errors.NotFound(`no process ${pid}`);
    same = ns === readProcLink("/proc/self/ns/net");
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new NetworkError(
        "HELPER_FAILED",
        "namespace",
        `process ${pid} has ended: no namespace for ${helper}`,
        {
          hint: "start the network from beforeExec, while the child waits",
          helper,
        },
      );
    }
    return; // not readable here: the helper will say
  }
  if (same) {
    throw new NetworkError(
      "INVALID_ARGUMENT",
      "namespace",
      `process ${pid} has no network namespace of its own for ${helper}`,
      {
        hint: 'add "net" to namespaces',
        helper,
      },
    );
  }
}

function hostResolvConf(): string {
  try {
    return Deno.readTextFileSync("/etc/resolv.conf");
  } catch {
    return "";
  }
}

class Network implements NetworkHandle {
  readonly helper: NetworkHelper;
  readonly pid: number;
  readonly resolvConf: string;
  readonly publish: readonly Published[];
  readonly ended: Promise<Deno.CommandStatus>;
  readonly #h: HelperProcess;
  #closing?: Promise<void>;

  constructor(h: HelperProcess, plan: NetworkPlan, resolv: string) {
    this.helper = plan.helper;
    this.pid = h.pid;
    this.resolvConf = resolv;
    this.publish = plan.publish;
    this.ended = h.status;
    this.#h = h;
  }

  close(): Promise<void> {
    return this.#closing ??= this.#h.end().then(() => {});
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
