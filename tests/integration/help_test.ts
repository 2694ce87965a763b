// Every subcommand's --help lists every one of its options with a gloss
// (and -h and `userns help SUB` print the same), and `userns --help` lists
// every subcommand.
import assert from "node:assert/strict";
import type { OptionSpecs } from "../../lib/cli/args.ts";
import { DOCTOR_OPTIONS } from "../../lib/cli/doctor.ts";
import { ENTER_OPTIONS } from "../../lib/cli/enter.ts";
import { MAPS_OPTIONS } from "../../lib/cli/maps.ts";
import { PS_OPTIONS } from "../../lib/cli/ps.ts";
import { RUN_OPTIONS } from "../../lib/cli/run.ts";
import { SUBIDS_OPTIONS } from "../../lib/cli/subids.ts";
import { cli } from "./_env.ts";

const TABLES: Record<string, OptionSpecs> = {
  run: RUN_OPTIONS,
  enter: ENTER_OPTIONS,
  subids: SUBIDS_OPTIONS,
  maps: MAPS_OPTIONS,
  doctor: DOCTOR_OPTIONS,
  ps: PS_OPTIONS,
};

Deno.test("--help of each subcommand lists every option with a gloss", async (t) => {
  for (const [sub, table] of Object.entries(TABLES)) {
    await t.step(sub, async () => {
      const out = await cli([sub, "--help"], { stdout: "piped" });
      assert.equal(out.code, 0);
      assert.match(out.stdout, new RegExp(`^Usage: userns ${sub} `));
      for (const [name, spec] of Object.entries(table)) {
        const placeholder = spec.value ?? "VALUE";
        const value = spec.type === "boolean"
          ? ""
          : spec.bare === undefined
          ? ` ${placeholder}`
          : ` [${placeholder}]`;
        const short = spec.short ? `-${spec.short}, ` : "";
        const line = out.stdout.split("\n").find((l) =>
          l.startsWith(`  ${short}--${name}${value} `)
        );
        assert.ok(line, `--${name} is listed`);
        assert.ok(line.includes(spec.help), `--${name} has its gloss`);
      }
      for (const same of [[sub, "-h"], ["help", sub]]) {
        const again = await cli(same, { stdout: "piped" });
        assert.deepEqual(
          [again.code, again.stdout],
          [0, out.stdout],
          `${same}`,
        );
      }
    });
  }
});

Deno.test("userns --help lists every subcommand", async () => {
  const out = await cli(["--help"], { stdout: "piped" });
  assert.equal(out.code, 0);
  for (const sub of Object.keys(TABLES)) {
    assert.match(out.stdout, new RegExp(`^  userns ${sub} `, "m"));
  }
  const none = await cli([], { stdout: "piped" });
  assert.equal(none.code, 2);
  const bad = await cli(["frobnicate"], { stderr: "piped" });
  assert.deepEqual([bad.code, bad.stderr], [
    2,
    'userns: unknown subcommand "frobnicate"; see userns --help\n',
  ]);
});
