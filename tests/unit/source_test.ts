import assert from "node:assert/strict";
import { readSources, sourceModule } from "../../ffi/build.ts";
import { SOURCES } from "../../ffi/source.ts";

// ffi/source.ts lets a module imported by URL build its native part; it
// must be exactly what `deno task gen` makes of c/.
Deno.test("ffi/source.ts is current with c/ (run deno task gen)", () => {
  const root = new URL("../../", import.meta.url).pathname;
  const sources = readSources(`${root}c`);
  assert.deepEqual(SOURCES, sources);
  assert.equal(
    Deno.readTextFileSync(`${root}ffi/source.ts`),
    sourceModule(sources),
  );
});
