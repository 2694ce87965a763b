// The three ways userns ships: compiled (embedded library, extracted to the
// cache), `deno run` from a checkout, and imported by path or URL from
// another project (built from source into the cache). What the compiled
// binary does differently runs here under `deno run`.
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { compileBinary, denortProblem } from "../../tools/compile.ts";
import { cli, MAIN, nsTest, ROOT, text } from "./_env.ts";
import {
  DENO,
  locate,
  moduleCopy,
  PREBUILT,
  scratchDir,
  sharedTempDir,
} from "./_cache.ts";

/** Runs deno with args and an environment on top of ours. */
async function deno(
  args: string[],
  env: Record<string, string> = {},
  cwd?: string,
) {
  const out = await new Deno.Command(DENO, { args, env, cwd, stdin: "null" })
    .output();
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

nsTest(
  "embedded: the library is extracted once, by content hash, and works",
  async () => {
    const dir = `${sharedTempDir()}/userns`;
    const lib = locate(dir, PREBUILT);
    assert.match(lib.path, new RegExp(`^${dir}/libuserns-[0-9a-f]{32}\\.so$`));
    assert.deepEqual(lib.bytes, Deno.readFileSync(PREBUILT));
    assert.equal(lib.st.mode! & 0o777, 0o700);
    assert.equal(Deno.statSync(dir).mode! & 0o777, 0o700);
    const again = locate(dir, PREBUILT);
    assert.equal(again.path, lib.path);
    assert.deepEqual(again.st.mtime, lib.st.mtime, "reused, not rewritten");
    Deno.writeTextFileSync(lib.path, "not a library");
    assert.deepEqual(
      locate(dir, PREBUILT).bytes,
      Deno.readFileSync(PREBUILT),
      "a bad copy is replaced",
    );
    const run = await deno(["run", "-A", MAIN, "run", "--", "id", "-u"], {
      USERNS_LIBRARY: lib.path,
    });
    assert.equal(run.stdout, "0\n", run.stderr);
  },
);

nsTest(
  "embedded: concurrent first uses agree and leave no temporary file",
  async () => {
    const dir = `${sharedTempDir()}/userns`;
    const script = `import { locateLibrary } from "${ROOT}ffi/load.ts";
    const lib = locateLibrary({ explicit: "", standalone: true, prebuilt: "${PREBUILT}",
      cache: () => "${dir}" });
    console.log(Deno.realPathSync(lib.path));`;
    const runs = await Promise.all(
      Array.from({ length: 6 }, () => deno(["eval", script])),
    );
    const paths = new Set(runs.map((r) => r.stdout.trim()));
    assert.equal(paths.size, 1, runs.map((r) => r.stderr).join());
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name),
      [...paths].map((p) => p.slice(dir.length + 1)),
    );
  },
);

/** A project elsewhere that imports the library from `from`. */
function project(from: string): string {
  const dir = scratchDir("userns-importer-");
  Deno.writeTextFileSync(
    `${dir}/main.ts`,
    `import { UsernsCommand } from "${from}";\n` +
      `const out = await new UsernsCommand("id", { args: ["-u"] }).output();\n` +
      `Deno.stdout.writeSync(out.stdout);\n`,
  );
  return dir;
}

nsTest(
  "imported by path: built from source into the cache, once, also concurrently",
  async () => {
    const mod = moduleCopy();
    const app = project(`${mod}/lib/mod.ts`);
    const cache = scratchDir();
    const runs = await Promise.all(
      Array.from(
        { length: 4 },
        () => deno(["run", "-A", "main.ts"], { XDG_CACHE_HOME: cache }, app),
      ),
    );
    for (const r of runs) assert.equal(r.stdout, "0\n", r.stderr);
    const files = [...Deno.readDirSync(`${cache}/userns`)].map((e) => e.name)
      .sort();
    assert.equal(files.length, 2, `no leftovers: ${files}`);
    assert.match(files[0]!, /^libuserns-[0-9a-f]{32}\.so$/);
    assert.match(files[1]!, /^libuserns-src-[0-9a-f]{32}\.sha256$/);
  },
);

