// The built file itself is checked, whatever the compiler's defaults: a
// library whose child-side code reads the cloning thread's TLS (stack
// protector, TLS variables) or that imports anything the parent's side
// does not call (-pg's mcount, _FORTIFY_SOURCE's __*_chk) is refused at
// build time with one line; and the flags keep distributions' defaults out.
import assert from "node:assert/strict";
import { CFLAGS } from "../../ffi/library/compiler.ts";
import { libraryProblem } from "../../ffi/library/elf.ts";
import { compileC, denoEval, scratchDir } from "./_cache.ts";
import { CHILD_CALLERS, CHILD_ROOTS, childClosure } from "./_closure.ts";
import { cli, nsTest, ROOT } from "./_env.ts";

/** What Ubuntu's gcc turns on by default. */
const UBUNTU = "-fstack-protector-strong -fstack-clash-protection " +
  "-fcf-protection -D_FORTIFY_SOURCE=3";

/** What dpkg-buildflags gives a package: Debian 12's CFLAGS, CPPFLAGS and
 * LDFLAGS, and Ubuntu 24.04's for amd64 (link-time optimization too). */
const DPKG: Record<string, string> = {
  Debian: "-g -O2 -ffile-prefix-map=/build=. -fstack-protector-strong " +
    "-Wformat -Werror=format-security -Wdate-time -D_FORTIFY_SOURCE=2 " +
    "-Wl,-z,relro",
  Ubuntu: "-g -O2 -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer " +
    "-ffile-prefix-map=/build=. -flto=auto -ffat-lto-objects " +
    "-fstack-protector-strong -fstack-clash-protection -Wformat " +
    "-Werror=format-security -fcf-protection -Wdate-time " +
    "-D_FORTIFY_SOURCE=3 -Wl,-Bsymbolic-functions -Wl,-z,relro -Wl,-z,now",
};

/** Builds the library from c/ in a new process with `CC` set. */
function build(cc: string, out: string) {
  return denoEval(
    `import { buildLibrary } from "${ROOT}tools/build.ts";
    import { readSources } from "${ROOT}tools/gen.ts";
    try { buildLibrary(readSources("${ROOT}c"), "${out}"); console.log("built"); }
    catch (e) { console.log(e.code, e.message); }`,
    { CC: cc },
  );
}

