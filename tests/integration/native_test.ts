// The child's side of the library runs on the runtime's thread state (a
// shared-mode child: its TLS, its memory) or as a program the kernel
// started from the library's file, with no dynamic linker and no relocation
// applied (userns-init, userns-pause, userns-join). None of what it runs may
// call through the PLT or the GOT, touch thread-local storage, or read data
// a relocation fills in. What it runs is derived here from the built
// library: the call closure of its entry points (tests/integration/
// _closure.ts), checked whole; and the C files must not call each other in
// a cycle.
import assert from "node:assert/strict";
import { CFLAGS } from "../../ffi/library/compiler.ts";
import { sourceFiles } from "../../tools/gen.ts";
import { CHILD_CALLERS, CHILD_ROOTS, childClosure } from "./_closure.ts";
import { scratchDir } from "./_cache.ts";
import { ROOT, text } from "./_env.ts";

const LIBRARY = `${ROOT}build/libuserns.so`;

const X86_64 = Deno.build.arch === "x86_64";

Deno.test({
  name:
    "the child's side, derived from the entry points' call closure, calls nothing through the PLT or GOT, uses no TLS and reads no relocated data",
  ignore: !X86_64, // the disassembly read is x86_64's
  fn() {
    const { reached, problems } = childClosure(
      LIBRARY,
      CHILD_ROOTS,
      CHILD_CALLERS,
    );
    assert.deepEqual(problems, []);
    // What the closure must hold, whatever gcc inlines; and what it must
    // not: the parent's side, which may use libc.
    for (
      const name of [
        "fail_at",
        "set_up_mounts",
        "lock_mounts",
        "init_loop",
        "pause_loop",
        "become_init",
        "exec_self",
      ]
    ) {
      assert.ok(
        [...reached.keys()].some((f) => f === name || f.startsWith(`${name}.`)),
        `${name} is reached`,
      );
    }
    for (const name of ["uns_spawn", "uns_call", "claim", "own_fds"]) {
      assert.ok(!reached.has(name), `${name} is not the child's`);
    }
  },
});

/** Builds a small library from `code` with the given flags. */
function library(code: string, flags: string[]): string {
  const dir = scratchDir();
  Deno.writeTextFileSync(`${dir}/probe.c`, code);
  const out = new Deno.Command("cc", {
    args: [
      "-O2",
      "-fPIC",
      "-shared",
      "-fno-stack-protector",
      ...flags,
      "-o",
      `${dir}/probe.so`,
      `${dir}/probe.c`,
    ],
    stderr: "piped",
  }).outputSync();
  assert.ok(out.success, text(out.stderr));
  return `${dir}/probe.so`;
}

/** A child whose helper gcc clones (helper.constprop.0): it calls getpid()
 * from libc and reads a table of pointers, which relocations fill in. */
const PROBE = `#include <unistd.h>
static const char *const names[] = { "a", "bb", "ccc" };
__attribute__((noinline)) static int helper(int x, int y)
{
	return (int)getpid() + x * y;
}
__attribute__((visibility("hidden"))) int child(int i)
{
	return helper(i, 7) + names[i & 1][0];
}
`;

Deno.test({
  name:
    "the closure check finds a PLT call in a renamed clone, a GOT call, and relocated data",
  ignore: !X86_64,
  async fn(t) {
    await t.step("a .constprop clone's PLT call, and a pointer table", () => {
      const lib = library(PROBE, []);
      const { reached, problems } = childClosure(lib, ["child"], []);
      const clone = [...reached.keys()].find((f) => f.startsWith("helper."));
      assert.ok(clone, `a clone of helper is reached: ${[...reached.keys()]}`);
      assert.ok(
        problems.some((p) =>
          p.startsWith(`${clone} goes through the PLT`) &&
          p.includes("child -> helper.")
        ),
        problems.join("\n"),
      );
      assert.ok(
        problems.some((p) =>
          /^child reads \.data\.rel\.ro at [0-9a-f]+, which a relocation writes/
            .test(p)
        ),
        problems.join("\n"),
      );
    });
    await t.step("-fno-plt: a call through the GOT", () => {
      const lib = library(PROBE, ["-fno-plt"]);
      const { problems } = childClosure(lib, ["child"], []);
      assert.ok(
        problems.some((p) => /^helper\.\S+ calls through the GOT: /.test(p)),
        problems.join("\n"),
      );
    });
    await t.step("-pg: mcount in every function, through the GOT", () => {
      const lib = library(PROBE, ["-pg"]);
      const { problems } = childClosure(lib, ["child"], []);
      assert.ok(
        problems.some((p) =>
          /^child (goes through the PLT|calls through the GOT): call .*mcount/
            .test(p)
        ),
        problems.join("\n"),
      );
    });
    await t.step("the stack protector: %fs:0x28", () => {
      const lib = library(
        `__attribute__((visibility("hidden"))) int child(const char *s)
{ char b[64]; __builtin_strcpy(b, s); return b[1]; }`,
        ["-fstack-protector-all"],
      );
      const { problems } = childClosure(lib, ["child"], []);
      assert.ok(
        problems.some((p) => p.startsWith("child uses thread-local storage")),
        problems.join("\n"),
      );
    });
  },
});

/** Which files of c/ each file calls: one object each, its undefined
 * symbols matched with the others' defined ones. */
function callGraph(): Map<string, Set<string>> {
  const dir = scratchDir();
  const files = sourceFiles(`${ROOT}c`).filter((f) => f.endsWith(".c"));
  const defined = new Map<string, string>(), used = new Map<string, string[]>();
  for (const file of files) {
    const obj = `${dir}/${file}.o`;
    const cc = new Deno.Command("cc", {
      args: [
        ...CFLAGS.filter((f) => f !== "-shared" && !f.startsWith("-Wl,")),
        "-c",
        "-o",
        obj,
        `${ROOT}c/${file}`,
      ],
      stderr: "piped",
    }).outputSync();
    assert.ok(cc.success, text(cc.stderr));
    const nm = text(
      new Deno.Command("nm", { args: [obj] }).outputSync().stdout,
    );
    for (const m of nm.matchAll(/^[0-9a-f]+ [TDBR] (\S+)$/gm)) {
      defined.set(m[1]!, file);
    }
    used.set(file, [...nm.matchAll(/^\s+U (\S+)$/gm)].map((m) => m[1]!));
  }
  return new Map(files.map((f) => [
    f,
    new Set(
      used.get(f)!.map((s) => defined.get(s)).filter((g): g is string =>
        g !== undefined && g !== f
      ),
    ),
  ]));
}

Deno.test("the C files call each other without a cycle", () => {
  const graph = callGraph();
  const state = new Map<string, "open" | "done">();
  const visit = (f: string, path: string[]): void => {
    if (state.get(f) === "done") return;
    assert.notEqual(
      state.get(f),
      "open",
      `a cycle: ${[...path.slice(path.indexOf(f)), f].join(" -> ")}`,
    );
    state.set(f, "open");
    for (const g of graph.get(f)!) visit(g, [...path, f]);
    state.set(f, "done");
  };
  for (const f of graph.keys()) visit(f, []);
  // The child's side never reaches the parent's, which uses libc.
  const childSide = [
    "program.c",
    "child.c",
    "join.c",
    "init.c",
    "mounts.c",
    "lock.c",
    "clone.c",
    "fail.c",
  ];
  for (const f of childSide) {
    for (const g of graph.get(f)!) {
      assert.ok(
        !["fd.c", "io.c", "waiter.c", "region.c"].includes(g),
        `${f} calls ${g}`,
      );
    }
  }
});
