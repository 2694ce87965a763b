// The CLI's option parser: one table per subcommand, values as the next
// word or after "=", usage errors as one exact line.
import assert from "node:assert/strict";
import { UsernsError } from "../../lib/errors/mod.ts";
import {
  HELP,
  helpText,
  maxOperands,
  type OptionSpecs,
  parse,
  type Parsed,
} from "../../lib/cli/args.ts";

const SPECS: OptionSpecs = {
  map: { type: "string", value: "MODE", help: "how to map" },
  "oom-score-adj": { type: "string", value: "N", help: "oom" },
  env: { type: "string", multiple: true, value: "NAME=VALUE", help: "set" },
  json: { type: "boolean", help: "print JSON" },
  suggest: { type: "string", value: "COUNT", bare: "65536", help: "free" },
  help: HELP,
};

type Case = [
  name: string,
  argv: string[],
  stop: boolean,
  want: Omit<Parsed, "ordered">,
];

const CASES: Case[] = [
  ["nothing", [], false, { values: {}, operands: [] }],
  [
    "a value that begins with -",
    ["--oom-score-adj", "-500", "true"],
    true,
    { values: { "oom-score-adj": "-500" }, operands: ["true"] },
  ],
  [
    "a value after =, which may hold = and be empty",
    ["--map=a=b", "--oom-score-adj="],
    false,
    { values: { map: "a=b", "oom-score-adj": "" }, operands: [] },
  ],
  [
    "the next word is the value even when it is --",
    ["--map", "--", "x"],
    false,
    { values: { map: "--" }, operands: ["x"] },
  ],
  [
    "a repeatable option collects its values in order",
    ["--env", "A=1", "--env=B=2"],
    false,
    { values: { env: ["A=1", "B=2"] }, operands: [] },
  ],
  [
    "operands and options mix without stopAtOperand",
    ["root", "--json", "-", "x"],
    false,
    { values: { json: true }, operands: ["root", "-", "x"] },
  ],
  [
    "-- ends the options; what follows is operands",
    ["--json", "--", "--bogus", "-h"],
    false,
    { values: { json: true }, operands: ["--bogus", "-h"] },
  ],
  [
    "stopAtOperand: the command's flags stay its own",
    ["--map", "root", "ls", "-l", "--json"],
    true,
    { values: { map: "root" }, operands: ["ls", "-l", "--json"] },
  ],
  [
    "stopAtOperand: -- is dropped, the rest kept as is",
    ["--json", "--", "--map", "x"],
    true,
    { values: { json: true }, operands: ["--map", "x"] },
  ],
  [
    "stopAtOperand: - is an operand",
    ["-", "--json"],
    true,
    { values: {}, operands: ["-", "--json"] },
  ],
  [
    "-h and --help end parsing, whatever follows",
    ["--json", "-h", "--bogus"],
    false,
    { values: { help: true }, operands: [] },
  ],
  [
    "--help before an operand",
    ["--help", "ls"],
    true,
    { values: { help: true }, operands: [] },
  ],
  [
    "a bare optional value",
    ["--suggest"],
    false,
    { values: { suggest: "65536" }, operands: [] },
  ],
  [
    "an optional value as the next word when it is a number",
    ["--suggest", "1000", "alice"],
    false,
    { values: { suggest: "1000" }, operands: ["alice"] },
  ],
  [
    "a word after an optional value that is not a number is an operand",
    ["--suggest", "alice"],
    false,
    { values: { suggest: "65536" }, operands: ["alice"] },
  ],
  [
    "an optional value after =",
    ["--suggest=x"],
    false,
    { values: { suggest: "x" }, operands: [] },
  ],
];

Deno.test("parse() reads values and operands", async (t) => {
  for (const [name, argv, stop, want] of CASES) {
    await t.step(
      name,
      () =>
        assert.deepStrictEqual(parse(argv, SPECS, stop), {
          ...want,
          ordered: [],
        }),
    );
  }
});

const ERRORS: Array<[string[], string]> = [
  [["--bogus"], 'unknown option "--bogus"'],
  [["--bogus=1"], 'unknown option "--bogus"'],
  [["-x"], 'unknown option "-x"'],
  [["-hx"], 'unknown option "-hx"'],
  [["--constructor"], 'unknown option "--constructor"'],
  [["--__proto__=1"], 'unknown option "--__proto__"'],
  [["--toString"], 'unknown option "--toString"'],
  [["--=x"], 'unknown option "--"'],
  [["--it's"], `unknown option "--it's"`],
  [["--map"], 'missing value for "--map"'],
  [["--json", "--oom-score-adj"], 'missing value for "--oom-score-adj"'],
  [["--json=1"], 'unexpected value for "--json"'],
  [["--json="], 'unexpected value for "--json"'],
  [["--help=yes"], 'unexpected value for "--help"'],
  [["--map", "a", "--map=b"], 'repeated option "--map"'],
  [["--json", "--json"], 'repeated option "--json"'],
  [["--suggest", "--suggest"], 'repeated option "--suggest"'],
];

Deno.test("parse() refuses with one exact line and no hint", async (t) => {
  for (const [argv, what] of ERRORS) {
    await t.step(argv.join(" "), () => {
      for (const stop of [false, true]) {
        assert.throws(() => parse(argv, SPECS, stop), (e) => {
          assert.ok(e instanceof UsernsError);
          assert.equal(e.code, "INVALID_ARGUMENT");
          assert.equal(e.hint, undefined);
          assert.equal(e.message, what);
          return true;
        });
      }
    });
  }
});

Deno.test("maxOperands() names the first extra operand", () => {
  maxOperands(["a"], 1);
  maxOperands([], 0);
  // node:assert's throws(fn, Class, text) takes text as its own failure
  // message: the error's message is matched by the function.
  assert.throws(
    () => maxOperands(["a", "b", "c"], 1),
    (e) => e instanceof UsernsError && e.message === 'unexpected argument "b"',
  );
  assert.throws(
    () => maxOperands(['x"y'], 0),
    (e) =>
      e instanceof UsernsError && e.message === 'unexpected argument "x\\"y"',
  );
});

Deno.test("helpText() lists each option once with its value and gloss", () => {
  assert.equal(
    helpText("Usage: userns x", SPECS),
    `Usage: userns x

Options:
  --map MODE         how to map
  --oom-score-adj N  oom
  --env NAME=VALUE   set (repeatable)
  --json             print JSON
  --suggest [COUNT]  free
  -h, --help         show this help
`,
  );
});

Deno.test("parse() takes two-word values and keeps ordered options in order", () => {
  const specs: OptionSpecs = {
    bind: {
      type: "string",
      arity: 2,
      multiple: true,
      ordered: true,
      help: "b",
    },
    tmpfs: { type: "string", multiple: true, ordered: true, help: "t" },
    help: HELP,
  };
  const p = parse(
    ["--bind", "/a", "/b", "--tmpfs", "/t", "--bind=/c", "/d", "cmd", "--bind"],
    specs,
    true,
  );
  assert.deepStrictEqual(p.ordered, [
    ["bind", ["/a", "/b"]],
    ["tmpfs", ["/t"]],
    ["bind", ["/c", "/d"]],
  ]);
  assert.deepStrictEqual(p.operands, ["cmd", "--bind"]);
  assert.throws(
    () => parse(["--bind", "/a"], specs, true),
    (e) =>
      e instanceof UsernsError &&
      e.message === 'missing second value for "--bind"',
  );
});
