// Usage errors of every subcommand, as a user sees them: one line in one
// style, `userns: SUB: what; see userns SUB --help`, and its status (125
// for run and enter, whose command never ran; 2 for the others).
import assert from "node:assert/strict";
import { skippableTest } from "../_skip.ts";
import { cli } from "./_env.ts";
import { cliAsUser, UNPRIVILEGED_REASON, USER_UID } from "./_user.ts";

const see = (sub: string) => `; see userns ${sub} --help\n`;

/** [argv, exit status, stderr without the "userns: SUB: " prefix and hint] */
const CASES: Array<[string[], number, string]> = [
  [["run", "--bogus", "true"], 125, 'unknown option "--bogus"'],
  [["run", "-x", "true"], 125, 'unknown option "-x"'],
  [["run", "--map"], 125, 'missing value for "--map"'],
  [["run", "--strict=yes", "true"], 125, 'unexpected value for "--strict"'],
  [
    ["run", "--map", "root", "--map=auto", "true"],
    125,
    'repeated option "--map"',
  ],
  // -500 is the value: the next word is what the parser trips on.
  [
    ["run", "--oom-score-adj", "-500", "--bogus"],
    125,
    'unknown option "--bogus"',
  ],
  [
    ["run", "--oom-score-adj=5000", "true"],
    125,
    "--oom-score-adj must be an integer from -1000 to 1000, got 5000",
  ],
  [["enter"], 125, "missing PID or NAME"],
  [["enter", "--all"], 125, "missing PID or NAME"],
  [["enter", "--bogus", "1", "true"], 125, 'unknown option "--bogus"'],
  [["subids", "--bogus"], 2, 'unknown option "--bogus"'],
  [["subids", "root", "daemon"], 2, 'unexpected argument "daemon"'],
  [["subids", "--check", "root"], 2, 'unexpected argument "root"'],
  [["subids", "--subuid"], 2, 'missing value for "--subuid"'],
  [["subids", "--json=1"], 2, 'unexpected value for "--json"'],
  [["maps", "--bogus"], 2, 'unknown option "--bogus"'],
  [["maps", "1", "2"], 2, 'unexpected argument "2"'],
  [["doctor", "--bogus"], 2, 'unknown option "--bogus"'],
  [["doctor", "extra"], 2, 'unexpected argument "extra"'],
  [["ps", "--json", "--json"], 2, 'repeated option "--json"'],
  [["ps", "-j"], 2, 'unknown option "-j"'],
];

Deno.test("enter: an operand neither a pid nor a pod name", async () => {
  const out = await cli(["enter", ".x", "true"], { stderr: "piped" });
  assert.deepEqual([out.code, out.stderr], [
    125,
    'userns: enter: invalid pod name ".x"; use 1-64 of A-Z a-z 0-9 _ . -, not starting with .\n',
  ]);
});

Deno.test("usage errors: one line in one style, 125 or 2", async (t) => {
  for (const [argv, code, what] of CASES) {
    await t.step(argv.join(" "), async () => {
      const out = await cli(argv, { stdout: "piped", stderr: "piped" });
      const sub = argv[0]!;
      assert.deepEqual(
        [out.code, out.stdout, out.stderr],
        [code, "", `userns: ${sub}: ${what}${see(sub)}`],
      );
    });
  }
});

Deno.test("usage errors: a bad value names the option and the choices", async () => {
  const out = await cli(["run", "--map", "bogus", "true"], { stderr: "piped" });
  assert.equal(out.code, 125);
  assert.match(
    out.stderr,
    /^userns: run: invalid --map "bogus"; use one of auto, root, current, subids\n$/,
  );
});

/** A process of another user than `uid`: this one when it is root's. */
function foreignPid(uid: number): number | undefined {
  if (Deno.uid() !== uid) return Deno.pid;
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const status = Deno.readTextFileSync(`/proc/${e.name}/status`);
      if (/^Uid:\t(\d+)/m.exec(status)?.[1] !== String(uid)) {
        return Number(e.name);
      }
    } catch {
      // gone
    }
  }
  return undefined;
}

skippableTest(
  "enter: another user's process is one line, never a raw error",
  { needs: UNPRIVILEGED_REASON },
  async () => {
    const pid = foreignPid(USER_UID);
    assert.ok(pid, "no process of another user");
    const out = await cliAsUser(["enter", String(pid), "true"]);
    assert.equal(out.code, 125);
    assert.equal(
      out.stderr,
      `userns: cannot read /proc/${pid}/ns/user: EACCES: not permitted to ` +
        `inspect process ${pid}; name one of your own processes (userns ps ` +
        "lists those you can see)\n",
    );
  },
);
