// How the CLI reports a failure: one line, the CLI's option names, and its
// exit status.
import assert from "node:assert/strict";
import { UsernsError } from "../../lib/errors/mod.ts";
import type { OptionSpecs } from "../../lib/cli/args.ts";
import { errorLine, exitStatus } from "../../lib/cli/report.ts";

const SPECS: OptionSpecs = {
  "oom-score-adj": { type: "string", help: "" },
  user: { type: "string", help: "" },
};
const usage = (what: string, hint?: string) =>
  new UsernsError("INVALID_ARGUMENT", what, hint ? { hint } : {});

Deno.test("errorLine(): one line per kind of failure", async (t) => {
  const cases: Array<[string, unknown, string, string]> = [
    [
      "usage error: subcommand and its help",
      usage('unknown option "--bogus"'),
      "doctor",
      'userns: doctor: unknown option "--bogus"; see userns doctor --help',
    ],
    [
      "usage error with its own hint",
      usage('invalid --map "x"', "use one of auto, root"),
      "run",
      'userns: run: invalid --map "x"; use one of auto, root',
    ],
    [
      "a library option named as the command line names it",
      usage("oomScoreAdj must be an integer from -1000 to 1000, got 5000"),
      "run",
      "userns: run: --oom-score-adj must be an integer from -1000 to 1000, " +
      "got 5000; see userns run --help",
    ],
    [
      "a library option this subcommand lacks keeps its name",
      usage("hostname must be 1 to 64 characters"),
      "run",
      "userns: run: hostname must be 1 to 64 characters; see userns run --help",
    ],
    [
      "any other error as the library words it",
      new UsernsError("PROC_READ", "cannot read x: EACCES", { hint: "fix" }),
      "enter",
      "userns: cannot read x: EACCES; fix",
    ],
    [
      "a denied permission names the flag",
      new Deno.errors.NotCapable(
        'Requires read access to "/x", run again with the --allow-read flag',
      ),
      "maps",
      'userns: not permitted: requires read access to "/x"; run deno with ' +
      "--allow-read (the README lists every flag userns needs), or -A",
    ],
    [
      "anything else is an internal error, first line only",
      new Error("boom\nstack"),
      "ps",
      "userns: internal error: boom",
    ],
  ];
  for (const [name, e, sub, line] of cases) {
    await t.step(name, () => assert.equal(errorLine(e, sub, SPECS), line));
  }
});

Deno.test("exitStatus(): 125 for run and enter, 2 for the others, 126, 127", () => {
  const error = (code: "EXEC_NOT_FOUND" | "EXEC_DENIED" | "INVALID_ARGUMENT") =>
    new UsernsError(code, "x");
  const table: Array<[unknown, string, number]> = [
    [error("INVALID_ARGUMENT"), "run", 125],
    [error("INVALID_ARGUMENT"), "enter", 125],
    [error("INVALID_ARGUMENT"), "subids", 2],
    [error("INVALID_ARGUMENT"), "maps", 2],
    [error("INVALID_ARGUMENT"), "doctor", 2],
    [error("INVALID_ARGUMENT"), "ps", 2],
    [new Error("x"), "doctor", 2],
    [error("EXEC_NOT_FOUND"), "run", 127],
    [error("EXEC_DENIED"), "enter", 126],
  ];
  for (const [e, sub, status] of table) {
    assert.equal(exitStatus(e, sub), status, `${sub} ${e}`);
  }
});
