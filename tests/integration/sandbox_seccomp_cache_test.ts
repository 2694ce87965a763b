// Compiled filters on disk (lib/sandbox/_disk_cache.ts): used only from a
// cache directory and file the library cache would trust, and only for the
// exact key. A filter is told apart from a fresh compilation by marking
// the cached copy.
import assert from "node:assert/strict";
import {
  clearSeccompCache,
  compileSeccompProfile,
  type SeccompProfile,
} from "../../lib/sandbox/seccomp.ts";

const PROFILE: SeccompProfile = {
  defaultAction: "SCMP_ACT_ALLOW",
  syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO", errnoRet: 38 }],
};

/** A cache of our own for the duration of `fn`. */
async function withCache(
  fn: (dir: string, files: () => string[]) => void,
): Promise<void> {
  const home = await Deno.makeTempDir({ prefix: "userns-xdg-" });
  const old = Deno.env.get("XDG_CACHE_HOME");
  Deno.env.set("XDG_CACHE_HOME", home);
  const dir = `${home}/userns/seccomp`;
  const files = () => {
    try {
      return [...Deno.readDirSync(dir)].map((e) => `${dir}/${e.name}`);
    } catch {
      return [];
    }
  };
  try {
    clearSeccompCache();
    fn(dir, files);
  } finally {
    if (old === undefined) Deno.env.delete("XDG_CACHE_HOME");
    else Deno.env.set("XDG_CACHE_HOME", old);
    clearSeccompCache();
    await Deno.remove(home, { recursive: true });
  }
}

/** Marks the last instruction's k of a cached filter: 0xdeadbeef. */
function mark(file: string): void {
  const b = Deno.readFileSync(file);
  new DataView(b.buffer).setUint32(b.length - 4, 0xdeadbeef, true);
  Deno.writeFileSync(file, b);
}

const marked = (bpf: Uint8Array): boolean =>
  new DataView(bpf.buffer, bpf.byteOffset).getUint32(bpf.length - 4, true) ===
    0xdeadbeef;

Deno.test("a compiled filter is kept on disk and read back by the next process", async () => {
  await withCache((dir, files) => {
    const first = compileSeccompProfile(PROFILE, 0n);
    assert.equal(files().length, 1);
    const st = Deno.statSync(files()[0]!);
    assert.equal(st.mode! & 0o777, 0o600);
    assert.equal(Deno.statSync(dir).mode! & 0o777, 0o700);
    mark(files()[0]!);
    clearSeccompCache(); // as a new process
    const again = compileSeccompProfile(PROFILE, 0n);
    assert.ok(marked(again), "read from disk");
    assert.equal(again.length, first.length);
    // Another capability set is another key.
    clearSeccompCache();
    assert.ok(!marked(compileSeccompProfile(PROFILE, 1n)));
    assert.equal(files().length, 2);
  });
});

Deno.test("disk: false neither reads nor writes", async () => {
  await withCache((_dir, files) => {
    compileSeccompProfile(PROFILE, 0n, "p", { disk: false });
    assert.equal(files().length, 0);
  });
});

Deno.test("a cached file of another key is not used", async () => {
  await withCache((_dir, files) => {
    compileSeccompProfile(PROFILE, 0n);
    const file = files()[0]!;
    const b = Deno.readFileSync(file);
    b[b.indexOf(0x0a) - 1]! ^= 1; // the format line: another key
    Deno.writeFileSync(file, b);
    mark(file);
    clearSeccompCache();
    assert.ok(!marked(compileSeccompProfile(PROFILE, 0n)));
  });
});

Deno.test("a cache others may write is not used", async (t) => {
  for (
    const [name, spoil] of [
      [
        "file writable by others",
        (_d: string, f: string) => Deno.chmodSync(f, 0o666),
      ],
      [
        "directory writable by the group",
        (d: string) => Deno.chmodSync(d, 0o770),
      ],
      ["file replaced by a link", (_d: string, f: string) => {
        Deno.renameSync(f, `${f}.real`);
        Deno.symlinkSync(`${f}.real`, f);
      }],
    ] as const
  ) {
    await t.step(name, async () => {
      await withCache((dir, files) => {
        compileSeccompProfile(PROFILE, 0n);
        const file = files()[0]!;
        mark(file);
        spoil(dir, file);
        clearSeccompCache();
        assert.ok(!marked(compileSeccompProfile(PROFILE, 0n)));
      });
    });
  }
});
