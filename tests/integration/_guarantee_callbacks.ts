// The guarantee: "A callback of the caller's (beforeExec, onWarning) that throws
// fails that spawn cleanly: the paused child is released to exit, its fds
// closed." And what a loop of such spawns found: children that end while
// the isolate spawns on leave their events queued, which must overflow
// nothing. Scenarios of _guarantees.ts.
import assert from "node:assert/strict";
import { UsernsCommand } from "../../lib/mod.ts";
import { children, leavesNothing, within } from "./_process.ts";
import { exists, report, settle, tempDir, zombies } from "./_holdings.ts";

/**
 * `warning-throws`: no newuidmap on PATH, so `auto` falls back and warns;
 * the caller's onWarning throws. spawn() throws that very error (output()
 * rejects with it, outputSync() throws it), 50 times and more: no paused
 * child, no fd is left.
 */
export async function warningThrows(): Promise<void> {
  assert.notEqual(Deno.uid(), 0, "root maps without helpers: no fallback");
  const dir = tempDir();
  const path = Deno.env.get("PATH");
  Deno.env.set("PATH", dir); // nothing there: the commands by full path
  const boom = new Error("no warnings here");
  const seen: string[] = [];
  const cmd = () =>
    new UsernsCommand("/bin/sh", {
      args: ["-c", `/bin/touch ${dir}/ran`],
      map: "auto",
      strict: false,
      onWarning: (w) => {
        seen.push(w);
        throw boom;
      },
    });
  try {
    await leavesNothing(async () => {
      for (let i = 0; i < 50; i++) {
        assert.throws(() => cmd().spawn(), (e) => e === boom);
      }
      for (let i = 0; i < 10; i++) {
        await assert.rejects(cmd().output(), (e) => e === boom);
        assert.throws(() => cmd().outputSync(), (e) => e === boom);
      }
      // The aborted children exit and are reaped as their events come.
      assert.deepEqual(await settle(children, (c) => !c.length), []);
    });
  } finally {
    Deno.env.set("PATH", path ?? "");
  }
  assert.deepEqual(zombies(), []);
  assert.equal(seen.length, 70, "one warning per spawn");
  for (const w of seen) {
    assert.match(w, /: mapping only your own uid and gid; /);
  }
  assert.ok(!exists(`${dir}/ran`), "no command ran");
  report("spawns", seen.length);
}

/**
 * `unread-events`: children that end while this isolate runs synchronous
 * code and goes on spawning, so that their exit events wait in the
 * context's queue, untaken, while more watches are armed (what a throwing
 * onWarning in a loop does). 64 spawns, each SIGKILLed at once and followed
 * by a busy moment: no crash (the queue overflowed malloc's heap once),
 * every status says SIGKILL, nothing is left.
 */
export async function unreadEvents(): Promise<void> {
  await leavesNothing(async () => {
    const kids = [];
    for (let i = 0; i < 64; i++) {
      const child = new UsernsCommand("true", { map: "root" }).spawn();
      child.kill("SIGKILL");
      kids.push(child);
      for (const end = Date.now() + 3; Date.now() < end;) {
        // busy: the child ends and its event is queued meanwhile
      }
    }
    const statuses = await within(
      Promise.all(kids.map((k) => k.status)),
      "the statuses",
    );
    for (const s of statuses) {
      assert.deepEqual(s, { success: false, code: 137, signal: "SIGKILL" });
    }
  });
}
