import assert from "node:assert/strict";
import { NativeError } from "../../lib/errors/mod.ts";
import {
  cachePathFor,
  dirProblem,
  explicitFileProblem,
  fileProblem,
} from "../../ffi/library/trust.ts";

const DIR = 0o040000, FILE = 0o100000, LINK = 0o120000, FIFO = 0o010000;
const ME = 1001;

Deno.test("dirProblem() applies ssh's StrictModes rules", async (t) => {
  const cases: [string, number, number, boolean, string | undefined][] = [
    ["mine, 755", ME, 0o755, false, undefined],
    ["mine, 700", ME, 0o700, false, undefined],
    ["root's, 755", 0, 0o755, false, undefined],
    ["root's sticky /tmp, 1777", 0, 0o1777, false, undefined],
    [
      "another user's",
      1002,
      0o755,
      false,
      "is owned by uid 1002, neither by you (uid 1001) nor by root",
    ],
    [
      "mine, group-writable",
      ME,
      0o775,
      false,
      "is writable by group (mode 775)",
    ],
    [
      "mine, writable by others",
      ME,
      0o757,
      false,
      "is writable by others (mode 757)",
    ],
    [
      "root's, writable by all",
      0,
      0o777,
      false,
      "is writable by others (mode 777)",
    ],
    [
      "mine, sticky and writable by all",
      ME,
      0o1777,
      false,
      "is writable by others (mode 1777)",
    ],
    ["root's, sticky and group-writable", 0, 0o1770, false, undefined],
    ["the cache: mine, 700", ME, 0o700, true, undefined],
    [
      "the cache: root's",
      0,
      0o700,
      true,
      "is owned by uid 0, not by you (uid 1001)",
    ],
    [
      "the cache: root's sticky",
      0,
      0o1777,
      true,
      "is owned by uid 0, not by you (uid 1001)",
    ],
    [
      "the cache: mine, group-writable",
      ME,
      0o770,
      true,
      "is writable by group (mode 770)",
    ],
  ];
  for (const [name, uid, perm, leaf, want] of cases) {
    await t.step(name, () => {
      assert.equal(dirProblem({ uid, mode: DIR | perm }, ME, leaf), want);
    });
  }
  await t.step("root's own directories, for root", () => {
    assert.equal(dirProblem({ uid: 0, mode: DIR | 0o700 }, 0, true), undefined);
  });
});

Deno.test("fileProblem() takes only the caller's private files", async (t) => {
  const cases: [string, number, number, boolean, string | undefined][] = [
    ["a library, 700", ME, FILE | 0o700, true, undefined],
    ["a library, 755", ME, FILE | 0o755, true, undefined],
    [
      "a library, 600: not executable",
      ME,
      FILE | 0o600,
      true,
      "is not executable (mode 600)",
    ],
    ["a record, 600", ME, FILE | 0o600, false, undefined],
    [
      "another user's",
      1002,
      FILE | 0o700,
      true,
      "is owned by uid 1002, not by you (uid 1001)",
    ],
    [
      "root's",
      0,
      FILE | 0o755,
      true,
      "is owned by uid 0, not by you (uid 1001)",
    ],
    [
      "group-writable",
      ME,
      FILE | 0o770,
      true,
      "is writable by group (mode 770)",
    ],
    [
      "writable by others",
      ME,
      FILE | 0o702,
      false,
      "is writable by others (mode 702)",
    ],
    ["a link", ME, LINK | 0o777, true, "is not a regular file"],
    ["a FIFO", ME, FIFO | 0o700, true, "is not a regular file"],
    ["a directory", ME, DIR | 0o700, true, "is not a regular file"],
  ];
  for (const [name, uid, mode, executable, want] of cases) {
    await t.step(name, () => {
      assert.equal(fileProblem({ uid, mode }, ME, executable), want);
    });
  }
});

Deno.test("explicitFileProblem() takes the caller's or root's private files", async (t) => {
  const cases: [string, number, number, string | undefined][] = [
    ["mine, 755", ME, FILE | 0o755, undefined],
    ["mine, 600", ME, FILE | 0o600, undefined],
    ["root's, 755 (installed system-wide)", 0, FILE | 0o755, undefined],
    [
      "another user's",
      1002,
      FILE | 0o755,
      "is owned by uid 1002, neither by you (uid 1001) nor by root",
    ],
    [
      "root's, group-writable",
      0,
      FILE | 0o775,
      "is writable by group (mode 775)",
    ],
    [
      "mine, writable by others",
      ME,
      FILE | 0o757,
      "is writable by others (mode 757)",
    ],
    ["a FIFO", ME, FIFO | 0o600, "is not a regular file"],
    ["a directory", 0, DIR | 0o755, "is not a regular file"],
  ];
  for (const [name, uid, mode, want] of cases) {
    await t.step(name, () => {
      assert.equal(explicitFileProblem({ uid, mode }, ME), want);
    });
  }
});

Deno.test("cachePathFor() follows the XDG Base Directory rules", async (t) => {
  await t.step("XDG_CACHE_HOME when absolute", () => {
    assert.equal(
      cachePathFor({ XDG_CACHE_HOME: "/c", HOME: "/h" }),
      "/c/userns",
    );
  });
  await t.step("a relative XDG_CACHE_HOME is ignored", () => {
    assert.equal(
      cachePathFor({ XDG_CACHE_HOME: "c", HOME: "/h" }),
      "/h/.cache/userns",
    );
  });
  await t.step("an empty one too", () => {
    assert.equal(
      cachePathFor({ XDG_CACHE_HOME: "", HOME: "/h" }),
      "/h/.cache/userns",
    );
  });
  const refused: [
    string,
    { XDG_CACHE_HOME?: string; HOME?: string },
    string,
  ][] = [
    ["neither set", {}, "HOME is not set and XDG_CACHE_HOME is not set"],
    [
      "HOME relative",
      { HOME: "h" },
      'HOME is not an absolute path ("h") and XDG_CACHE_HOME is not set',
    ],
    [
      "XDG_CACHE_HOME relative",
      { XDG_CACHE_HOME: "c" },
      'HOME is not set and XDG_CACHE_HOME is relative ("c")',
    ],
  ];
  for (const [name, env, why] of refused) {
    await t.step(`one line when ${name}`, () => {
      assert.throws(
        () => cachePathFor(env),
        (e) =>
          e instanceof NativeError && e.code === "NATIVE_LOAD" &&
          e.message.startsWith(
            `cannot find the library cache: ${why}; set HOME`,
          ) &&
          !e.message.includes("\n"),
      );
    });
  }
});
