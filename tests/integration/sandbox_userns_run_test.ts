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
