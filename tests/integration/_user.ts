/**
 * The unprivileged test user, and how tests run things as it: the one
 * module for every test that needs an unprivileged process (checks that
 * root would pass by privilege, rootless podman and buildah, the fault
 * scenarios, the attacks from inside).
 *
 * Unprivileged, "the test user" is the caller itself. As root it is
 * `USER` (default `nsuser`, made by `tests/setup_user.sh`), reached through
 * `runuser` and `env -i`, running a copy of the module that it can read
 * (the checkout may be in /root).
 */
import assert from "node:assert/strict";
import { rangesFor, readSubIdFileSync } from "../../lib/mod.ts";
import { MAIN, PRIVILEGED, ROOT, text } from "./_env.ts";

/** The name of the unprivileged user root runs tests as. */
export const USER: string = Deno.env.get("USERNS_TEST_USER") ?? "nsuser";

/** A passwd entry. */
export interface User {
  /** Login name. */
  name: string;
  /** Uid. */
  uid: number;
  /** Primary gid. */
  gid: number;
  /** Home directory. */
  home: string;
}

/** What a command printed and how it ended. */
export interface Output {
  /** Exit code (128+N for signal N). */
  code: number;
  /** Its standard output. */
  stdout: string;
  /** Its standard error. */
  stderr: string;
}

function passwdUser(match: (f: string[]) => boolean): User | undefined {
  const line = Deno.readTextFileSync("/etc/passwd").split("\n")
    .map((l) => l.split(":")).find((f) => f.length >= 7 && match(f));
  if (!line) return undefined;
  const [name, , uid, gid, , home] = line as [string, ...string[]];
  return { name, uid: Number(uid), gid: Number(gid), home: home ?? "/" };
}

/** The test user's passwd entry: `USER`'s as root, else the caller's. */
export const testUser: User | undefined = PRIVILEGED
  ? passwdUser((f) => f[0] === USER)
  : passwdUser((f) => Number(f[2]) === Deno.uid());

/** The uid the test user runs as (-1 as root without the user). */
export const USER_UID: number = PRIVILEGED ? testUser?.uid ?? -1 : Deno.uid()!;

/**
 * Why root cannot run things as the test user, if it cannot; undefined when
 * not root (they run as the caller). For `nsTest`'s `needs`: under CI a test
 * that needs it fails instead of being ignored.
 */
export const UNPRIVILEGED_REASON: string | undefined = (() => {
  if (!PRIVILEGED) return undefined;
  if (!testUser) {
    return `no user ${USER} (create it with tests/setup_user.sh, or set USERNS_TEST_USER)`;
  }
  const ranges = rangesFor(readSubIdFileSync("/etc/subuid"), {
    name: testUser.name,
    uid: testUser.uid,
  });
  if (ranges.length === 0) return `${USER} has no subordinate uids`;
  try {
    new Deno.Command("runuser", { args: ["--help"] }).outputSync();
  } catch {
    return "runuser is not installed";
  }
  return undefined;
})();

/** What the copy of the module holds: what `main.ts` and the scenarios
 * load; the integration tests' own modules (and `tests/_skip.ts`, which
 * `_env.ts` loads) are copied beside. */
const PARTS = ["deno.json", "main.ts", "lib", "ffi", "c", "build"];

let copy: string | undefined;

/**
 * A copy of the module and of the integration tests that the test user can
 * read, made once per process and removed when it ends.
 *
 * @returns its root, with a trailing slash
 */
export function readableCopy(): string {
  if (copy) return copy;
  const root = Deno.makeTempDirSync({ prefix: "userns-asuser-" }) + "/";
  Deno.chmodSync(root, 0o755);
  Deno.mkdirSync(`${root}tests`);
  const parts = PARTS.filter((p) => {
    try {
      return !!Deno.statSync(ROOT + p);
    } catch {
      return false;
    }
  });
  for (
    const [from, to] of [
      [parts.map((p) => ROOT + p), root],
      [[`${ROOT}tests/integration`, `${ROOT}tests/_skip.ts`], `${root}tests/`],
    ] as const
  ) {
    const cp = new Deno.Command("cp", { args: ["-r", ...from, to] })
      .outputSync();
    if (!cp.success) throw new Error(`cp: ${text(cp.stderr)}`);
  }
  globalThis.addEventListener("unload", () => {
    Deno.removeSync(root, { recursive: true });
  });
  return copy = root;
}

/**
 * The `main.ts` the test user runs: a copy it can read as root, the
 * checkout's otherwise.
 *
 * @returns its path
 */
export function userMain(): string {
  return PRIVILEGED ? `${readableCopy()}main.ts` : MAIN;
}

