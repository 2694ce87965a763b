// Faults: each gives a clear error (class, code, one-line message) and
// leaves nothing behind: no process, fd, zombie, or child waiting on its
// pipe. What hygiene_test.ts already covers (a fake helper that fails, an
// unmapped user, a hook that throws synchronously, SIGKILL in beforeExec,
// an abort in beforeExec or before spawn) is not repeated, except where a
// stage table needs it.
//
// Scenarios that need their own process (a PATH, a resource limit, no_new_
// privs) or an unprivileged caller run _faults.ts; as root they run as the
// unprivileged test user through runuser, so that they mean the same thing
// in both runs of the suite.
import assert from "node:assert/strict";
import {
  type UsernsChild,
  UsernsCommand,
  type UsernsCommandOptions,
  UsernsError,
} from "../../lib/mod.ts";
import { nsTest, PRIVILEGED, ROOT } from "./_env.ts";
import { runScenario, type ScenarioRun, UNPRIVILEGED_REASON } from "./_user.ts";
import {
  alive,
  children,
  delay,
  firstLine,
  gone,
  leavesNothing,
  typed,
  within,
} from "./_process.ts";

const FAULTS = "tests/integration/_faults.ts";
/** nsTest for a test that runs unprivileged scenarios: where root has no
 * user to run them as, ignored with the reason, or failed under CI. */
function unprivTest(name: string, fn: () => Promise<void>): void {
  nsTest(name, fn, UNPRIVILEGED_REASON);
}

/** Runs one _faults.ts scenario and asserts it passed. */
async function scenario(name: string, run: ScenarioRun = {}): Promise<void> {
  await runScenario(FAULTS, name, run);
}

// ---- what the test process holds -----------------------------------------

/** A command that leaves a file behind if it ever runs. */
function marker(): { args: string[]; ran: () => boolean; clean: () => void } {
  const dir = Deno.makeTempDirSync();
  const file = `${dir}/ran`;
  return {
    args: ["-c", `touch ${file}`],
    ran: () => {
      try {
        Deno.statSync(file);
        return true;
      } catch {
        return false;
      }
    },
    clean: () => Deno.removeSync(dir, { recursive: true }),
  };
}

// ---- helpers ----------------------------------------------------------------

unprivTest(
  "a missing helper: HELPER_MISSING when strict, else one warning and the own-id map",
  async () => {
    await scenario("helper-missing", { unprivileged: true });
  },
);

unprivTest(
  "a helper that refuses: an undelegated range before any clone; newuidmap under no_new_privs",
  async () => {
    await scenario("not-delegated", { unprivileged: true });
    await scenario("helper-refuses", {
      unprivileged: true,
      wrap: ["setpriv", "--no-new-privs"],
    });
  },
);

unprivTest(
  "a helper that fails: HELPER_FAILED quoting it, the child is gone, nothing left",
  async () => {
    await scenario("helper-fails", { unprivileged: true });
  },
);

// ---- the spawning process dies ------------------------------------------------

unprivTest(
  "userns SIGKILLed between clone and release, and after: the child is gone within a second",
  async () => {
    // The CLI, held by a newuidmap that takes 5 s, then running a command.
    await scenario("cli-killed", { unprivileged: true });
  },
);

