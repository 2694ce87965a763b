/**
 * {@link UsernsCommand}: `Deno.Command`, but the command runs in a new user
 * namespace with the caller's subordinate ranges mapped.
 *
 * @module
 */
import {
  errnoName,
  permissionError,
  SpawnError,
  UsernsError,
} from "./errors.ts";
import { writeIdMaps } from "./mapwrite.ts";
import {
  prepare,
  type Prepared,
  type UsernsCommandOptions,
} from "./options.ts";
import { signalName, signalNumber } from "./signals.ts";
import { collect, readableFromFd, writableToFd } from "./stream.ts";
import {
  type ChildFailure,
  closeFd,
  killChild,
  type PausedChild,
  readFailure,
  release,
  spawnPaused,
  type StdioMode,
  waitChild,
} from "../ffi/native.ts";

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

  /**
   * @param command the program: a name searched on PATH, or a path
   * @param options as `Deno.CommandOptions`, plus the namespace options
   */
  constructor(command: string | URL, options: UsernsCommandOptions = {}) {
    this.#command = command;
    this.#options = options;
  }

  /**
   * Clones the child, then maps its IDs and lets it run in the background.
   *
   * @returns the running child; `pid` is valid at once
   * @throws {UsernsError} for invalid options, a map that cannot be
   * planned, or a namespace the kernel refuses
   */
  spawn(): UsernsChild {
    return this.#child(this.#options, "inherit");
  }

  /**
   * Runs the command to its end, collecting stdout and stderr.
   *
   * @returns status and output
   * @throws {TypeError} when stdin is "piped"
   * @throws {UsernsError} as {@link spawn}, and {@link SpawnError} when the
   * command cannot be executed or set up
   */
  async output(): Promise<UsernsOutput> {
    if (this.#options.stdin === "piped") {
      throw new TypeError(
        "piped stdin is not supported by output(); use spawn()",
      );
    }
    const options = { stdin: "null" as const, ...this.#options };
    const child = this.#child(options, "piped");
    const [status, stdout, stderr] = await Promise.all([
      child.status,
      child.piped.stdout ? collect(child.stdout) : undefined,
      child.piped.stderr ? collect(child.stderr) : undefined,
    ]);
    const piped = (name: string, data?: Uint8Array) => {
      if (!data) {
        throw new TypeError(`cannot get '${name}': '${name}' is not piped`);
      }
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

  #child(options: UsernsCommandOptions, stdioDefault: StdioMode): UsernsChild {
    try {
      return new UsernsChild(
        this.prepared(this.#command, options, stdioDefault),
        options,
      );
    } catch (e) {
      throw permissionError(e); // a denied Deno permission, as a typed error
    }
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

interface Streams {
  stdin?: WritableStream<Uint8Array>;
  stdout?: ReadableStream<Uint8Array>;
  stderr?: ReadableStream<Uint8Array>;
}

/** A command running in its namespace, as `Deno.ChildProcess`. */
export class UsernsChild {
  /** The command's pid in the caller's pid namespace. */
  readonly pid: number;
  /**
   * Resolves once the child has left set-up: the command was executed, or
   * the child died of a signal before it could be (see `status`). Rejects
   * when set-up or execve failed.
   */
  readonly ready: Promise<void>;
  /** Resolves when the command ends; rejects when it never ran. */
  readonly status: Promise<UsernsStatus>;
  /** Which of stdin, stdout, stderr are piped. */
  readonly piped: { stdin: boolean; stdout: boolean; stderr: boolean };
  readonly #native: PausedChild;
  readonly #streams: Streams = {};
  #ended = false;
  #released = false;
  #abortReason: unknown;

  /**
   * Use {@link UsernsCommand.spawn}.
   *
   * @param prepared the plan and request
   * @param options the command's options, for the hook, signal and warning
   */
  constructor(prepared: Prepared, options: UsernsCommandOptions) {
    const { plan, request } = prepared;
    this.#native = spawnPaused(request);
    // Warn only once the child exists: a failure to load or clone says
    // all there is to say.
    if (plan?.warning) (options.onWarning ?? warn)(plan.warning);
    this.pid = this.#native.pid;
    const [i, o, e] = request.stdio;
    this.piped = {
      stdin: i === "piped",
      stdout: o === "piped",
      stderr: e === "piped",
    };
    if (this.piped.stdin) {
      this.#streams.stdin = writableToFd(this.#native.stdin);
    }
    if (this.piped.stdout) {
      this.#streams.stdout = readableFromFd(this.#native.stdout);
    }
    if (this.piped.stderr) {
      this.#streams.stderr = readableFromFd(this.#native.stderr);
    }
    const onAbort = () => this.#abort(options.signal?.reason);
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
    return this.#stream("stdin");
  }

  /** The command's stdout; throws unless it was "piped". */
  get stdout(): ReadableStream<Uint8Array> {
    return this.#stream("stdout");
  }

  /** The command's stderr; throws unless it was "piped". */
  get stderr(): ReadableStream<Uint8Array> {
    return this.#stream("stderr");
  }

  /**
   * Sends a signal to the command (through its pidfd: never a reused pid).
   * Before the command starts, the signal waits and takes effect as it does.
   *
   * @param signal the signal @default {"SIGTERM"}
   * @throws {TypeError} when the command has already ended
   */
  kill(signal: Deno.Signal | number = "SIGTERM"): void {
    if (this.#ended) {
      throw new TypeError("child process has already terminated");
    }
    const errno = killChild(this.#native.pidfd, signalNumber(signal));
    // ESRCH: it ended a moment ago and is not yet reaped.
    if (errno !== 0 && errnoName(errno) !== "ESRCH") {
      throw new SpawnError(
        "SETUP",
        `cannot signal pid ${this.pid}: ${errnoName(errno)}`,
      );
    }
  }

  #stream<K extends keyof Streams>(name: K): NonNullable<Streams[K]> {
    const s = this.#streams[name];
    if (!s) throw new TypeError(`cannot get '${name}': '${name}' is not piped`);
    return s;
  }

  /** Before release: abort the set-up. After: SIGTERM, as Deno.Command does. */
  #abort(reason: unknown): void {
    if (!this.#released) this.#abortReason ??= reason ?? "aborted";
    else if (!this.#ended) killChild(this.#native.pidfd, 15);
  }

  async #start(
    prepared: Prepared,
    options: UsernsCommandOptions,
  ): Promise<void> {
    const n = this.#native;
    try {
      if (prepared.plan) {
        await writeIdMaps(n.pid, prepared.plan, prepared.helpers);
      }
      this.#checkAborted();
      await runHook(options.beforeExec, n.pid);
      this.#checkAborted();
      this.#released = true;
      // EPIPE: the child already died (say, SIGKILL); its status tells.
      release(n.syncFd);
      const failure = await readFailure(n.errFd);
      if (failure) throw failureError(failure, prepared.request.file);
    } finally {
      // Closing the sync pipe before release is what aborts the child.
      closeFd(n.syncFd);
      closeFd(n.errFd);
    }
  }

  #checkAborted(): void {
    if (this.#abortReason !== undefined) {
      throw new UsernsError("ABORTED", "aborted before the command started", {
        cause: this.#abortReason,
      });
    }
  }

  async #finish(
    signal: AbortSignal | undefined,
    onAbort: () => void,
  ): Promise<UsernsStatus> {
    try {
      await this.ready.catch(() => {});
      const { code, signal: sig } = await waitChild(this.#native.pidfd);
      await this.ready;
      return {
        success: code === 0,
        code,
        signal: sig ? signalName(sig) : null,
      };
    } finally {
      this.#ended = true;
      signal?.removeEventListener("abort", onAbort);
      closeFd(this.#native.pidfd);
    }
  }
}

function warn(message: string): void {
  console.error(`userns: warning: ${message}`);
}

async function runHook(
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

const STEP_HINTS: Record<string, string> = {
  chdir: "check that the directory exists inside",
  chroot: "check that the root directory exists",
  hostname: "the uts namespace is needed (--uts)",
  "mount-proc": "a pid namespace of its own is needed (--pid)",
  "oom-score-adj": "lowering it needs CAP_SYS_RESOURCE outside",
  ctty: "stdin must be a terminal that is no other session's",
  setuid: "the user must be mapped",
  setgid: "the group must be mapped",
  setgroups: "setgroups is denied in this namespace",
};

/** Turns the child's failure record into the error the caller sees. */
function failureError(f: ChildFailure, file: string): SpawnError {
  const errno = errnoName(f.errno);
  if (f.step === "exec") {
    const missing = errno === "ENOENT" || errno === "ENOTDIR";
    return new SpawnError(
      missing ? "EXEC_NOT_FOUND" : "EXEC_DENIED",
      `cannot execute "${file}": ${errno}`,
      {
        errno,
        step: f.step,
        hint: missing
          ? "check the program name or PATH"
          : "check its permissions and format",
      },
    );
  }
  return new SpawnError(
    "SETUP",
    `cannot set up the namespace: ${f.step} failed: ${errno}`,
    {
      errno,
      step: f.step,
      hint: STEP_HINTS[f.step] ?? "run userns doctor",
    },
  );
}