nsTest("imported by URL: built from the sources it carries", async () => {
  const mod = moduleCopy();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      try {
        return new Response(
          await Deno.readFile(`${mod}${new URL(req.url).pathname}`),
          {
            headers: { "content-type": "application/typescript" },
          },
        );
      } catch {
        return new Response("not found", { status: 404 });
      }
    },
  );
  try {
    const app = project(`http://127.0.0.1:${server.addr.port}/lib/mod.ts`);
    const cache = scratchDir();
    const r = await deno(["run", "-A", "main.ts"], {
      XDG_CACHE_HOME: cache,
      DENO_DIR: `${cache}/deno`,
    }, app);
    assert.equal(r.stdout, "0\n", r.stderr);
  } finally {
    await server.shutdown();
  }
});

nsTest("no C compiler: one line saying what to install", async () => {
  const mod = moduleCopy();
  const out = await new Deno.Command(DENO, {
    args: ["run", "-A", `${mod}/main.ts`, "run", "--", "true"],
    env: { PATH: "/nonexistent", XDG_CACHE_HOME: scratchDir() },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 125);
  assert.equal(
    text(out.stderr),
    'userns: cannot build the native library: no C compiler ("cc") on PATH; ' +
      "install one (apt-get install gcc) or set USERNS_LIBRARY to a built libuserns.so\n",
  );
});

Deno.test("deno task compile without DENORT_BIN fails at once with one line", async () => {
  const started = performance.now();
  const env = { ...Deno.env.toObject() };
  delete env.DENORT_BIN;
  const out = await new Deno.Command(DENO, {
    args: ["task", "--quiet", "compile"],
    cwd: ROOT,
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 1);
  assert.match(
    text(out.stderr),
    /^userns: cannot compile dist\/userns: DENORT_BIN is not set: .*DENORT_BIN=\/path\/to\/denort\n$/,
  );
  assert.ok(performance.now() - started < 10_000, "within seconds");
});

nsTest(
  "the CLI runs from any directory with an absolute path to main.ts",
  async () => {
    const out = await cli(["run", "--", "pwd"], { cwd: "/", stdout: "piped" });
    assert.equal(out.stdout, "/\n");
  },
);

Deno.test("deno publish --dry-run is clean", async () => {
  const out = await new Deno.Command(DENO, {
    args: ["publish", "--dry-run", "--allow-dirty"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const all = text(out.stdout) + text(out.stderr);
  assert.equal(out.code, 0, all);
  assert.doesNotMatch(all, /warning/i);
  assert.match(all, /ffi\/library\/source\.ts/);
});

Deno.test("deno task compile refuses the deno CLI as DENORT_BIN, in one line", async () => {
  const out = await new Deno.Command(DENO, {
    args: ["task", "--quiet", "compile"],
    cwd: ROOT,
    env: { DENORT_BIN: DENO },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 1);
  assert.match(
    text(out.stderr),
    new RegExp(
      `^userns: cannot compile dist/userns: DENORT_BIN=${DENO} is the deno CLI, not denort .*DENORT_BIN=/path/to/denort\n$`,
    ),
  );
  assert.throws(
    () => Deno.statSync(`${ROOT}dist`),
    Deno.errors.NotFound,
    "nothing compiled",
  );
});

Deno.test("denortProblem() takes an executable that is not the deno CLI", () => {
  const dir = scratchDir();
  const runtime = `${dir}/denort`;
  Deno.writeTextFileSync(runtime, "#!/bin/sh\n");
  assert.match(denortProblem(runtime)!, /is not an executable file; /);
  Deno.chmodSync(runtime, 0o755);
  assert.equal(denortProblem(runtime), undefined);
  assert.match(denortProblem(`${dir}/none`)!, /does not exist; /);
  assert.match(denortProblem(DENO)!, /is the deno CLI, not denort /);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("compiling on a runtime embeds the native library", async () => {
  // The real denort cannot be downloaded here. The deno binary stands in
  // for it, which is enough to see the library embedded; the task itself
  // refuses that binary (see above), so the inner step is called directly.
  const out = await compileBinary(ROOT, DENO);
  assert.equal(out.code, 0, text(out.stderr));
  try {
    const binary = Deno.readFileSync(`${ROOT}dist/userns`);
    const lib = Deno.readFileSync(PREBUILT);
    const needle = lib.subarray(lib.length - 4096);
    const at = Buffer.from(binary).indexOf(needle);
    assert.ok(at > 0, "the library's bytes are inside dist/userns");
  } finally {
    Deno.removeSync(`${ROOT}dist`, { recursive: true });
  }
});
