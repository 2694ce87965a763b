import assert from "node:assert/strict";
import { HelperError, IdMapError } from "../../lib/errors/mod.ts";
import {
  type IdMapPlan,
  planIdMaps,
  type PlanInput,
} from "../../lib/idmap/plan.ts";
import {
  formatIdMap,
  type IdMapping,
  type IdSide,
  parseIdMap,
  parseIdMapSpec,
  validateIdMap,
} from "../../lib/idmap/rules.ts";
import { MAX_ID } from "../../lib/idmap/id_space.ts";
import type { SubIdRange } from "../../lib/idmap/subid.ts";

/** Map lines written as "inner outer count, ...". */
const m = (lines: string): IdMapping[] =>
  lines === "" ? [] : lines.split(", ").map((l) => {
    const [inner, outer, count] = l.split(" ").map(Number) as number[];
    return { inner: inner!, outer: outer!, count: count! };
  });
const show = (map: IdMapping[]): string =>
  map.map((x) => `${x.inner} ${x.outer} ${x.count}`).join(", ");
/** `n` lines `base+i base+i 1`. */
const lines = (n: number, base = 0): IdMapping[] =>
  Array.from({ length: n }, (_, i) => ({
    inner: base + i,
    outer: base + i,
    count: 1,
  }));

/** Delegated ranges written as "start+count ..." (owner alice). */
const d = (ranges: string): SubIdRange[] =>
  ranges.split(" ").filter(Boolean).map((r, i) => {
    const [start, count] = r.split("+").map(Number) as number[];
    return {
      owner: "alice",
      start: start!,
      count: count!,
      source: "f",
      line: i,
    };
  });
const side = (kind: "uid" | "gid", ranges = "", ownId = 1001): IdSide => ({
  kind,
  ownId,
  delegated: d(ranges),
  file: `/etc/sub${kind}`,
});

type ErrorClass = typeof IdMapError | typeof HelperError;
/** Asserts `fn` throws `cls` with `code` and a message matching `text`. */
function throwsCode(
  fn: () => unknown,
  [cls, code, text]: [ErrorClass, string, RegExp],
): void {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof cls, `not a ${cls.name}: ${e}`);
    assert.equal(e.code, code);
    assert.match(e.message, text);
    return true;
  });
}

Deno.test("parseIdMapSpec() takes strict decimal INNER:OUTER:COUNT", async (t) => {
  const good: Array<[string, string]> = [
    ["0:1000:1", "0 1000 1"],
    ["1:100000:65536", "1 100000 65536"],
    ["0:0:4294967295", "0 0 4294967295"],
  ];
  for (const [spec, want] of good) {
    await t.step(
      spec,
      () => assert.deepEqual(parseIdMapSpec(spec), m(want)[0]),
    );
  }
  const bad = [
    "",
    "0:1",
    "0:1:2:3",
    "-1:0:1",
    "+1:0:1",
    " 0:1:2",
    "0:1:2 ",
    "0x10:0:1",
    "1.5:0:1",
    "0 1 2",
    "a:b:c",
    "1::2",
  ];
  for (const spec of bad) {
    const text = new RegExp(
      `^invalid id map ${
        RegExp.escape(JSON.stringify(spec))
      }; write INNER:OUTER:COUNT in decimal`,
    );
    await t.step(
      `rejects ${JSON.stringify(spec)}`,
      () =>
        throwsCode(() => parseIdMapSpec(spec), [
          IdMapError,
          "MAP_SYNTAX",
          text,
        ]),
    );
  }
  await t.step(
    "rejects a number past 4294967295",
    () =>
      throwsCode(() => parseIdMapSpec("0:0:4294967296"), [
        IdMapError,
        "MAP_RANGE",
        /"0:0:4294967296" is past 4294967295/,
      ]),
  );
});

