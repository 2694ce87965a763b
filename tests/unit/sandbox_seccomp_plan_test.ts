import assert from "node:assert/strict";
import { planProfile } from "../../lib/sandbox/_profile.ts";
import type { Host } from "../../lib/sandbox/_types.ts";
import { parseSeccompProfile } from "../../lib/sandbox/seccomp.ts";
import { DENYLIST } from "../../lib/sandbox/_denylist.ts";
import { UsernsError } from "../../lib/errors/errors.ts";

const AMD64: Host = {
  goArch: "amd64",
  scmpArch: "SCMP_ARCH_X86_64",
  kernel: () => [6, 1],
};
const ARM64: Host = {
  ...AMD64,
  goArch: "arm64",
  scmpArch: "SCMP_ARCH_AARCH64",
};
const ALL = (1n << 41n) - 1n;
const SYS_ADMIN = 1n << 21n;
const ALLOW = 0x7fff0000, ERRNO = 0x00050000;

const plan = (p: unknown, caps = ALL, host = AMD64) =>
  planProfile(p, caps, host, '"t.json"');

/** The names of the planned rules. */
const names = (p: unknown, caps = ALL, host = AMD64): string[] =>
  plan(p, caps, host).rules.map((r) => r.name);

function refuses(p: unknown, message: string): void {
  assert.throws(
    () => plan(p),
    (e: unknown) =>
      e instanceof UsernsError && e.code === "INVALID_ARGUMENT" &&
      e.message.split("; ")[0] === `seccomp profile "t.json": ${message}`,
    message,
  );
}

const allowAll = { defaultAction: "SCMP_ACT_ALLOW" };
const entry = (e: Record<string, unknown>) => ({
  defaultAction: "SCMP_ACT_ERRNO",
  syscalls: [{ names: ["a"], action: "SCMP_ACT_ALLOW" }, e],
});

Deno.test("planProfile() encodes actions as <seccomp.h> does", () => {
  const p = plan({
    defaultAction: "SCMP_ACT_ERRNO",
    defaultErrnoRet: 38,
    syscalls: [
      { names: ["a", "b"], action: "SCMP_ACT_ERRNO" },
      { names: ["c"], action: "SCMP_ACT_ERRNO", errnoRet: 22 },
      { name: "d", action: "SCMP_ACT_TRACE" },
      { names: ["e"], action: "SCMP_ACT_KILL_PROCESS" },
      { names: ["f"], action: "SCMP_ACT_KILL" },
      { names: ["g"], action: "SCMP_ACT_LOG", errnoRet: 5 },
      { names: ["h"], action: "SCMP_ACT_TRAP" },
    ],
  });
  assert.equal(p.defaultAction, ERRNO | 38);
  assert.deepEqual(
    p.rules.map((r) => [r.name, r.action, r.path]),
    [
      ["a", ERRNO | 1, "syscalls[0]"],
      ["b", ERRNO | 1, "syscalls[0]"],
      ["c", ERRNO | 22, "syscalls[1]"],
      ["d", 0x7ff00001, "syscalls[2]"],
      ["e", 0x80000000, "syscalls[3]"],
      ["f", 0, "syscalls[4]"],
      ["g", 0x7ffc0000, "syscalls[5]"],
      ["h", 0x00030000, "syscalls[6]"],
    ],
  );
});

Deno.test("planProfile() leaves out entries with the default action", () => {
  assert.deepEqual(
    names({
      defaultAction: "SCMP_ACT_ERRNO",
      defaultErrnoRet: 38,
      syscalls: [
        { names: ["same"], action: "SCMP_ACT_ERRNO", errnoRet: 38 },
        { names: ["other"], action: "SCMP_ACT_ERRNO" },
      ],
    }),
    ["other"],
  );
});

