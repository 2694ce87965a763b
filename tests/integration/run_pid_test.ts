// A command in a new pid namespace can be stopped as one without: under the
// default userns-init, kill() and an AbortSignal give what Deno.Command
// gives, the status is the command's own, orphans are reaped; --as-pid-1
// keeps the old PID 1 behaviour. (Signals: run_signals_test.ts.)
import assert from "node:assert/strict";
import { UsernsCommand } from "../../lib/mod.ts";
import { MAIN, nsTest, ROOT } from "./_env.ts";
import { alive, children, delay, gone, within } from "./_process.ts";

/** A status as a plain object (Deno's has a null prototype). */
const plain = (s: Deno.CommandStatus) => ({ ...s });

type Stopper = "kill" | "abort";

/** Starts `sleep 30`, stops it with kill() or an AbortSignal, returns the
 * status and how long it took to settle. */
async function stop(
  how: Stopper,
  start: (signal: AbortSignal) =>
    | Deno.ChildProcess
    | ReturnType<
      UsernsCommand["spawn"]
    >,
): Promise<[Deno.CommandStatus, number]> {
  const ac = new AbortController();
  const child = start(ac.signal);
  if ("ready" in child) await child.ready;
  const t0 = performance.now();
  if (how === "kill") child.kill("SIGTERM");
  else ac.abort();
  const status = await within(child.status, `${how} of ${child.pid}`, 5000);
  return [plain(status), performance.now() - t0];
}

nsTest(
  "pid namespace: kill() and an AbortSignal give what Deno.Command gives",
  async (t) => {
    for (const how of ["kill", "abort"] as const) {
      await t.step(how, async () => {
        const [deno] = await stop(
          how,
          (signal) =>
            new Deno.Command("sleep", { args: ["30"], signal }).spawn(),
        );
        const [ours, ms] = await stop(
          how,
          (signal) =>
            new UsernsCommand("sleep", {
              args: ["30"],
              namespaces: ["pid"],
              signal,
            }).spawn(),
        );
        assert.deepEqual(deno, {
          success: false,
          code: 143,
          signal: "SIGTERM",
        });
        assert.deepEqual(ours, deno);
        // Promptly: within() gave it 5 s, a sixth of the sleep's own 30.
        assert.ok(ms < 5000, `stopped after ${ms.toFixed(0)} ms`);
      });
    }
  },
);

nsTest(
  "pid namespace: init false (--as-pid-1) keeps PID 1's deafness to SIGTERM",
  async () => {
    const child = new UsernsCommand("sleep", {
      args: ["30"],
      namespaces: ["pid"],
      init: false,
    }).spawn();
    await child.ready;
    child.kill("SIGTERM");
    const early = await Promise.race([child.status, delay(500)]);
    assert.equal(early, undefined, "PID 1 without a handler ignores SIGTERM");
    assert.ok(alive(child.pid));
    child.kill("SIGKILL"); // from outside the namespace, it still works
    assert.deepEqual(plain(await child.status), {
      success: false,
      code: 137,
      signal: "SIGKILL",
    });
  },
);

nsTest("pid namespace: exit 143 is not death by SIGTERM", async () => {
  for (
    const [script, want] of [
      ["exit 143", { success: false, code: 143, signal: null }],
      ["kill -TERM $$", { success: false, code: 143, signal: "SIGTERM" }],
    ] as const
  ) {
    const deno = await new Deno.Command("sh", { args: ["-c", script] })
      .output();
    const ours = await new UsernsCommand("sh", {
      args: ["-c", script],
      namespaces: ["pid"],
    }).output();
    const status = (
      o: Pick<Deno.CommandOutput, "success" | "code" | "signal">,
    ) => ({
      success: o.success,
      code: o.code,
      signal: o.signal,
    });
    assert.deepEqual(status(deno), want, script);
    assert.deepEqual(status(ours), want, script);
  }
});

/** The pids of the processes running `sleep ARG`. */
function sleeping(arg: string): number[] {
  return [...Deno.readDirSync("/proc")].flatMap((e) => {
    try {
      const cmd = Deno.readTextFileSync(`/proc/${e.name}/cmdline`);
      return cmd === `sleep\0${arg}\0` && alive(Number(e.name))
        ? [Number(e.name)]
        : [];
    } catch {
      return [];
    }
  });
}

/** The processes whose command line holds `arg`, but for this one. */
function running(arg: string): number[] {
  return [...Deno.readDirSync("/proc")].flatMap((e) => {
    const pid = Number(e.name);
    if (!pid || pid === Deno.pid) return [];
    try {
      const cmd = Deno.readTextFileSync(`/proc/${e.name}/cmdline`);
      return cmd.includes(arg) && alive(pid) ? [pid] : [];
    } catch {
      return [];
    }
  });
}

/**
 * Waits until `now()` is `want` (deep-equal): for what a process tree does
 * next, with no time guessed for it; fails after 10 s with what it was.
 *
 * @returns `then()` once it is, or the last value
 */
async function settles<T, R = T>(
  now: () => T,
  want: T,
  then?: () => R,
): Promise<R> {
  let last = now();
  for (const end = Date.now() + 10_000; Date.now() < end; await delay(10)) {
    last = now();
    try {
      assert.deepEqual(last, want);
      return (then ? then() : last) as R;
    } catch {
      // not yet
    }
  }
  assert.deepEqual(last, want);
  return (then ? then() : last) as R;
}