Deno.test("formatIdMap() and parseIdMap() use the kernel format", async (t) => {
  await t.step("format", () => {
    assert.equal(
      formatIdMap(m("0 1001 1, 1 100000 65536")),
      "0 1001 1\n1 100000 65536\n",
    );
    assert.equal(formatIdMap([]), "");
  });
  await t.step("parse /proc padding", () => {
    const text =
      "         0       1001          1\n         1     100000      65536\n";
    assert.equal(show(parseIdMap(text)), "0 1001 1, 1 100000 65536");
  });
  await t.step(
    "round trip",
    () =>
      assert.deepEqual(
        parseIdMap(formatIdMap(m("0 0 4294967295"))),
        m("0 0 4294967295"),
      ),
  );
  await t.step("empty file", () => assert.deepEqual(parseIdMap(""), []));
  await t.step(
    "bad line",
    () =>
      throwsCode(() => parseIdMap("0 1 1\n0 x 1\n"), [
        IdMapError,
        "MAP_SYNTAX",
        /^invalid id map line 2 "0 x 1"/,
      ]),
  );
  await t.step(
    "four columns",
    () =>
      throwsCode(() => parseIdMap("0 1 1 1\n"), [
        IdMapError,
        "MAP_SYNTAX",
        /line 1 "0 1 1 1"/,
      ]),
  );
});

const FOUR_K = [...lines(255, 100000), ...m("10000 10000 10")]; // 255*16 + 15 bytes
const LIMITS_OK: Array<[string, IdMapping[]]> = [
  ["whole space 0 0 4294967295", m("0 0 4294967295")],
  ["last id alone", m("4294967294 4294967294 1")],
  ["340 short lines", lines(340)],
  ["4095 bytes", FOUR_K],
  ["adjacent lines", m("0 1000 10, 10 1010 10")],
];
const LIMITS_BAD: Array<[string, IdMapping[], string, RegExp]> = [
  ["no line", [], "MAP_LIMIT", /^uid map has 0 lines/],
  [
    "341 lines",
    lines(341),
    "MAP_LIMIT",
    /^uid map has 341 lines; the kernel takes 1 to 340$/,
  ],
  [
    "340 lines of 6-digit ids",
    lines(340, 100000),
    "MAP_LIMIT",
    /^uid map is 5440 bytes as written/,
  ],
  [
    "4096 bytes",
    lines(256, 100000),
    "MAP_LIMIT",
    /^uid map is 4096 bytes as written; the kernel takes under 4096 bytes$/,
  ],
  [
    "count one past the space",
    m("0 0 4294967296"),
    "MAP_RANGE",
    /^uid map line 1 "0 0 4294967296": ends past 4294967294/,
  ],
  [
    "inner end past the space",
    m("1 0 4294967295"),
    "MAP_RANGE",
    /line 1 "1 0 4294967295": ends past/,
  ],
  [
    "outer end past the space",
    m("0 5 4294967291, 4294967291 1 1"),
    "MAP_RANGE",
    /line 1 "0 5 4294967291"/,
  ],
  [
    "id 4294967295",
    m("0 0 1, 4294967295 1 1"),
    "MAP_RANGE",
    /line 2 "4294967295 1 1": ends past/,
  ],
  [
    "count 0",
    m("0 0 1, 1 100 0"),
    "MAP_RANGE",
    /^uid map line 2 "1 100 0": count is 0/,
  ],
  [
    "negative id",
    m("-1 0 1"),
    "MAP_RANGE",
    /line 1 "-1 0 1": not whole numbers/,
  ],
  ["fraction", m("0 0.5 1"), "MAP_RANGE", /not whole numbers/],
  [
    "inside overlap",
    m("0 1000 10, 5 2000 10"),
    "MAP_OVERLAP",
    /^uid map line 2 "5 2000 10" overlaps line 1 "0 1000 10" on the inside ids/,
  ],
  [
    "outside overlap",
    m("0 1000 10, 10 1005 10"),
    "MAP_OVERLAP",
    /line 2 "10 1005 10" overlaps line 1 "0 1000 10" on the outside ids/,
  ],
  [
    "overlap with an earlier line",
    m("0 0 1, 1 50 10, 100 200 10, 5 300 1"),
    "MAP_OVERLAP",
    /line 4 "5 300 1" overlaps line 2 "1 50 10" on the inside/,
  ],
  [
    "duplicate line",
    m("0 1000 1, 0 1000 1"),
    "MAP_OVERLAP",
    /line 2 "0 1000 1" overlaps line 1/,
  ],
];

