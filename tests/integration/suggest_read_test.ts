// suggestFreeRange() on constructed files and a constructed /proc: every
// input moves the suggestion; unreadable inputs are errors, missing ones
// are empty.
import assert from "node:assert/strict";
import { UsernsError } from "../../lib/errors/mod.ts";
import {
  suggestFreeRange,
  type SuggestPaths,
} from "../../lib/idmap/suggest_read.ts";

/** A temp dir holding `files` (relative path -> content). */
function tree(files: Record<string, string>): string {
  const dir = Deno.makeTempDirSync({ prefix: "userns-suggest-" });
  for (const [rel, text] of Object.entries(files)) {
    const path = `${dir}/${rel}`;
    Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    Deno.writeTextFileSync(path, text);
  }
  return dir;
}

/** Paths of the inputs in `dir`; a proc dir with no process by default. */
const inputs = (dir: string): SuggestPaths => ({
  subuid: `${dir}/subuid`,
  subgid: `${dir}/subgid`,
  passwd: `${dir}/passwd`,
  group: `${dir}/group`,
  loginDefs: `${dir}/login.defs`,
  proc: `${dir}/proc`,
});

Deno.test("suggestFreeRange(): each input takes its ids", async (t) => {
  const cases: Array<[string, Record<string, string>, number]> = [
    ["nothing at all", {}, 100000],
    ["subuid", { subuid: "a:100000:65536\n" }, 165536],
    ["subgid, a line shadow skips", { subgid: "b:100000:10\r\n" }, 100010],
    ["passwd", { passwd: "big:x:100005:5::/:/bin/sh\n" }, 100006],
    ["group", { group: "g:x:100007:\n" }, 100008],
    ["login.defs", { "login.defs": "SUB_UID_MIN 300000\n" }, 300000],
    [
      "a process's uid map",
      { "proc/42/uid_map": "0 1001 1\n1 100000 9\n" },
      100009,
    ],
    [
      "a process's gid map",
      { "proc/42/gid_map": "0 1001 1\n1 100000 8\n" },
      100008,
    ],
    ["not a process", { "proc/self/uid_map": "0 100000 65536\n" }, 100000],
  ];
  for (const [name, files, want] of cases) {
    await t.step(name, () => {
      const dir = tree({ "proc/.keep": "", ...files });
      try {
        assert.equal(suggestFreeRange(65536, inputs(dir)), want);
      } finally {
        Deno.removeSync(dir, { recursive: true });
      }
    });
  }
});

Deno.test("suggestFreeRange(): no free range, an unreadable input", () => {
  const dir = tree({ "proc/.keep": "", subuid: "all:0:4294967295\n" });
  try {
    assert.throws(
      () => suggestFreeRange(1, inputs(dir)),
      (e) =>
        e instanceof UsernsError && e.code === "NO_FREE_RANGE" &&
        e.message ===
          "no free range of 1 ids from 100000 to 4294967294: sub-ID files, " +
            "accounts and user namespaces use the ids in between; ask for " +
            "fewer ids (userns subids --suggest COUNT)",
    );
    // A directory cannot be read as a file, even by root.
    assert.throws(
      () => suggestFreeRange(1, { ...inputs(dir), passwd: dir }),
      (e) =>
        e instanceof UsernsError && e.code === "FILE_READ" &&
        e.message.startsWith(`cannot read ${dir}: EISDIR; `),
    );
    assert.throws(
      () => suggestFreeRange(1, { ...inputs(dir), subgid: dir }),
      (e) => e instanceof UsernsError && e.code === "SUBID_READ",
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
