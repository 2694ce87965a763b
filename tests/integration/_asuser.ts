/**
 * Runs the CLI as an unprivileged user, for checks that root would pass by
 * privilege (EACCES on a file or directory, another user's process): as the
 * caller when the suite runs unprivileged; as root, as the test user through
 * `runuser`, on a copy of the module it can read (the checkout may be in
 * /root).
 */
import { findPasswdEntry, readPasswd } from "../../lib/system/identity.ts";
import { cli, MAIN, PRIVILEGED, ROOT, text } from "./_env.ts";

/** The unprivileged user root runs the CLI as. */
export const USER = Deno.env.get("USERNS_TEST_USER") ?? "nsuser";

const home = readPasswd().split("\n").find((l) => l.startsWith(`${USER}:`))
  ?.split(":")[5];
const entry = findPasswdEntry(readPasswd(), USER);

/** Why the CLI cannot run unprivileged here, if it cannot. */
export const UNPRIVILEGED_REASON: string | undefined =
  !PRIVILEGED || (entry && home)
    ? undefined
    : `no user ${USER} (tests/setup_user.sh creates it)`;

/** The uid the CLI runs as. */
export const USER_UID: number = PRIVILEGED ? entry?.uid ?? -1 : Deno.uid()!;

let copy: string | undefined;

/** A copy of the module the user can read, made once, removed at exit. */
function readableCopy(): string {
  if (copy) return copy;
  const dir = Deno.makeTempDirSync({ prefix: "userns-asuser-" });
  Deno.chmodSync(dir, 0o755);
  const parts = ["deno.json", "main.ts", "lib", "ffi", "c", "build"]
    .filter((p) => {
      try {
        return !!Deno.statSync(ROOT + p);
      } catch {
        return false;
      }
    });
  const cp = new Deno.Command("cp", {
    args: ["-r", ...parts.map((p) => ROOT + p), dir],
  }).outputSync();
  if (!cp.success) throw new Error(`cp: ${text(cp.stderr)}`);
  globalThis.addEventListener("unload", () => {
    Deno.removeSync(dir, { recursive: true });
  });
  return copy = dir;
}

/**
 * The `main.ts` the user runs: a copy it can read as root, the checkout's
 * otherwise.
 */
export function userMain(): string {
  return PRIVILEGED ? `${readableCopy()}/main.ts` : MAIN;
}

/**
 * How to run argv as the user: as root through `runuser` and `env -i` with
 * exactly PATH, HOME, NO_COLOR, DENO_NO_UPDATE_CHECK and `env`; as it is
 * otherwise, with `env` added to the caller's environment.
 *
 * @param argv the program and its arguments
 * @param env variables to set (PATH and HOME are kept unless given)
 * @param wrap as root, a command prefix run as root that then executes
 *   the rest (e.g. `unshare --mount` with a bind mount); refused
 *   unprivileged
 * @returns the argv to run and the variables to give it
 */
export function asUser(
  argv: string[],
  env: Record<string, string> = {},
  wrap: string[] = [],
): { argv: string[]; env: Record<string, string> } {
  if (!PRIVILEGED) {
    if (wrap.length) throw new Error("a wrap needs root");
    return { argv, env };
  }
  const vars = {
    PATH: Deno.env.get("PATH") ?? "",
    HOME: home!,
    NO_COLOR: "1",
    DENO_NO_UPDATE_CHECK: "1",
    ...env,
  };
  return {
    argv: [
      ...wrap,
      "runuser",
      "-u",
      USER,
      "--",
      "env",
      "-i",
      ...Object.entries(vars).map(([k, v]) => `${k}=${v}`),
      ...argv,
    ],
    env: {},
  };
}

/**
 * Runs `userns ARGS` unprivileged.
 *
 * @param args the CLI's arguments
 * @param env variables to set (PATH and HOME are kept unless given)
 * @param wrap as root, a command prefix run as root that then executes
 *   the rest (e.g. `unshare --mount` with a bind mount); refused
 *   unprivileged
 */
export async function cliAsUser(
  args: string[],
  env: Record<string, string> = {},
  wrap: string[] = [],
): Promise<{ code: number; stdout: string; stderr: string }> {
  if (!PRIVILEGED) {
    if (wrap.length) throw new Error("a wrap needs root");
    return await cli(args, { env, stdout: "piped", stderr: "piped" });
  }
  const run = asUser(
    [Deno.execPath(), "run", "-A", userMain(), ...args],
    env,
    wrap,
  );
  const out = await new Deno.Command(run.argv[0]!, {
    args: run.argv.slice(1),
    stdin: "null",
  }).output();
  return {
    code: out.code,
    stdout: text(out.stdout),
    stderr: text(out.stderr),
  };
}