Deno.test("validateIdMap() applies the kernel's limits", async (t) => {
  assert.equal(formatIdMap(FOUR_K).length, 4095);
  for (const [name, map] of LIMITS_OK) {
    await t.step(
      `accepts ${name}`,
      () => validateIdMap(map, side("uid", "", 0), true),
    );
  }
  for (const [name, map, code, text] of LIMITS_BAD) {
    await t.step(
      `rejects ${name}`,
      () =>
        throwsCode(() => validateIdMap(map, side("uid", "", 0), true), [
          IdMapError,
          code,
          text,
        ]),
    );
  }
});

const DELEGATED = "100000+65536 165536+65536 300000+0 400000+10";
const DELEGATION_OK: Array<[string, string]> = [
  ["own id alone", "0 1001 1"],
  ["own id anywhere inside", "5000 1001 1"],
  ["inside one range", "0 1001 1, 1 100000 65536"],
  [
    "adjacent delegated ranges spanned by one line",
    "0 1001 1, 1 100000 131072",
  ],
  ["a piece of a range", "0 100010 5"],
];
const DELEGATION_BAD: Array<[string, string, RegExp]> = [
  [
    "own id with count 2",
    "0 1001 2",
    /^uid map line 1 "0 1001 2": outside uids 1001-1002 are not delegated to you in \/etc\/subuid; map only ids delegated to you \(userns subids\), or ask an admin for more \("userns subids --suggest" prints the usermod line for a free one\)$/,
  ],
  [
    "outside every range",
    "0 1001 1, 1 300000 10",
    /^uid map line 2 "1 300000 10": outside uids 300000-300009 are not delegated to you in \/etc\/subuid/,
  ],
  ["across a gap", "0 231000 1000", /line 1 "0 231000 1000"/],
  ["past the end of a range", "0 400000 11", /outside uids 400000-400010/],
  ["a zero-count range delegates nothing", "0 300000 1", /line 1 "0 300000 1"/],
];

Deno.test("validateIdMap() checks delegation when unprivileged", async (t) => {
  for (const [name, map] of DELEGATION_OK) {
    await t.step(
      `accepts ${name}`,
      () => validateIdMap(m(map), side("uid", DELEGATED), false),
    );
  }
  for (const [name, map, text] of DELEGATION_BAD) {
    await t.step(
      `rejects ${name}`,
      () =>
        throwsCode(() => validateIdMap(m(map), side("uid", DELEGATED), false), [
          IdMapError,
          "MAP_NOT_DELEGATED",
          text,
        ]),
    );
  }
  await t.step(
    "the gid side names /etc/subgid",
    () =>
      throwsCode(() => validateIdMap(m("0 1 1"), side("gid"), false), [
        IdMapError,
        "MAP_NOT_DELEGATED",
        /^gid map line 1 "0 1 1": outside gids 1-1 are not delegated to you in \/etc\/subgid; .*userns subids --suggest/,
      ]),
  );
  await t.step(
    "privileged skips the delegation check",
    () => validateIdMap(m("0 300000 10"), side("uid", DELEGATED), true),
  );
});

/** A plan input for uid/gid 1001 with `ranges` delegated on both sides. */
function input(ranges: string, extra: Partial<PlanInput> = {}): PlanInput {
  return {
    mode: "auto",
    uid: side("uid", ranges),
    gid: side("gid", ranges),
    privileged: false,
    helpers: { newuidmap: true, newgidmap: true },
    strict: false,
    ...extra,
  };
}
/** A privileged plan input for root with `ranges` delegated. */
const asRoot = (ranges: string, extra: Partial<PlanInput> = {}): PlanInput => ({
  ...input(ranges, extra),
  uid: side("uid", ranges, 0),
  gid: side("gid", ranges, 0),
  privileged: true,
  helpers: { newuidmap: false, newgidmap: false },
});
const NO_HELPERS = { newuidmap: false, newgidmap: false };

