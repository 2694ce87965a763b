/**
 * {@link UsernsChild}: a command running in its namespaces, as
 * `Deno.ChildProcess`. Its set-up runs in the background once it is cloned:
 * the ID maps are written, the caller's `beforeExec` runs, the child is
 * released and its failure record read; `kill()` and the AbortSignal stop
 * it at any point.
 *
 * @module
 */
import { UsernsTypeError } from "../errors/builtin.ts";
import { SpawnError, UsernsError } from "../errors/errors.ts";
import { failureError } from "../errors/failure.ts";
import { type AbortSource, writeIdMaps } from "../idmap/write.ts";
import {
  HELPER_TIMEOUT_MS,
  printWarning,
  type UsernsCommandOptions,
} from "./options.ts";
import type { Prepared } from "./prepare.ts";
import { runHook } from "./hook.ts";
import { signalNumber, terminates } from "./signals.ts";
import {
  notPiped,
  outputOf,
  statusOf,
  type UsernsOutput,
  type UsernsStatus,
} from "./status.ts";
import {
  type Hold,
  readableFromFd,
  readToEnd,
  writableToFd,
} from "./stream.ts";
import type { TtyRelay } from "./tty.ts";
import { type NetworkHandle, startPlanned } from "../net/start.ts";
import { closeFd, writeFileOnce } from "../../ffi/fd.ts";
import { errnoName } from "../errors/errno.ts";
import { getReactor } from "../../ffi/reactor.ts";
import {
  abort,
  killChild,
  type PausedChild,
  readFailure,
  release,
  spawnPaused,
} from "../../ffi/spawn.ts";

/** Set-up was stopped by kill() or the AbortSignal. */
const STOPPED = Symbol("stopped");
/** In place of a piped fd that output() has read: its stream is locked. */
const COLLECTED = -2;

/**
 * What stops a child's set-up (kill() or the AbortSignal before release):
 * an abort source with room for the one listener it ever has, the map
 * write's. An AbortController, made for every spawn, costs more.
 */
class SetupStop implements AbortSource {
  aborted = false;
  reason: unknown = undefined;
  #listener: (() => void) | undefined;

  addEventListener(_type: "abort", listener: () => void): void {
    this.#listener = listener;
  }

  removeEventListener(_type: "abort", listener: () => void): void {
    if (this.#listener === listener) this.#listener = undefined;
  }

  /** Stops the set-up; once only, as AbortController.abort(). */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.#listener?.();
  }
}

