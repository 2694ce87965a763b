/**
 * A pod's holder: the small `userns-pause` process whose namespaces are the
 * pod's, started, mapped and recorded ({@link startHolder}).
 *
 * @module
 */
import {
  HELPER_TIMEOUT_MS,
  printWarning,
  type UsernsCommandOptions,
} from "../command/options.ts";
import {
  bindResolvConf,
  namespaceSet,
  prepare,
  type Prepared,
} from "../command/prepare.ts";
import { withSandbox } from "../command/sandbox.ts";
import {
  type PodNetwork,
  startPodNetwork,
  stopPodNetwork,
} from "../net/pod.ts";
import { ORDER } from "../enter/target.ts";
import { UsernsError } from "../errors/errors.ts";
import { failureError } from "../errors/failure.ts";
import { writeIdMaps } from "../idmap/write.ts";
import { commitRecord, type PodRecord } from "./state.ts";
import { closeFd } from "../../ffi/fd.ts";
import { processId } from "../../ffi/process.ts";
import { getReactor } from "../../ffi/reactor.ts";
import { abort, readFailure, release, spawnPaused } from "../../ffi/spawn.ts";

/** Options of `UsernsPod.start()`: the maps and namespaces of `run`. */
export interface PodOptions extends
  Pick<
    UsernsCommandOptions,
    | "map"
    | "uidMap"
    | "gidMap"
    | "setgroups"
    | "strict"
    | "namespaces"
    | "hostname"
    | "propagation"
    | "mounts"
    | "mountProc"
    | "root"
    | "timeOffsets"
    | "helperTimeout"
    | "onWarning"
    | "network"
    | "publish"
    | "allowHostLoopback"
    | "sandbox"
    | "hide"
  > {
  /** Its name: 1-64 of `[A-Za-z0-9_.-]`, not starting with `.`. @default a random `pod-XXXXXXXX` */
  name?: string;
}

/**
 * Spawns the holder (`userns-pause NAME`: the library's own program, in the
 * pod's new namespaces), writes its maps, waits until it is ready, and
 * records it under its claimed name.
 *
 * @param dir the state directory, where `name` is claimed
 * @param name the pod's name
 * @param options the pod's options, checked
 * @returns its record, committed
 * @throws {UsernsError} as a spawn of a command, or SETUP when the holder
 * ends while starting
 */
export async function startHolder(
  dir: string,
  name: string,
  options: PodOptions,
): Promise<PodRecord> {
  const o: UsernsCommandOptions = {
    ...options,
    stdin: "null",
    stdout: "null",
    stderr: "null",
    setsid: true,
    clearEnv: true,
    init: false, // the holder is PID 1 of its pid namespace itself
  };
  const prepared = prepare("userns-pause", o, "null");
  if (prepared.network) bindResolvConf(prepared);
  prepared.request = {
    ...prepared.request,
    argv: ["userns-pause", name],
    execSelf: true,
    precheck: false,
    cwd: undefined,
  };
  let n;
  try {
    n = spawnPaused(prepared.request);
  } catch (e) {
    forgetFile(prepared.resolvConf);
    throw e;
  }
  const reactor = getReactor();
  reactor.on(n.pidfd, () => {}); // reaped when it ends, here or not
  // Its answers come through the reactor: keep the event loop alive for
  // them, as a child does until it ends (the holder never does).
  reactor.ref();
  let committed = false;
  let net: PodNetwork | undefined;
  const place = { dir, name };
  try {
    if (prepared.plan?.warning) {
      (options.onWarning ?? printWarning)(prepared.plan.warning);
    }
    await writeIdMaps(
      n.pid,
      prepared.plan!,
      prepared.helpers,
      options.helperTimeout ?? HELPER_TIMEOUT_MS,
    );
    // While the holder is still dumpable (it stops being so once it runs
    // as userns-pause), and before its commands can need the network.
    net = await startPodNetwork(n.pid, options, place);
    release(n.syncFd);
    const ready = await readFailure(n.errFd);
    if (ready === null || ready.step !== "") {
      throw ready ? failureError(ready, prepared.request) : notReady(name);
    }
    const id = processId(n.pid);
    if (!id) throw notReady(name);
    const rec = recordOf(name, n.pid, id, prepared, options, net);
    commitRecord(dir, rec);
    committed = true;
    release(n.syncFd); // the holder may outlive us now
    await readFailure(n.errFd); // its answer: EOF
    return rec;
  } finally {
    forgetFile(prepared.resolvConf);
    if (!committed) {
      abort(n.syncFd);
      await stopPodNetwork(net, place);
    }
    closeFd(n.errFd);
    reactor.unref();
  }
}

/** Removes a file of ours, if it is still there. */
function forgetFile(file: string | undefined): void {
  if (file === undefined) return;
  try {
    Deno.removeSync(file);
  } catch {
    // removed already
  }
}

function notReady(name: string): UsernsError {
  return new UsernsError(
    "SETUP",
    `the holder of pod "${name}" ended while starting`,
    {
      hint: "run userns doctor",
    },
  );
}

function recordOf(
  name: string,
  pid: number,
  id: { start: number; userns: number },
  prepared: Prepared,
  options: PodOptions,
  net: PodNetwork | undefined,
): PodRecord {
  const set = namespaceSet({ ...withSandbox(options), init: false });
  return {
    name,
    pid,
    start: id.start,
    userns: id.userns,
    namespaces: [
      "user",
      ...ORDER.map(([ns]) => ns).filter((ns) => set.has(ns as never)),
    ],
    uid: prepared.plan!.uid,
    gid: prepared.plan!.gid,
    setgroups: prepared.plan!.setgroups,
    created: new Date().toISOString(),
    ...(net ? { net } : {}),
    ...(options.sandbox ? { sandbox: true } : {}),
    ...(options.root !== undefined || options.sandbox
      ? { isolated: true }
      : {}),
  };
}
