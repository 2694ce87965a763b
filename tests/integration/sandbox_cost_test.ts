// What the sandbox costs: compiling podman's profile in the parent (cold:
// a fresh process that loads libseccomp; warm: loaded, not cached; a cache
// hit), and applying the capabilities and filters in the child, measured
// around apply_caps_and_filter() in forked children of the test loader.
// Prints a table; the bounds asserted are loose (a shared machine).
import assert from "node:assert/strict";
import {
  clearSeccompCache,
  compileSeccompProfile,
  seccompFilter,
  systemProfilePath,
} from "../../lib/sandbox/seccomp.ts";
import {
  capArgs,
  filterArgs,
  filterTest,
  run,
  tools,
} from "./_filter_tools.ts";

const PODMAN = systemProfilePath();
const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number): string => `${x.toFixed(2)} ms`;

/** One fresh process: import, load libseccomp, compile once (or read
 * the filter from the disk cache). */
async function cold(disk: boolean): Promise<number> {
  const url = new URL("../../lib/sandbox/seccomp.ts", import.meta.url).href;
  const out = await run([
    Deno.execPath(),
    "eval",
    `import { compileSeccompProfile } from "${url}";
     const text = Deno.readTextFileSync(${JSON.stringify(PODMAN)});
     const t = performance.now();
     compileSeccompProfile(text, 0n, "p", { disk: ${disk} });
     console.log(performance.now() - t);`,
  ]);
  assert.equal(out.code, 0, out.stderr);
  return Number(out.stdout);
}

filterTest(
  "cost: compiling podman's profile (cold, warm, cached)",
  async () => {
    const coldCompile: number[] = [], coldDisk: number[] = [];
    await cold(true); // fills the disk cache
    for (let i = 0; i < 5; i++) {
      coldCompile.push(await cold(false));
      coldDisk.push(await cold(true));
    }
    const text = Deno.readTextFileSync(PODMAN!);
    const warm: number[] = [], disk: number[] = [], hit: number[] = [];
    for (let i = 0; i < 10; i++) {
      clearSeccompCache();
      let t = performance.now();
      compileSeccompProfile(text, 0n, "p", { disk: false });
      warm.push(performance.now() - t);
      clearSeccompCache();
      t = performance.now();
      compileSeccompProfile(text, 0n, "p");
      disk.push(performance.now() - t);
    }
    for (let i = 0; i < 100; i++) {
      const t = performance.now();
      seccompFilter("default", 0n); // reads the file, two cache hits
      hit.push(performance.now() - t);
    }
    console.log(
      `\n| compile podman's profile | median |\n| --- | --- |\n` +
        `| fresh process: load libseccomp, compile | ${
          ms(median(coldCompile))
        } |\n` +
        `| fresh process: from the disk cache | ${ms(median(coldDisk))} |\n` +
        `| loaded: compile | ${ms(median(warm))} |\n` +
        `| loaded: from the disk cache | ${ms(median(disk))} |\n` +
        `| "default" from memory (read file, 2 hits) | ${ms(median(hit))} |`,
    );
    assert.ok(median(hit) < 5, `a cache hit took ${median(hit)} ms`);
  },
  PODMAN ? undefined : "podman's seccomp.json is not installed",
);

filterTest("cost: applying capabilities and filters in the child", async () => {
  const keep = 0n;
  const def = filterArgs(seccompFilter("default", keep));
  const tiny = filterArgs(seccompFilter({
    defaultAction: "SCMP_ACT_ALLOW",
    syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO" }],
  }));
  const rows: [string, string[]][] = [
    ["nothing", []],
    ["--cap-drop ALL", capArgs(keep)],
    ["a one-rule filter", tiny],
    ["--seccomp default", def],
    ["--cap-drop ALL --seccomp default", [...capArgs(keep), ...def]],
  ];
  const got: Record<string, number[]> = {};
  for (let round = 0; round < 3; round++) {
    for (const [name, args] of rows) {
      const out = await run([
        "unshare",
        "-r",
        tools.loader,
        "-n",
        ...args,
        "-T",
        "200",
      ]);
      assert.equal(out.code, 0, out.stderr);
      (got[name] ??= []).push(Number(out.stdout.split(" ")[0]) / 1e3);
    }
  }
  console.log(
    `\n| in the child, before execve | median µs |\n| --- | --- |\n` +
      rows.map(([name]) => `| ${name} | ${median(got[name]!).toFixed(1)} |`)
        .join("\n"),
  );
  assert.ok(median(got["--cap-drop ALL"]!) < 1000);
  assert.ok(median(got["--cap-drop ALL --seccomp default"]!) < 5000);
});
