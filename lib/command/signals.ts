/**
 * Linux signal numbers by name (the generic table: x86, arm, riscv).
 *
 * @module
 */
import { UsernsTypeError } from "../errors/builtin.ts";
import { describe } from "../check/values.ts";

const NUMBERS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPOLL: 29,
  SIGPWR: 30,
  SIGSYS: 31,
  SIGUNUSED: 31,
};

/**
 * Turns a signal into its number, accepting exactly what
 * `Deno.ChildProcess.kill()` accepts on Linux: a `Deno.Signal` name of
 * this platform (`"SIGTERM"`; `SIGPOLL` and `SIGUNUSED` are the aliases of
 * `SIGIO` and `SIGSYS`), or an integer from 0 to 31. `"TERM"`, a real-time
 * signal number and a name of another platform (`SIGEMT`, `SIGINFO`) are
 * refused, as Deno refuses them.
 *
 * @example Usage
 * ```ts
 * import { signalNumber } from "./signals.ts";
 * console.assert(signalNumber("SIGTERM") === 15 && signalNumber(9) === 9);
 * try {
 *   signalNumber("TERM");
 * } catch (e) {
 *   console.assert(e instanceof TypeError);
 * }
 * ```
 *
 * @param signal `"SIGTERM"` or `15`
 * @returns the number
 * @throws {UsernsTypeError} for anything else (code `INVALID_ARGUMENT`)
 */
export function signalNumber(signal: unknown): number {
  if (typeof signal === "number") {
    if (Number.isInteger(signal) && signal >= 0 && signal < 32) return signal;
  } else if (typeof signal === "string" && Object.hasOwn(NUMBERS, signal)) {
    return NUMBERS[signal]!;
  }
  throw new UsernsTypeError(
    "INVALID_ARGUMENT",
    `invalid signal: ${describe(signal)}`,
    { hint: 'give a signal name such as "SIGTERM", or a number from 0 to 31' },
  );
}

/**
 * Names a signal number as Deno does in `CommandStatus.signal`.
 *
 * @param n the signal number
 * @returns its name, or null when it has none here
 */
export function signalName(n: number): Deno.Signal | null {
  for (const [name, num] of Object.entries(NUMBERS)) {
    if (num === n) return name as Deno.Signal;
  }
  return null;
}

/** Signals whose default action does not end a process. */
const HARMLESS = new Set([0, 17, 18, 19, 20, 21, 22, 23, 28]);

/**
 * Whether a signal's default action ends the process it is sent to.
 *
 * @param n the signal number
 * @returns false for SIGCHLD, SIGCONT, the stop signals, SIGURG, SIGWINCH
 * and 0
 */
export function terminates(n: number): boolean {
  return !HARMLESS.has(n);
}
