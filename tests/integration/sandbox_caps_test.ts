// The capabilities c/filter.c keeps (through _seccomp_loader.c), inside a
// real user namespace, side by side with bwrap's --cap-drop/--cap-add.
import assert from "node:assert/strict";
import { applyCapSteps, type CapStep } from "../../lib/sandbox/caps.ts";
import {
  capArgs,
  filterTest,
  probed,
  run,
  statusOf,
  tools,
} from "./_filter_tools.ts";

const SETS = ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"];

const bwrapReason = await run(["bwrap", "--version"]).then(
  (r) => r.code === 0 ? undefined : "bwrap does not run",
  () => "bwrap is not installed",
);

/** The five sets of `grep Cap /proc/self/status` output. */
const sets = (stdout: string) => statusOf(stdout);

/** CLI-style steps: ["--cap-drop", "ALL", "--cap-add", "X"]. */
function steps(argv: string[]): CapStep[] {
  const out: CapStep[] = [];
  for (let i = 0; i < argv.length; i += 2) {
    out.push({ option: argv[i] as CapStep["option"], value: argv[i + 1]! });
  }
  return out;
}

/** The five sets under our loader, as inside uid UID. */
async function ours(
  uid: number,
  argv: string[],
): Promise<Record<string, string>> {
  const out = await run([
    tools.loader,
    "-u",
    String(uid),
    ...(argv.length ? capArgs(applyCapSteps(steps(argv))) : []),
    "--",
    "grep",
    "Cap",
    "/proc/self/status",
  ]);
  assert.equal(out.code, 0, out.stderr);
  return sets(out.stdout);
}

/** The five sets under bwrap with the same options. */
async function bwraps(
  uid: number,
  argv: string[],
): Promise<Record<string, string>> {
  const out = await run([
    "bwrap",
    "--unshare-user",
    "--uid",
    String(uid),
    "--ro-bind",
    "/",
    "/",
    ...argv,
    "grep",
    "Cap",
    "/proc/self/status",
  ]);
  assert.equal(out.code, 0, out.stderr);
  return sets(out.stdout);
}

filterTest(
  "--cap-drop ALL: all five sets empty, as inside root and as uid 1000",
  async () => {
    for (const uid of [0, 1000]) {
      const got = await ours(uid, ["--cap-drop", "ALL"]);
      assert.deepEqual(Object.keys(got), SETS);
      for (const set of SETS) {
        assert.equal(got[set], "0000000000000000", `${uid} ${set}`);
      }
    }
    const viaUnshare = await run([
      "unshare",
      "-r",
      tools.loader,
      ...capArgs(0n),
      "--",
      "grep",
      "Cap",
      "/proc/self/status",
    ]);
    assert.deepEqual(
      Object.values(sets(viaUnshare.stdout)),
      SETS.map(() => "0000000000000000"),
    );
  },
);

filterTest(
  "--cap-drop ALL --cap-add NET_BIND_SERVICE keeps that bit in the five sets",
  async () => {
    for (const uid of [1000, 0]) {
      const got = await ours(uid, [
        "--cap-drop",
        "ALL",
        "--cap-add",
        "NET_BIND_SERVICE",
      ]);
      assert.deepEqual(
        Object.values(got),
        SETS.map(() => "0000000000000400"),
        `uid ${uid}`,
      );
    }
  },
);

filterTest("the five sets match bwrap's, side by side", async (t) => {
  for (
    const argv of [
      ["--cap-drop", "ALL"],
      ["--cap-drop", "ALL", "--cap-add", "CAP_NET_BIND_SERVICE"],
      [
        "--cap-drop",
        "ALL",
        "--cap-add",
        "CAP_NET_BIND_SERVICE",
        "--cap-add",
        "CAP_SYS_ADMIN",
      ],
      ["--cap-drop", "CAP_SYS_ADMIN"],
      ["--cap-add", "CAP_NET_BIND_SERVICE", "--cap-drop", "ALL"],
    ]
  ) {
    for (const uid of [1000, 0]) {
      await t.step(`--uid ${uid} ${argv.join(" ")}`, async () => {
        const theirs = await bwraps(uid, argv);
        const mine = await ours(uid, argv);
        if (argv.includes("ALL")) {
          assert.deepEqual(mine, theirs);
        } else {
          // Without --cap-drop ALL the starting sets differ by design:
          // bwrap starts from what its caller holds in the parent
          // namespace (nothing for an unprivileged caller), userns from
          // every capability (SPEC: as podman unshare). The dropped bit
          // is gone from all five sets in both.
          for (const set of SETS) {
            assert.equal(
              (BigInt(`0x${mine[set]}`) >> 21n) & 1n,
              (BigInt(`0x${theirs[set]}`) >> 21n) & 1n,
              set,
            );
          }
        }
      });
    }
  }
}, bwrapReason);

filterTest(
  "a kept capability works for a non-root uid across execve (ambient)",
  async () => {
    const bind = (keep: bigint | undefined) =>
      run([
        tools.loader,
        "-u",
        "1000",
        "-N",
        ...(keep === undefined ? [] : capArgs(keep)),
        "--",
        tools.probe,
        "bind",
        "80",
      ]);
    assert.deepEqual(probed((await bind(1n << 10n)).stdout), { bind: "ok" });
    assert.deepEqual(probed((await bind(0n)).stdout), { bind: "EACCES" });
    // Untouched (the default), a non-root uid loses them at execve.
    assert.deepEqual(probed((await bind(undefined)).stdout), {
      bind: "EACCES",
    });
  },
);

filterTest(
  "a capability the child does not hold is refused with its number",
  async () => {
    // Inside a namespace whose uid 1000 has no capabilities left: the
    // loader's own process after an execve as non-root.
    const out = await run([
      tools.loader,
      "-u",
      "1000",
      "--",
      tools.loader,
      ...capArgs(1n << 10n),
      "--",
      "true",
    ]);
    assert.equal(out.code, 125);
    assert.match(out.stderr, /step \d+ failed: errno 1, index 10/);
  },
);
