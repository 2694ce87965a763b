import assert from "node:assert/strict";
import {
  allCaps,
  applyCapSteps,
  CAP_NAMES,
  capNames,
  capNumber,
  capsGiven,
  keptCaps,
} from "../../lib/sandbox/caps.ts";
import { UsernsError } from "../../lib/errors/errors.ts";

const bit = (n: number): bigint => 1n << BigInt(n);

Deno.test("capNumber() reads names as capsh and bwrap write them", () => {
  for (
    const [name, n] of [
      ["CAP_SYS_ADMIN", 21],
      ["cap_sys_admin", 21],
      ["sys_admin", 21],
      ["Sys_Admin", 21],
      ["NET_BIND_SERVICE", 10],
      ["chown", 0],
      ["CAP_CHECKPOINT_RESTORE", 40],
      ["21", 21],
    ] as const
  ) assert.equal(capNumber(name), n, name);
  for (const name of ["", "CAP_", "sys admin", "CAP_SYS_FOO", "-1", "1.0"]) {
    assert.equal(capNumber(name), undefined, name);
  }
});

Deno.test("CAP_NAMES has every capability up to Linux 5.9's last", () => {
  assert.equal(CAP_NAMES.length, 41);
  assert.equal(CAP_NAMES[39], "CAP_BPF");
});

Deno.test("capNames() names a mask in number order", () => {
  assert.deepEqual(capNames(bit(21) | bit(0)), ["CAP_CHOWN", "CAP_SYS_ADMIN"]);
  assert.deepEqual(capNames(bit(45)), ["CAP_45"]);
  assert.deepEqual(capNames(0n), []);
});

Deno.test("applyCapSteps() applies the options in order", async (t) => {
  const all = allCaps(40);
  const rows: [string, [string, string][], bigint][] = [
    ["nothing: all", [], all],
    ["drop ALL", [["drop", "ALL"]], 0n],
    [
      "drop ALL, add one",
      [["drop", "ALL"], ["add", "NET_BIND_SERVICE"]],
      bit(10),
    ],
    ["add then drop ALL", [["add", "NET_BIND_SERVICE"], ["drop", "ALL"]], 0n],
    ["drop one", [["drop", "sys_admin"]], all & ~bit(21)],
    [
      "drop then add back",
      [["drop", "SYS_ADMIN"], ["add", "cap_sys_admin"]],
      all,
    ],
    ["drop ALL, add ALL", [["drop", "all"], ["add", "All"]], all],
    [
      "drop ALL, add two",
      [["drop", "ALL"], ["add", "chown"], ["add", "KILL"]],
      bit(0) | bit(5),
    ],
  ];
  for (const [name, steps, want] of rows) {
    await t.step(name, () => {
      const got = applyCapSteps(
        steps.map(([o, value]) => ({
          option: o === "add" ? "--cap-add" : "--cap-drop",
          value,
        })),
        40,
      );
      assert.equal(got, want);
    });
  }
});

Deno.test("applyCapSteps() follows the kernel's last capability", () => {
  assert.equal(applyCapSteps([], 37), allCaps(37));
  assert.equal(allCaps(37), (1n << 38n) - 1n);
  // A capability the kernel lacks is already dropped...
  assert.equal(
    applyCapSteps([{ option: "--cap-drop", value: "BPF" }], 37),
    allCaps(37),
  );
  // ...and cannot be added.
  assert.throws(
    () => applyCapSteps([{ option: "--cap-add", value: "CAP_BPF" }], 37),
    (e: unknown) =>
      e instanceof UsernsError && e.code === "INVALID_ARGUMENT" &&
      e.message.startsWith(
        "--cap-add: CAP_BPF is not known to this kernel (its last is CAP_AUDIT_READ)",
      ),
  );
});

Deno.test("applyCapSteps() names the option and the bad name", async (t) => {
  for (
    const [option, value] of [
      ["--cap-drop", "SYS_FOO"],
      ["--cap-add", "CAP_NET_BIND"],
      ["--cap-add", "64"],
      ["--cap-drop", ""],
    ] as const
  ) {
    await t.step(`${option} ${JSON.stringify(value)}`, () => {
      assert.throws(
        () => applyCapSteps([{ option, value }], 40),
        (e: unknown) =>
          e instanceof UsernsError && e.code === "INVALID_ARGUMENT" &&
          e.message ===
            `${option}: unknown capability "${value}"; write a name as capsh does ` +
              "(CAP_SYS_ADMIN or sys_admin), a number up to 40, or ALL",
      );
    });
  }
});

Deno.test("keptCaps() drops first, then adds (the library's options)", () => {
  assert.equal(
    keptCaps({ capAdd: ["NET_BIND_SERVICE"], capDrop: ["ALL"] }, 40),
    bit(10),
  );
  assert.equal(keptCaps({}, 40), allCaps(40));
  assert.equal(capsGiven({}), false);
  assert.equal(capsGiven({ capDrop: [] }), false);
  assert.equal(capsGiven({ capAdd: ["chown"] }), true);
});