/** The plan in one flat record of strings, for table comparisons. */
function brief(p: IdMapPlan): Record<string, string | undefined> {
  return {
    uid: show(p.uid),
    gid: show(p.gid),
    via: `${p.uidVia} ${p.gidVia}`,
    setgroups: p.setgroups,
    as: `${p.user}:${p.group}`,
    warning: p.warning,
  };
}

type PlanCase = {
  name: string;
  input: PlanInput;
  want?: Record<string, string | undefined>;
  error?: [ErrorClass, string, RegExp];
};

/** Runs plan cases; `want` lists only the fields that matter ("both" = uid and gid). */
async function runPlanCases(
  t: Deno.TestContext,
  cases: PlanCase[],
): Promise<void> {
  for (const c of cases) {
    await t.step(c.name, () => {
      if (c.error) return throwsCode(() => planIdMaps(c.input), c.error);
      const plan = planIdMaps(c.input);
      const got = brief(plan);
      const { both, ...want } = c.want ?? {};
      if (both !== undefined) Object.assign(want, { uid: both, gid: both });
      const picked = Object.fromEntries(
        Object.keys(want).map((k) => [k, got[k]]),
      );
      assert.deepEqual(picked, want);
      if (!("warning" in want)) {
        assert.ok(!("warning" in plan), `unexpected warning: ${plan.warning}`);
      }
    });
  }
}

const HELPERS_AUTO = {
  via: "newuidmap newgidmap",
  setgroups: "allow",
  as: "0:0",
};
const STACKING: Array<[string, string, string]> = [
  [
    "two ranges in file order",
    "400000+65536 200000+65536",
    "0 1001 1, 1 400000 65536, 65537 200000 65536",
  ],
  [
    "a range under name and uid is listed once",
    "200000+65536 200000+65536",
    "0 1001 1, 1 200000 65536",
  ],
  [
    "partial overlap is listed once",
    "100000+65536 150000+65536",
    "0 1001 1, 1 100000 65536, 65537 165536 50000",
  ],
  [
    "a range inside an earlier one adds nothing",
    "100000+65536 100010+10",
    "0 1001 1, 1 100000 65536",
  ],
  [
    "a later range around an earlier one fills both sides",
    "100010+10 100000+100",
    "0 1001 1, 1 100010 10, 11 100000 10, 21 100020 80",
  ],
  [
    "own id inside a range splits it",
    "1000+10",
    "0 1001 1, 1 1000 1, 2 1002 8",
  ],
  ["own id at the start of a range", "1001+10", "0 1001 1, 1 1002 9"],
  ["zero counts are skipped", "5000+0 200000+10", "0 1001 1, 1 200000 10"],
  [
    "ranges past the id space are clipped",
    "4294967290+100",
    "0 1001 1, 1 4294967290 5",
  ],
];

Deno.test("planIdMaps() auto, unprivileged, stacks delegated ranges", async (t) => {
  await runPlanCases(
    t,
    STACKING.map(([name, ranges, both]) => ({
      name,
      input: input(ranges),
      want: { both, ...HELPERS_AUTO },
    })),
  );
});

const ROOT_FALLBACK = {
  both: "0 1001 1",
  via: "proc proc",
  setgroups: "deny",
  as: "0:0",
};
const FALLBACKS: Array<
  {
    name: string;
    input: PlanInput;
    warning: RegExp;
    error: [ErrorClass, string, RegExp];
  }