/** A process and its descendants as `pid comm state`. */
function tree(pid: number): string[] {
  let stat: string;
  try {
    stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return [];
  }
  const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
  const state = stat.slice(stat.lastIndexOf(")") + 2)[0];
  const kids = [...Deno.readDirSync(`/proc/${pid}/task`)].flatMap((t) =>
    Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/children`).trim()
      .split(" ").filter(Boolean).map(Number)
  );
  return [`${comm} ${state}`, ...kids.flatMap(tree)];
}

nsTest(
  "pid namespace: userns-init is PID 1, small, and reaps orphans",
  async (t) => {
    // The inner sh leaves `sleep 0.05` to PID 1 of the namespace and exits;
    // the command then runs on as `sleep 30`, until it is killed. The tree
    // is waited for, not given a time to settle in.
    const ORPHAN = "sh -c 'sleep 0.05 &'; exec sleep 30";
    await t.step("init: its name, its size, the orphan reaped", async () => {
      const child = new UsernsCommand("sh", {
        args: ["-c", ORPHAN],
        namespaces: ["pid"],
      }).spawn();
      await child.ready;
      const pid = child.pid;
      await settles(() => tree(pid), ["userns-init S", "sleep S"]);
      assert.equal(
        Deno.readTextFileSync(`/proc/${pid}/cmdline`),
        "userns-init\0",
      );
      const rss = Number(
        /^VmRSS:\s+(\d+) kB$/m.exec(
          Deno.readTextFileSync(`/proc/${pid}/status`),
        )?.[1],
      );
      assert.ok(rss > 0 && rss <= 2048, `userns-init holds ${rss} kB`);
      assert.deepEqual(tree(pid), ["userns-init S", "sleep S"]);
      child.kill("SIGKILL");
      await child.status;
    });
    await t.step(
      "the control: the command as PID 1 leaves a zombie",
      async () => {
        const child = new UsernsCommand("sh", {
          args: ["-c", ORPHAN],
          namespaces: ["pid"],
          init: false,
        }).spawn();
        await child.ready;
        await settles(() => tree(child.pid), ["sleep S", "sleep Z"]);
        child.kill("SIGKILL");
        await child.status;
      },
    );
    await t.step("a command that exits leaves nothing running", async () => {
      // A sleep that only this step starts, to find it by its arguments.
      const arg = `29.${Deno.pid}`;
      // The pause lets it execute sleep before the command exits.
      const script = `sleep ${arg} & sleep 0.1; exit 3`;
      // Not piped: output() would wait for the sleep to close the pipe.
      const quiet = { stdout: "null", stderr: "null" } as const;
      const out = await new UsernsCommand("sh", {
        args: ["-c", script],
        namespaces: ["pid"],
        ...quiet,
      }).output();
      assert.equal(out.code, 3, "the command's own status");
      // The namespace ends with its init: the background sleep is killed
      // and reaped, as under bwrap (and so is a shell that had not yet
      // executed it).
      assert.deepEqual(running(arg), []);
      assert.deepEqual(children(), []);
      // The control: without a pid namespace it runs on, as it would under
      // Deno.Command.
      const plainRun = await new UsernsCommand("sh", {
        args: ["-c", script],
        ...quiet,
      }).output();
      assert.equal(plainRun.code, 3);
      const left = await settles(
        () => sleeping(arg).length,
        1,
        () => sleeping(arg),
      );
      Deno.kill(left[0]!, "SIGKILL");
    });
  },
);

nsTest(
  "run --pid --as-pid-1: SIGTERM is ignored, SIGKILL of userns ends it",
  async () => {
    const proc = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        MAIN,
        "run",
        "--pid",
        "--as-pid-1",
        "--",
        "sleep",
        "30",
      ],
    }).spawn();
    // The command: userns's only child, once it has executed sleep.
    let pid = 0;
    for (let i = 0; i < 200 && !pid; i++, await delay(10)) {
      const kids = Deno.readTextFileSync(
        `/proc/${proc.pid}/task/${proc.pid}/children`,
      )
        .trim().split(" ").filter(Boolean).map(Number);
      const p = kids[0];
      if (
        p && Deno.readTextFileSync(`/proc/${p}/comm`).trim() === "sleep"
      ) pid = p;
    }
    assert.ok(pid, "sleep started");
    proc.kill("SIGTERM"); // forwarded to PID 1, which has no handler
    assert.equal(await Promise.race([proc.status, delay(500)]), undefined);
    assert.ok(alive(pid));
    proc.kill("SIGKILL");
    assert.equal((await proc.status).code, 137);
    assert.ok(await gone(pid), "the command died with userns");
  },
);

nsTest(
  "output() waits for a pipe a background process holds, as Deno.Command",
  async () => {
    // Run without top-level await, where only ref'd work keeps the
    // runtime alive: output() must keep it alive until the pipe's EOF.
    // The background process writes after the command has exited: output()
    // has it only if it waited for the pipe's end. No time is measured.
    const script = "(sleep 0.3; echo late) & echo hi; exit 3";
    const program = (make: string) =>
      `import { UsernsCommand } from "${ROOT}lib/mod.ts";\n` +
      `${make}.output().then((o) => console.log(o.code, ` +
      "JSON.stringify(new TextDecoder().decode(o.stdout))));";
    const run = async (make: string) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["eval", "--ext=ts", program(make)],
        stdout: "piped",
      }).output();
      return new TextDecoder().decode(out.stdout);
    };
    const args = JSON.stringify(["-c", script]);
    assert.equal(
      await run(`new Deno.Command("sh", { args: ${args} })`),
      '3 "hi\\nlate\\n"\n',
    );
    assert.equal(
      await run(`new UsernsCommand("sh", { args: ${args} })`),
      '3 "hi\\nlate\\n"\n',
    );
    // In a pid namespace the background subshell ends with the namespace.
    assert.equal(
      await run(
        `new UsernsCommand("sh", { args: ${args}, namespaces: ["pid"] })`,
      ),
      '3 "hi\\n"\n',
    );
  },
);
