// Every --json prints one document on one line, as jq and line-oriented
// consumers expect.
import assert from "node:assert/strict";
import { cli } from "./_env.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url).pathname;
const FILES = [
  "--subuid",
  `${FIXTURES}subids_subuid`,
  "--subgid",
  `${FIXTURES}subids_subgid`,
];

const COMMANDS = [
  ["subids", "--json", ...FILES],
  ["subids", "--check", "--json", ...FILES],
  ["maps", "--json"],
  ["ps", "--json"],
  ["doctor", "--json"],
];

Deno.test("--json: one line of JSON for every subcommand", async (t) => {
  for (const argv of COMMANDS) {
    await t.step(argv.slice(0, 3).join(" "), async () => {
      const out = await cli(argv, { stdout: "piped", stderr: "piped" });
      assert.ok(out.code === 0 || out.code === 1, out.stderr);
      assert.match(out.stdout, /^[[{][^\n]*\n$/, "one line");
      JSON.parse(out.stdout);
    });
  }
});
