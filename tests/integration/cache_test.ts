// The library cache under faults and bad input: a file planted where a
// library belongs is never loaded, every directory on the way is checked as
// ssh's StrictModes checks, the cache is found by the XDG rules, and a
// warm cache needs nothing written.
import assert from "node:assert/strict";
import { NativeError } from "../../lib/errors/mod.ts";
import {
  chownToOther,
  DENO,
  denoEval,
  locate,
  locateApart,
  markerLibrary,
  marks,
  moduleCopy,
  PREBUILT,
  scratchDir,
  sharedTempDir,
} from "./_cache.ts";
import { nsTest, ROOT, text } from "./_env.ts";

const ME = Deno.uid()!;

/** Asserts that `got` is the genuine library, as the cache must write it. */
function assertGenuine(got: ReturnType<typeof locate>, want: Uint8Array) {
  assert.deepEqual(got.bytes, want, "the genuine bytes");
  assert.ok(got.st.isFile, "a regular file");
  assert.equal(got.st.uid, ME, "owned by the caller");
  assert.equal(got.st.mode! & 0o022, 0, "writable by no one else");
  assert.equal(got.st.mode! & 0o7777, 0o700, "mode 700: it is executed");
}

/** Ways to put a bad file where the library belongs; `good` is genuine. */
function plants(base: string, good: Uint8Array) {
  const evil = markerLibrary(`${base}/marks`, `${base}/evil.so`);
  return {
    "another user's copy": async (path: string) => {
      Deno.writeFileSync(path, good, { mode: 0o755 });
      await chownToOther(path);
    },
    "a copy others can write": (path: string) => {
      Deno.writeFileSync(path, good);
      Deno.chmodSync(path, 0o722);
    },
    "other bytes": (path: string) => {
      Deno.writeFileSync(path, evil, { mode: 0o700 });
      Deno.chmodSync(path, 0o700);
    },
    "a truncated copy": (path: string) => {
      Deno.writeFileSync(path, good.subarray(0, good.length >> 1));
      Deno.chmodSync(path, 0o700);
    },
    "a link to a copy others can write": (path: string) => {
      const target = `${base}/elsewhere-${crypto.randomUUID()}.so`;
      Deno.writeFileSync(target, good);
      Deno.chmodSync(target, 0o777);
      Deno.symlinkSync(target, path);
    },
    "a FIFO": (path: string) => {
      const r = new Deno.Command("mkfifo", { args: [path] }).outputSync();
      assert.ok(r.success, text(r.stderr));
    },
  };
}

nsTest("a planted file is never loaded: it is replaced", async (t) => {
  const good = Deno.readFileSync(PREBUILT);
  for (
    const [flow, prebuilt] of [["extracted", PREBUILT], ["built", undefined]]
  ) {
    const base = sharedTempDir();
    const dir = `${base}/cache/userns`;
    const first = locate(dir, prebuilt);
    const want = prebuilt ? good : first.bytes;
    await t.step(`${flow}: written as a new file`, () => {
      assertGenuine(first, want);
    });
    for (const [what, plant] of Object.entries(plants(base, want))) {
      await t.step(`${flow}: ${what}`, async () => {
        Deno.removeSync(first.path);
        await plant(first.path);
        const again = await locateApart(dir, prebuilt);
        assert.equal(marks(`${base}/marks`), 0, "the planted code never ran");
        assert.equal(again.path, first.path, "the same name");
        assertGenuine(again, want);
      });
    }
  }
});

nsTest(
  "a built library's recorded hash is checked too: a bad record means a rebuild",
  () => {
    const base = sharedTempDir();
    const dir = `${base}/cache/userns`;
    const first = locate(dir);
    const records = [...Deno.readDirSync(dir)].filter((e) =>
      e.name.endsWith(".sha256")
    );
    assert.equal(records.length, 1, "the build is recorded by source hash");
    const record = `${dir}/${records[0]!.name}`;
    for (const bad of ["", "0".repeat(64) + "\n", "not a hash\n"]) {
      Deno.writeTextFileSync(record, bad);
      assertGenuine(locate(dir), first.bytes);
      assert.match(Deno.readTextFileSync(record), /^[0-9a-f]{64}\n$/);
    }
  },
);

/** The one-line refusal for `where`, as a NativeError. */
function refused(where: string, why: string) {
  return (e: unknown) => {
    assert.ok(e instanceof NativeError, `${e}`);
    assert.equal(e.code, "NATIVE_LOAD");
    assert.ok(
      e.message.startsWith(`cannot use the library cache: ${where} ${why}; `),
      e.message,
    );
    assert.doesNotMatch(e.message, /\n/);
    return true;
  };
}