/** A command running in its namespace, as `Deno.ChildProcess`. */
export class UsernsChild implements AsyncDisposable {
  /** The command's pid in the caller's pid namespace (its init's, when it
   * has one). */
  readonly pid: number;
  /**
   * Resolves once the child has left set-up: the command was executed, or
   * the child died of a signal before it could be (see `status`). Rejects
   * when set-up or execve failed, or was stopped.
   */
  readonly ready: Promise<void>;
  /**
   * Resolves when the command ends; rejects when its set-up failed. A
   * command stopped by `kill()` or the AbortSignal before it ran reports
   * the signal (`{ code: 143, signal: "SIGTERM" }`), as `Deno.Command`'s
   * status does.
   */
  readonly status: Promise<UsernsStatus>;
  /** Which of stdin, stdout, stderr are piped. */
  readonly piped: { stdin: boolean; stdout: boolean; stderr: boolean };
  readonly #native: PausedChild;
  readonly #exit: Promise<[number, number]>;
  readonly #setup = new SetupStop();
  readonly #fds: number[];
  readonly #tty: TtyRelay | undefined;
  #net: NetworkHandle | undefined;
  #errFd: number;
  #streams: [
    WritableStream<Uint8Array>?,
    ReadableStream<Uint8Array>?,
    ReadableStream<Uint8Array>?,
  ] = [];
  #ended = false;
  #released = false;
  /** The signal that stopped the set-up (kill() or the AbortSignal before
   * release), or 0. */
  #killedEarly = 0;
  #refd = true;
  /** Reads and writes of its pipes waiting now. */
  #waits = 0;
  /** Whether this child holds one of the reactor's refs now. */
  #held = true;
  /** Keeps the event loop alive while a pipe waits, as a ref'd child. */
  readonly #hold: Hold = {
    begin: () => {
      this.#waits++;
      this.#sync();
    },
    end: () => {
      this.#waits--;
      this.#sync();
    },
  };

  /**
   * Use {@link UsernsCommand.spawn}.
   *
   * @param prepared the plan and request
   * @param options the command's options, for the hook, signal and warning
   */
  constructor(prepared: Prepared, options: UsernsCommandOptions) {
    let n: PausedChild;
    try {
      n = spawnPaused(prepared.request);
    } catch (e) {
      prepared.tty?.close();
      forget(prepared.resolvConf);
      throw e;
    }
    prepared.tty?.start();
    this.#tty = prepared.tty;
    const reactor = getReactor();
    this.#native = n;
    this.pid = n.pid;
    this.#fds = [n.stdin, n.stdout, n.stderr];
    this.#errFd = n.errFd;
    reactor.ref();
    this.#exit = new Promise((resolve) =>
      reactor.on(n.pidfd, (code, signal) => {
        this.#ended = true;
        this.#sync();
        resolve([code, signal]);
      })
    );
    const [i, o, e] = prepared.request.stdio;
    this.piped = {
      stdin: i === "piped",
      stdout: o === "piped",
      stderr: e === "piped",
    };
    try {
      // Warn only once the child exists: a failure to load or clone says
      // all there is to say.
      for (
        const w of [prepared.plan?.warning, ...prepared.network?.warnings ?? []]
      ) if (w) (options.onWarning ?? printWarning)(w);
    } catch (e) {
      this.#fail();
      throw e;
    }
    const onAbort = () => this.#stop(options.signal?.reason);
    options.signal?.addEventListener("abort", onAbort, { once: true });
    this.ready = this.#start(prepared, options);
    this.status = this.#finish(options.signal, onAbort);
    // Both are always awaited here; a caller that ignores them sees no
    // unhandled rejection.
    this.ready.catch(() => {});
    this.status.catch(() => {});
  }

  /** The command's stdin; throws unless it was "piped". */
  get stdin(): WritableStream<Uint8Array> {
    return this.#streams[0] ??= writableToFd(
      this.#take(0, "stdin"),
      this.#hold,
    );
  }

  /** The command's stdout; throws unless it was "piped". */
  get stdout(): ReadableStream<Uint8Array> {
    return this.#streams[1] ??= this.#readable(1, "stdout");
  }

  /** The command's stderr; throws unless it was "piped". */
  get stderr(): ReadableStream<Uint8Array> {
    return this.#streams[2] ??= this.#readable(2, "stderr");
  }

  /**
   * Sends a signal to the command (through its pidfd: never a reused pid).
   * Before the command starts, a signal that would end it also stops the
   * set-up: `ready` rejects with ABORTED, and `status` reports the signal
   * as `Deno.Command`'s does (the child dies of it, never running); any
   * other signal waits and takes effect as the command starts.
   *
   * @param signal a signal name, or a number from 0 to 31, as
   * `Deno.ChildProcess.kill()` takes @default {"SIGTERM"}
   * @throws {UsernsTypeError} when the command has already ended, or for a
   * signal `Deno.ChildProcess.kill()` refuses
   */
  kill(signal: Deno.Signal | number = "SIGTERM"): void {
    if (this.#ended) {
      throw new UsernsTypeError(
        "INVALID_ARGUMENT",
        "Child process has already terminated",
      );
    }
    this.#signal(signalNumber(signal), STOPPED);
  }

  /** Sends signal `n`; before release, one that ends the child also stops
   * the set-up, with `reason` as the cause of ABORTED. */
  #signal(n: number, reason: unknown): void {
    // Before release the signal waits in the child; one that ends it also
    // stops the set-up, and the child then dies of it, never running.
    if (!this.#released && terminates(n)) {
      this.#killedEarly ||= n;
      this.#setup.abort(reason);
    }
    killChild(this.#native.pidfd, n); // ESRCH: it ended a moment ago
  }

  /** Keeps the event loop alive until the command ends and its piped
   * output has been read (the default). */
  ref(): void {
    this.#refd = true;
    this.#sync();
  }

  /** Lets the program exit while the command still runs, or while a
   * process it left holds its pipes. */
  unref(): void {
    this.#refd = false;
    this.#sync();
  }

  /**
   * Takes or gives back this child's ref of the reactor: held while it is
   * ref'd and runs, or a read or write of its pipes waits (a background
   * process of the command can hold them open after it ended, and
   * `Deno.Command` keeps its ref'd pipes' reads alive too).
   */
  #sync(): void {
    const want = this.#refd && (!this.#ended || this.#waits > 0);
    if (want === this.#held) return;
    this.#held = want;
    if (want) getReactor().ref();
    else getReactor().unref();
  }

  /**
   * Waits for the command to end and collects its piped output.
   *
   * @returns status and output
   * @throws {UsernsTypeError} when a piped output stream is locked, or was
   * read by an earlier call (Deno's stream stays locked then)
   */
  async output(): Promise<UsernsOutput> {
    this.#collectable(1, "stdout");
    this.#collectable(2, "stderr");
    // Neither read rejects (an error is its result), so either may be
    // awaited after the status: no unhandled rejection, no Promise.all.
    const stdout = this.#collect(1);
    const stderr = this.#collect(2);
    const status = await this.status;
    return outputOf(status, settled(await stdout), settled(await stderr));
  }

  /** Kills the command (SIGTERM) unless it has ended, and waits for it. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#ended) {
      try {
        this.kill("SIGTERM");
      } catch {
        // ended meanwhile
      }
    }
    await this.status.catch(() => {});
  }

  /** Throws unless output() may read output `i`. */
  #collectable(i: 1 | 2, name: string): void {
    if (this.#streams[i]?.locked || this.#fds[i] === COLLECTED) {
      throw new UsernsTypeError(
        "INVALID_ARGUMENT",
        `Cannot collect output: '${name}' is locked`,
      );
    }
  }

  /** Hands a piped fd over to its stream or reader. */
  #take(i: 0 | 1 | 2, name: string): number {
    const fd = this.#fds[i]!;
    if (fd < 0) throw notPiped(name);
    this.#fds[i] = -1;
    return fd;
  }

  /** The stream of a piped output; once output() has read it, a locked
   * stream with nothing left, as Deno's is then. */
  #readable(i: 1 | 2, name: string): ReadableStream<Uint8Array> {
    if (this.#fds[i] !== COLLECTED) {
      return readableFromFd(this.#take(i, name), this.#hold);
    }
    const done = new ReadableStream<Uint8Array>({ start: (c) => c.close() });
    done.getReader();
    return done;
  }

  /** Reads output `i` to its end: its bytes, or the error that stopped it. */
  #collect(i: 1 | 2): Promise<Uint8Array | Error> | undefined {
    const stream = this.#streams[i];
    if (stream) return new Response(stream).bytes().catch((e) => e);
    const fd = this.#fds[i]!;
    if (fd < 0) return undefined;
    this.#fds[i] = COLLECTED;
    return readToEnd(fd, this.#hold);
  }

  /** The AbortSignal: SIGTERM, as Deno.Command sends it, before release
   * too (then with the signal's reason as the cause of ABORTED). */
  #stop(reason: unknown): void {
    if (this.#ended) return;
    this.#signal(signalNumber("SIGTERM"), reason ?? STOPPED);
  }

  /** Set-up failed: the child exits unmapped; fds no stream took close. */
  #fail(): void {
    if (!this.#released) abort(this.#native.syncFd);
    for (let i = 0; i < 3; i++) closeFd(this.#fds[i]!), (this.#fds[i] = -1);
    this.#closeErr();
  }

  #closeErr(): void {
    closeFd(this.#errFd);
    this.#errFd = -1;
  }

  async #start(
    prepared: Prepared,
    options: UsernsCommandOptions,
  ): Promise<void> {
    const n = this.#native;
    const signal = this.#setup;
    try {
      if (prepared.plan) {
        await writeIdMaps(
          n.pid,
          prepared.plan,
          prepared.helpers,
          options.helperTimeout ?? HELPER_TIMEOUT_MS,
          signal,
        ).catch((e) => {
          // Stopped: said as at the other stages, without kill()'s token
          // as the cause.
          checkAborted(signal);
          throw e;
        });
      }
      checkAborted(signal);
      // Written from here, with the caller's credentials, which as root
      // may lower it (from inside, nobody could).
      const oom = prepared.request.oomScoreAdj;
      if (oom !== undefined && !prepared.request.join) {
        setOomScoreAdj(n.pid, oom);
      }
      // Its interface, routes and resolver ready before the command runs,
      // and before the hook, which may look at them.
      if (prepared.network) {
        this.#net = await startPlanned(n.pid, prepared.network);
        checkAborted(signal);
      }
      if (options.beforeExec) await runHook(options.beforeExec, n.pid);
      checkAborted(signal);
      this.#released = true;
      // EPIPE: the child already died (say, SIGKILL); its status tells.
      release(n.syncFd);
      const failure = await readFailure(n.errFd);
      if (failure) throw failureError(failure, prepared.request);
      this.#closeErr();
    } catch (e) {
      this.#fail();
      throw e;
    } finally {
      forget(prepared.resolvConf); // bound by now, or never to be
    }
  }

  async #finish(
    signal: AbortSignal | undefined,
    onAbort: () => void,
  ): Promise<UsernsStatus> {
    try {
      await this.ready.catch(() => {});
      const [code, sig] = await this.#exit;
      const early = this.#killedEarly;
      if (!early) await this.ready;
      if (code < 0) {
        throw new SpawnError(
          "SETUP",
          `cannot wait for the child: errno ${-code}`,
        );
      }
      if (!early) return statusOf(code, sig);
      // Killed before it ran: its status says so, as Deno.Command's does.
      // A child that is PID 1 of a new pid namespace ignores every signal
      // it has no handler for but SIGKILL, even one it had pending: it then
      // exits unmapped once its set-up is stopped (125), never having run
      // anything, and the signal it was sent is what ended it.
      return sig ? statusOf(code, sig) : statusOf(128 + early, early);
    } finally {
      signal?.removeEventListener("abort", onAbort);
      await this.#tty?.finish();
      await this.#net?.close();
    }
  }
}

