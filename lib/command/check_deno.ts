/**
 * The checks `Deno.Command` makes when it spawns, made the same way for
 * `UsernsCommand`: call {@link checkSpawnOptions} first thing in `spawn()`,
 * `output()` and `outputSync()`, before anything is cloned.
 *
 * Where `Deno.Command` throws, this throws the same class, from the same
 * method: synchronously from `spawn()` and `outputSync()`; `output()`
 * rejects with it, for a command not found as for every failure (Deno's
 * throws some synchronously). The type checks themselves run earlier, in
 * `UsernsCommand`'s constructor ({@link checkSpawnTypes}): a wrong type is
 * a `TypeError` from the constructor, nothing silently defaulted. Where `Deno.Command` accepts a
 * value of the wrong type and quietly coerces it
 * (`args: "ab"` runs with the arguments `a` and `b`, `clearEnv: "no"`
 * clears the environment, `stdout: null` means the default), this throws a
 * `TypeError`: nothing is silently defaulted. `uid`, `gid`,
 * `windowsRawArguments` and `detached` are not options of `UsernsCommand`
 * and are not looked at.
 *
 * @module
 */
import {
  checkBoolean,
  checkOneOf,
  isObject,
  isPlainObject,
  nulError,
  typeError,
} from "../check/values.ts";
import { UsernsTypeError } from "../errors/builtin.ts";
import { cwdError, notFoundError } from "../errors/spawn.ts";
import { pathFromUrl } from "../check/file_url.ts";

/** The method that spawns, which decides a few of Deno's checks. */
export type SpawnMethod = "spawn" | "output" | "outputSync";

/** What stdin, stdout and stderr may be. */
export const STDIO_MODES = ["inherit", "piped", "null"] as const;

/** The options of a command constructed without any. */
const NO_OPTIONS: Readonly<Record<string, unknown>> = Object.freeze({});

/**
 * Checks the command and `Deno.Command`'s own options as `Deno.Command`
 * checks them when it spawns, and in the same order, so that the first of
 * several faults is the one Deno names: first the types, then what Deno
 * finds only while spawning (an empty command, NUL bytes), then `signal`.
 *
 * @example Usage
 * ```ts
 * import { checkSpawnOptions } from "./check_deno.ts";
 * checkSpawnOptions("id", { args: ["-u"], stdout: "piped" }, "output");
 * try {
 *   checkSpawnOptions("id", { stdout: "pipe" }, "spawn");
 * } catch (e) {
 *   console.assert(e instanceof TypeError);
 * }
 * ```
 *
 * @param command the constructor's first argument
 * @param options the constructor's second argument
 * @param method the method being called
 * @throws {UsernsTypeError} for a value of the wrong type or an unknown
 * stdio mode, a URL that is not a `file:` URL without host, a NUL byte in
 * an argument, a variable or a path, and piped stdin for `output()`
 * @throws {UsernsURIError} for a `file:` URL that does not decode
 * @throws {UsernsNotFound} for an empty command, or a command name (no
 * slash) with a NUL byte, which no PATH search finds (code
 * `EXEC_NOT_FOUND`); and for a cwd with a NUL byte (`CWD_NOT_FOUND`)
 */
export function checkSpawnOptions(
  command: unknown,
  options: unknown,
  method: SpawnMethod,
): void {
  const [file, dir] = checkSpawnTypes(command, options);
  checkSpawnTime(file, dir, options, method);
}

/**
 * The part of {@link checkSpawnOptions} that concerns types and values
 * alone (TypeError, URIError): what `UsernsCommand`'s constructor checks,
 * so that a wrong type fails where it is written.
 *
 * @param command the constructor's first argument
 * @param options the constructor's second argument
 * @returns the command's path and the cwd's, decoded
 * @throws {UsernsTypeError} as {@link checkSpawnOptions}, but for piped
 * stdin
 * @throws {UsernsURIError} for a `file:` URL that does not decode
 */
