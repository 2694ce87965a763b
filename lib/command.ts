/**
 * {@link UsernsCommand}: `Deno.Command`, but the command runs in a new user
 * namespace with the caller's subordinate ranges mapped.
 *
 * @module
 */
import { checkCommandOptions } from "./check.ts";
import {
  checkSpawnTime,
  checkSpawnTypes,
  type SpawnMethod,
} from "./check_spawn.ts";
import {
  failureError,
  permissionError,
  SpawnError,
  UsernsError,
  UsernsTypeError,
} from "./errors/mod.ts";
import { type AbortSource, writeIdMaps } from "./mapwrite.ts";
import {
  prepare,
  type Prepared,
  type UsernsCommandOptions,
} from "./options.ts";
import { signalName, signalNumber, terminates } from "./signals.ts";
import {
  type Hold,
  readableFromFd,
  readToEnd,
  writableToFd,
} from "./stream.ts";
import { runSync } from "./sync.ts";
import { TtyRelay } from "./tty.ts";
import { closeFd } from "../ffi/fd.ts";
import type { StdioMode } from "../ffi/request.ts";
import {
  abort,
  killChild,
  type PausedChild,
  readFailure,
  release,
  spawnPaused,
} from "../ffi/spawn.ts";
import { getReactor } from "../ffi/reactor.ts";

/** How the command ended, as `Deno.CommandStatus`. */
export interface UsernsStatus {
  /** Exited with code 0. */
  success: boolean;
  /** Exit code, or 128+N when killed by signal N. */
  code: number;
  /** The signal that killed it, or null. */
  signal: Deno.Signal | null;
}

/** The result of {@link UsernsCommand.output}, as `Deno.CommandOutput`. */
export interface UsernsOutput extends UsernsStatus {
  /** Everything written to stdout; throws when stdout was not piped. */
  readonly stdout: Uint8Array;
  /** Everything written to stderr; throws when stderr was not piped. */
  readonly stderr: Uint8Array;
}

/** The default helper timeout, in ms. */
export const HELPER_TIMEOUT_MS = 10_000;

/**
 * A command to run in a new user namespace.
 *
 * @example Usage
 * ```ts ignore
 * import { UsernsCommand } from "./command.ts";
 * const { stdout } = await new UsernsCommand("id", { args: ["-u"] }).output();
 * console.assert(new TextDecoder().decode(stdout) === "0\n");
 * ```
 */
export class UsernsCommand {
  readonly #command: string | URL;
  readonly #options: UsernsCommandOptions;
  readonly #paths: [string, string | undefined];

  /**
   * @param command the program: a name searched on PATH, a path, or a
   * `file:` URL
   * @param options as `Deno.CommandOptions`, plus the namespace options
   * @throws {TypeError} for a value of the wrong type or an unknown value
   * of an enumerated option, naming the option and the values it takes
   * @throws {RangeError} for a value out of range
   */
  constructor(command: string | URL, options: UsernsCommandOptions = {}) {
    checkCommandOptions(options);
    this.#paths = checkSpawnTypes(command, options);
    this.#command = command;
    this.#options = options;
  }

  /**
   * Clones the child, then maps its IDs and lets it run in the background.
   *
   * @returns the running child; `pid` is valid at once
   * @throws {UsernsError} for invalid options, a map that cannot be
   * planned, a namespace the kernel refuses, or a command that does not
   * exist (an error that is also `instanceof Deno.errors.NotFound`)
   */
  spawn(): UsernsChild {
    this.#check("spawn");
    return new UsernsChild(
      this.#prepare(this.#options, "inherit"),
      this.#options,
    );
  }

