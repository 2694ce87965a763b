import assert from "node:assert/strict";
import { networkChecks } from "../../lib/net/doctor.ts";
import type { Lookup } from "../../lib/net/plan.ts";

const installed = (...names: string[]): Lookup => (name) =>
  names.includes(name) ? `/usr/bin/${name}` : undefined;

// The tun device's verdict needs to open a device: net_errors_test.ts.
Deno.test("networkChecks() says which helper is there and what to install", () => {
  const all = networkChecks("", installed("pasta", "slirp4netns", "setpriv"));
  assert.deepEqual(all.slice(0, 3).map((c) => [c.check, c.status, c.detail]), [
    ["pasta", "ok", "/usr/bin/pasta"],
    ["slirp4netns", "ok", "/usr/bin/slirp4netns"],
    ["setpriv", "ok", "/usr/bin/setpriv"],
  ]);
  const few = networkChecks("", installed("slirp4netns"));
  assert.deepEqual(
    few.slice(0, 3).map((c) => [c.check, c.status, c.detail, c.hint]),
    [
      [
        "pasta",
        "warn",
        "not found on PATH: --network pasta uses slirp4netns",
        "install passt (apt-get install passt)",
      ],
      ["slirp4netns", "ok", "/usr/bin/slirp4netns", ""],
      [
        "setpriv",
        "warn",
        "not found on PATH: pasta would outlive a userns that is killed",
        "install util-linux (apt-get install util-linux)",
      ],
    ],
  );
  assert.equal(
    networkChecks("", installed())[1]!.hint,
    "install slirp4netns (apt-get install slirp4netns)",
  );
});
