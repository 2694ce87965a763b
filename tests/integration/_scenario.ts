/**
 * Runs a scenario module (`deno run -A MODULE NAME ARGS...`) in a process of
 * its own and checks that it passed: exit 0 (not a crash) and
 * `scenario NAME: ok` as the last line of its stderr. As root, an
 * unprivileged run goes as the test user through `runuser`, on a copy of
 * the module it can read (the checkout may be in /root), so that it means
 * the same in both runs of the suite.
 */
import assert from "node:assert/strict";
import { rangesFor, readSubIdFileSync } from "../../lib/idmap/subid.ts";
import { findPasswdEntry, readPasswd } from "../../lib/system/identity.ts";
import { PRIVILEGED, ROOT, text } from "./_env.ts";

/** The unprivileged user root runs the unprivileged scenarios as. */
export const USER: string = Deno.env.get("USERNS_TEST_USER") ?? "nsuser";

const home = readPasswd().split("\n").find((l) => l.startsWith(`${USER}:`))
  ?.split(":")[5];

/**
 * Why root cannot run scenarios unprivileged, if it cannot; undefined when
 * not root (they run as the caller). For `nsTest`'s `needs`.
 */
export const UNPRIVILEGED_REASON: string | undefined = (() => {
  if (!PRIVILEGED) return undefined;
  const entry = findPasswdEntry(readPasswd(), USER);
  if (!entry || !home) {
    return `no user ${USER} (create it with tests/setup_user.sh, or set USERNS_TEST_USER)`;
  }
  const ranges = rangesFor(readSubIdFileSync("/etc/subuid"), {
    name: entry.name,
    uid: entry.uid,
  });
  if (ranges.length === 0) return `${USER} has no subordinate uids`;
  try {
    new Deno.Command("runuser", { args: ["--help"] }).outputSync();
  } catch {
    return "runuser is not installed";
  }
  return undefined;
})();

/** How to run a scenario. */
export interface ScenarioRun {
  /** Run as the unprivileged test user (as the caller when not root). */
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

/** What the module needs, copied for the test user. */
const PARTS = ["deno.json", "main.ts", "lib", "ffi", "c", "build"];

function isThere(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** A copy of the module and of the integration tests' files. */
async function readableCopy(): Promise<string> {
  const root = Deno.makeTempDirSync({ prefix: "userns-scenario-" }) + "/";
  Deno.chmodSync(root, 0o755);
  Deno.mkdirSync(`${root}tests`);
  const parts = PARTS.filter((p) => isThere(ROOT + p));
  const cp = new Deno.Command("cp", {
    args: ["-r", ...parts.map((p) => ROOT + p), root],
  });
  assert.ok((await cp.output()).success, "copied the module");
  const tests = new Deno.Command("cp", {
    args: ["-r", `${ROOT}tests/integration`, `${root}tests/`],
  });
  assert.ok((await tests.output()).success, "copied the tests");
  return root;
}

/**
 * Runs one scenario and asserts it passed.
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
  const asUser = run.unprivileged && PRIVILEGED;
  const root = asUser ? await readableCopy() : ROOT;
  try {
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
      cmd = [
        "bash",
        "-c",
        `ulimit -n ${run.fdLimit} && exec "$@"`,
        "-",
        ...cmd,
      ];
    }
    if (asUser) {
      cmd = [
        "runuser",
        "-u",
        USER,
        "--",
        "env",
        "-i",
        `PATH=${Deno.env.get("PATH")}`,
        `HOME=${home}`,
        ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
        ...cmd,
      ];
    }
    const out = await new Deno.Command(cmd[0]!, {
      args: cmd.slice(1),
      env,
      cwd: "/",
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const who = asUser ? `as ${USER}` : `as uid ${Deno.uid()}`;
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
  } finally {
    if (asUser) Deno.removeSync(root, { recursive: true });
  }
}