nsTest(
  "every directory on the way must be the caller's or root's, writable by no one else",
  async (t) => {
    const base = sharedTempDir();
    const cache = (d: string) => `${base}/${d}/cache/userns`;
    await t.step("group-writable", () => {
      Deno.mkdirSync(`${base}/gw`, { mode: 0o775 });
      Deno.chmodSync(`${base}/gw`, 0o775);
      assert.throws(
        () => locate(cache("gw"), PREBUILT),
        refused(`${base}/gw`, "is writable by group (mode 775)"),
      );
      assert.throws(
        () => Deno.statSync(`${base}/gw/cache`),
        Deno.errors.NotFound,
        "nothing made",
      );
    });
    await t.step("writable by others", () => {
      Deno.mkdirSync(`${base}/ow`);
      Deno.chmodSync(`${base}/ow`, 0o777);
      assert.throws(
        () => locate(cache("ow"), PREBUILT),
        refused(`${base}/ow`, "is writable by others (mode 777)"),
      );
    });
    await t.step("another user's", async () => {
      Deno.mkdirSync(cache("theirs"), { recursive: true });
      const uid = await chownToOther(`${base}/theirs`);
      assert.throws(
        () => locate(cache("theirs"), PREBUILT),
        refused(
          `${base}/theirs`,
          `is owned by uid ${uid}, neither by you (uid ${ME}) nor by root`,
        ),
      );
    });
    await t.step("the cache directory itself another user's", async () => {
      Deno.mkdirSync(cache("leaf"), { recursive: true });
      const uid = await chownToOther(cache("leaf"));
      assert.throws(
        () => locate(cache("leaf"), PREBUILT),
        refused(
          cache("leaf"),
          `is owned by uid ${uid}, not by you (uid ${ME})`,
        ),
      );
    });
    await t.step("the cache directory itself group-writable", () => {
      Deno.mkdirSync(cache("leafgw"), { recursive: true });
      Deno.chmodSync(cache("leafgw"), 0o770);
      assert.throws(
        () => locate(cache("leafgw"), PREBUILT),
        refused(cache("leafgw"), "is writable by group (mode 770)"),
      );
    });
    await t.step("a link is followed only where it is checked", () => {
      Deno.mkdirSync(`${base}/real`);
      Deno.symlinkSync(`${base}/real`, `${base}/link`);
      const got = locate(cache("link"), PREBUILT);
      assert.ok(got.path.startsWith(`${base}/real/cache/userns/`), got.path);
      Deno.symlinkSync("ow/inside", `${base}/bad`);
      Deno.mkdirSync(`${base}/ow/inside`);
      assert.throws(
        () => locate(cache("bad"), PREBUILT),
        refused(`${base}/ow`, "is writable by others (mode 777)"),
      );
    });
  },
);

nsTest(
  "sticky directories: root's (/tmp) is allowed, anyone else's is refused",
  async () => {
    const tmp = Deno.statSync("/tmp");
    assert.equal(tmp.uid, 0);
    assert.equal(tmp.mode! & 0o7777, 0o1777);
    const base = sharedTempDir(); // in /tmp
    assert.deepEqual(
      locate(`${base}/ok/userns`, PREBUILT).bytes,
      Deno.readFileSync(PREBUILT),
    );
    Deno.mkdirSync(`${base}/theirs/cache/userns`, { recursive: true });
    Deno.chmodSync(`${base}/theirs`, 0o1777);
    const uid = await chownToOther(`${base}/theirs`);
    assert.throws(
      () => locate(`${base}/theirs/cache/userns`, PREBUILT),
      refused(
        `${base}/theirs`,
        `is owned by uid ${uid}, neither by you (uid ${ME}) nor by root`,
      ),
    );
    Deno.mkdirSync(`${base}/mine`);
    Deno.chmodSync(`${base}/mine`, 0o1777);
    if (ME === 0) {
      assert.ok(locate(`${base}/mine/cache/userns`, PREBUILT).st.isFile);
    } else {
      assert.throws(
        () => locate(`${base}/mine/cache/userns`, PREBUILT),
        refused(`${base}/mine`, "is writable by others (mode 1777)"),
      );
    }
  },
);

const LOAD = (mod: string) =>
  `import { loadNative } from "${mod}/ffi/load.ts";
  try { loadNative(); console.log("loaded"); }
  catch (e) { console.log(e.code, e.message); }`;

