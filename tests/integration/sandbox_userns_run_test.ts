// c/filter.c (through _seccomp_loader.c) as the command of a real
// `userns run`: the namespace the spawn path will apply it in (the whole
// sub-ID range mapped, inside root), before the lead wires it in.
import assert from "node:assert/strict";
import { applyCapSteps } from "../../lib/sandbox/caps.ts";
import { seccompFilter } from "../../lib/sandbox/seccomp.ts";
import { cli, nsTest } from "./_env.ts";
import {
  capArgs,
  filterArgs,
  probed,
  statusOf,
  tools,
  toolsReason,
} from "./_filter_tools.ts";

nsTest("under userns run: --cap-drop ALL and the default filter", async () => {
  const keep = applyCapSteps([{ option: "--cap-drop", value: "ALL" }]);
  const args = [
    "-n",
    ...capArgs(keep),
    ...filterArgs(seccompFilter("default", keep)),
  ];
  const status = await cli([
    "run",
    "--",
    tools.loader,
    ...args,
    "--",
    "grep",
    "-E",
    "Cap|Seccomp|NoNewPrivs|^Uid",
    "/proc/self/status",
  ], { stdout: "piped", stderr: "piped" });
  assert.equal(status.code, 0, status.stderr);
  const s = statusOf(status.stdout);
  for (const set of ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]) {
    assert.equal(s[set], "0000000000000000", set);
  }
  assert.equal(s.Seccomp, "2");
  assert.equal(s.NoNewPrivs, "1");
  const out = await cli([
    "run",
    "--",
    tools.loader,
    ...args,
    "--",
    tools.probe,
    "add_key",
    "keyctl",
    "tiocsti",
    "tcgets",
  ], { stdout: "piped", stderr: "piped" });
  assert.deepEqual(probed(out.stdout), {
    add_key: "ENOSYS",
    keyctl: "ENOSYS",
    tiocsti: "EPERM",
    tcgets: "ok",
  }, out.stderr);
}, toolsReason);

nsTest(
  "under userns run: --cap-drop ALL --cap-add NET_BIND_SERVICE",
  async () => {
    const keep = applyCapSteps([
      { option: "--cap-drop", value: "ALL" },
      { option: "--cap-add", value: "NET_BIND_SERVICE" },
    ]);
    const out = await cli([
      "run",
      "--",
      tools.loader,
      ...capArgs(keep),
      "--",
      "grep",
      "Cap",
      "/proc/self/status",
    ], { stdout: "piped", stderr: "piped" });
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(
      Object.values(statusOf(out.stdout)),
      Array(5).fill("0000000000000400"),
    );
  },
  toolsReason,
);

nsTest(
  "under userns run as uid 1000: the switch must keep the permitted set (PR_SET_KEEPCAPS)",
  async () => {
    const keep = 1n << 10n;
    const kept = await cli([
      "run",
      "--",
      tools.loader,
      "-w",
      "1000",
      "-k",
      ...capArgs(keep),
      "--",
      "grep",
      "-E",
      "Cap|^Uid",
      "/proc/self/status",
    ], { stdout: "piped", stderr: "piped" });
    assert.equal(kept.code, 0, kept.stderr);
    const s = statusOf(kept.stdout);
    for (const set of ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]) {
      assert.equal(s[set], "0000000000000400", set);
    }
    assert.match(kept.stdout, /^Uid:\s+1000\s/m);
    // Without it, setresuid() emptied the sets: even --cap-drop ALL cannot
    // drop the bounding set (no CAP_SETPCAP): one line, step and capability.
    for (const mask of [keep, 0n]) {
      const lost = await cli([
        "run",
        "--",
        tools.loader,
        "-w",
        "1000",
        ...capArgs(mask),
        "--",
        "true",
      ], { stdout: "piped", stderr: "piped" });
      assert.equal(lost.code, 125);
      assert.match(
        lost.stderr,
        new RegExp(`step 27 failed: errno 1, index ${mask ? 10 : 0}`),
      );
    }
  },
  toolsReason,
);
