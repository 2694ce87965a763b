// The guarantee: "Pooled memory for spawning shrinks back after unusually large
// requests." A scenario of _guarantees.ts.
import assert from "node:assert/strict";
import { SpawnError, UsernsCommand } from "../../lib/mod.ts";
import { delay, typed, within } from "./_process.ts";
import { report, settle } from "./_holdings.ts";

/** This process's resident memory, in MiB. */
function rss(): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)![1]) / 1024;
}

async function collect(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  assert.ok(gc, "run with --v8-flags=--expose-gc");
  for (let i = 0; i < 4; i++) {
    gc();
    await delay(25);
  }
}

/** How much more than before may stay resident after the big spawns. */
const RSS_SLACK_MIB = 20;

/**
 * `regions`: 8 spawns held at once, each with 40 MiB of arguments (more
 * than execve() takes: the kernel caps arguments at 6 MiB, whatever
 * RLIMIT_STACK, so each fails with E2BIG once released). While they are
 * held the pool's regions hold their requests; once they have ended, the
 * process's resident memory is back near where it was.
 */
export async function regions(): Promise<void> {
  // map current: the inside ids are the caller's, so the child runs in a
  // pooled region of this process (shared mode).
  const map = "current";
  await new UsernsCommand("true", { map }).output();
  await collect();
  const base = rss();
  const SPAWNS = 8, MIB = 40;
  let args: string[] | undefined = Array.from(
    { length: MIB * 8 },
    (_, i) => String(i % 10).repeat(128 * 1024 - 1), // MAX_ARG_STRLEN - 1
  );
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  let held = 0;
  const kids = Array.from(
    { length: SPAWNS },
    () =>
      new UsernsCommand("sh", {
        args: ["-c", "true", ...args!],
        map,
        stdout: "null",
        beforeExec: () => {
          held++;
          return gate;
        },
      }).spawn(),
  );
  args = undefined; // only the requests hold them now
  while (held < SPAWNS) await delay(5);
  await collect();
  const holding = rss();
  release();
  for (const k of kids) {
    const e = await within(k.status.then(() => undefined, (e) => e), "status");
    typed(e, SpawnError, "EXEC_DENIED", /argument list too long \(E2BIG\)/);
  }
  kids.length = 0;
  await collect();
  const after = await settle(rss, (r) => r - base < RSS_SLACK_MIB);
  report("rss before MiB", base.toFixed(1));
  report("rss holding MiB", holding.toFixed(1));
  report("rss after MiB", after.toFixed(1));
  assert.ok(
    holding - base > SPAWNS * MIB * 0.9,
    `the held requests are in this process (${holding.toFixed(1)} MiB)`,
  );
  assert.ok(
    after - base < RSS_SLACK_MIB,
    `${(after - base).toFixed(1)} MiB more than before the spawns stay`,
  );
}