> = [
  {
    name: "no subordinate uids",
    input: { ...input("200000+65536"), uid: side("uid") },
    warning:
      /^no subordinate uids for uid 1001 in \/etc\/subuid: mapping only your own uid and gid \(run "userns doctor"\)$/,
    error: [
      IdMapError,
      "MAP_NOT_DELEGATED",
      /^no subordinate uids for uid 1001 in \/etc\/subuid; ask an admin to delegate a range \("userns subids --suggest" prints the usermod line for a free one\)$/,
    ],
  },
  {
    name: "no subordinate gids (only the own gid, a zero count)",
    input: { ...input("200000+65536"), gid: side("gid", "1001+1 7+0") },
    warning: /^no subordinate gids for uid 1001 in \/etc\/subgid: mapping only/,
    error: [
      IdMapError,
      "MAP_NOT_DELEGATED",
      /^no subordinate gids for uid 1001 in \/etc\/subgid; .*userns subids --suggest/,
    ],
  },
  {
    name: "newuidmap missing",
    input: input("200000+65536", {
      helpers: { newuidmap: false, newgidmap: true },
    }),
    warning:
      /^newuidmap not found on PATH: mapping only your own uid and gid; install the uidmap package$/,
    error: [
      HelperError,
      "HELPER_MISSING",
      /^newuidmap not found on PATH: .*; install the uidmap package$/,
    ],
  },
  {
    name: "newgidmap missing",
    input: input("200000+65536", {
      helpers: { newuidmap: true, newgidmap: false },
    }),
    warning: /^newgidmap not found on PATH: /,
    error: [HelperError, "HELPER_MISSING", /^newgidmap not found on PATH/],
  },
  {
    name: "no ranges and no helpers: the ranges are named first",
    input: input("", { helpers: NO_HELPERS }),
    warning: /^no subordinate uids /,
    error: [IdMapError, "MAP_NOT_DELEGATED", /^no subordinate uids /],
  },
];

Deno.test("planIdMaps() auto falls back to root, or fails when strict", async (t) => {
  for (const f of FALLBACKS) {
    await t.step(`${f.name}: warning`, () => {
      const plan = planIdMaps(f.input);
      const { warning, ...rest } = brief(plan);
      assert.deepEqual(rest, {
        uid: "0 1001 1",
        gid: "0 1001 1",
        via: "proc proc",
        setgroups: "deny",
        as: "0:0",
      });
      assert.match(warning ?? "", f.warning);
    });
    await t.step(
      `${f.name}: strict error`,
      () => throwsCode(() => planIdMaps({ ...f.input, strict: true }), f.error),
    );
  }
  await runPlanCases(t, [
    {
      name: "an explicit side is not a reason to fall back",
      input: {
        ...input("200000+65536"),
        uid: side("uid"),
        uidMap: m("0 1001 1"),
      },
      want: {
        uid: "0 1001 1",
        gid: "0 1001 1, 1 200000 65536",
        via: "proc newgidmap",
      },
    },
    {
      name: "the fallback leaves an explicit side alone",
      input: {
        ...input("200000+65536"),
        uid: side("uid"),
        gidMap: m("0 1001 1, 1 200000 10"),
      },
      want: {
        uid: "0 1001 1",
        gid: "0 1001 1, 1 200000 10",
        warning:
          'no subordinate uids for uid 1001 in /etc/subuid: mapping only your own uid and gid (run "userns doctor")',
      },
    },
  ]);
});

const SUBIDS = {
  via: "newuidmap newgidmap",
  setgroups: "allow",
  as: "1001:1001",
};
/** [name, delegated ranges, expected map on both sides] */
const IDENTITY: Array<[string, string, string]> = [
  [
    "each range onto itself, in file order",
    "400000+65536 200000+65536",
    "1001 1001 1, 400000 400000 65536, 200000 200000 65536",
  ],
  [
    "a range under name and uid is mapped once",
    "200000+65536 200000+65536",
    "1001 1001 1, 200000 200000 65536",
  ],
  [
    "overlaps are mapped once",
    "100000+65536 150000+65536",
    "1001 1001 1, 100000 100000 65536, 165536 165536 50000",
  ],
  [
    "the own id is left out of a range holding it",
    "1000+10",
    "1001 1001 1, 1000 1000 1, 1002 1002 8",
  ],
  [
    "zero counts are skipped",
    "5000+0 200000+10",
    "1001 1001 1, 200000 200000 10",
  ],
  [
    "ranges past the id space are clipped",
    "4294967290+100",
    "1001 1001 1, 4294967290 4294967290 5",
  ],
];

