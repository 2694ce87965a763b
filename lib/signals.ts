/**
 * Linux signal numbers by name (the generic table: x86, arm, riscv).
 *
 * @module
 */

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
};

/**
 * Turns a signal name or number into its number.
 *
 * @param signal `"SIGTERM"`, `"TERM"` or `15`
 * @returns the number
 * @throws {TypeError} for an unknown signal
 */
export function signalNumber(signal: Deno.Signal | string | number): number {
  if (typeof signal === "number") {
    if (Number.isInteger(signal) && signal >= 0 && signal < 65) return signal;
  } else {
    const name = signal.startsWith("SIG") ? signal : `SIG${signal}`;
    const n = NUMBERS[name];
    if (n !== undefined) return n;
  }
  throw new TypeError(`unknown signal: ${JSON.stringify(signal)}`);
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
