import assert from "node:assert/strict";
import {
  abiModule,
  parseHeader,
  readSources,
  sourceModule,
} from "../../tools/gen.ts";
import { SOURCES } from "../../ffi/library/source.ts";

const root = new URL("../../", import.meta.url).pathname;

// ffi/library/source.ts lets a module imported by URL build its native part; it
// must be exactly what `deno task gen` makes of c/.
Deno.test("ffi/library/source.ts is current with c/ (run deno task gen)", () => {
  const sources = readSources(`${root}c`);
  assert.deepEqual(SOURCES, sources);
  assert.equal(
    Deno.readTextFileSync(`${root}ffi/library/source.ts`),
    sourceModule(sources),
  );
});

// ffi/abi.ts holds the numbers of c/userns.h: generated, never copied.
Deno.test("ffi/abi.ts is current with c/userns.h (run deno task gen)", () => {
  assert.equal(
    Deno.readTextFileSync(`${root}ffi/abi.ts`),
    abiModule(Deno.readTextFileSync(`${root}c/userns.h`)),
  );
});

Deno.test("abiModule() evaluates C enums and defines, with their comments", () => {
  const header = `
/* What a step is. */
enum uns_step { UNS_STEP_SETNS = 1, /* joins */ UNS_STEP_OOM, UNS_STEP_NO_NEW_PRIVS };
enum uns_proc { UNS_PROC_START, UNS_PROC_USERNS, UNS_PROC_TRACER = UNS_PROC_USERNS + 8,
	UNS_PROC_SLOTS };
#define UNS_ABI_VERSION 9
#define UNS_EXPORT __attribute__((visibility("default")))
#define UNS_GO 'G'
`;
  const { enums, defines } = parseHeader(header);
  assert.deepEqual(enums[0], {
    name: "uns_step",
    doc: "What a step is.",
    members: [
      { name: "UNS_STEP_SETNS", value: 1, doc: "joins" },
      { name: "UNS_STEP_OOM", value: 2 },
      { name: "UNS_STEP_NO_NEW_PRIVS", value: 3 },
    ],
  });
  assert.deepEqual(enums[1]!.members.map((m) => m.value), [0, 1, 9, 10]);
  assert.deepEqual(defines.map((d) => [d.name, d.value]), [
    ["UNS_ABI_VERSION", 9],
    ["UNS_GO", 71],
  ]);
  const text = abiModule(header);
  assert.match(text, /export const ABI_VERSION = 9;/);
  assert.match(text, /"setns",\n {2}"oom-score-adj",\n {2}"no-new-privs",/);
  assert.match(text, /TRACER: 9,\n {2}SLOTS: 10,/);
});

Deno.test("abiModule() refuses what it has no name for: the header and the generator change together", () => {
  assert.throws(
    () => abiModule("enum uns_new { UNS_NEW_A };"),
    /enum uns_new has no name in tools\/gen.ts/,
  );
  assert.throws(
    () => abiModule("#define UNS_NEW_LIMIT 3"),
    /#define UNS_NEW_LIMIT has no name in tools\/gen.ts/,
  );
  assert.throws(
    () => abiModule("enum uns_opt { UNS_OPT_A = UNS_NOWHERE + 1 };"),
    /cannot evaluate uns_opt.UNS_OPT_A = UNS_NOWHERE \+ 1/,
  );
});
