// Helpers about processes and waiting, shared by the integration tests and
// by _faults.ts. No side effects at load: _faults.ts runs under resource
// limits and no_new_privs, where _env.ts's probe must not run.
import assert from "node:assert/strict";
import type { UsernsError } from "../../lib/errors/mod.ts";

/** Resolves after `ms` milliseconds. */
export const delay = (ms: number): Promise<void> =>
  new Promise((r) => setTimeout(r, ms));

/**
 * Waits for p, but fails after ms: a status that never settles is a child
 * stuck on its pipe (or a reaper that never returns), not a slow test.
 */
export async function within<T>(
  p: Promise<T>,
  what: string,
  ms = 10_000,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not settle within ${ms} ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads a text stream up to its first newline; returns what was read. */
export async function firstLine(
  reader: ReadableStreamDefaultReader<string>,
): Promise<string> {
  let seen = "";
  while (!seen.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += value;
  }
  return seen;
}

/** Pids of this process's children, zombies included. */
export function children(): number[] {
  return [...Deno.readDirSync("/proc/self/task")].flatMap((t) => {
    try {
      return Deno.readTextFileSync(`/proc/self/task/${t.name}/children`)
        .trim().split(" ").filter(Boolean).map(Number);
    } catch (e) {
      // A thread that ended since the directory was read has no children.
      if (e instanceof Deno.errors.NotFound) return [];
      throw e;
    }
  });
}

/** Running: not gone and not a zombie (pid 1 here does not reap orphans). */
export function alive(pid: number): boolean {
  try {
    const s = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return s.slice(s.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Waits up to `ms` for pid to stop running; true if it did. */
export async function gone(pid: number, ms = 1000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await delay(10)) {
    if (!alive(pid)) return true;
  }
  return !alive(pid);
}

/**
 * This process's fds, as "N -> target". Sockets are left out: the runtime
 * opens a socket pair of its own a moment after start (an empty script with
 * a timer does too); the library opens pipes, pidfds and /dev/null only.
 */
export function fdTargets(): string[] {
  const numbers = [...Deno.readDirSync("/proc/self/fd")].map((e) =>
    Number(e.name)
  );
  return numbers.sort((a, b) => a - b).flatMap((fd) => {
    try {
      const target = Deno.readLinkSync(`/proc/self/fd/${fd}`);
      return target.startsWith("socket:") ? [] : [`${fd} -> ${target}`];
    } catch {
      return []; // the listing's own fd
    }
  });
}

/** {@link fdTargets} once it equals `expected`, or after a second: the
 * runtime closes the fds of its own children a moment after reaping. */
export async function fdTargetsSettle(expected: string[]): Promise<string[]> {
  let now = fdTargets();
  for (let i = 0; i < 50 && now.join() !== expected.join(); i++) {
    await delay(20);
    now = fdTargets();
  }
  return now;
}

/** Runs fn, then checks that no fd, child or zombie was left. */
export async function leavesNothing(
  fn: () => Promise<void> | void,
): Promise<void> {
  const before = fdTargets();
  await fn();
  assert.deepEqual(await fdTargetsSettle(before), before, "no fd is left open");
  assert.deepEqual(children(), [], "no child and no zombie is left");
}

/** Asserts a typed error with a code and a one-line message; returns it. */
export function typed(
  e: unknown,
  cls: typeof UsernsError,
  code: string,
  message: RegExp,
): UsernsError {
  assert.ok(e instanceof cls, `want a ${cls.name}, got ${Deno.inspect(e)}`);
  assert.equal(e.code, code, e.message);
  assert.doesNotMatch(e.message, /\n/, "one line");
  assert.match(e.message, message);
  return e;
}
