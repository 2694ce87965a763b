// Finding a free range of subordinate ids: the pure part of
// `userns subids --suggest`.
import assert from "node:assert/strict";
import { MAX_ID } from "../../lib/idmap/id_space.ts";
import {
  accountIds,
  delegateCommand,
  type IdSpan,
  lowestFree,
  mapSpans,
  subIdMinimum,
  subIdSpans,
  suggestRange,
  type SuggestSources,
} from "../../lib/idmap/suggest.ts";

const K = 65536;

Deno.test("lowestFree() finds the lowest gap that fits", async (t) => {
  const cases: Array<[string, IdSpan[], number, number, number | undefined]> = [
    ["nothing taken", [], 100000, K, 100000],
    ["a range at the minimum", [[100000, 100000 + K]], 100000, K, 165536],
    [
      "adjacent ranges are skipped together",
      [[100000, 165536], [165536, 231072]],
      100000,
      K,
      231072,
    ],
    [
      "a gap of exactly count ids fits",
      [[100000, 165536], [231072, 300000]],
      100000,
      K,
      165536,
    ],
    [
      "a gap one id short does not",
      [[100000, 165536], [231071, 300000]],
      100000,
      K,
      300000,
    ],
    [
      "unsorted and overlapping spans",
      [[150000, 400000], [100000, 200000], [120000, 130000]],
      100000,
      K,
      400000,
    ],
    ["spans below the minimum are ignored", [[0, 99999]], 100000, 10, 100000],
    ["a span across the minimum", [[90000, 100010]], 100000, 10, 100010],
    ["a single id taken", [[100005, 100006]], 100000, 10, 100006],
    ["a range may end at 4294967295", [], MAX_ID - K, K, MAX_ID - K],
    ["one more id would pass it", [], MAX_ID - K, K + 1, undefined],
    [
      "a range reaching 4294967295 leaves nothing above",
      [[MAX_ID - K, MAX_ID]],
      MAX_ID - 2 * K + 1,
      K,
      undefined,
    ],
    [
      "just below a range reaching 4294967295",
      [[MAX_ID - K, MAX_ID]],
      MAX_ID - 2 * K,
      K,
      MAX_ID - 2 * K,
    ],
    [
      "a span past 2^32 (a wrapping count)",
      [[100000, 2 ** 64]],
      100000,
      K,
      undefined,
    ],
    ["nothing free", [[0, MAX_ID]], 100000, 1, undefined],
    ["count 0", [], 100000, 0, undefined],
    ["a count that is no integer", [], 100000, 1.5, undefined],
    ["a count past the id space", [], 0, MAX_ID + 1, undefined],
  ];
  for (const [name, taken, min, count, want] of cases) {
    await t.step(name, () => assert.equal(lowestFree(taken, min, count), want));
  }
});

Deno.test("subIdSpans() takes every line an admin wrote, valid or not", () => {
  const text = [
    "alice:100000:65536",
    "# bob:1:1",
    "",
    "   ",
    "crlf:200000:10\r",
    "space:300000:5 ",
    "hex:0x1000:0x10",
    "octal:0100:010",
    " lead:400000:1",
    "zero:500000:0",
    "short:600000",
    "words:x:y",
    "+nis:700000:2",
    "extra:800000:3:more",
  ].join("\n");
  assert.deepEqual(subIdSpans(text), [
    [100000, 165536],
    [200000, 200010],
    [300000, 300005],
    [4096, 4112],
    [64, 72],
    [400000, 400001],
    [700000, 700002],
    [800000, 800003],
  ]);
});

Deno.test("accountIds() takes uids and gids of passwd and group", () => {
  const passwd = "root:x:0:0:root:/root:/bin/sh\n" +
    "big:x:150000:160000::/:/bin/sh\nbroken:x:abc\n+nis::::::\n";
  assert.deepEqual(accountIds(passwd, [2, 3]), [
    [0, 1],
    [0, 1],
    [150000, 150001],
    [160000, 160001],
  ]);
  assert.deepEqual(accountIds("wheel:x:170000:alice\n", [2]), [
    [170000, 170001],
  ]);
});

Deno.test("mapSpans() takes outside ranges, not the whole-space identity", () => {
  assert.deepEqual(mapSpans(`         0          0 ${MAX_ID}\n`), []);
  assert.deepEqual(
    mapSpans(
      "         0       1001          1\n         1     200000      65536\n",
    ),
    [[1001, 1002], [200000, 265536]],
  );
  assert.deepEqual(mapSpans("0 0 1\n1 100000 10\n"), [[0, 1], [
    100000,
    100010,
  ]]);
  assert.deepEqual(mapSpans(""), []);
});

Deno.test("subIdMinimum(): the larger of SUB_UID_MIN and SUB_GID_MIN", () => {
  const cases: Array<[string, number]> = [
    ["", 100000],
    ["SUB_UID_MIN\t\t   200000\n", 200000],
    ["SUB_UID_MIN 200000\nSUB_GID_MIN 300000\n", 300000],
    ["SUB_GID_MIN 50000\n", 100000],
    ["#SUB_UID_MIN 200000\n", 100000],
    ["SUB_UID_MIN 0x30000\n", 0x30000],
    ["SUB_UID_MIN x\n", 100000],
    ["SUB_UID_MINIMUM 200000\n", 100000],
  ];
  for (const [text, want] of cases) {
    assert.equal(subIdMinimum(text), want, JSON.stringify(text));
  }
});

Deno.test("suggestRange() avoids sub-ID lines, accounts and namespaces", () => {
  const none: SuggestSources = {
    subuid: "",
    subgid: "",
    passwd: "",
    group: "",
    loginDefs: "",
    maps: [],
  };
  assert.equal(suggestRange(none, K), 100000);
  const cases: Array<[Partial<SuggestSources>, number]> = [
    [{ subuid: "a:100000:65536\n" }, 165536],
    [{ subgid: "a:100000:65536\n" }, 165536],
    [{ subuid: "a:100000:65536\r\n" }, 165536],
    [{ passwd: "x:x:120000:1::/:/bin/sh\n" }, 120001],
    [{ passwd: "x:x:1:120000::/:/bin/sh\n" }, 120001],
    [{ group: "g:x:165535:\n" }, 165536],
    [{ maps: ["0 1001 1\n1 100000 65536\n"] }, 165536],
    [{ loginDefs: "SUB_UID_MIN 300000\n" }, 300000],
  ];
  for (const [part, want] of cases) {
    assert.equal(
      suggestRange({ ...none, ...part }, K),
      want,
      JSON.stringify(part),
    );
  }
  assert.equal(suggestRange({ ...none, maps: [`0 0 ${MAX_ID}`] }, K), 100000);
  assert.equal(
    suggestRange({ ...none, subuid: `a:0:${MAX_ID}` }, 1),
    undefined,
  );
});

Deno.test("delegateCommand(): usermod for a name, the lines for a bare uid", () => {
  const user = { name: "alice", uid: 1001 };
  assert.equal(
    delegateCommand(165536, K, user),
    "usermod --add-subuids 165536-231071 --add-subgids 165536-231071 alice",
  );
  assert.equal(
    delegateCommand(165536, 10, user, { gid: "/etc/subgid" }),
    "usermod --add-subgids 165536-165545 alice",
  );
  assert.equal(
    delegateCommand(165536, 10, { uid: 4242 }),
    "echo 4242:165536:10 | tee -a /etc/subuid /etc/subgid",
  );
  assert.equal(
    delegateCommand(165536, 10, { uid: 4242 }, { uid: "/tmp/u" }),
    "echo 4242:165536:10 | tee -a /tmp/u",
  );
});
