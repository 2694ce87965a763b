/**
 * `deno task build`: builds `build/libuserns.so` from `c/`, next to the
 * module, and bundles the CLI into `build/cli.js` with the stamp that
 * `main.ts` checks (`lib/cli/bundle.ts`).
 *
 * @module
 */
import { compileSources } from "../ffi/library/compiler.ts";
import type { Stamp } from "../lib/cli/bundle.ts";
import { calledFunctions, markEager } from "./eager.ts";
import { readSources } from "./gen.ts";

/**
 * Builds the library from sources into `out`, by path, atomically: a
 * concurrent build either wins the rename or is overwritten by identical
 * bytes, and no reader ever sees a partial file. For `deno task build` and
 * `deno task compile`, which write next to the module.
 *
 * @param sources file name to text
 * @param out path of the shared library to write
 * @throws {NativeError} NATIVE_BUILD as `compileSources()`
 */
export function buildLibrary(
  sources: Readonly<Record<string, string>>,
  out: string,
): void {
  const path = Deno.makeTempDirSync({ prefix: "userns-build-" });
  const tmp = `${out}.${Deno.pid}.${crypto.randomUUID()}.tmp`;
  try {
    const bytes = compileSources(sources, {
      path,
      write: (name, text) => Deno.writeTextFileSync(`${path}/${name}`, text),
      read: (name) => Deno.readFileSync(`${path}/${name}`),
    });
    Deno.writeFileSync(tmp, bytes, { createNew: true, mode: 0o755 });
    Deno.renameSync(tmp, out);
  } finally {
    Deno.removeSync(path, { recursive: true });
    removeQuietly(tmp);
  }
}

function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // renamed away, or never written
  }
}

/**
 * The files the bundle is made from, relative to `root`: `deno.json` and
 * every module of the checkout in the CLI's graph, as `deno info` lists it.
 * A module added to the graph comes through an import in one already
 * there, whose change the stamp sees.
 *
 * @param root the checkout (its URL ends with a slash)
 * @returns their paths, sorted
 */
export function bundleSources(root: URL): string[] {
  const out = deno([
    "info",
    "--json",
    new URL("lib/cli/main.ts", root).pathname,
  ]);
  if (!out.success) throw new Error(`deno info: ${firstLine(out.stderr)}`);
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string }[];
  };
  const prefix = root.href;
  const local = graph.modules.map((m) => m.specifier)
    .filter((s) => s.startsWith(prefix)).map((s) => s.slice(prefix.length));
  return [...new Set(["deno.json", ...local])].sort();
}

/**
 * The stamp of the sources as they are now.
 *
 * @param root the checkout
 * @param files the files, from {@link bundleSources}
 * @returns their stamp
 */
export function stampOf(root: URL, files: string[]): Stamp {
  return files.map((path) => {
    const st = Deno.statSync(new URL(path, root));
    return [path, st.size, st.mtime?.getTime() ?? 0];
  });
}

/**
 * Bundles the CLI (`lib/cli/main.ts`) into `build/cli.js` with
 * `deno bundle`, stamped with its sources as they were before (see
 * `lib/cli/bundle.ts`), then gives it the start-up hints of
 * `tools/eager.ts`. A failure to bundle (no esbuild offline, say) removes
 * any old bundle and says so: the CLI then runs its sources. A failure to
 * give hints keeps the plain bundle, and says so.
 *
 * @param root the checkout
 * @returns whether the bundle was made
 */
export async function bundleCli(root: URL): Promise<boolean> {
  const js = new URL("build/cli.js", root),
    json = new URL("build/cli.json", root);
  const stamp = stampOf(root, bundleSources(root));
  for (const f of [json, js]) removeQuietly(f.pathname);
  const out = deno([
    "bundle",
    "--quiet",
    "--minify",
    "--output",
    js.pathname,
    new URL("lib/cli/main.ts", root).pathname,
  ]);
  if (!out.success) {
    console.error(
      `userns: warning: cannot bundle the CLI (${
        firstLine(out.stderr)
      }); it will run from its sources`,
    );
    removeQuietly(js.pathname);
    return false;
  }
  const why = await addHints(js);
  if (why) {
    console.error(
      `userns: warning: the CLI's bundle has no start-up hints (${why}); it starts slower`,
    );
  }
  Deno.writeTextFileSync(json, JSON.stringify(stamp));
  return true;
}

/** The commands whose start-up is measured: the hints are made from the
 * functions they call. The first must work; one that does not here (no
 * libseccomp, say) adds nothing. */
const HOT_RUNS = [
  ["run", "--", "true"],
  ["run", "--sandbox", "--", "true"],
];

/**
 * Marks in the bundle at `js` the functions that {@link HOT_RUNS} call
 * (`tools/eager.ts`), and proves the result by running them again.
 *
 * @returns why it kept the plain bundle, or undefined when it marked it
 */
async function addHints(js: URL): Promise<string | undefined> {
  const plain = Deno.readTextFileSync(js);
  const dir = Deno.makeTempDirSync({ prefix: "userns-coverage-" });
  try {
    const { parse } = await import("acorn");
    const ran = HOT_RUNS.filter((args) =>
      deno(["run", "-A", `--coverage=${dir}`, js.pathname, ...args]).success
    );
    if (ran[0] !== HOT_RUNS[0]) return `${HOT_RUNS[0]!.join(" ")} failed`;
    const hinted = markEager(plain, calledFunctions(dir, js.href), parse);
    Deno.writeTextFileSync(js, hinted.js);
    for (const args of ran) {
      const proof = deno(["run", "-A", js.pathname, ...args]);
      if (!proof.success) {
        Deno.writeTextFileSync(js, plain);
        return `the marked bundle failed: ${firstLine(proof.stderr)}`;
      }
    }
    return undefined;
  } catch (e) {
    Deno.writeTextFileSync(js, plain);
    return (e as Error).message.split("\n")[0];
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/** Runs deno with `args`, its output captured. */
function deno(args: string[]): Deno.CommandOutput {
  return new Deno.Command(Deno.execPath(), {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
}

function firstLine(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes).trim().split("\n")[0] ?? "";
}

if (import.meta.main) {
  const root = new URL("..", import.meta.url);
  Deno.mkdirSync(new URL("build", root), { recursive: true });
  buildLibrary(
    readSources(new URL("c", root).pathname),
    new URL("build/libuserns.so", root).pathname,
  );
  await bundleCli(root);
}