Deno.test("planIdMaps() subids maps each delegated range onto itself", async (t) => {
  await runPlanCases(t, [
    ...IDENTITY.map(([name, ranges, both]) => ({
      name,
      input: input(ranges, { mode: "subids" }),
      want: { both, ...SUBIDS },
    })),
    {
      name: "without ranges: the own ids, a warning",
      input: input("", { mode: "subids" }),
      want: {
        both: "1001 1001 1",
        via: "proc proc",
        setgroups: "deny",
        as: "1001:1001",
        warning:
          'no subordinate uids for uid 1001 in /etc/subuid: mapping only your own uid and gid (run "userns doctor")',
      },
    },
    {
      name: "without a helper: the own ids, a warning",
      input: input("200000+10", { mode: "subids", helpers: NO_HELPERS }),
      want: {
        both: "1001 1001 1",
        as: "1001:1001",
        warning:
          "newuidmap not found on PATH: mapping only your own uid and gid; install the uidmap package",
      },
    },
    {
      name: "strict without ranges fails",
      input: input("", { mode: "subids", strict: true }),
      error: [
        IdMapError,
        "MAP_NOT_DELEGATED",
        /^no subordinate uids for uid 1001 in \/etc\/subuid; ask an admin to delegate a range/,
      ],
    },
    {
      name: "strict without a helper fails",
      input: input("200000+10", {
        mode: "subids",
        strict: true,
        helpers: { newuidmap: true, newgidmap: false },
      }),
      error: [HelperError, "HELPER_MISSING", /^newgidmap not found on PATH/],
    },
    {
      name: "root without ranges: the whole space onto itself",
      input: asRoot("", { mode: "subids", strict: true }),
      want: {
        both: "0 0 4294967295",
        via: "proc proc",
        setgroups: "allow",
        as: "0:0",
      },
    },
    {
      name: "root with ranges: 0 0 1 and the ranges onto themselves",
      input: asRoot("100000+65536", { mode: "subids" }),
      want: { both: "0 0 1, 100000 100000 65536", via: "proc proc", as: "0:0" },
    },
    {
      name: "an explicit user inside a range",
      input: input("200000+10", {
        mode: "subids",
        user: 200005,
        group: 200009,
      }),
      want: { as: "200005:200009" },
    },
    {
      name: "an explicit side replaces that side only",
      input: input("200000+10", { mode: "subids", gidMap: m("1001 1001 1") }),
      want: {
        uid: "1001 1001 1, 200000 200000 10",
        gid: "1001 1001 1",
        via: "newuidmap proc",
      },
    },
  ]);
});

const PASSWD = {
  what: "cannot read /etc/passwd: EACCES",
  hint: "make it readable by all (chmod a+r /etc/passwd), as it is by default",
};
const SEARCH = {
  what: "newuidmap not found on PATH: cannot search /usr/bin: EACCES",
  hint: "make /usr/bin searchable (ls -ld /usr/bin; chmod a+x /usr/bin)",
};

Deno.test("planIdMaps() says what the caller found about a fallback", async (t) => {
  const causes = { passwd: PASSWD, newuidmap: SEARCH };
  await runPlanCases(t, [
    {
      name: "an unreadable passwd, not just no ranges",
      input: input("", { causes }),
      want: {
        warning: "no subordinate uids for uid 1001 in /etc/subuid: cannot " +
          "read /etc/passwd: EACCES, so ranges listed under your name are " +
          "not seen: mapping only your own uid and gid; " + PASSWD.hint,
      },
    },
    {
      name: "a helper in a directory that cannot be searched",
      input: input("200000+10", { causes, helpers: NO_HELPERS }),
      want: {
        warning: `${SEARCH.what}: mapping only your own uid and gid; ` +
          SEARCH.hint,
      },
    },
    {
      name: "strict: the passwd error",
      input: input("", { causes, strict: true }),
      error: [
        IdMapError,
        "MAP_NOT_DELEGATED",
        /: cannot read \/etc\/passwd: EACCES, so ranges listed under your name are not seen; make it readable by all/,
      ],
    },
    {
      name: "strict: the helper's cause",
      input: input("200000+10", { causes, strict: true, helpers: NO_HELPERS }),
      error: [
        HelperError,
        "HELPER_MISSING",
        /^newuidmap not found on PATH: cannot search \/usr\/bin: EACCES: it maps the subordinate ids; make \/usr\/bin searchable/,
      ],
    },
    {
      name: "an explicit map that needs the helper",
      input: input("200000+10", {
        causes,
        helpers: NO_HELPERS,
        uidMap: m("0 200000 10"),
        gidMap: m("0 1001 1"),
      }),
      error: [
        HelperError,
        "HELPER_MISSING",
        /^newuidmap not found on PATH: cannot search \/usr\/bin: EACCES: it must write the uid map "0 200000 10"; make/,
      ],
    },
  ]);
});