Deno.test("planProfile() decides includes/excludes as podman", async (t) => {
  const profile = {
    defaultAction: "SCMP_ACT_ERRNO",
    syscalls: [
      {
        names: ["inc_admin"],
        action: "SCMP_ACT_ALLOW",
        includes: { caps: ["CAP_SYS_ADMIN"] },
      },
      {
        names: ["exc_admin"],
        action: "SCMP_ACT_ALLOW",
        excludes: { caps: ["CAP_SYS_ADMIN"] },
      },
      {
        names: ["inc_two"],
        action: "SCMP_ACT_ALLOW",
        includes: { caps: ["CAP_SYS_ADMIN", "CAP_BPF"] },
      },
      {
        names: ["inc_bogus"],
        action: "SCMP_ACT_ALLOW",
        includes: { caps: ["CAP_BOGUS"] },
      },
      {
        names: ["exc_bogus"],
        action: "SCMP_ACT_ALLOW",
        excludes: { caps: ["CAP_BOGUS"] },
      },
      {
        names: ["amd64"],
        action: "SCMP_ACT_ALLOW",
        includes: { arches: ["amd64", "x32"] },
      },
      {
        names: ["not_arm"],
        action: "SCMP_ACT_ALLOW",
        excludes: { arches: ["arm64"] },
      },
      {
        names: ["k5"],
        action: "SCMP_ACT_ALLOW",
        includes: { minKernel: "5.8" },
      },
      {
        names: ["k7"],
        action: "SCMP_ACT_ALLOW",
        includes: { minKernel: "7.0" },
      },
      {
        names: ["old"],
        action: "SCMP_ACT_ALLOW",
        excludes: { minKernel: "6.1" },
      },
      {
        names: ["empty"],
        action: "SCMP_ACT_ALLOW",
        includes: {},
        excludes: { minKernel: "" },
      },
    ],
  };
  await t.step("every capability, amd64, Linux 6.1", () => {
    assert.deepEqual(names(profile), [
      "inc_admin",
      "inc_two",
      "exc_bogus",
      "amd64",
      "not_arm",
      "k5",
      "empty",
    ]);
  });
  await t.step("CAP_SYS_ADMIN only", () => {
    assert.deepEqual(names(profile, SYS_ADMIN), [
      "inc_admin",
      "exc_bogus",
      "amd64",
      "not_arm",
      "k5",
      "empty",
    ]);
  });
  await t.step("no capability, arm64, Linux 5.10", () => {
    assert.deepEqual(
      names(profile, 0n, { ...ARM64, kernel: () => [5, 10] }),
      ["exc_admin", "exc_bogus", "k5", "old", "empty"],
    );
  });
});

Deno.test("planProfile() picks the native archMap entry", () => {
  const profile = {
    ...allowAll,
    archMap: [
      {
        architecture: "SCMP_ARCH_X86_64",
        subArchitectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      },
      {
        architecture: "SCMP_ARCH_AARCH64",
        subArchitectures: ["SCMP_ARCH_ARM"],
      },
      { architecture: "SCMP_ARCH_LOONGARCH64", subArchitectures: null },
    ],
  };
  assert.deepEqual(
    plan(profile).arches.map((a) => [a.name, a.path]),
    [
      ["x86_64", "archMap[0].architecture"],
      ["x86", "archMap[0].subArchitectures[0]"],
      ["x32", "archMap[0].subArchitectures[1]"],
    ],
  );
  assert.deepEqual(plan(profile, ALL, ARM64).arches.map((a) => a.name), [
    "aarch64",
    "arm",
  ]);
  assert.deepEqual(
    plan({ ...allowAll, architectures: ["SCMP_ARCH_X86"] }).arches.map((a) =>
      a.name
    ),
    ["x86"],
  );
});

Deno.test("planProfile() keeps argument conditions exact", () => {
  const p = plan({
    ...allowAll,
    syscalls: [
      {
        names: ["ioctl"],
        action: "SCMP_ACT_ERRNO",
        args: [{
          index: 1,
          value: 0xffffffff,
          valueTwo: 0x5412,
          op: "SCMP_CMP_MASKED_EQ",
        }],
      },
      {
        names: ["personality"],
        action: "SCMP_ACT_ERRNO",
        args: [
          { index: 0, value: 1, op: "SCMP_CMP_NE" },
          { index: 2, value: 18446744073709551615n, op: "SCMP_CMP_LE" },
        ],
      },
      {
        names: ["socket"],
        action: "SCMP_ACT_ERRNO",
        args: [
          { index: 0, value: 16, op: "SCMP_CMP_EQ" },
          { index: 0, value: 17, op: "SCMP_CMP_EQ" },
        ],
      },
    ],
  });
  assert.deepEqual(p.rules.map((r) => [r.name, r.conds, r.split]), [
    ["ioctl", [{ arg: 1, op: 7, a: 0xffffffffn, b: 0x5412n }], false],
    ["personality", [
      { arg: 0, op: 1, a: 1n, b: 0n },
      { arg: 2, op: 3, a: (1n << 64n) - 1n, b: 0n },
    ], false],
    // One argument tested twice: one rule per condition, as runc does.
    ["socket", [
      { arg: 0, op: 4, a: 16n, b: 0n },
      { arg: 0, op: 4, a: 17n, b: 0n },
    ], true],
  ]);
});

