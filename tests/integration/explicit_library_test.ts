// USERNS_LIBRARY is checked as the cache is: a file the caller or root
// owns that no one else can write, in directories likewise, or it is
// refused in one line (exit 125) and never loaded. The planted files are
// a library that leaves a mark in the process that loads it; a good copy
// of it is loaded (and refused for its ABI), which shows the marks would
// tell.
import assert from "node:assert/strict";
import {
  chownToOther,
  markerLibrary,
  marks,
  PREBUILT,
  sharedTempDir,
} from "./_cache.ts";
import { cli, nsTest } from "./_env.ts";

/** Runs `userns run ARGS` with USERNS_LIBRARY set to `lib`. */
async function runWith(lib: string, args = ["--", "id", "-u"]) {
  return await cli(["run", ...args], { env: { USERNS_LIBRARY: lib } });
}

/** Asserts a one-line refusal, exit 125, matching `re`. */
function refused(out: Awaited<ReturnType<typeof cli>>, re: RegExp): void {
  assert.equal(out.code, 125, out.stderr);
  assert.equal(out.stdout, "");
  assert.match(out.stderr, /^userns: [^\n]*\n$/, `one line: ${out.stderr}`);
  assert.match(out.stderr, re);
}

nsTest(
  "USERNS_LIBRARY that others could have written is never loaded",
  async (t) => {
    const base = sharedTempDir("userns-explicit-");
    const evil = markerLibrary(`${base}/marks`, `${base}/evil.so`);
    const me = Deno.uid();
    /** A copy of the marker library at `path`, with `mode`. */
    const plant = (path: string, mode: number) => {
      Deno.writeFileSync(path, evil);
      Deno.chmodSync(path, mode);
      return path;
    };
    await t.step("a copy others can write", async () => {
      const lib = plant(`${base}/writable.so`, 0o757);
      refused(
        await runWith(lib),
        new RegExp(
          `^userns: cannot use USERNS_LIBRARY ${lib}: it is writable by others \\(mode 757\\); use a copy of your own`,
        ),
      );
      assert.equal(marks(`${base}/marks`), 0, "never loaded");
    });
    await t.step("a copy of another user's", async () => {
      const lib = plant(`${base}/theirs.so`, 0o755);
      const owner = await chownToOther(lib);
      refused(
        await runWith(lib),
        new RegExp(
          `: it is owned by uid ${owner}, neither by you \\(uid ${me}\\) nor by root; `,
        ),
      );
      assert.equal(marks(`${base}/marks`), 0, "never loaded");
    });
    await t.step("in a directory others can write", async () => {
      const dir = `${base}/open`;
      Deno.mkdirSync(dir);
      Deno.chmodSync(dir, 0o777);
      const lib = plant(`${dir}/lib.so`, 0o755);
      refused(
        await runWith(lib),
        new RegExp(
          `: ${dir} is writable by others \\(mode 777\\); have its owner make it writable by no one else`,
        ),
      );
      assert.equal(marks(`${base}/marks`), 0, "never loaded");
    });
    await t.step("a link to a copy others can write", async () => {
      const lib = `${base}/link.so`;
      Deno.symlinkSync("writable.so", lib);
      refused(
        await runWith(lib),
        new RegExp(`: ${base}/writable.so is writable by others`),
      );
      assert.equal(marks(`${base}/marks`), 0, "never loaded");
    });
    await t.step("a relative path", async () => {
      refused(await runWith("evil.so"), /: not an absolute path/);
    });
    await t.step("a good copy is loaded: the marks would tell", async () => {
      const lib = plant(`${base}/good.so`, 0o755);
      refused(
        await runWith(lib),
        /cannot load the native library \S+good\.so \(USERNS_LIBRARY\)/,
      );
      assert.ok(marks(`${base}/marks`) > 0, "loaded");
    });
  },
);

nsTest(
  "USERNS_LIBRARY: a good copy, or a link to one, runs, init included",
  async () => {
    const base = sharedTempDir("userns-explicit-");
    const lib = `${base}/libuserns.so`;
    Deno.copyFileSync(PREBUILT, lib);
    Deno.chmodSync(lib, 0o755);
    Deno.symlinkSync("libuserns.so", `${base}/link.so`);
    for (const path of [lib, `${base}/link.so`]) {
      for (const args of [["--", "id", "-u"], ["--pid", "--", "id", "-u"]]) {
        const out = await runWith(path, args);
        assert.equal(out.stdout, "0\n", `${path} ${args}: ${out.stderr}`);
      }
    }
  },
);
