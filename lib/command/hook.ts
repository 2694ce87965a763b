/**
 * The caller's `beforeExec` hook, run after the maps are written and before
 * the command is released: a throw, or a rejection, fails that spawn
 * cleanly with HOOK.
 *
 * @module
 */
import { UsernsError } from "../errors/errors.ts";
import type { UsernsCommandOptions } from "./options.ts";

/** HOOK, with the hook's error as the cause: one line, as every error's
 * message, the whole error kept. */
function hookError(e: unknown): UsernsError {
  const why = String((e as Error)?.message ?? e).split("\n")[0];
  return new UsernsError("HOOK", `beforeExec failed: ${why}`, { cause: e });
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
    throw hookError(e);
  }
}

/**
 * {@link runHook} for `outputSync()`: a hook that returns a promise, which
 * this thread cannot wait for, fails the spawn.
 *
 * @param hook the hook
 * @param pid the child's host pid
 * @throws {UsernsError} HOOK with the hook's error as the cause, or for a
 * promise returned
 */
export function runHookSync(
  hook: NonNullable<UsernsCommandOptions["beforeExec"]>,
  pid: number,
): void {
  let result: unknown;
  try {
    result = hook(pid);
  } catch (e) {
    throw hookError(e);
  }
  if (result instanceof Promise) {
    result.catch(() => {});
    throw new UsernsError(
      "HOOK",
      "beforeExec returned a promise, which outputSync() cannot wait for",
      {
        hint: "use output(), or make the hook synchronous",
      },
    );
  }
}
