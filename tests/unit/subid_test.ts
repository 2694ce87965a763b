import assert from "node:assert/strict";
import { SubIdError } from "../../lib/errors/mod.ts";
import {
  checkSubIdFile,
  parseSubIdFile,
  rangesFor,
  readSubIdFile,
  readSubIdFileSync,
  type SubIdFile,
} from "../../lib/idmap/subid.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url);
const fixture = (name: string): string => new URL(name, FIXTURES).pathname;

/** Ranges as `owner start count @line`, problems as `line: text`. */
function summary(file: SubIdFile): { ranges: string[]; problems: string[] } {
  return {
    ranges: file.ranges.map((r) =>
      `${r.owner} ${r.start} ${r.count} @${r.line}`
    ),
    problems: file.problems.map((p) => `${p.line}: ${p.problem}`),
  };
}

const LONG = "0".repeat(1010);
const PARSE_CASES: Array<{
  name: string;
  text: string;
  ranges: string[];
  problems?: string[];
}> = [
  {
    name: "two lines, last without newline",
    text: "alice:100000:65536\nbob:165536:65536",
    ranges: ["alice 100000 65536 @1", "bob 165536 65536 @2"],
  },
  {
    name: "comments and blank lines are skipped silently",
    text: "# c\n\n   \n\t\nalice:1:2\n#bob:3:4\n",
    ranges: ["alice 1 2 @5"],
  },
  {
    name: "crlf: shadow rejects the count with its \\r",
    text: "alice:100000:65536\r\n\r\n",
    ranges: [],
    problems: ['1: count "65536\\r" is not a number (crlf line ending?)'],
  },
  {
    name: "leading whitespace in numbers is accepted, trailing is not",
    text: "a: 10:1\na:11:\t1\na:\v12:1\na:13 :1\na:14:1 \n",
    ranges: ["a 10 1 @1", "a 11 1 @2", "a 12 1 @3"],
    problems: [
      '4: start "13 " is not a number',
      '5: count "1 " is not a number',
    ],
  },
  {
    name: "owner whitespace is kept (shadow compares it as written)",
    text: " alice:1:1\nalice :2:1\n",
    ranges: [" alice 1 1 @1", "alice  2 1 @2"],
  },
  {
    name: "hex and octal (strtoul base 0)",
    text: "a:0x186a0:0X10\na:0303240:010\na:0:00\n",
    ranges: ["a 100000 16 @1", "a 100000 8 @2", "a 0 0 @3"],
  },
  {
    name: "bad hex, octal and binary prefixes",
    text: "a:09:1\na:0x:1\na:0b1:1\na:0x1g:1\n",
    ranges: [],
    problems: [
      '1: start "09" is not a number',
      '2: start "0x" is not a number',
      '3: start "0b1" is not a number',
      '4: start "0x1g" is not a number',
    ],
  },
  {
    name: "signs: + accepted, - wraps as strtoul does",
    text: "a:+5:1\na:-1:1\na:3:-0x10\n",
    ranges: [
      "a 5 1 @1",
      `a ${Number(2n ** 64n - 1n)} 1 @2`,
      `a 3 ${Number(2n ** 64n - 16n)} @3`,
    ],
  },
  {
    name: "huge numbers up to 2^64-1 parse, 2^64 is out of range",
    text:
      "a:99999999999:1\na:1:18446744073709551615\na:18446744073709551616:1\n",
    ranges: ["a 99999999999 1 @1", `a 1 ${Number(2n ** 64n - 1n)} @2`],
    problems: ['3: start "18446744073709551616" is out of range'],
  },
  {
    name: "too few fields and empty fields",
    text: "alice:1\nalice\nalice::1\n:1:2\nalice:1:\n",
    ranges: [],
    problems: [
      '1: expected "owner:start:count", got "alice:1"',
      '2: expected "owner:start:count", got "alice"',
      '3: expected "owner:start:count", got "alice::1"',
      '4: expected "owner:start:count", got ":1:2"',
      '5: expected "owner:start:count", got "alice:1:"',
    ],
  },
  {
    name: "fields after the count are ignored, as shadow does",
    text: "a:1:2:3\na:4:5:\na:6:7:x:y\n",
    ranges: ["a 1 2 @1", "a 4 5 @2", "a 6 7 @3"],
  },
  {
    name: "a zero count parses",
    text: "alice:100000:0\n",
    ranges: ["alice 100000 0 @1"],
  },
  {
    name: "nis lines are skipped",
    text: "+alice:1:1\n-bob:2:2\n",
    ranges: [],
    problems: [
      '1: nis entry "+alice:1:1" is ignored by shadow',
      '2: nis entry "-bob:2:2" is ignored by shadow',
    ],
  },
  {
    name: "lines of 1024 bytes or more are skipped",
    text: `a:1:${LONG}${"0".repeat(8)}1\na:2:${LONG}${"0".repeat(9)}1\n`,
    ranges: ["a 1 1 @1"],
    problems: ["2: line is 1024 bytes or longer, which shadow skips"],
  },
  {
    name: "a nul byte swallows the rest of its line and joins the next",
    text: "a:1:1\0junk\na:2:0x1\na:3:1\n",
    ranges: ["a 3 1 @3"],
    problems: ['1: count "1a" is not a number'],
  },
];

