// The shared-mode child runs in the runtime's own memory and TLS: it must
// never enter libc, where a lazily bound PLT entry would run the dynamic
// linker on the runtime's thread state. And the library executed as a
// program of its own (userns-init, userns-pause) has no dynamic linker at
// all. Every function they run is in c/child.c, c/mounts.c and c/init.c
// (plus helper_child and the inline system calls); none of them may call
// through the PLT.
import assert from "node:assert/strict";
import { ROOT, text } from "./_env.ts";

const LIBRARY = `${ROOT}build/libuserns.so`;

/** Names of the functions defined in a C file (`static inline` ones only,
 * for a header, whose other lines are prototypes). */
function definedIn(file: string): string[] {
  const src = Deno.readTextFileSync(`${ROOT}c/${file}`);
  const head = file.endsWith(".h") ? "static inline " : "(?:static )?";
  const re = new RegExp(
    `^${head}(?:_Noreturn )?[a-z_]+ \\**([a-z_0-9]+)\\(`,
    "gm",
  );
  return [...src.matchAll(re)].map((m) => m[1]!);
}

/** Each function's disassembly, by name. */
function disassembly(): Map<string, string> {
  const out = new Deno.Command("objdump", {
    args: ["-d", "--no-show-raw-insn", LIBRARY],
  }).outputSync();
  assert.ok(out.success, text(out.stderr));
  const bodies = new Map<string, string>();
  for (const block of text(out.stdout).split("\n\n")) {
    const name = block.match(/^[0-9a-f]+ <([^>]+)>:/m)?.[1];
    if (name) bodies.set(name, block);
  }
  return bodies;
}

Deno.test("no function the child runs calls through the PLT", () => {
  const bodies = disassembly();
  const childSide = [
    ...definedIn("child.c"),
    ...definedIn("mounts.c"),
    ...definedIn("init.c"),
    ...definedIn("internal.h"),
    "helper_child",
  ];
  let checked = 0;
  for (const name of childSide) {
    const body = bodies.get(name);
    if (!body) continue; // inlined everywhere
    checked++;
    assert.doesNotMatch(body, /@plt>/, `${name} calls through the PLT`);
  }
  // Most of child.c is inlined into child(), whose body is checked whole.
  assert.ok(checked >= 4, `checked ${checked} functions`);
  for (
    const name of ["child", "helper_child", "set_up_mounts", "uns_program"]
  ) {
    assert.ok(bodies.has(name), `${name} is checked`);
  }
});
