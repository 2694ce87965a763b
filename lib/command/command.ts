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
} from "./check_deno.ts";
import { UsernsTypeError } from "../errors/builtin.ts";
import { permissionError } from "../errors/errors.ts";
import { UsernsChild } from "./child.ts";
import type { UsernsCommandOptions } from "./options.ts";
import { bindResolvConf, prepare, type Prepared } from "./prepare.ts";
import { runSync } from "./output_sync.ts";
import type { UsernsOutput } from "./status.ts";
import { TtyRelay } from "./tty.ts";
import type { StdioMode } from "../../ffi/request.ts";

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
      if (prepared.network) bindResolvConf(prepared);
      if (this.wantsTty(options, stdioDefault)) withTty(prepared, options);
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
   * @param _stdioDefault the default of stdout and stderr
   * @returns whether to open one
   */
  protected wantsTty(
    options: UsernsCommandOptions,
    _stdioDefault: StdioMode,
  ): boolean {
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
