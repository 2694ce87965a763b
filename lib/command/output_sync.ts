/**
 * `UsernsCommand.outputSync()`: the whole spawn on the calling thread, from
 * the helpers to the command's end, pumping this isolate's reactor.
 *
 * @module
 */
import { failureError } from "../errors/failure.ts";
import { helperTimeoutError } from "../errors/spawn.ts";
import {
  finishIdMaps,
  type MapWrite,
  RUNNING,
  startIdMaps,
} from "../idmap/write.ts";
import type { Prepared } from "./prepare.ts";
import {
  HELPER_TIMEOUT_MS,
  printWarning,
  type UsernsCommandOptions,
} from "./options.ts";
import { runHookSync } from "./hook.ts";
import { join } from "./stream.ts";
import { outputOf, statusOf, type UsernsOutput } from "./status.ts";
import { closeFd, readNow } from "../../ffi/fd.ts";
import {
  abort,
  readFailureSync,
  release,
  spawnPaused,
} from "../../ffi/spawn.ts";
import { Event } from "../../ffi/abi.ts";
import { Errno } from "../errors/mod.ts";
import { getReactor } from "../../ffi/reactor.ts";

const scratch = new Uint8Array(65536);

/** Pumps the reactor until `done()`, or until `deadline` (ms since epoch). */
function pumpUntil(done: () => boolean, deadline = Infinity): boolean {
  const reactor = getReactor();
  while (!done()) {
    const left = deadline - Date.now();
    if (left <= 0) return false;
    reactor.waitSync(left === Infinity ? -1 : Math.ceil(left));
  }
  return true;
}

/** Writes the maps and waits for the helpers, at most `timeoutMs`. */
function writeMapsSync(prepared: Prepared, pid: number, timeoutMs: number) {
  let write: MapWrite;
  try {
    write = startIdMaps(pid, prepared.plan!, prepared.helpers);
  } catch (e) {
    const left = (e as { [RUNNING]?: MapWrite })[RUNNING];
    if (left) pumpUntil(left.done);
    throw e;
  }
  if (!pumpUntil(write.done, Date.now() + timeoutMs)) {
    const late = write.stop();
    pumpUntil(write.done);
    try {
      finishIdMaps(write);
    } catch {
      // killed: their status says nothing more
    }
    throw helperTimeoutError(late.join(" and "), pid, timeoutMs);
  }
  finishIdMaps(write);
}

/** Reads the piped fds to their ends while the command runs. */
function collect(
  fds: number[],
  ended: () => boolean,
): (Uint8Array | undefined)[] {
  const reactor = getReactor();
  const parts: Uint8Array[][] = fds.map(() => []);
  const size = fds.map(() => 0);
  const open = fds.map((fd) => fd >= 0);
  const ready = () => ended() && !open.some((o) => o);
  while (!ready()) {
    fds.forEach((fd, i) => {
      for (let n; open[i] && (n = readNow(fd, scratch)) !== -Errno.EAGAIN;) {
        if (n <= 0) {
          open[i] = false;
          closeFd(fd);
        } else {
          parts[i]!.push(scratch.slice(0, n));
          size[i]! += n;
        }
      }
      if (open[i]) reactor.arm(fd, Event.READ, () => {});
    });
    if (!ready()) reactor.waitSync(-1);
  }
  return fds.map((fd, i) => (fd < 0 ? undefined : join(parts[i]!, size[i]!)));
}

/**
 * Runs a prepared spawn to its end on this thread.
 *
 * @param prepared the plan and request (stdin "null" or "inherit")
 * @param options the command's options
 * @returns status and output
 * @throws as `UsernsCommand.output()` rejects
 */
export function runSync(
  prepared: Prepared,
  options: UsernsCommandOptions,
): UsernsOutput {
  const n = spawnPaused(prepared.request);
  let exit: [number, number] | undefined;
  getReactor().on(n.pidfd, (code, sig) => (exit = [code, sig]));
  let released = false;
  try {
    if (prepared.plan?.warning) {
      (options.onWarning ?? printWarning)(prepared.plan.warning);
    }
    if (prepared.plan) {
      writeMapsSync(
        prepared,
        n.pid,
        options.helperTimeout ?? HELPER_TIMEOUT_MS,
      );
    }
    if (options.beforeExec) runHookSync(options.beforeExec, n.pid);
    released = true;
    release(n.syncFd);
    const failure = readFailureSync(n.errFd);
    if (failure) throw failureError(failure, prepared.request);
  } catch (e) {
    if (!released) abort(n.syncFd);
    for (const fd of [n.stdout, n.stderr, n.errFd]) closeFd(fd);
    pumpUntil(() => exit !== undefined); // reaped, its fds closed
    throw e;
  }
  closeFd(n.errFd);
  const [stdout, stderr] = collect(
    [n.stdout, n.stderr],
    () => exit !== undefined,
  );
  const [code, sig] = exit!;
  return outputOf(
    statusOf(code, sig),
    stdout,
    stderr,
  );
}
