// Every example in the README runs: each `sh` block under bash with
// `userns` as the CLI from this checkout, each `ts` block as a program
// importing this checkout's lib/mod.ts. (`shell` blocks are installation
// steps, `text` blocks are synopses: neither is an example.)
import assert from "node:assert/strict";
import { MAIN, nsTest, ROOT, text } from "./_env.ts";

const README = Deno.readTextFileSync(`${ROOT}README.md`);
const blocks = [...README.matchAll(/^```(sh|ts)\n([\s\S]*?)^```$/gm)].map((
  m,
) => ({
  lang: m[1]!,
  code: m[2]!,
  line: README.slice(0, m.index).split("\n").length,
}));

// The reporting commands exit 1 for "problems found", which is an answer,
// not a failure of the example; anything else must exit 0.
const SHELL_PRELUDE = `
userns() {
  local rc=0; "${Deno.execPath()}" run -A "${MAIN}" "$@" || rc=$?
  case "$1:$rc" in *:0|subids:1|maps:1|doctor:1|ps:1) return 0;; esac
  echo "README example failed: userns $* exited $rc" >&2; exit 1
}
cd "${ROOT}"
set -e
`;

Deno.test("the README has examples of every subcommand and of the library", () => {
  const sh = blocks.filter((b) => b.lang === "sh").map((b) => b.code).join(
    "\n",
  );
  for (const sub of ["run", "enter", "subids", "maps", "doctor", "ps"]) {
    assert.match(sh, new RegExp(`^userns ${sub}\\b`, "m"), sub);
  }
  assert.ok(blocks.some((b) => b.lang === "ts"));
});

for (const b of blocks) {
  nsTest(`README example at line ${b.line} (${b.lang})`, async () => {
    let out: Deno.CommandOutput;
    if (b.lang === "sh") {
      out = await new Deno.Command("bash", {
        args: [
          "-c",
          SHELL_PRELUDE +
          b.code.replaceAll(/^deno run /gm, `"${Deno.execPath()}" run `),
        ],
        stdin: "null",
      }).output();
    } else {
      const file = Deno.makeTempFileSync({ suffix: ".ts" });
      Deno.writeTextFileSync(
        file,
        b.code.replaceAll('"./lib/mod.ts"', `"${ROOT}lib/mod.ts"`),
      );
      out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", file],
        stdin: "null",
      }).output();
      Deno.removeSync(file);
    }
    assert.equal(out.code, 0, `${text(out.stdout)}\n${text(out.stderr)}`);
  });
}
