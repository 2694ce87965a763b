/**
 * {@link EnterCommand}: run a command inside the namespaces of a running
 * process. The join happens in the cloned child, before it executes
 * anything: the kernel refuses to let a multi-threaded process join a user
 * namespace.
 *
 * @module
 */
import { UsernsCommand } from "../command/command.ts";
import type { Namespace } from "../command/namespaces.ts";
import type { UsernsCommandOptions } from "../command/options.ts";
import { checkOptions, type Prepared } from "../command/prepare.ts";
import { UsernsError } from "../errors/errors.ts";
import { joinRequest } from "./join.ts";
import { joinTarget, ORDER, readSetgroups } from "./target.ts";
import { processId } from "../../ffi/process.ts";
import type { StdioMode } from "../../ffi/request.ts";

/** Options of {@link EnterCommand}: those of a command, and what to join. */
export interface EnterOptions extends
  Pick<
    UsernsCommandOptions,
    | "args"
    | "cwd"
    | "env"
    | "clearEnv"
    | "stdin"
    | "stdout"
    | "stderr"
    | "user"
    | "group"
    | "setsid"
    | "ctty"
    | "tty"
    | "signal"
    | "beforeExec"
    | "oomScoreAdj"
    | "rlimits"
    | "noNewPrivs"
    | "helperTimeout"
    | "onWarning"
  > {
  /** Namespaces to join besides the user namespace, or "all": of those,
   * each that differs from the caller's. @default {"all"} */
  namespaces?: Namespace[] | "all";
}

/**
 * A command to run inside the namespaces of a running process, as inside
 * root (or `user`/`group`). Same API as {@link UsernsCommand}.
 *
 * @example Usage
 * ```ts ignore
 * import { EnterCommand } from "./enter.ts";
 * const out = await new EnterCommand(1234, "hostname", { namespaces: "all" }).output();
 * ```
 */
export class EnterCommand extends UsernsCommand {
  readonly #pid: number;
  readonly #namespaces: EnterOptions["namespaces"];

  /**
   * @param pid the process whose namespaces to join
   * @param command the program
   * @param options as {@link UsernsCommand}'s, with `namespaces` to join
   */
  constructor(pid: number, command: string | URL, options: EnterOptions = {}) {
    // The namespaces are the ones to join, not to create: checked apart.
    super(command, {
      ...options,
      namespaces: undefined,
    } as UsernsCommandOptions);
    this.#namespaces = options.namespaces;
    if (!Number.isInteger(pid) || pid <= 0) {
      throw new UsernsError("INVALID_ARGUMENT", `invalid pid ${pid}`);
    }
    this.#pid = pid;
  }

  /**
   * A relayed pseudo-terminal unless `tty` says otherwise: by default when
   * any of stdin, stdout and stderr passed on is a terminal and the
   * process belongs to another user (root entering a user's container),
   * whose root must get no hold of the caller's terminal: a terminal passed
   * on as stdout is open for reading too, and what is typed later could be
   * read there.
   */
  protected override wantsTty(
    o: UsernsCommandOptions,
    stdioDefault: StdioMode,
  ): boolean {
    if (o.tty !== undefined) return o.tty;
    const passed: [StdioMode, { isTerminal(): boolean }][] = [
      [o.stdin ?? "inherit", Deno.stdin],
      [o.stdout ?? stdioDefault, Deno.stdout],
      [o.stderr ?? stdioDefault, Deno.stderr],
    ];
    const terminal = ([mode, f]: [StdioMode, { isTerminal(): boolean }]) => {
      try {
        return mode === "inherit" && f.isTerminal();
      } catch {
        return false;
      }
    };
    if (!passed.some(terminal)) return false;
    const target = processId(this.#pid);
    return target !== undefined && target.euid !== Deno.uid();
  }

  /** Plans the join; see {@link UsernsCommand.prepared}. */
  protected override prepared(
    command: string | URL,
    o: UsernsCommandOptions & EnterOptions,
    stdioDefault: StdioMode,
  ): Prepared {
    checkOptions({ ...o, namespaces: undefined });
    const all = ORDER.map(([ns]) => ns);
    const asked = this.#namespaces ?? "all";
    const wanted = new Set<string>([
      "user",
      ...(asked === "all" ? all : asked),
    ]);
    for (const ns of wanted) {
      if (!all.includes(ns as Namespace)) {
        throw new UsernsError("INVALID_ARGUMENT", `unknown namespace "${ns}"`);
      }
    }
    const join = joinTarget(this.#pid, wanted);
    const clearGroups = readSetgroups(this.#pid) === "allow";
    return {
      helpers: {},
      request: joinRequest(command, join, o, stdioDefault, clearGroups, {
        isolated: true,
      }),
    };
  }
}