/**
 * Writes a child's OOM score adjustment.
 *
 * @throws {SpawnError} SETUP, saying that only root may lower it
 */
function setOomScoreAdj(pid: number, value: number): void {
  const errno = writeFileOnce(`/proc/${pid}/oom_score_adj`, `${value}`);
  if (errno === 0) return;
  const name = errnoName(errno);
  throw new SpawnError(
    "SETUP",
    `cannot set the OOM score adjustment to ${value}: ${name}`,
    {
      errno: name,
      hint: name === "EACCES" || name === "EPERM"
        ? "lowering it needs CAP_SYS_RESOURCE, which root has unless a container took it away; raise it instead"
        : "the value must be -1000 to 1000",
    },
  );
}

/** Removes a file of ours, if there is one and it is still there. */
function forget(file: string | undefined): void {
  if (file === undefined) return;
  try {
    Deno.removeSync(file);
  } catch {
    // removed already
  }
}

/** A read's bytes, or its error thrown. */
function settled(read: Uint8Array | Error | undefined): Uint8Array | undefined {
  if (read instanceof Error) throw read;
  return read;
}

function checkAborted(signal: AbortSource): void {
  if (!signal.aborted) return;
  const reason = signal.reason === STOPPED ? undefined : signal.reason;
  throw new UsernsError("ABORTED", "aborted before the command started", {
    cause: reason,
  });
}