  /**
   * Runs the command to its end, collecting stdout and stderr.
   *
   * @returns status and output
   * @throws {TypeError} when stdin is "piped"
   * @throws {UsernsError} as {@link spawn}, and {@link SpawnError} when the
   * command cannot be executed or set up
   */
  output(): Promise<UsernsOutput> {
    try {
      this.#check("output");
      return this.spawnForOutput().output();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * {@link output}, synchronously: the calling thread waits for the
   * helpers, the command and its output. `beforeExec` must not return a
   * promise here.
   *
   * @returns status and output
   * @throws as {@link output}
   */
  outputSync(): UsernsOutput {
    this.#check("outputSync");
    const options = this.#outputOptions();
    return runSync(this.#prepare(options, "piped"), options);
  }

  /** The child of {@link output}: stdin on /dev/null, output piped. */
  private spawnForOutput(): UsernsChild {
    const options = this.#outputOptions();
    return new UsernsChild(this.#prepare(options, "piped"), options);
  }

  #outputOptions(): UsernsCommandOptions {
    return { stdin: "null", ...this.#options };
  }

  /** What a spawn finds, as `Deno.Command` finds it when it spawns. */
  #check(method: SpawnMethod): void {
    checkSpawnTime(this.#paths[0], this.#paths[1], this.#options, method);
  }

  #prepare(options: UsernsCommandOptions, stdioDefault: StdioMode): Prepared {
    try {
      const prepared = this.prepared(this.#command, options, stdioDefault);
      if (this.wantsTty(options)) withTty(prepared, options);
      return prepared;
    } catch (e) {
      throw permissionError(e); // a denied Deno permission, as a typed error
    }
  }

  /**
   * Whether the command runs on a relayed pseudo-terminal: `tty`, or what
   * a subclass decides when it is not given.
   *
   * @param options the options
   * @returns whether to open one
   */
  protected wantsTty(options: UsernsCommandOptions): boolean {
    return !!options.tty;
  }

  /**
   * Plans the spawn; a subclass that sets the child up otherwise (joining
   * namespaces) overrides this.
   *
   * @param command the program
   * @param options the options
   * @param stdioDefault the default of stdout and stderr
   * @returns the plan and the native request
   */
  protected prepared(
    command: string | URL,
    options: UsernsCommandOptions,
    stdioDefault: StdioMode,
  ): Prepared {
    return prepare(command, options, stdioDefault);
  }
}

/** Puts the command on a new pseudo-terminal (see `tty.ts`). */
function withTty(prepared: Prepared, o: UsernsCommandOptions): void {
  for (const name of ["stdin", "stdout", "stderr"] as const) {
    if (o[name] !== undefined && o[name] !== "inherit") {
      throw new UsernsTypeError(
        "INVALID_ARGUMENT",
        `tty takes the command's stdin, stdout and stderr: ${name} must be "inherit", got ${
          JSON.stringify(o[name])
        }`,
      );
    }
  }
  const relay = new TtyRelay();
  prepared.tty = relay;
  prepared.request = {
    ...prepared.request,
    ttyFd: relay.slave,
    stdio: ["inherit", "inherit", "inherit"],
    setsid: true,
    ctty: true,
  };
}

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
  #errFd: number;
  #streams: [
    WritableStream<Uint8Array>?,
    ReadableStream<Uint8Array>?,
    ReadableStream<Uint8Array>?,
  ] = [];
  #ended = false;
  #released = false;
  #killedEarly = false;
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
      if (prepared.plan?.warning) {
        (options.onWarning ?? warn)(prepared.plan.warning);
      }
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
      this.#killedEarly = true;
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
    }
  }

  async #finish(
    signal: AbortSignal | undefined,
    onAbort: () => void,
  ): Promise<UsernsStatus> {
    try {
      await this.ready.catch(() => {});
      const [code, sig] = await this.#exit;
      // Killed before it ran: its status says so.
      if (!this.#killedEarly) await this.ready;
      if (code < 0) {
        throw new SpawnError(
          "SETUP",
          `cannot wait for the child: errno ${-code}`,
        );
      }
      return {
        success: code === 0,
        code,
        signal: sig ? signalName(sig) : null,
      };
    } finally {
      signal?.removeEventListener("abort", onAbort);
      await this.#tty?.finish();
    }
  }
}

/** An output whose missing streams throw as `Deno.CommandOutput`'s do. */
export function outputOf(
  status: UsernsStatus,
  stdout: Uint8Array | undefined,
  stderr: Uint8Array | undefined,
): UsernsOutput {
  const piped = (name: string, data?: Uint8Array) => {
    if (!data) throw notPiped(name);
    return data;
  };
  return {
    ...status,
    get stdout() {
      return piped("stdout", stdout);
    },
    get stderr() {
      return piped("stderr", stderr);
    },
  };
}

function notPiped(name: string): UsernsTypeError {
  return new UsernsTypeError(
    "INVALID_ARGUMENT",
    `Cannot get '${name}': '${name}' is not piped`,
  );
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

function warn(message: string): void {
  console.error(`userns: warning: ${message}`);
}

/**
 * Runs the caller's `beforeExec` hook; a throw fails the spawn cleanly.
 *
 * @param hook the hook
 * @param pid the child's host pid
 * @throws {UsernsError} HOOK with the hook's error as the cause
 */
export async function runHook(
  hook: UsernsCommandOptions["beforeExec"],
  pid: number,
): Promise<void> {
  if (!hook) return;
  try {
    await hook(pid);
  } catch (e) {
    // One line, as every error's message: the whole error is the cause.
    const why = String((e as Error)?.message ?? e).split("\n")[0];
    throw new UsernsError("HOOK", `beforeExec failed: ${why}`, { cause: e });
  }
}
