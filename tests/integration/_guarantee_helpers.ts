// The guarantee: "A map helper that does not finish within helperTimeout is killed
// and the spawn fails with HELPER_TIMEOUT; an AbortSignal or kill() during
// the helpers kills them and settles ready/status promptly. Nothing is
// left: no helper, no paused child, no fd." A scenario of _guarantees.ts.
import assert from "node:assert/strict";
import { HelperError, UsernsCommand, UsernsError } from "../../lib/mod.ts";
import { delay, leavesNothing, typed, within } from "./_process.ts";
import {
  exists,
  prependPath,
  reaped,
  report,
  script,
  stat,
  tempDir,
} from "./_holdings.ts";

/** A newuidmap that records its pid for the child `$1`, then hangs. */
function hungHelper(): { dir: string; helper: (pid: number) => number } {
  const dir = tempDir();
  script(
    dir,
    "newuidmap",
    `#!/bin/sh\necho $$ >"${dir}/helper.$1"\nexec /bin/sleep 1000\n`,
  );
  prependPath(dir);
  return {
    dir,
    helper: (pid) => Number(Deno.readTextFileSync(`${dir}/helper.${pid}`)),
  };
}

/** Waits until the hung newuidmap of child `pid` has started. */
async function helperStarted(dir: string, pid: number): Promise<void> {
  for (let i = 0; !/^\d+\n$/.test(read(`${dir}/helper.${pid}`)); i++) {
    if (i > 500) throw new Error(`no newuidmap started for ${pid}`);
    await delay(5);
  }
}

function read(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

/** Milliseconds from `t0` until `p` settles, and how it settled. */
async function timed<T>(
  p: Promise<T>,
  t0: number,
  what: string,
): Promise<{ ms: number; value?: T; error?: unknown }> {
  const r = await within(
    p.then((value) => ({ value }), (error) => ({ error })),
    what,
    5000,
  );
  return { ms: performance.now() - t0, ...r };
}

const TIMEOUT = 300;
/** How late a settlement may be to count as prompt: 100 ms. */
const PROMPT = 100;

/**
 * `hung-helper`: newuidmap never ends. helperTimeout kills it and fails
 * the spawn with HELPER_TIMEOUT in time; an abort and kill() settle
 * within 100 ms; outputSync() times out too. Nothing is left.
 */
export async function hungHelperScenario(): Promise<void> {
  assert.notEqual(Deno.uid(), 0, "root runs no helper");
  const { dir, helper } = hungHelper();
  try {
    await cases(dir, helper);
  } finally {
    // A case that failed must not leave its newuidmap sleeping 1000 s.
    for (const pid of helpersIn(dir)) {
      if (Number(stat(pid)?.[1]) === Deno.pid) Deno.kill(pid, "SIGKILL");
    }
  }
}

/** The pids the hung newuidmaps recorded in `dir`. */
function helpersIn(dir: string): number[] {
  return [...Deno.readDirSync(dir)].flatMap((e) =>
    e.name.startsWith("helper.") ? [Number(read(`${dir}/${e.name}`))] : []
  );
}

async function cases(
  dir: string,
  helper: (pid: number) => number,
): Promise<void> {
  const ran = `${dir}/ran`;
  const cmd = (o: Record<string, unknown> = {}) =>
    new UsernsCommand("sh", { args: ["-c", `touch ${ran}`], ...o });
  const timeout = (pid: number) =>
    new RegExp(`^newuidmap for pid ${pid} did not finish within 300 ms; `);

  await leavesNothing(async () => {
    const t0 = performance.now();
    const child = cmd({ helperTimeout: TIMEOUT }).spawn();
    const [ready, status] = await Promise.all([
      timed(child.ready, t0, "ready"),
      timed(child.status, t0, "status"),
    ]);
    for (const [name, r] of [["ready", ready], ["status", status]] as const) {
      typed(r.error, HelperError, "HELPER_TIMEOUT", timeout(child.pid));
      report(`timeout: ${name} ms`, r.ms.toFixed(1));
      assert.ok(
        r.ms >= TIMEOUT - 5 && r.ms < TIMEOUT + PROMPT,
        `${name} settled after ${r.ms.toFixed(1)} ms`,
      );
    }
    assert.deepEqual(await reaped([helper(child.pid)]), [], "the helper");
    assert.deepEqual(await reaped([child.pid]), [], "the paused child");
  });

  for (const how of ["abort", "kill", "SIGKILL"] as const) {
    await leavesNothing(async () => {
      const ac = new AbortController();
      const child = cmd({ signal: ac.signal }).spawn();
      await helperStarted(dir, child.pid);
      const t0 = performance.now();
      const reason = new Error("stop");
      if (how === "abort") ac.abort(reason);
      else child.kill(how === "kill" ? undefined : how);
      const [ready, status] = await Promise.all([
        timed(child.ready, t0, "ready"),
        timed(child.status, t0, "status"),
      ]);
      report(`${how}: ready ms`, ready.ms.toFixed(1));
      report(`${how}: status ms`, status.ms.toFixed(1));
      assert.ok(ready.ms < PROMPT, `ready after ${ready.ms.toFixed(1)} ms`);
      assert.ok(status.ms < PROMPT, `status after ${status.ms.toFixed(1)} ms`);
      const aborted = /^aborted before the command started$/;
      typed(ready.error, UsernsError, "ABORTED", aborted);
      if (how === "abort") {
        // An abort is the caller's: ready rejects with the reason kept,
        // and the child dies of SIGTERM, as Deno.Command's abort kills.
        assert.equal((ready.error as Error).cause, reason);
        assert.deepEqual(status.value, {
          success: false,
          code: 143,
          signal: "SIGTERM",
        });
      } else {
        // kill(): the set-up stops (no reason but the kill), and the child
        // dies of the signal, which its status reports as for any killed
        // command (Deno.Command's).
        assert.equal((ready.error as Error).cause, undefined);
        const sig = how === "kill" ? "SIGTERM" : "SIGKILL";
        assert.deepEqual(status.value, {
          success: false,
          code: sig === "SIGTERM" ? 143 : 137,
          signal: sig,
        });
      }
      assert.deepEqual(await reaped([helper(child.pid)]), [], "the helper");
      assert.deepEqual(await reaped([child.pid]), [], "the paused child");
    });
  }

  await leavesNothing(async () => {
    const t0 = performance.now();
    let error: unknown;
    try {
      cmd({ helperTimeout: TIMEOUT }).outputSync();
    } catch (e) {
      error = e;
    }
    const ms = performance.now() - t0;
    report("outputSync: ms", ms.toFixed(1));
    typed(
      error,
      HelperError,
      "HELPER_TIMEOUT",
      /^newuidmap for pid \d+ did not finish within 300 ms; /,
    );
    assert.ok(ms >= TIMEOUT - 5 && ms < TIMEOUT + PROMPT, `after ${ms} ms`);
    assert.deepEqual(await reaped(helpersIn(dir)), [], "every helper");
  });
  assert.ok(!exists(ran), "the command never ran");
}