Deno.test("planProfile() names the entry that cannot be compiled", async (t) => {
  const rows: [string, unknown, string][] = [
    ["unknown action", {
      defaultAction: "SCMP_ACT_ERRNO",
      syscalls: [{}, {}, {}, { names: ["mkdir"], action: "SCMP_ACT_FOO" }].map((
        e,
        i,
      ) => i < 3 ? { names: ["x"], action: "SCMP_ACT_ALLOW" } : e),
    }, 'syscalls[3].action: unknown action "SCMP_ACT_FOO"'],
    ["no default action", { syscalls: [] }, "defaultAction: no action"],
    [
      "notify",
      entry({ names: ["b"], action: "SCMP_ACT_NOTIFY" }),
      'syscalls[1].action: action "SCMP_ACT_NOTIFY" needs a seccomp agent, which userns has not',
    ],
    [
      "bad operator",
      entry({
        names: ["b"],
        action: "SCMP_ACT_ALLOW",
        args: [{ index: 0, value: 1, op: "SCMP_CMP_EQ" }, {
          index: 1,
          value: 1,
          op: "SCMP_CMP_FOO",
        }],
      }),
      'syscalls[1].args[1].op: unknown operator "SCMP_CMP_FOO"',
    ],
    [
      "index past 5",
      entry({
        names: ["b"],
        action: "SCMP_ACT_ALLOW",
        args: [{ index: 6, value: 1, op: "SCMP_CMP_EQ" }],
      }),
      "syscalls[1].args[0].index: 6 is past the last argument (5)",
    ],
    [
      "negative index",
      entry({
        names: ["b"],
        action: "SCMP_ACT_ALLOW",
        args: [{ index: -1, value: 1, op: "SCMP_CMP_EQ" }],
      }),
      "syscalls[1].args[0].index: -1 is not an argument index",
    ],
    [
      "negative value",
      entry({
        names: ["b"],
        action: "SCMP_ACT_ALLOW",
        args: [{ index: 0, value: -1, op: "SCMP_CMP_EQ" }],
      }),
      "syscalls[1].args[0].value: -1 is not an integer from 0 to 2^64-1",
    ],
    [
      "inexact value",
      entry({
        names: ["b"],
        action: "SCMP_ACT_ALLOW",
        args: [{ index: 0, value: 2 ** 60, op: "SCMP_CMP_EQ" }],
      }),
      "syscalls[1].args[0].value: 1152921504606846976 is past 2^53, where numbers are not exact: write it as a bigint",
    ],
    [
      "value past 64 bits",
      entry({
        names: ["b"],
        action: "SCMP_ACT_ALLOW",
        args: [{ index: 0, value: 1n << 64n, op: "SCMP_CMP_EQ" }],
      }),
      "syscalls[1].args[0].value: 18446744073709551616 is not an integer from 0 to 2^64-1",
    ],
    [
      "errnoRet",
      entry({ names: ["b"], action: "SCMP_ACT_ERRNO", errnoRet: 70000 }),
      "syscalls[1].errnoRet: 70000 is not an integer from 0 to 65535",
    ],
    [
      "name and names",
      entry({ name: "b", names: ["c"], action: "SCMP_ACT_ALLOW" }),
      "syscalls[1]: both name and names are given",
    ],
    [
      "names not strings",
      entry({ names: ["b", 3], action: "SCMP_ACT_ALLOW" }),
      'syscalls[1].names: ["b",3] is not a list of strings',
    ],
    [
      "bad minKernel",
      entry({
        names: ["b"],
        action: "SCMP_ACT_ALLOW",
        includes: { minKernel: "new" },
      }),
      'syscalls[1].includes.minKernel: "new" is not a kernel version (MAJOR.MINOR)',
    ],
    ["bad architecture", {
      ...allowAll,
      architectures: ["SCMP_ARCH_X86", "x86"],
    }, 'architectures[1]: unknown architecture "x86"'],
    ["both architecture lists", {
      ...allowAll,
      architectures: ["SCMP_ARCH_X86"],
      archMap: [{ architecture: "SCMP_ARCH_X86_64" }],
    }, "both architectures and archMap are given"],
    ["not an object", [], "[] is not an object"],
    [
      "entry not an object",
      { ...allowAll, syscalls: ["read"] },
      'syscalls[0]: "read" is not an object',
    ],
  ];
  for (const [name, profile, message] of rows) {
    await t.step(name, () => refuses(profile, message));
  }
});

Deno.test("planProfile() checks entries that do not apply too", () => {
  refuses(
    entry({
      names: ["b"],
      action: "SCMP_ACT_BOGUS",
      includes: { arches: ["s390x"] },
    }),
    'syscalls[1].action: unknown action "SCMP_ACT_BOGUS"',
  );
});

Deno.test("parseSeccompProfile() keeps 64-bit values exact", () => {
  const p = parseSeccompProfile(
    '{"v": 18446744073709551615, "w": 9007199254740993, "x": 5, "y": 1.5}',
    "t",
  ) as Record<string, unknown>;
  assert.equal(p.v, 18446744073709551615n);
  assert.equal(p.w, 9007199254740993n);
  assert.equal(p.x, 5);
  assert.equal(p.y, 1.5);
  assert.throws(
    () => parseSeccompProfile("{", '"x.json"'),
    (e: unknown) =>
      e instanceof UsernsError && e.code === "INVALID_ARGUMENT" &&
      e.message.startsWith('seccomp profile "x.json": not JSON: '),
  );
});

Deno.test("the denylist plans for every architecture Deno runs on", () => {
  for (const host of [AMD64, ARM64]) {
    const p = planProfile(DENYLIST, 0n, host, "denylist");
    assert.equal(p.defaultAction, ALLOW);
    assert.ok(p.rules.some((r) => r.name === "keyctl"));
    assert.equal(p.rules.filter((r) => r.name === "ioctl").length, 2);
  }
  assert.ok(Object.isFrozen(DENYLIST.syscalls![0]!.names));
});
