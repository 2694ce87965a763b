// The CLI's bundle (build/cli.js, made by `deno task build`): main.ts runs
// it while it is fresh, and its sources once anything changed; the sources
// always work. CI builds it, so these tests also prove that bundling works.
import assert from "node:assert/strict";
import { freshBundle } from "../../lib/cli/bundle.ts";
import { bundleSources, stampOf } from "../../tools/build.ts";
import { ROOT, text } from "./_env.ts";

const root = new URL(`file://${ROOT}`);

Deno.test("deno task build made a fresh bundle of the CLI", () => {
  assert.equal(
    freshBundle(root),
    new URL("build/cli.js", root).href,
    "no fresh build/cli.js: run deno task build (deno task test does) after changing a source",
  );
});

/** A copy of the checkout (sources, deno.json, build/) with times kept. */
function copy(): string {
  const dir = Deno.makeTempDirSync({ prefix: "userns-bundle-" });
  const out = new Deno.Command("cp", {
    args: [
      "-a",
      `${ROOT}main.ts`,
      `${ROOT}deno.json`,
      `${ROOT}lib`,
      `${ROOT}ffi`,
      `${ROOT}build`,
      dir,
    ],
  }).outputSync();
  assert.ok(out.success, text(out.stderr));
  return dir;
}

function version(dir: string, env: Record<string, string> = {}) {
  const out = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${dir}/main.ts`, "--version"],
    env,
  }).outputSync();
  return [out.code, text(out.stdout), text(out.stderr)];
}

Deno.test("main.ts runs the bundle while fresh, the sources otherwise", () => {
  const dir = copy();
  try {
    // Mark the bundle: the mark shows when it runs.
    Deno.writeTextFileSync(
      `${dir}/build/cli.js`,
      'console.error("from the bundle");\n',
      { append: true },
    );
    const [code, out, err] = version(dir);
    assert.deepEqual([code, err], [0, "from the bundle\n"]);
    assert.match(out as string, /^userns \d+\.\d+\.\d+\n$/);
    assert.deepEqual(version(dir, { USERNS_NO_BUNDLE: "1" }).slice(0, 3), [
      0,
      out,
      "",
    ]);
    // One source changed: its size and time no longer match the stamp.
    const file = `${dir}/lib/cli/run.ts`;
    Deno.writeTextFileSync(file, Deno.readTextFileSync(file) + "\n");
    assert.deepEqual(version(dir), [0, out, ""]);
    assert.equal(freshBundle(new URL(`file://${dir}/`)), undefined);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("the stamp covers every module of the CLI's graph", async () => {
  // deno info lists the modules main.ts can load; each must be stamped.
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", `${ROOT}lib/cli/main.ts`],
  }).output();
  assert.ok(out.success, text(out.stderr));
  const graph = JSON.parse(text(out.stdout)) as {
    modules: { specifier: string }[];
  };
  const stamped = new Set(stampOf(root, bundleSources(root)).map(([p]) => p));
  const local = graph.modules.map((m) => m.specifier)
    .filter((s) => s.startsWith(`file://${ROOT}`))
    .map((s) => s.slice(`file://${ROOT}`.length));
  assert.ok(local.length > 20, `${local.length} modules`);
  for (const path of local) assert.ok(stamped.has(path), `${path} is stamped`);
});

Deno.test("main.ts's own graph is itself and the check: Deno loads no source module before the bundle runs", async () => {
  // A dynamic import with a literal specifier is part of the graph Deno
  // loads before running; main.ts must not have one.
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", `${ROOT}main.ts`],
  }).output();
  assert.ok(out.success, text(out.stderr));
  const graph = JSON.parse(text(out.stdout)) as {
    modules: { specifier: string }[];
  };
  const local = graph.modules.map((m) =>
    m.specifier.slice(`file://${ROOT}`.length)
  );
  assert.deepEqual(local.sort(), ["lib/cli/bundle.ts", "main.ts"]);
});
