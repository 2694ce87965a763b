/**
 * How a command ended, and what it wrote: `UsernsStatus` and `UsernsOutput`
 * shaped as `Deno.CommandStatus` and `Deno.CommandOutput`, for `output()`
 * and `outputSync()` alike.
 *
 * @module
 */
import { UsernsTypeError } from "../errors/builtin.ts";
import { signalName } from "./signals.ts";

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
 * An output whose missing streams throw as `Deno.CommandOutput`'s do.
 *
 * @param status how the command ended
 * @param stdout its stdout, if piped
 * @param stderr its stderr, if piped
 * @returns the output
 */
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

/**
 * The error for a stream that was not piped, as `Deno.Command` words it.
 *
 * @param name `stdout`, `stderr` or `stdin`
 * @returns the error, to throw
 */
export function notPiped(name: string): UsernsTypeError {
  return new UsernsTypeError(
    "INVALID_ARGUMENT",
    `Cannot get '${name}': '${name}' is not piped`,
  );
}

/**
 * A status from the exit event's numbers.
 *
 * @param code the exit code, or 128+N for signal N
 * @param signal the signal N, or 0
 * @returns the status
 */
export function statusOf(code: number, signal: number): UsernsStatus {
  return {
    success: code === 0,
    code,
    signal: signal ? signalName(signal) : null,
  };
}