Deno.test("parseSubIdFile() parses like shadow 4.13", async (t) => {
  for (const c of PARSE_CASES) {
    await t.step(c.name, () => {
      const file = parseSubIdFile(c.text, "/etc/subuid");
      assert.deepEqual(summary(file), {
        ranges: c.ranges,
        problems: c.problems ?? [],
      });
      assert.equal(file.path, "/etc/subuid");
      for (const x of [...file.ranges, ...file.problems]) {
        assert.equal(x.source, "/etc/subuid");
      }
    });
  }
});

const SAMPLE = "alice:100000:65536\n1000:200000:10\nbob:300000:5\n" +
  "alice:400000:1\n1000:100000:65536\n1000x:500000:1\n";

Deno.test("rangesFor() matches name and uid in file order", async (t) => {
  const file = parseSubIdFile(SAMPLE, "/etc/subuid");
  const cases: Array<
    { name: string; user: { name?: string; uid: number }; lines: number[] }
  > = [
    {
      name: "name and uid, interleaved",
      user: { name: "alice", uid: 1000 },
      lines: [1, 2, 4, 5],
    },
    { name: "uid only", user: { uid: 1000 }, lines: [2, 5] },
    { name: "name only matches", user: { name: "bob", uid: 1001 }, lines: [3] },
    { name: "nothing", user: { name: "carol", uid: 1002 }, lines: [] },
    {
      name: "a name equal to the uid matches twice",
      user: { name: "1000", uid: 1000 },
      lines: [2, 2, 5, 5],
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      assert.deepEqual(rangesFor(file, c.user).map((r) => r.line), c.lines);
    });
  }
  await t.step("a range under name and uid is returned twice", () => {
    const twice = rangesFor(file, { name: "alice", uid: 1000 })
      .filter((r) => r.start === 100000);
    assert.deepEqual(twice.map((r) => r.owner), ["alice", "1000"]);
  });
});

Deno.test({
  name: "readSubIdFile() matches getsubids on the quirks fixture",
  fn: async () => {
    const file = await readSubIdFile(fixture("subuid_shadow_quirks"));
    const got = rangesFor(file, { name: "nsuser", uid: 1001 })
      .map((r, i) => `${i}: nsuser ${r.start} ${r.count}\n`).join("");
    const want = await Deno.readTextFile(
      fixture("subuid_shadow_quirks.getsubids"),
    );
    assert.equal(got, want);
  },
});

/** Both readers, the sync one wrapped to return a promise. */
const READERS: Array<[string, (path: string) => Promise<SubIdFile>]> = [
  ["readSubIdFile()", readSubIdFile],
  [
    "readSubIdFileSync()",
    (path) => Promise.resolve().then(() => readSubIdFileSync(path)),
  ],
];
const isReadError = (path: string, tail: RegExp) => (e: unknown): boolean =>
  e instanceof SubIdError && e.code === "SUBID_READ" &&
  e.message.startsWith(`cannot read ${path}: `) && tail.test(e.message);

for (const [name, read] of READERS) {
  Deno.test({
    name: `${name} reads files, missing ones as empty`,
    fn: async (t) => {
      await t.step("sample", async () => {
        const file = await read(fixture("subuid"));
        assert.deepEqual(summary(file).ranges, [
          "alice 100000 65536 @3",
          "bob 165536 65536 @4",
          "1000 231072 65536 @5",
          "alice 296608 65536 @6",
        ]);
      });
      await t.step("missing file", async () => {
        const path = fixture("no_such_file");
        assert.deepEqual(await read(path), { path, ranges: [], problems: [] });
      });
      await t.step("a directory is a read error", async () => {
        const path = fixture("");
        await assert.rejects(
          read(path),
          isReadError(path, /: EISDIR; make it readable/),
        );
      });
    },
  });

  Deno.test({
    name: `${name} without read permission says which flag to add`,
    permissions: { read: false },
    fn: async () => {
      const path = fixture("subuid");
      await assert.rejects(
        read(path),
        isReadError(path, /; run with --allow-read=\S+subuid$/),
      );
    },
  });
}

