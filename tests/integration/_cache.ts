// Helpers for the library cache tests: a copy of the module without build/
// (as an importer gets it), a library that leaves a mark when its code
// runs, and another uid to play the attacker, as root and unprivileged.
import { locateLibrary } from "../../ffi/load.ts";
import { MAIN, ROOT, text } from "./_env.ts";

/** The deno binary. */
export const DENO = Deno.execPath();
/** The library `deno task build` made. */
export const PREBUILT = `${ROOT}build/libuserns.so`;

/** The directories {@link scratchDir} made, removed when the tests end. */
const scratch: string[] = [];
globalThis.addEventListener("unload", () => {
  for (const dir of scratch) {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // a file another uid made in it (the attacker's): left to /tmp
    }
  }
});

/**
 * A new directory under /tmp, removed with what is in it when the tests of
 * this process end.
 *
 * @param prefix its name's start
 * @returns its path
 */
export function scratchDir(prefix = "userns-test-"): string {
  const dir = Deno.makeTempDirSync({ prefix });
  scratch.push(dir);
  return dir;
}

/** A new directory under /tmp that other uids may enter (mode 755). */
export function sharedTempDir(prefix = "userns-cache-"): string {
  const dir = scratchDir(prefix);
  Deno.chmodSync(dir, 0o755);
  return dir;
}

/** A copy of the module without build/, as an importer gets it. */
export function moduleCopy(): string {
  const dir = scratchDir("userns-module-");
  for (const sub of ["lib", "ffi", "c"]) {
    new Deno.Command("cp", { args: ["-a", `${ROOT}${sub}`, dir] }).outputSync();
  }
  for (const f of ["main.ts", "deno.json"]) {
    Deno.copyFileSync(`${ROOT}${f}`, `${dir}/${f}`);
  }
  return dir;
}

/** Compiles C text with cc, failing the test on any error. */
export function compileC(code: string, out: string, args: string[]): void {
  const src = `${out}.c`;
  Deno.writeTextFileSync(src, code);
  const r = new Deno.Command("cc", { args: [...args, "-o", out, src] })
    .outputSync();
  if (!r.success) throw new Error(`cc failed: ${text(r.stderr)}`);
}

/**
 * A shared library, readable by anyone, whose constructor creates a file
 * named by the loader's pid in the directory `marks`: one file for each
 * process the attacker's code ran in.
 */
export function markerLibrary(marks: string, out: string): Uint8Array {
  Deno.mkdirSync(marks, { mode: 0o777 });
  Deno.chmodSync(marks, 0o777);
  compileC(
    `#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
__attribute__((constructor)) static void mark(void) {
\tchar path[4096];
\tsnprintf(path, sizeof(path), "%s/%d", ${
      JSON.stringify(marks)
    }, (int)getpid());
\tclose(open(path, O_CREAT | O_WRONLY, 0666));
}
__attribute__((visibility("default"))) int uns_abi_version(void) { return -1; }
`,
    out,
    ["-shared", "-fPIC"],
  );
  Deno.chmodSync(out, 0o755);
  return Deno.readFileSync(out);
}

/**
 * Starts argv as another uid: `userns run --user 1000 --group 1000`, which
 * runs it as outside uid 1000 for root (whose namespace maps the whole id
 * space onto itself) and as a subordinate uid for an unprivileged caller.
 */
export function spawnAsOther(argv: string[]): Deno.ChildProcess {
  return new Deno.Command(DENO, {
    args: [
      "run",
      "-A",
      MAIN,
      "run",
      "--user",
      "1000",
      "--group",
      "1000",
      "--",
      ...argv,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/**
 * Gives `path` to another uid (a chown by the namespace's root, which may
 * give a file of the caller's to any mapped id).
 *
 * @returns the new owner
 */
export async function chownToOther(path: string): Promise<number> {
  const out = await new Deno.Command(DENO, {
    args: ["run", "-A", MAIN, "run", "--", "chown", "1000:1000", path],
    stdin: "null",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`chown: ${text(out.stderr)}`);
  const uid = Deno.lstatSync(path).uid!;
  if (uid === Deno.uid()) throw new Error(`${path} is still the caller's`);
  return uid;
}

const libc = Deno.dlopen("libc.so.6", {
  close: { parameters: ["i32"], result: "i32" },
});

/** What a loader would dlopen, read before it is closed again. */
export interface Located {
  /** The bytes of the file. */
  bytes: Uint8Array;
  /** Its stat (through the open fd for a cached library). */
  st: Deno.FileInfo;
  /** Its path. */
  path: string;
}

/**
 * The library from the cache `dir`, as a compiled binary (`prebuilt` =
 * the embedded file) or an importer (no `prebuilt`: built from source)
 * finds it: the file it would load.
 */
export function locate(dir: string, prebuilt?: string): Located {
  const lib = locateLibrary({
    explicit: "",
    standalone: prebuilt !== undefined,
    prebuilt: prebuilt ?? "/nonexistent",
    cache: () => dir,
  });
  try {
    return {
      bytes: Deno.readFileSync(lib.path),
      st: Deno.statSync(lib.path),
      path: Deno.realPathSync(lib.path),
    };
  } finally {
    if (lib.fd !== undefined) libc.symbols.close(lib.fd);
  }
}

/**
 * {@link locate} and dlopen in a child process that is killed after 30 s:
 * a loader that blocks on a planted file fails the test instead of hanging
 * it, and a planted library that is loaded runs there, not here.
 */
export async function locateApart(
  dir: string,
  prebuilt?: string,
): Promise<Located> {
  const r = await denoEval(
    `import { locateLibrary } from "${ROOT}ffi/load.ts";
    const lib = locateLibrary({ explicit: "", standalone: ${!!prebuilt},
      prebuilt: ${JSON.stringify(prebuilt ?? "/nonexistent")},
      cache: () => ${JSON.stringify(dir)} });
    console.log(Deno.realPathSync(lib.path));
    Deno.dlopen(lib.path, { uns_abi_version: { parameters: [], result: "i32" } });`,
    {},
    ["-A"],
    { signal: AbortSignal.timeout(30_000) },
  );
  if (r.code !== 0) throw new Error(`locate failed: ${r.stderr}`);
  const path = r.stdout.trim();
  return { bytes: Deno.readFileSync(path), st: Deno.lstatSync(path), path };
}

/** How many processes the attacker's code ran in (see {@link markerLibrary}). */
export function marks(dir: string): number {
  return [...Deno.readDirSync(dir)].length;
}

/** deno's own cache for {@link denoEval}: by default it would be made in
 * the XDG_CACHE_HOME or HOME that a test gives. */
const DENO_DIR = scratchDir("userns-deno-dir-");

/** Runs a script in a new deno process, with env on top of ours. */
export async function denoEval(
  script: string,
  env: Record<string, string> = {},
  flags: string[] = ["-A"],
  opts: Deno.CommandOptions = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const file = Deno.makeTempFileSync({ suffix: ".ts" });
  Deno.writeTextFileSync(file, script);
  try {
    const out = await new Deno.Command(DENO, {
      args: ["run", ...flags, file],
      env: { DENO_DIR, ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      ...opts,
    }).output();
    return {
      code: out.code,
      stdout: text(out.stdout),
      stderr: text(out.stderr),
    };
  } finally {
    Deno.removeSync(file);
  }
}
