// The guarantee: "A Worker that loaded the library and ends with spawns in flight
// (by terminate() or close()) never crashes the process; its children are
// killed and reaped as Deno.Command's are." A scenario of _guarantees.ts.
import assert from "node:assert/strict";
import { children, delay, within } from "./_process.ts";
import {
  fdKinds,
  prependPath,
  reaped,
  report,
  RUNTIME_OWN,
  script,
  settle,
  tempDir,
  threads,
  waiting,
  zombies,
} from "./_holdings.ts";
import type { Order, Phase, Spawned } from "./_worker.ts";

/** Starts a Worker, waits for its spawns to reach `phase`, tears it down. */
async function worker(
  phase: Phase,
  close: boolean,
  dir: string,
  count = 2,
): Promise<Spawned> {
  const w = new Worker(new URL("./_worker.ts", import.meta.url), {
    type: "module",
  });
  const got = await within(
    new Promise<Spawned>((resolve, reject) => {
      w.onmessage = (e: MessageEvent<Spawned>) => resolve(e.data);
      w.onerror = (e) => {
        e.preventDefault();
        reject(new Error(`the Worker failed: ${e.message}`));
      };
      const order: Order = { phase, count, close, dir };
      w.postMessage(order);
    }),
    `a Worker's spawns (${phase})`,
    20_000,
  );
  if (!close) w.terminate();
  assert.equal(got.error, undefined, `a Worker's spawns (${phase})`);
  return got;
}

/** Checks that every process the Workers left is killed and reaped. */
async function allReaped(batch: Spawned[]): Promise<void> {
  for (const phase of new Set(batch.map((s) => s.phase))) {
    const of = batch.filter((s) => s.phase === phase);
    const pids = of.flatMap((s) => s.pids);
    const helpers = of.flatMap((s) => s.helpers);
    assert.deepEqual(await reaped(pids), [], `${phase}: commands left`);
    assert.deepEqual(await reaped(helpers), [], `${phase}: helpers left`);
  }
  assert.deepEqual(zombies(), [], "no zombie of ours in /proc");
  assert.deepEqual(children(), [], "no child of ours at all");
}

/**
 * `workers MODE PHASE...`: Workers that imported the library are torn down
 * (MODE `terminate` or `close`) with spawns in each PHASE; first, the same
 * with `Deno.Command`, side by side. Nothing crashes (this process would
 * die with it), every child and helper is killed and reaped, and the
 * threads and fds are what they were: the waiter thread and the library's
 * own file are opened once per process, by the first Worker.
 */
export async function workers(mode: string, ...phases: Phase[]): Promise<void> {
  assert.ok(mode === "terminate" || mode === "close", `mode ${mode}`);
  const close = mode === "close";
  const dir = tempDir();
  if (phases.includes("helpers")) {
    assert.notEqual(Deno.uid(), 0, "root runs no helper");
    // newuidmap records itself, then waits 30 s without a child process of
    // its own (bash's read on a FIFO), then does the real job.
    new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).outputSync();
    script(
      dir,
      "newuidmap",
      `#!/bin/bash\necho "$$ $1" >"${dir}/helper.$1"\n` +
        `read -t 30 <>"${dir}/fifo"\nexec /usr/bin/newuidmap "$@"\n`,
    );
    prependPath(dir);
  }
  // Whatever the runtime and the library set up once: the runtime's own
  // fds and thread for Workers, the waiter thread, the library's file.
  for (const phase of ["deno", "deno", ...phases] as Phase[]) {
    await allReaped([await worker(phase, close, dir, 1)]);
  }
  await delay(300);
  const fds = fdKinds();
  const before = threads();
  report("threads before", before.length);
  report("fds before", fds.length);
  assertProcessWide(fds, before);

  const t0 = performance.now();
  const control = await Promise.all(
    Array.from({ length: 10 }, () => worker("deno", close, dir)),
  );
  await allReaped(control);
  const ours = await Promise.all(
    Array.from(
      { length: 21 },
      (_, i) => worker(phases[i % phases.length]!, close, dir),
    ),
  );
  await allReaped(ours);
  report("workers", `${control.length} with Deno.Command, ${ours.length} ours`);
  report("teardown ms", Math.round(performance.now() - t0));

  const now = await settle(fdKinds, (f) => f.join() === fds.join());
  assert.deepEqual(now, fds, "the same fds as before the Workers");
  const extra = await settle(
    () =>
      threads().filter((t) => !before.includes(t)).map(waiting).filter((t) =>
        !RUNTIME_OWN.test(t)
      ),
    (x) => x.length === 0,
  );
  assert.deepEqual(
    extra,
    [],
    `no thread that was not there before: ${before.map(waiting).join(", ")}`,
  );
  assertProcessWide(now, threads());
  report("threads after", threads().length);
}

/**
 * What the library keeps once its first Worker has spawned, whatever
 * comes after: one waiter thread (named after the Worker that started it,
 * the only thread so named once every Worker is gone) and one fd of the
 * library's sealed copy (a memfd), both the process's.
 */
function assertProcessWide(fds: string[], all: string[]): void {
  const waiter = all.filter((t) => /^\d+ worker-\d+$/.test(t)).map(waiting);
  assert.equal(waiter.length, 1, `one waiter thread: ${waiter}`);
  assert.match(waiter[0]!, / do_epoll_wait$/, "the waiter waits in epoll");
  const own = fds.filter((f) => /^\/memfd:userns \(deleted\)$/.test(f));
  assert.equal(own.length, 1, `one fd of the library's sealed copy: ${fds}`);
}