/**
 * How to run argv as the test user: as root through `runuser` and `env -i`
 * with exactly PATH, HOME, NO_COLOR, DENO_NO_UPDATE_CHECK and `env`; as it
 * is otherwise, with `env` added to the caller's environment.
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
    HOME: testUser!.home,
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
 * Runs `userns ARGS` as the test user.
 *
 * @param args the CLI's arguments
 * @param env variables to set (PATH and HOME are kept unless given)
 * @param wrap as root, a command prefix run as root that then executes
 *   the rest; refused unprivileged
 * @returns its exit code and output
 */
export async function cliAsUser(
  args: string[],
  env: Record<string, string> = {},
  wrap: string[] = [],
): Promise<Output> {
  const run = asUser(
    [Deno.execPath(), "run", "-A", userMain(), ...args],
    env,
    wrap,
  );
  const out = await new Deno.Command(run.argv[0]!, {
    args: run.argv.slice(1),
    env: run.env,
    stdin: "null",
  }).output();
  return {
    code: out.code,
    stdout: text(out.stdout),
    stderr: text(out.stderr),
  };
}

/** How long one command of {@link runAs} may take before it is killed. */
const TIMEOUT_MS = 120_000;

/**
 * Runs argv as `user` with exactly `env` (`runuser` then `env -i` as root),
 * stdin from /dev/null; killed after two minutes.
 *
 * @param user who runs it: the caller, or anyone when root
 * @param argv the program and its arguments
 * @param env its whole environment
 * @param cwd its working directory
 * @returns its exit code and output
 */
export async function runAs(
  user: User,
  argv: string[],
  env: Record<string, string>,
  cwd: string,
): Promise<Output> {
  const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const [cmd, ...args] = PRIVILEGED
    ? ["runuser", "-u", user.name, "--", "env", "-i", ...vars, ...argv]
    : argv;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
  try {
    const out = await new Deno.Command(cmd!, {
      args,
      cwd,
      clearEnv: !PRIVILEGED,
      env: PRIVILEGED ? {} : env,
      stdin: "null",
      signal: abort.signal,
    }).output();
    return {
      code: out.code,
      stdout: text(out.stdout),
      stderr: text(out.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** How to run a scenario. */
export interface ScenarioRun {
  /** Run as the test user (as the caller when not root). */
  unprivileged?: boolean;
  /** Arguments after the scenario's name. */
  args?: string[];
  /** Flags of `deno run` besides `-A`. */
  flags?: string[];
  /** Prefix of the deno command, e.g. `setpriv --no-new-privs`. */
  wrap?: string[];
  /** `ulimit -n` for the process. */
  fdLimit?: number;
}

/**
 * Runs a scenario module (`deno run -A MODULE NAME ARGS...`) in a process of
 * its own and asserts that it passed: no signal, exit 0, and `scenario NAME:
 * ok` as the last line of its stderr. Unprivileged as root, it runs as the
 * test user on the readable copy, so that it means the same in both runs of
 * the suite.
 *
 * @param module the scenario module, relative to the repository root (in
 *   tests/integration)
 * @param name the scenario
 * @param run how
 * @returns what it printed on stdout (its measurements)
 */
export async function runScenario(
  module: string,
  name: string,
  run: ScenarioRun = {},
): Promise<string> {
  const user = run.unprivileged && PRIVILEGED;
  const root = user ? readableCopy() : ROOT;
  const env: Record<string, string> = {
    DENO_NO_UPDATE_CHECK: "1",
    NO_COLOR: "1",
  };
  const ci = Deno.env.get("CI");
  if (ci) env.CI = ci;
  let cmd = [
    ...(run.wrap ?? []),
    Deno.execPath(),
    "run",
    "-A",
    ...(run.flags ?? []),
    root + module,
    name,
    ...(run.args ?? []),
  ];
  if (run.fdLimit) {
    cmd = ["bash", "-c", `ulimit -n ${run.fdLimit} && exec "$@"`, "-", ...cmd];
  }
  if (user) cmd = asUser(cmd, env).argv;
  const out = await new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    env,
    cwd: "/",
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const who = user ? `as ${USER}` : `as uid ${Deno.uid()}`;
  const what = `scenario ${name} ${run.args?.join(" ") ?? ""} ${who}`;
  assert.equal(
    out.signal,
    null,
    `${what} died of ${out.signal}:\n${text(out.stderr)}`,
  );
  assert.equal(
    out.code,
    0,
    `${what} failed:\n${text(out.stderr)}${text(out.stdout)}`,
  );
  assert.match(text(out.stderr), new RegExp(`scenario ${name}: ok\\n$`));
  return text(out.stdout);
}
