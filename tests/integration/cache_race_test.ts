// The attack on the library cache: with the cache under a directory another user can
// write, that user swaps their own directory in and out with
// renameat2(RENAME_EXCHANGE) in a loop, hoping that the path the cache was
// checked by and the path dlopen opens lead to different places. Its
// library marks when its code runs; the mark must never appear.
import assert from "node:assert/strict";
import {
  compileC,
  denoEval,
  markerLibrary,
  marks,
  moduleCopy,
  sharedTempDir,
  spawnAsOther,
} from "./_cache.ts";
import { nsTest } from "./_env.ts";

const LOADS = 200;

const RACER = `#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
/* Swaps two directory entries for ever. */
int main(int argc, char **argv) {
\tif (argc != 3) return 2;
\tputs("racing");
\tfflush(stdout);
\tfor (;;)
\t\tsyscall(SYS_renameat2, AT_FDCWD, argv[1], AT_FDCWD, argv[2], 2 /* RENAME_EXCHANGE */);
}
`;

nsTest(
  "another uid racing renames in a writable parent never gets its code loaded",
  async () => {
    const base = sharedTempDir();
    const parent = `${base}/shared`; // where the other uid may write
    Deno.mkdirSync(parent, { mode: 0o755 });
    const mod = moduleCopy();
    const load =
      `import { loadNative } from "${mod}/ffi/load.ts"; loadNative();`;
    const env = { XDG_CACHE_HOME: `${parent}/cache` };
    const first = await denoEval(load, env); // the victim's good cache
    assert.equal(first.code, 0, first.stderr);

    // The attacker's copy of the cache: the same names, its own library.
    const evil = markerLibrary(`${base}/marks`, `${base}/evil.so`);
    const staged = `${base}/staged`;
    Deno.mkdirSync(staged, { mode: 0o755 });
    for (const e of Deno.readDirSync(`${parent}/cache/userns`)) {
      const own = Deno.readFileSync(`${parent}/cache/userns/${e.name}`);
      Deno.writeFileSync(
        `${staged}/${e.name}`,
        e.name.endsWith(".so") ? evil : own,
        { mode: 0o755 },
      );
    }
    compileC(RACER, `${base}/racer`, ["-O2"]);
    Deno.chmodSync(parent, 0o777);
    const racer = spawnAsOther([
      "sh",
      "-c",
      `mkdir ${parent}/evil && cp -r ${staged} ${parent}/evil/userns &&
       exec ${base}/racer ${parent}/cache ${parent}/evil`,
    ]);
    const started = racer.stdout.getReader();
    await started.read(); // "racing"
    started.releaseLock();

    const outcomes: string[] = [];
    try {
      for (let i = 0; i < LOADS; i += 4) {
        const batch = await Promise.all(
          Array.from({ length: 4 }, () => denoEval(load, env)),
        );
        outcomes.push(
          ...batch.map((r) =>
            r.code === 0 ? "loaded" : r.stderr.split("\n")[0]!
          ),
        );
      }
    } finally {
      racer.kill("SIGTERM");
      await racer.status;
      await racer.stdout.cancel();
      await racer.stderr.cancel();
    }
    const ran = marks(`${base}/marks`);
    assert.equal(ran, 0, `the attacker's code ran in ${ran} of ${LOADS} loads`);
    const refusal =
      `cannot use the library cache: ${parent} is writable by others (mode 777); `;
    const other = outcomes.filter((o) => !o.includes(refusal));
    assert.deepEqual(other, [], "every load is refused, naming the directory");
  },
);