nsTest(
  "a library process SIGKILLed while its child waits for release: the child is gone within a second",
  async () => {
    // As root no helper runs, so the window is made with a beforeExec hook
    // that never returns: the maps are written, the child is not released.
    const proc = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", ROOT + FAULTS, "hold"],
      env: { DENO_NO_UPDATE_CHECK: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const line = await firstLine(reader);
    const pid = Number(line.trim());
    try {
      assert.ok(pid > 0 && alive(pid), `the child ${line.trim()} is there`);
      const stat = () => {
        const s = Deno.readTextFileSync(`/proc/${pid}/stat`);
        return s.slice(s.lastIndexOf(")") + 2).split(" ");
      };
      assert.equal(
        Number(stat()[1]),
        proc.pid,
        "a child of the library process",
      );
      // It may still be closing fds on its way to the read() of its pipe.
      for (let i = 0; i < 100 && stat()[0] !== "S"; i++) await delay(10);
      assert.equal(stat()[0], "S", "asleep on its sync pipe");
      assert.notEqual(
        Deno.readTextFileSync(`/proc/${pid}/uid_map`),
        "",
        "mapped: only the release is missing",
      );
    } finally {
      proc.kill("SIGKILL");
      await proc.status;
      await reader.cancel();
    }
    const ok = await gone(pid);
    if (!ok) Deno.kill(pid, "SIGKILL"); // ours: not to be left behind
    assert.ok(ok, `the child ${pid} outlived its parent`);
    assert.deepEqual(children(), []);
  },
);

// ---- the command killed before it starts ----------------------------------

nsTest(
  "the command killed before it starts: its status says so and it never runs",
  async (t) => {
    await new UsernsCommand("true").output(); // the library is loaded
    // In a new pid namespace the child is its PID 1, which ignores every
    // signal it has no handler for but SIGKILL, a pending one too: the
    // status must still say which signal stopped it, as Deno.Command's does.
    const PID: Pick<UsernsCommandOptions, "namespaces"> = {
      namespaces: ["pid"],
    };
    const AS_PID_1 = { ...PID, init: false };
    const cases: [string, Deno.Signal, boolean, UsernsCommandOptions?][] = [
      ["SIGTERM right after spawn()", "SIGTERM", false],
      ["SIGKILL right after spawn()", "SIGKILL", false],
      ["SIGTERM in beforeExec", "SIGTERM", true], // SIGKILL: hygiene_test.ts
      ["SIGTERM right after spawn(), a pid namespace", "SIGTERM", false, PID],
      ["SIGINT right after spawn(), a pid namespace", "SIGINT", false, PID],
      ["SIGKILL right after spawn(), a pid namespace", "SIGKILL", false, PID],
      ["SIGTERM in beforeExec, a pid namespace", "SIGTERM", true, PID],
      ["SIGTERM right after spawn(), --as-pid-1", "SIGTERM", false, AS_PID_1],
      ["SIGHUP in beforeExec, --as-pid-1", "SIGHUP", true, AS_PID_1],
    ];
    const NUMBERS: Partial<Record<Deno.Signal, number>> = {
      SIGHUP: 1,
      SIGINT: 2,
      SIGKILL: 9,
      SIGTERM: 15,
    };
    for (const [name, signal, inHook, options] of cases) {
      await t.step(name, async () => {
        const m = marker();
        try {
          await leavesNothing(async () => {
            // The child blocks every signal until just before execve, so a
            // signal sent earlier takes effect then, and the command never
            // runs; SIGKILL takes effect at once.
            const child: UsernsChild = new UsernsCommand("sh", {
              ...options,
              args: m.args,
              beforeExec: inHook ? () => child.kill(signal) : undefined,
            }).spawn();
            if (!inHook) child.kill(signal);
            await within(child.ready.catch(() => {}), "ready");
            assert.deepEqual(await within(child.status, "the status"), {
              success: false,
              code: 128 + NUMBERS[signal]!,
              signal,
            });
            assert.ok(await gone(child.pid));
          });
          assert.ok(!m.ran(), "the command never ran");
        } finally {
          m.clean();
        }
      });
    }
  },
);

// ---- resources run out -------------------------------------------------------

nsTest(
  "fd exhaustion (ulimit -n 40): a typed EMFILE error, nothing kept, spawns again",
  async () => {
    await scenario("emfile", { fdLimit: 40 });
    // Unprivileged, the helpers need fds too: as root, that path runs as
    // the test user (unprivileged, the run above was it).
    if (PRIVILEGED) {
      await scenario("emfile", { fdLimit: 40, unprivileged: true });
    }
  },
  UNPRIVILEGED_REASON,
);

unprivTest(
  "pid exhaustion (RLIMIT_NPROC): clone fails with a typed EAGAIN, nothing kept",
  async () => {
    // Root is exempt from RLIMIT_NPROC: as root this runs as the test user.
    await scenario("nproc", { unprivileged: true });
  },
);

// ---- AbortSignal at each stage ---------------------------------------------

nsTest(
  "an AbortSignal at each stage: before spawn, before release, in beforeExec, after exec",
  async (t) => {
    await new UsernsCommand("true").output();
    const aborted = (e: unknown, re: RegExp) =>
      typed(e, UsernsError, "ABORTED", re);

    await t.step(
      "before spawn: spawn() throws, nothing is cloned",
      () =>
        leavesNothing(() => {
          const reason = new Error("early");
          assert.throws(
            () =>
              new UsernsCommand("true", { signal: AbortSignal.abort(reason) })
                .spawn(),
            (e) => {
              aborted(e, /^not started: the signal was already aborted$/);
              assert.equal((e as Error).cause, reason);
              return true;
            },
          );
        }),
    );

    type Make = (ac: AbortController, args: string[]) => UsernsCommand;
    const stages: [string, Make][] = [
      // As root the maps are written before spawn() returns; unprivileged the
      // helpers are still running (a slow helper: abort-during-maps below).
      [
        "right after spawn(), before release",
        (ac, args) => new UsernsCommand("sh", { args, signal: ac.signal }),
      ],
      ["in beforeExec", (ac, args) =>
        new UsernsCommand("sh", {
          args,
          signal: ac.signal,
          beforeExec: () => ac.abort(new Error("hook")),
        })],
    ];
    for (const [name, make] of stages) {
      await t.step(name, async () => {
        const m = marker();
        try {
          await leavesNothing(async () => {
            const ac = new AbortController();
            const child = make(ac, m.args).spawn();
            ac.abort(new Error("now")); // no-op when the hook did it
            // As Deno.Command's: the status says SIGTERM; ready says the
            // command never started, with the reason as the cause.
            assert.deepEqual(await within(child.status, "the status"), {
              success: false,
              code: 143,
              signal: "SIGTERM",
            });
            const e = await within(child.ready.catch((r) => r), "ready");
            aborted(e, /^aborted before the command started$/);
            assert.ok(
              (e as Error).cause instanceof Error,
              "the reason is kept",
            );
            assert.ok(await gone(child.pid), "the cloned child is gone");
          });
          assert.ok(!m.ran(), "the command never ran");
        } finally {
          m.clean();
        }
      });
    }

    await t.step(
      "after exec: SIGTERM, as Deno.Command does",
      () =>
        leavesNothing(async () => {
          const ac = new AbortController();
          const child = new UsernsCommand("sleep", {
            args: ["30"],
            signal: ac.signal,
          }).spawn();
          await within(child.ready, "ready");
          ac.abort();
          assert.deepEqual(await within(child.status, "the status"), {
            success: false,
            code: 143,
            signal: "SIGTERM",
          });
        }),
    );
  },
);

unprivTest(
  "an AbortSignal while newuidmap runs: SIGTERM status, ABORTED ready, the child never runs",
  async () => {
    await scenario("abort-during-maps", { unprivileged: true });
  },
);

// ---- beforeExec -------------------------------------------------------------

nsTest(
  "beforeExec that rejects, or throws a non-Error: HOOK, one line, nothing kept",
  async (t) => {
    const hooks: [string, () => Promise<void> | void, RegExp][] = [
      ["async rejection", async () => {
        await delay(1);
        throw new Error("later");
      }, /^beforeExec failed: later$/],
      ["a string", () => {
        throw "plain";
      }, /^beforeExec failed: plain$/],
      ["undefined", () => {
        throw undefined;
      }, /^beforeExec failed: undefined$/],
      ["a multi-line message", () => {
        throw new Error("first line\nsecond line");
      }, /^beforeExec failed: first line$/],
    ];
    for (const [name, hook, re] of hooks) {
      await t.step(name, async () => {
        const m = marker();
        try {
          await leavesNothing(async () => {
            const child = new UsernsCommand("sh", {
              args: m.args,
              beforeExec: hook,
            }).spawn();
            const e = await within(
              child.status.then(() => undefined, (e) => e),
              "the status",
            );
            typed(e, UsernsError, "HOOK", re);
            assert.ok(await gone(child.pid));
          });
          assert.ok(!m.ran(), "the command never ran");
        } finally {
          m.clean();
        }
      });
    }
  },
);