Deno.test("planIdMaps() root, current, privileged and explicit maps", async (t) => {
  const R = "200000+65536";
  await runPlanCases(t, [
    { name: "root", input: input(R, { mode: "root" }), want: ROOT_FALLBACK },
    {
      name: "current runs as the own ids",
      input: { ...input(R, { mode: "current" }), gid: side("gid", R, 1002) },
      want: {
        uid: "1001 1001 1",
        gid: "1002 1002 1",
        via: "proc proc",
        setgroups: "deny",
        as: "1001:1002",
      },
    },
    {
      name: "privileged auto without ranges maps the whole space (strict too)",
      input: asRoot("", { strict: true }),
      want: {
        both: "0 0 4294967295",
        via: "proc proc",
        setgroups: "allow",
        as: "0:0",
      },
    },
    {
      name: "privileged auto with ranges stacks them after 0 0 1",
      input: asRoot("100000+65536"),
      want: {
        both: "0 0 1, 1 100000 65536",
        via: "proc proc",
        setgroups: "allow",
      },
    },
    {
      name: "privileged explicit map needs no delegation",
      input: asRoot("", { uidMap: m("0 300000 10"), user: 9 }),
      want: { uid: "0 300000 10", via: "proc proc", as: "9:0" },
    },
    {
      name: "explicit maps replace both sides",
      input: input(R, {
        mode: "root",
        uidMap: m("0 200000 10"),
        gidMap: m("0 1001 1, 1 200000 5"),
        user: 9,
        group: 5,
      }),
      want: {
        uid: "0 200000 10",
        gid: "0 1001 1, 1 200000 5",
        via: "newuidmap newgidmap",
        setgroups: "allow",
        as: "9:5",
      },
    },
    {
      name: "explicit maps are validated",
      input: input(R, { uidMap: m("0 1001 1, 1 300000 10") }),
      error: [IdMapError, "MAP_NOT_DELEGATED", /^uid map line 2 "1 300000 10"/],
    },
    {
      name: "an explicit map needing a missing helper",
      input: input(R, {
        gidMap: m("0 200000 1"),
        helpers: { newuidmap: true, newgidmap: false },
      }),
      error: [
        HelperError,
        "HELPER_MISSING",
        /^newgidmap not found on PATH: it must write the gid map "0 200000 1"; install the uidmap package$/,
      ],
    },
    {
      name: "one line holding the own id and more needs the helper",
      input: input("1001+5", { uidMap: m("0 1001 5") }),
      want: { via: "newuidmap newgidmap" },
    },
    {
      name: "an explicit own-id line needs no helper",
      input: input("", {
        mode: "root",
        uidMap: m("5 1001 1"),
        user: 5,
        helpers: NO_HELPERS,
      }),
      want: { via: "proc proc", as: "5:0" },
    },
  ]);
});