nsTest(
  "a relative XDG_CACHE_HOME is ignored, as the XDG rules say",
  async () => {
    const mod = moduleCopy();
    const base = sharedTempDir();
    Deno.mkdirSync(`${base}/cwd`);
    const r = await denoEval(
      LOAD(mod),
      { XDG_CACHE_HOME: "relative", HOME: `${base}/home` },
      ["-A"],
      { cwd: `${base}/cwd` },
    );
    assert.equal(r.stdout, "loaded\n", r.stderr);
    assert.deepEqual([...Deno.readDirSync(`${base}/cwd`)], []);
    assert.equal(
      [...Deno.readDirSync(`${base}/home/.cache/userns`)].filter((e) =>
        e.name.endsWith(".so")
      ).length,
      1,
    );
  },
);

nsTest("HOME unset and no usable XDG_CACHE_HOME: one line", async (t) => {
  const mod = moduleCopy();
  const denoDir = scratchDir();
  for (const xdg of [undefined, "relative"]) {
    await t.step(`XDG_CACHE_HOME ${xdg ?? "unset"}`, async () => {
      const out = await new Deno.Command(DENO, {
        args: ["run", "-A", `${mod}/main.ts`, "run", "--", "true"],
        clearEnv: true,
        env: {
          PATH: Deno.env.get("PATH")!,
          DENO_DIR: denoDir,
          ...(xdg ? { XDG_CACHE_HOME: xdg } : {}),
        },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.code, 125);
      assert.match(
        text(out.stderr),
        new RegExp(
          `^userns: cannot find the library cache: HOME is not set and XDG_CACHE_HOME is ${
            xdg ? 'relative \\("relative"\\)' : "not set"
          }; set HOME or XDG_CACHE_HOME to an absolute directory.*\\n$`,
        ),
      );
    });
  }
});

nsTest(
  "a warm cache needs no --allow-write; a cold one asks for it in one line",
  async () => {
    const mod = moduleCopy();
    const base = sharedTempDir();
    const noWrite = ["--allow-read", "--allow-env", "--allow-ffi"];
    const cold = await denoEval(
      LOAD(mod),
      { XDG_CACHE_HOME: `${base}/cache` },
      noWrite,
    );
    assert.match(
      cold.stdout,
      /^PERMISSION cannot fill the library cache \S+: writing is not permitted; run deno with --allow-write[^\n]*\n$/,
    );
    assert.throws(
      () => Deno.statSync(`${base}/cache`),
      Deno.errors.NotFound,
      "nothing created",
    );
    const fill = await denoEval(LOAD(mod), { XDG_CACHE_HOME: `${base}/cache` });
    assert.equal(fill.stdout, "loaded\n", fill.stderr);
    const warm = await denoEval(
      LOAD(mod),
      { XDG_CACHE_HOME: `${base}/cache` },
      noWrite,
    );
    assert.equal(warm.stdout, "loaded\n", warm.stderr);
  },
);

nsTest("the loaded library is the verified file, kept open", async () => {
  const prebuilt = await denoEval(
    `import { loadNative, verifiedLibraryFd } from "${ROOT}ffi/load.ts";
    loadNative();
    console.log(verifiedLibraryFd());`,
  );
  assert.equal(prebuilt.stdout, "undefined\n", prebuilt.stderr);
  const mod = moduleCopy();
  const base = sharedTempDir();
  const r = await denoEval(
    `import { loadNative, verifiedLibraryFd } from "${mod}/ffi/load.ts";
    loadNative();
    const fd = verifiedLibraryFd();
    const file = Deno.readLinkSync("/proc/self/fd/" + fd);
    const { ino } = Deno.statSync(file);
    const mapped = Deno.readTextFileSync("/proc/self/maps").split("\\n")
      .filter((l) => l.endsWith(" " + file)).map((l) => Number(l.split(/ +/)[4]));
    console.log(JSON.stringify({ file, ino, mapped }));`,
    { XDG_CACHE_HOME: `${base}/cache` },
  );
  const { file, ino, mapped } = JSON.parse(r.stdout || "{}");
  assert.match(
    file ?? r.stderr,
    new RegExp(`^${base}/cache/userns/libuserns-[0-9a-f]{32}\\.so$`),
  );
  assert.ok(mapped.length > 0, "the library is mapped from that file");
  assert.deepEqual(new Set(mapped), new Set([ino]), "and no other");
});