Deno.test("with Ubuntu's default flags in CC, the built library still passes", async () => {
  const dir = Deno.makeTempDirSync();
  // Those flags do bring the stack protector in without ours.
  compileC(
    "int f(char *s) { char b[64]; __builtin_strcpy(b, s); return b[1]; }",
    `${dir}/probe.so`,
    [
      ...UBUNTU.split(" "),
      "-O2",
      "-fPIC",
      "-shared",
    ],
  );
  assert.match(
    libraryProblem(Deno.readFileSync(`${dir}/probe.so`))!,
    /^imports __stack_chk_fail /,
  );
  const r = await build(`cc ${UBUNTU}`, `${dir}/libuserns.so`);
  assert.equal(r.stdout, "built\n", r.stderr);
  assert.equal(
    libraryProblem(Deno.readFileSync(`${dir}/libuserns.so`)),
    undefined,
  );
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("with dpkg-buildflags' defaults in CC, the built library passes", async (t) => {
  for (const [name, flags] of Object.entries(DPKG)) {
    await t.step(name, async () => {
      const dir = scratchDir();
      const r = await build(`cc ${flags}`, `${dir}/libuserns.so`);
      assert.equal(r.stdout, "built\n", r.stderr);
      if (Deno.build.arch === "x86_64") {
        const lib = `${dir}/libuserns.so`;
        const { problems } = childClosure(lib, CHILD_ROOTS, CHILD_CALLERS);
        assert.deepEqual(problems, [], "the child's side is still clean");
      }
    });
  }
});

Deno.test("a flag after ours that brings in a call is refused in one line", async (t) => {
  const cases: [string, string][] = [
    [
      "-fstack-protector-all",
      "__stack_chk_fail (the stack protector); build with -fno-stack-protector after any -fstack-protector flag",
    ],
    ["-pg", "mcount (profiling); build without -pg and -finstrument-functions"],
    [
      "-D_FORTIFY_SOURCE=2",
      "__snprintf_chk (_FORTIFY_SOURCE); build with -U_FORTIFY_SOURCE after any -D_FORTIFY_SOURCE flag",
    ],
  ];
  for (const [flag, what] of cases) {
    await t.step(flag, async () => {
      const dir = scratchDir();
      const cc = `${dir}/cc-after`;
      Deno.writeTextFileSync(cc, `#!/bin/sh\nexec cc "$@" ${flag}\n`);
      Deno.chmodSync(cc, 0o755);
      const r = await build(cc, `${dir}/libuserns.so`);
      assert.equal(
        r.stdout,
        `NATIVE_BUILD cannot build the native library: the file ${cc} built imports ${what}\n`,
        r.stderr,
      );
      assert.throws(
        () => Deno.statSync(`${dir}/libuserns.so`),
        "nothing written",
      );
    });
  }
});

Deno.test("thread-local storage in a library is found", async (t) => {
  const dir = Deno.makeTempDirSync();
  const tls = `__thread int counter;
__attribute__((visibility("default"))) int bump(void) { return ++counter; }`;
  await t.step("global-dynamic: __tls_get_addr or a TLS descriptor", () => {
    compileC(tls, `${dir}/gd.so`, ["-O2", "-fPIC", "-shared"]);
    assert.match(
      libraryProblem(Deno.readFileSync(`${dir}/gd.so`))!,
      /^(imports __tls_get_addr|has the relocation R_AARCH64_TLSDESC) \(thread-local storage\); /,
    );
  });
  await t.step("initial-exec: a TP-relative relocation", () => {
    compileC(tls, `${dir}/ie.so`, [
      "-O2",
      "-fPIC",
      "-shared",
      "-ftls-model=initial-exec",
    ]);
    assert.match(
      libraryProblem(Deno.readFileSync(`${dir}/ie.so`))!,
      /^has the relocation (R_X86_64_TPOFF64|R_AARCH64_TLS_TPREL) \(thread-local storage\); /,
    );
  });
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("CFLAGS keep loops as loops and the library mapped", () => {
  const dir = Deno.makeTempDirSync();
  compileC(
    `#include <stddef.h>
__attribute__((visibility("default"))) void zero(char *p, size_t n) {
\tfor (size_t i = 0; i < n; i++)
\t\tp[i] = 0;
}`,
    `${dir}/probe.so`,
    [...CFLAGS],
  );
  const run = (cmd: string, ...args: string[]) =>
    new TextDecoder().decode(
      new Deno.Command(cmd, { args }).outputSync().stdout,
    );
  assert.doesNotMatch(
    run("nm", "-D", "--undefined-only", `${dir}/probe.so`),
    /memset/,
    "no loop turned into a memset call through the PLT",
  );
  assert.match(run("readelf", "-d", `${dir}/probe.so`), /FLAGS_1.*NODELETE/);
  Deno.removeSync(dir, { recursive: true });
});

nsTest(
  "built as for an architecture without inline system calls (UNS_PORTABLE), the library runs commands in fork mode, and executed it traps at once",
  async () => {
    const dir = scratchDir();
    const r = await build("cc -DUNS_PORTABLE", `${dir}/libuserns.so`);
    assert.equal(r.stdout, "built\n", r.stderr);
    const env = { USERNS_LIBRARY: `${dir}/libuserns.so` };
    const run = await cli(["run", "--", "sh", "-c", "echo ran"], { env });
    assert.equal(run.stdout, "ran\n", run.stderr);
    // Its init runs in place: the command is still pid 2.
    const pid = await cli(["run", "--pid", "--", "sh", "-c", "echo $$"], {
      env,
    });
    assert.equal(pid.stdout, "2\n", pid.stderr);
    const self = await new Deno.Command(`${dir}/libuserns.so`, {
      stderr: "null",
      signal: AbortSignal.timeout(5000), // then SIGTERM: it spins
    }).output();
    assert.ok(
      self.signal === "SIGILL" || self.signal === "SIGTRAP",
      `${self.code} ${self.signal}`,
    );
  },
);