Deno.test("planIdMaps() setgroups rules", async (t) => {
  const R = "200000+65536";
  const direct =
    /^setgroups "allow" needs a gid map written by newgidmap, but "\d+ 1001 1" is written directly and the kernel requires "deny"; get a subordinate gid range \("userns subids --suggest" prints the usermod line for a free one\) or use --setgroups deny$/;
  await runPlanCases(t, [
    {
      name: "newgidmap defaults to allow",
      input: input(R),
      want: { setgroups: "allow" },
    },
    {
      name: "a direct map defaults to deny",
      input: input(R, { mode: "root" }),
      want: { setgroups: "deny" },
    },
    {
      name: "explicit deny with newgidmap",
      input: input(R, { setgroups: "deny" }),
      want: { setgroups: "deny" },
    },
    {
      name: "explicit deny on a direct map",
      input: input(R, { mode: "root", setgroups: "deny" }),
      want: { setgroups: "deny" },
    },
    {
      name: "explicit allow privileged",
      input: asRoot("", { mode: "root", setgroups: "allow" }),
      want: { setgroups: "allow" },
    },
    {
      name: "explicit allow on a direct root map",
      input: input(R, { mode: "root", setgroups: "allow" }),
      error: [IdMapError, "MAP_SETGROUPS", direct],
    },
    {
      name: "explicit allow on a direct current map",
      input: input(R, { mode: "current", setgroups: "allow" }),
      error: [IdMapError, "MAP_SETGROUPS", direct],
    },
    {
      name: "explicit allow after an auto fallback",
      input: { ...input(R, { setgroups: "allow" }), gid: side("gid") },
      error: [IdMapError, "MAP_SETGROUPS", /"0 1001 1"/],
    },
  ]);
});

Deno.test("planIdMaps() inside user and group must be mapped", async (t) => {
  const R = "200000+65536";
  const unmapped = (
    text: RegExp,
  ): [ErrorClass, string, RegExp] => [IdMapError, "MAP_UNMAPPED_ID", text];
  await runPlanCases(t, [
    {
      name: "last stacked id",
      input: input(R, { user: 65536, group: 65536 }),
      want: { as: "65536:65536" },
    },
    {
      name: "whole space as root",
      input: asRoot("", { user: 4294967294, group: 7 }),
      want: { as: "4294967294:7" },
    },
    {
      name: "uid past the stacked ranges",
      input: input(R, { user: 65537 }),
      error: unmapped(
        /^uid 65537 is not mapped: the uid map is "0 1001 1, 1 200000 65536"; pick a uid inside the map or add a --uid-map line$/,
      ),
    },
    {
      name: "gid in root mode",
      input: input(R, { mode: "root", group: 1 }),
      error: unmapped(
        /^gid 1 is not mapped: the gid map is "0 1001 1"; .*--gid-map/,
      ),
    },
    {
      name: "uid 0 in current mode",
      input: input(R, { mode: "current", user: 0 }),
      error: unmapped(/^uid 0 is not mapped: the uid map is "1001 1001 1"/),
    },
    {
      name: "an outside id given as inside",
      input: input(R, { mode: "root", user: 1001 }),
      error: unmapped(/^uid 1001 is not mapped/),
    },
  ]);
});

Deno.test("MAX_ID is the kernel's end of the id space", () =>
  assert.equal(MAX_ID, 2 ** 32 - 1));

// Found by tests/integration/differential_test.ts against newuidmap 4.13.
Deno.test("validateIdMap() follows shadow's 64-bit range arithmetic", () => {
  const delegated = (start: number, count: number, wraps?: true): IdSide => ({
    ...side("uid"),
    delegated: [{
      owner: "a",
      start,
      count,
      source: "f",
      line: 1,
      ...(wraps ? { wraps } : {}),
    }],
  });
  // count 0 at start 0: the last id is 2^64-1, newuidmap allows every id
  validateIdMap(m("0 5 70000"), delegated(0, 0), false);
  throwsCode(() => validateIdMap(m("0 7 1"), delegated(7, 0), false), [
    IdMapError,
    "MAP_NOT_DELEGATED",
    /line 1 "0 7 1"/,
  ]);
  // start + count - 1 past 2^64-1 wraps: newuidmap matches no id in it
  validateIdMap(m("0 100 1000"), delegated(100, 2 ** 64), false);
  throwsCode(
    () => validateIdMap(m("0 100 1"), delegated(100, 2 ** 64, true), false),
    [
      IdMapError,
      "MAP_NOT_DELEGATED",
      /line 1 "0 100 1"/,
    ],
  );
  // the planner does not take a zero count as a delegation
  const plan = planIdMaps(input("0+0"));
  assert.equal(show(plan.uid), "0 1001 1");
});
