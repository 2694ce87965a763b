/**
 * What the integration tests need, probed once: a native library, the
 * helpers and a subordinate range when unprivileged, and a namespace that
 * really runs. Without it a test is ignored with the reason, except under CI,
 * where it fails (`tests/_skip.ts`).
 */
import { UsernsCommand } from "../../lib/mod.ts";
import { CI, type Skip, skippableTest } from "../_skip.ts";
import { currentIdentity } from "../../lib/system/identity.ts";
import { findHelpers } from "../../lib/idmap/helpers.ts";

/** The repository root, with a trailing slash. */
export const ROOT = new URL("../..", import.meta.url).pathname;
/** Absolute path of the CLI entry. */
export const MAIN = `${ROOT}main.ts`;
/** The caller. */
export const ID = currentIdentity();
/** Running as root: maps go straight to /proc. */
export const PRIVILEGED = ID.uid === 0;

async function probe(): Promise<string | undefined> {
  if (Deno.build.os !== "linux") return "not Linux";
  if (!PRIVILEGED) {
    const h = findHelpers(Deno.env.get("PATH") ?? "");
    if (!h.newuidmap || !h.newgidmap) {
      return "newuidmap/newgidmap not on PATH (apt-get install uidmap)";
    }
  }
  try {
    const out = await new UsernsCommand("true", {
      strict: !PRIVILEGED,
      stderr: "piped",
    }).output();
    if (!out.success) {
      return `a namespace did not run: ${new TextDecoder().decode(out.stderr)}`;
    }
  } catch (e) {
    return `a namespace did not run: ${(e as Error).message}`;
  }
  return undefined;
}

const reason = await probe();
if (reason) {
  console.error(`integration tests ${CI ? "FAIL" : "ignored"}: ${reason}`);
}

/**
 * Registers a test that needs real namespaces (see `tests/_skip.ts`).
 *
 * @param name the test's name
 * @param fn the test
 * @param needs why something else the test needs is missing (podman, say),
 *   or undefined; treated like a failed probe
 * @param onlyAs the run of the suite it belongs to, when only root (or only
 *   an unprivileged caller) can do what it tests
 */
export function nsTest(
  name: string,
  fn: (t: Deno.TestContext) => Promise<void> | void,
  needs?: string,
  onlyAs?: Skip["onlyAs"],
): void {
  skippableTest(name, { needs: reason ?? needs, onlyAs }, fn);
}

/** Decodes bytes as UTF-8. */
export const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Runs the CLI as a separate process. */
export async function cli(
  args: string[],
  opts: Deno.CommandOptions = {},
): Promise<
  { code: number; signal: Deno.Signal | null; stdout: string; stderr: string }
> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdin: "null",
    ...opts,
  }).output();
  return {
    code: out.code,
    signal: out.signal,
    stdout: text(out.stdout),
    stderr: text(out.stderr),
  };
}

/** The fds open in this process, as a sorted list. */
export function openFds(): number[] {
  return [...Deno.readDirSync("/proc/self/fd")].map((e) => Number(e.name)).sort(
    (a, b) => a - b,
  );
}

/**
 * Waits up to a second for the open fds to be `expected` again: the
 * runtime closes the fds of its own child processes (the helpers) a moment
 * after they are reaped. A leak never settles.
 */
export async function fdsSettle(expected: number[]): Promise<number[]> {
  let now = openFds();
  for (let i = 0; i < 50 && now.join() !== expected.join(); i++) {
    await new Promise((r) => setTimeout(r, 20));
    now = openFds();
  }
  return now;
}

export { children } from "./_process.ts";
