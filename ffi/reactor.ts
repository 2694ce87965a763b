/**
 * The event pump of this isolate: one native context (`c/waiter.c`), at
 * most one pending wait, and the callbacks waiting for its events. A child
 * is reaped by the native waiter thread the moment it ends; here its exit
 * event reaches the callback registered for its pidfd.
 *
 * The context lives as long as this isolate: it holds the read end of the
 * context's liveness pipe as a file of its own, which the runtime closes
 * when the isolate is torn down (a Worker's `terminate()` or `close()`);
 * the native side then kills and reaps the context's children and closes
 * its fds, as `Deno.Command` does for a Worker's children.
 *
 * @module
 */
import { errnoName } from "../lib/errors/errno.ts";
import { SpawnError } from "../lib/errors/errors.ts";
import { EV_SLOTS, Event, EventSlot } from "./abi.ts";
import { raw as calls } from "./raw.ts";

/** Called with an event's two values: exit code and signal, or epoll bits. */
export type EventHandler = (a: number, b: number) => void;

interface Core {
  refOpPromise(p: Promise<unknown>): void;
  unrefOpPromise(p: Promise<unknown>): void;
}

/** Deno's own op-promise ref counting, as `Deno.ChildProcess.unref()` uses
 * it; absent in a runtime that hides it (then the wait is always ref'd). */
const core = (Deno as unknown as Record<symbol, { core?: Core } | undefined>)[
  (Deno as unknown as { internal: symbol }).internal
]?.core;

const BATCH = 64;

const FD_HINTS: Record<string, string> = {
  EMFILE: "too many open files; raise ulimit -n",
  ENFILE: "the system is out of file descriptors",
};

/** The error of a failure to start `what`. */
function startError(errno: string, what = "the library's waiter"): SpawnError {
  return new SpawnError("SETUP", `cannot start ${what}: ${errno}`, {
    errno,
    hint: FD_HINTS[errno] ?? "run userns doctor",
  });
}

class Reactor {
  readonly ctx: number;
  readonly #native: typeof calls;
  readonly #handlers = new Map<number, EventHandler>();
  readonly #events = new Int32Array(BATCH * EV_SLOTS);
  #pending: Promise<number> | undefined;
  #refs = 0;
  /** The liveness pipe's read end: never closed but by the runtime. */
  readonly #alive: Deno.FsFile | undefined;

  constructor(native: typeof calls) {
    this.#native = native;
    const out = new Int32Array(2);
    const rc = native.ctxOpen(out);
    if (rc < 0) throw startError(errnoName(-rc));
    this.ctx = out[0]!;
    // The main isolate lives as long as the process: only a Worker's
    // context needs to be told when it is torn down.
    if (!("WorkerGlobalScope" in globalThis)) {
      this.#alive = undefined;
      return;
    }
    try {
      this.#alive = Deno.openSync(`/proc/self/fd/${out[1]}`);
    } catch (e) {
      if (
        e instanceof Deno.errors.NotCapable ||
        e instanceof Deno.errors.PermissionDenied
      ) {
        // Without read access to /proc/self/fd the pipe's end stays open
        // here: children are still reaped, but a Worker torn down does not
        // take its children with it.
        this.#alive = undefined;
        return;
      }
      native.close(out[1]!); // the context dies with it
      throw startError(
        /Too many open files/.test(String(e)) ? "EMFILE" : (e as Error).name,
      );
    }
    native.close(out[1]!);
  }

  /**
   * Calls `fn` once for the next event of `fd`: its exit (a pidfd, already
   * watched by the native side) or, after {@link arm}, its readiness.
   */
  on(fd: number, fn: EventHandler): void {
    this.#handlers.set(fd, fn);
    this.#pump();
  }

  /** Forgets the callback of `fd`, if any. */
  off(fd: number): void {
    this.#handlers.delete(fd);
    if (this.#handlers.size === 0 && this.#pending) {
      this.#native.ctxKick(this.ctx); // free the waiting thread
    }
  }

  /** Asks for one READ or WRITE event of a pipe fd, to `fn`. */
  arm(
    fd: number,
    kind: typeof Event.READ | typeof Event.WRITE,
    fn: EventHandler,
  ): number {
    const rc = this.#native.watch(fd, kind);
    if (rc === 0) this.on(fd, fn);
    return rc;
  }

  /**
   * Calls `fn` once `ms` milliseconds have passed: a native timer, which
   * keeps the event loop alive only while this reactor is ref'd.
   *
   * @param ms how long from now (clamped to 0 .. 2^31-1)
   * @param fn what to call
   * @returns what cancels it, before it has fired
   * @throws {SpawnError} SETUP when no timer can be made (no fds left)
   */
  timer(ms: number, fn: () => void): () => void {
    const wait = Math.min(Math.max(0, Math.ceil(ms)), 0x7fffffff);
    const fd = this.#native.timer(this.ctx, wait);
    const rc = fd < 0 ? fd : this.#native.watch(fd, Event.READ);
    if (rc < 0) {
      if (fd >= 0) this.#native.close(fd);
      throw startError(errnoName(-rc), "a timer");
    }
    let live = true;
    const cancel = () => {
      if (live) live = false, this.off(fd), this.#native.close(fd);
    };
    this.on(fd, () => {
      cancel();
      fn();
    });
    return cancel;
  }

  /** One more reason to keep the event loop alive (a ref'd child). */
  ref(): void {
    if (this.#refs++ === 0 && this.#pending) core?.refOpPromise(this.#pending);
  }

  /** One reason less. */
  unref(): void {
    if (--this.#refs === 0 && this.#pending) {
      core?.unrefOpPromise(this.#pending);
    }
  }

  /**
   * Blocks this thread until an event comes (or `timeoutMs` pass) and
   * dispatches what came: the loop of the synchronous APIs.
   */
  waitSync(timeoutMs: number): void {
    this.#native.ctxWait(this.ctx, timeoutMs);
    this.#drain();
  }

  #pump(): void {
    if (this.#pending || this.#handlers.size === 0) return;
    const p = this.#native.ctxWaitAsync(this.ctx, -1);
    this.#pending = p;
    if (this.#refs === 0) core?.unrefOpPromise(p);
    p.then(() => {
      this.#pending = undefined;
      this.#drain();
      this.#pump();
    });
  }

  #drain(): void {
    const ev = this.#events;
    for (;;) {
      const n = this.#native.ctxTake(this.ctx, ev, BATCH);
      for (let i = 0; i < n; i++) {
        const at = i * EV_SLOTS;
        const fd = ev[at + EventSlot.FD]!;
        const fn = this.#handlers.get(fd);
        this.#handlers.delete(fd);
        try {
          fn?.(ev[at + EventSlot.A]!, ev[at + EventSlot.B]!);
        } catch (e) {
          // Reported as an event handler's error is, without losing the
          // rest of the batch or the wait for the next.
          queueMicrotask(() => {
            throw e;
          });
        }
      }
      if (n < BATCH) return;
    }
  }
}

let reactor: Reactor | undefined;

/**
 * This isolate's reactor, created on first use.
 *
 * @returns the reactor
 */
export function getReactor(): Reactor {
  return reactor ??= new Reactor(calls);
}

export type { Reactor };
