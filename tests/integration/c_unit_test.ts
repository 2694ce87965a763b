// The C unit tests, tests/c/*_test.c: each includes the file of c/ it tests
// (to reach its static functions) and the harness, and is linked with the
// library's other files into a program of its own, built with the library's
// flags. Its "ok NAME" and "not ok NAME why" lines (tab-separated) are the
// steps here.
// A line "// cflags: ..." in a test adds flags (say, -Wl,--wrap=realloc).
import assert from "node:assert/strict";
import { CFLAGS } from "../../ffi/library/compiler.ts";
import { sourceFiles } from "../../tools/gen.ts";
import { scratchDir } from "./_cache.ts";
import { ROOT, text } from "./_env.ts";

const TESTS = `${ROOT}tests/c/`;

/** The library's flags for a program rather than a shared library. */
const FLAGS = CFLAGS.filter((f) =>
  f !== "-shared" && !f.startsWith("-Wl,-e,") && f !== "-Wl,-z,nodelete"
);

/** Compiles a test with every file of c/ it does not include itself. */
function build(file: string, out: string): void {
  const src = Deno.readTextFileSync(`${TESTS}${file}`);
  const included = [...src.matchAll(/^#include "\.\.\/\.\.\/c\/(\w+\.c)"/gm)]
    .map((m) => m[1]!);
  assert.ok(included.length > 0, `${file} includes no file of c/`);
  const extra = src.match(/^\/\/ cflags: (.*)$/m)?.[1]?.split(" ") ?? [];
  const others = sourceFiles(`${ROOT}c`).filter((f) =>
    f.endsWith(".c") && !included.includes(f)
  ).map((f) => `${ROOT}c/${f}`);
  const cc = new Deno.Command("cc", {
    args: [...FLAGS, ...extra, "-o", out, `${TESTS}${file}`, ...others],
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  assert.ok(cc.success, `cc ${file}: ${text(cc.stderr)}`);
}

const files = [...Deno.readDirSync(TESTS)].map((e) => e.name)
  .filter((n) => n.endsWith("_test.c")).sort();

for (const file of files) {
  Deno.test(`C unit tests: tests/c/${file}`, async (t) => {
    const exe = `${scratchDir("userns-ctest-")}/${file.slice(0, -2)}`;
    build(file, exe);
    const out = await new Deno.Command(exe, { stdin: "null" }).output();
    const lines = text(out.stdout).split("\n").filter((l) => l);
    assert.ok(lines.length > 0, `no test ran: ${text(out.stderr)}`);
    let failed = 0;
    for (const line of lines) {
      const m = line.match(/^(ok|not ok)\t([^\t]+)(?:\t(.*))?$/);
      assert.ok(m, `not a result line: ${line}`);
      if (m[1] !== "ok") failed++;
      await t.step(m[2]!, () => assert.equal(m[1], "ok", m[3]));
    }
    assert.equal(out.code, failed, text(out.stderr));
  });
}