const CHECK_CASES: Array<{ name: string; text: string; problems: string[] }> = [
  {
    name: "clean file",
    text: "# ok\nalice:100000:65536\nbob:165536:65536\n",
    problems: [],
  },
  {
    name: "all kinds, in line order",
    text: "alice:100000:65536\nbob:150000:65536\nalice:1\ncarol:300000:0\n" +
      "dave:4294967200:96\nerin:4294967200:95\n1000:100000:10\nalice:120000:10\n",
    problems: [
      "2: bob 150000+65536 overlaps line 1 (alice 100000+65536)",
      '3: expected "owner:start:count", got "alice:1"',
      "4: count is 0 (carol 300000+0)",
      "5: range dave 4294967200+96 ends past 4294967294, the last valid id",
      "6: erin 4294967200+95 overlaps line 5 (dave 4294967200+96)",
      "7: 1000 100000+10 overlaps line 1 (alice 100000+65536)",
    ],
  },
  {
    name: "32-bit boundary: start+count 4294967295 ok, one more is past",
    text: "a:0:4294967295\nb:4294967294:2\n",
    problems: [
      "2: range b 4294967294+2 ends past 4294967294, the last valid id",
      "2: b 4294967294+2 overlaps line 1 (a 0+4294967295)",
    ],
  },
  {
    name: "zero count at 0 is flagged as newuidmap's whole-space hole",
    text: "a:0:0\n",
    problems: ["1: count is 0 (a 0+0); newuidmap 4.13 then allows every id"],
  },
  {
    name: "one range overlapping two earlier ones gives two findings",
    text: "a:0:10\nb:10:10\nc:5:10\n",
    problems: [
      "3: c 5+10 overlaps line 1 (a 0+10)",
      "3: c 5+10 overlaps line 2 (b 10+10)",
    ],
  },
  {
    name: "adjacent ranges and zero counts do not overlap",
    text: "a:0:10\nb:10:10\nc:5:0\n",
    problems: ["3: count is 0 (c 5+0)"],
  },
  {
    name: "owner with surrounding whitespace",
    text: " alice:1:1\n",
    problems: [
      '1: owner " alice" has surrounding whitespace; shadow compares it as written',
    ],
  },
];

Deno.test("checkSubIdFile() reports one problem per finding", async (t) => {
  for (const c of CHECK_CASES) {
    await t.step(c.name, () => {
      const found = checkSubIdFile(parseSubIdFile(c.text, "/etc/subuid"));
      assert.deepEqual(found.map((p) => `${p.line}: ${p.problem}`), c.problems);
      assert.ok(found.every((p) => p.source === "/etc/subuid"));
    });
  }
});

Deno.test({
  name: "checkSubIdFile() on the broken fixture",
  fn: async () => {
    const path = fixture("subuid_broken");
    const found = checkSubIdFile(await readSubIdFile(path));
    assert.deepEqual(found.map((p) => `${p.source}:${p.line}`), [
      `${path}:3`,
      `${path}:4`,
      `${path}:5`,
      `${path}:6`,
      `${path}:7`,
      `${path}:8`,
    ]);
  },
});

// Found by tests/integration/differential_test.ts against getsubids/newuidmap.
Deno.test("parseSubIdFile() measures lines in bytes, as shadow does", () => {
  const line = "a:1:1:" + "\xff".repeat(1017); // 1023 bytes in the file
  const bytes = Uint8Array.from(`${line}\n${line}x\n`, (c) => c.charCodeAt(0));
  assert.deepEqual(summary(parseSubIdFile(bytes, "/etc/subuid")), {
    ranges: ["a 1 1 @1"],
    problems: ["2: line is 1024 bytes or longer, which shadow skips"],
  });
});

Deno.test("readSubIdFileSync() parses the bytes, not their utf-8 decoding", () => {
  const file = readSubIdFileSync(fixture("subuid_raw_bytes"));
  assert.deepEqual(summary(file).ranges, ["nsuser 5000 10 @2"]);
});

Deno.test("parseSubIdFile(): a nul byte in the newline-ended last line hides every range", () => {
  const unreadable = parseSubIdFile("a:1:1\na:2:1\0junk\n", "/etc/subuid");
  assert.deepEqual(summary(unreadable), {
    ranges: [],
    problems: [
      "2: a nul byte hides the newline of the last line: shadow cannot read " +
      "the file at all (getsubids and newuidmap fail)",
    ],
  });
  const atEof = parseSubIdFile("a:1:1\na:2:1\0junk", "/etc/subuid");
  assert.deepEqual(summary(atEof).ranges, ["a 1 1 @1", "a 2 1 @2"]);
});

Deno.test("parseSubIdFile() marks ranges whose last id wraps past 2^64-1", () => {
  const file = parseSubIdFile(
    "a:100:18446744073709551516\na:100:18446744073709551517\na:0:0\n",
    "/etc/subuid",
  );
  assert.deepEqual(file.ranges.map((r) => r.wraps), [
    undefined,
    true,
    undefined,
  ]);
  assert.deepEqual(checkSubIdFile(file).map((p) => `${p.line}: ${p.problem}`), [
    `1: range a 100+${2 ** 64} ends past 4294967294, the last valid id`,
    `2: range a 100+${2 ** 64} wraps past 2^64-1; shadow matches no id in it`,
    "3: count is 0 (a 0+0); newuidmap 4.13 then allows every id",
  ]);
});