export function checkSpawnTypes(
  command: unknown,
  options: unknown,
): [string, string | undefined] {
  const o = options === undefined ? NO_OPTIONS : options;
  if (!isObject(o)) throw typeError("options", "an object", options);
  const file = pathFromUrl(command as string | URL, "command");
  const nulArg = o.args === undefined ? -1 : checkArgs(o.args);
  const dir = o.cwd === undefined
    ? undefined
    : pathFromUrl(o.cwd as string | URL, "cwd");
  if (o.clearEnv !== undefined) checkBoolean(o.clearEnv, "clearEnv");
  const nulKey = o.env === undefined ? undefined : checkEnv(o.env);
  if (o.stdin !== undefined) checkOneOf(o.stdin, "stdin", STDIO_MODES);
  if (o.stdout !== undefined) checkOneOf(o.stdout, "stdout", STDIO_MODES);
  if (o.stderr !== undefined) checkOneOf(o.stderr, "stderr", STDIO_MODES);
  if (file.includes("\0") && file.includes("/")) throw nulError("command");
  if (nulArg >= 0) throw nulError(`args[${nulArg}]`);
  if (nulKey !== undefined) throw nulError(`env[${JSON.stringify(nulKey)}]`);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw typeError("signal", "an AbortSignal", o.signal);
  }
  return [file, dir];
}

/**
 * The part of {@link checkSpawnOptions} that depends on the method and on
 * what a spawn finds: piped stdin for `output()`, an empty command or a
 * name with a NUL byte (not found), a cwd with a NUL byte.
 *
 * @param file the command's path, from {@link checkSpawnTypes}
 * @param dir the cwd's, from {@link checkSpawnTypes}
 * @param options the options
 * @param method the method being called
 * @throws {UsernsTypeError} piped stdin for `output()`
 * @throws {UsernsNotFound} as {@link checkSpawnOptions}
 */
export function checkSpawnTime(
  file: string,
  dir: string | undefined,
  options: unknown,
  method: SpawnMethod,
): void {
  const o = (options ?? NO_OPTIONS) as Record<string, unknown>;
  if (method !== "spawn" && o.stdin === "piped") {
    throw new UsernsTypeError(
      "INVALID_ARGUMENT",
      `piped stdin is not supported by ${method}(); use spawn()`,
    );
  }
  checkBytes(file, dir, method);
}

/**
 * What Deno finds while spawning: a name (no slash) that is empty or holds
 * a NUL byte is not found on PATH; then a cwd with a NUL byte is not found
 * (spawn(), output()) or refused (outputSync()); then a path with a NUL
 * byte is refused.
 */
function checkBytes(
  file: string,
  dir: string | undefined,
  method: SpawnMethod,
): void {
  const nul = file.includes("\0");
  const path = file.includes("/");
  if (file === "" || (nul && !path)) throw notFoundError(file);
  if (dir !== undefined && dir.includes("\0")) {
    if (method === "outputSync") throw nulError("cwd");
    throw cwdError(file, dir, "ENOENT");
  }
}

/** Checks the types; returns the index of the first with a NUL, or -1. */
function checkArgs(args: unknown): number {
  if (!Array.isArray(args)) {
    throw typeError("args", "an array of strings", args);
  }
  let nul = -1;
  for (let i = 0; i < args.length; i++) {
    const arg: unknown = args[i];
    if (typeof arg !== "string") throw typeError(`args[${i}]`, "a string", arg);
    if (nul < 0 && arg.includes("\0")) nul = i;
  }
  return nul;
}

/** Checks the types; returns the first key with a NUL (in it or its value). */
function checkEnv(env: unknown): string | undefined {
  if (!isPlainObject(env)) {
    throw typeError("env", "an object of strings", env);
  }
  let nul: string | undefined;
  for (const key in env) {
    if (!Object.hasOwn(env, key)) continue;
    const value = env[key];
    if (typeof value !== "string") {
      throw typeError(`env[${JSON.stringify(key)}]`, "a string", value);
    }
    if (nul === undefined && (key.includes("\0") || value.includes("\0"))) {
      nul = key;
    }
  }
  return nul;
}
