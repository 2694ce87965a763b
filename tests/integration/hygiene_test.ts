// Whatever fails, nothing is left behind: no fd, no child, no zombie.
import assert from "node:assert/strict";
import {
  isUsernsError,
  type UsernsChild,
  UsernsCommand,
} from "../../lib/mod.ts";
import { children, fdsSettle, nsTest, openFds } from "./_env.ts";

/** Runs `fn`, which must fail with `code`, and checks nothing was left. */
async function leavesNothing(
  code: string,
  fn: () => unknown,
): Promise<void> {
  const fds = openFds();
  await assert.rejects(
    Promise.resolve().then(fn),
    (e) => isUsernsError(e) && e.code === code,
  );
  assert.deepEqual(
    await fdsSettle(fds),
    fds,
    "fds are back to where they were",
  );
  assert.deepEqual(children(), [], "no child and no zombie is left");
}

nsTest("failure paths leave no fd, process or zombie", async (t) => {
  await new UsernsCommand("true").output(); // warm: the library is loaded
  await t.step(
    "command not found",
    () =>
      leavesNothing(
        "EXEC_NOT_FOUND",
        () => new UsernsCommand("no-such-command-userns").output(),
      ),
  );
  await t.step(
    "cannot execute",
    () =>
      leavesNothing(
        "EXEC_DENIED",
        () => new UsernsCommand("/proc/self/status").output(),
      ),
  );
  await t.step(
    "a set-up step fails",
    () =>
      leavesNothing(
        "SETUP",
        // A file as the root: the child's chdir() into it fails.
        () => new UsernsCommand("true", { root: "/dev/null" }).output(),
      ),
  );
  await t.step(
    "an unmapped user is refused before clone",
    () =>
      leavesNothing(
        "MAP_UNMAPPED_ID",
        () => new UsernsCommand("true", { map: "root", user: 7 }).spawn(),
      ),
  );
  await t.step(
    "beforeExec throws",
    () =>
      leavesNothing("HOOK", () =>
        new UsernsCommand("true", {
          beforeExec: () => {
            throw new Error("no");
          },
        }).output()),
  );
  await t.step("aborted during set-up", () => {
    const ac = new AbortController();
    return leavesNothing("ABORTED", async () => {
      const child = new UsernsCommand("true", {
        signal: ac.signal,
        beforeExec: () => ac.abort(),
      }).spawn();
      // The status says SIGTERM, as Deno.Command's; ready, why.
      assert.equal((await child.status).signal, "SIGTERM");
      return child.ready;
    });
  });
  await t.step(
    "already aborted",
    () =>
      leavesNothing(
        "ABORTED",
        () =>
          new UsernsCommand("true", { signal: AbortSignal.abort() }).spawn(),
      ),
  );
  await t.step("the command is SIGKILLed before it starts", async () => {
    const fds = openFds();
    const child: UsernsChild = new UsernsCommand("sleep", {
      args: ["30"],
      beforeExec: () => child.kill("SIGKILL"),
    }).spawn();
    // As Deno.Command reports a command SIGKILLed: the status, not an error.
    assert.deepEqual(await child.status, {
      success: false,
      code: 137,
      signal: "SIGKILL",
    });
    await assert.rejects(
      child.ready,
      (e) => isUsernsError(e) && e.code === "ABORTED",
    );
    assert.deepEqual(await fdsSettle(fds), fds);
    assert.deepEqual(children(), []);
  });
});

nsTest("dozens of concurrent spawns: all right, nothing leaked", async () => {
  await new UsernsCommand("true").output();
  const fds = openFds();
  const runs = Array.from(
    { length: 48 },
    (_, i) =>
      new UsernsCommand("sh", { args: ["-c", `exit ${i % 7}`] }).output(),
  );
  const codes = (await Promise.all(runs)).map((s) => s.code);
  assert.deepEqual(codes, Array.from({ length: 48 }, (_, i) => i % 7));
  assert.deepEqual(await fdsSettle(fds), fds);
  assert.deepEqual(children(), []);
});
