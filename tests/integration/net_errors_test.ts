/**
 * A network that cannot be had fails the spawn in one line with the fix,
 * and leaves nothing running: a host port already taken, an unusable
 * /dev/net/tun, a missing helper, a process without a network namespace of
 * its own.
 */
import assert from "node:assert/strict";
import { nsTest } from "./_env.ts";
import { networkChecks } from "../../lib/net/mod.ts";
import {
  brokenTun,
  HELPERS,
  needs,
  netTest,
  scenario,
  type Who,
} from "./_net_runner.ts";

interface Failed {
  threw: boolean;
  message: string;
  name: string;
  reason: string;
  code: string;
  causeMessage: string;
  child: number;
  childRunning: boolean;
  left: number[];
}

/** It failed as a NetworkError for `reason`, in one line, and nothing runs. */
function assertFailed(r: Failed, reason: string, message: RegExp): void {
  assert.ok(r.threw, "the spawn did not fail");
  assert.equal(r.name, "NetworkError");
  assert.equal(r.reason, reason);
  assert.match(r.causeMessage, message);
  assert.ok(!r.causeMessage.includes("\n"));
  assert.ok(r.child > 0);
  assert.equal(r.childRunning, false); // the command never ran
  assert.deepEqual(r.left, [], `left running: ${r.left}`);
}

netTest(
  "a host port already taken fails in one line, nothing left",
  async (helper, who) => {
    const r = await scenario<Failed & { hostPort: number }>(who, "portTaken", {
      helper,
    });
    assertFailed(
      r,
      "port",
      new RegExp(
        `^-p 127\\.0\\.0\\.1:${r.hostPort}:80/tcp: host port ${r.hostPort} on 127\\.0\\.0\\.1 is already in use; publish another host port`,
      ),
    );
    assert.equal(r.code, "HELPER_FAILED");
  },
);

/**
 * As root: /dev/null bound over /dev/net/tun (opens, but is no tun: the
 * helper says so); the test user: a root-owned 0600 file (cannot be
 * opened: refused before the helper starts).
 */
async function tunCase(helper: string, who: Who): Promise<Failed> {
  if (who === "caller") {
    const { wrap, map } = brokenTun();
    return await scenario<Failed>(who, "tun", { helper, map }, wrap);
  }
  const file = await Deno.makeTempFile({ prefix: "userns-net-tun-" });
  try {
    await Deno.chmod(file, 0o600);
    return await scenario<Failed>(who, "tun", { helper }, brokenTun(file).wrap);
  } finally {
    await Deno.remove(file);
  }
}

netTest(
  "an unusable /dev/net/tun fails in one line with the fix, nothing left",
  async (helper, who) => {
    const r = await tunCase(helper, who);
    const why = who === "user"
      ? `^${helper} cannot open /dev/net/tun: EACCES \\(mode 0600, owner 0\\)`
      : `^${helper} cannot use /dev/net/tun in the namespace: "`;
    assertFailed(
      r,
      "tun",
      new RegExp(
        `${why}.*; as root: chmod 666 /dev/net/tun \\(the mode distributions ship\\)$`,
      ),
    );
  },
);

nsTest(
  "a missing helper fails in one line before anything starts",
  async () => {
    const r = await scenario<Failed>("caller", "missing", { helper: "pasta" });
    assertFailed(
      r,
      "missing",
      /^neither pasta nor slirp4netns found on PATH; install passt \(apt-get install passt\) or slirp4netns$/,
    );
    assert.equal(r.code, "HELPER_MISSING");
  },
);

for (const helper of HELPERS) {
  nsTest(
    `${helper}: a child without a network namespace of its own is refused`,
    async () => {
      const r = await scenario<Failed>("caller", "sharedNamespace", { helper });
      assert.ok(r.threw);
      assert.equal(r.reason, "namespace");
      assert.equal(r.code, "INVALID_ARGUMENT");
      assert.match(
        r.causeMessage,
        /has no network namespace of its own for .*; add "net" to namespaces$/,
      );
    },
    needs(helper),
  );
}

Deno.test("networkChecks() says whether the tun device can be opened, and the fix", async () => {
  const check = (tun: string) => networkChecks("", () => "/x", tun).at(-1)!;
  assert.deepEqual(check("/dev/null"), {
    check: "/dev/null",
    status: "ok",
    detail: "can be opened for reading and writing",
    hint: "",
  });
  assert.deepEqual(check("/nonexistent/tun"), {
    check: "/nonexistent/tun",
    status: "warn",
    detail: "cannot be opened: it does not exist",
    hint:
      "as root: modprobe tun, or mknod /nonexistent/tun c 10 200 && chmod 666 /nonexistent/tun",
  });
  const file = await Deno.makeTempFile();
  try {
    await Deno.chmod(file, 0o400);
    const c = check(file);
    // Root opens a 0400 file for writing all the same.
    if (Deno.uid() !== 0) {
      assert.equal(c.status, "warn");
      assert.match(
        c.detail,
        /^cannot be opened: EACCES \(mode 0400, owner \d+\)$/,
      );
      assert.equal(
        c.hint,
        "as root: chmod 666 /dev/net/tun (the mode distributions ship)",
      );
    } else assert.equal(c.status, "ok");
  } finally {
    await Deno.remove(file);
  }
});
