// Pods when things go wrong: a holder killed (reaped or a zombie), a stale
// handle, a stale record naming a live unrelated process, a stop with
// processes left inside, a name taken, two starts racing. Each ends in one
// line and exit 125 (CLI) or a typed error (library), and leaves no holder
// and no stray file behind. (The state directory's faults:
// pod_statedir_test.ts.)
import assert from "node:assert/strict";
import { UsernsPod } from "../../lib/mod.ts";
import { nsTest, ROOT, text } from "./_env.ts";
import { alive, fdTargets, fdTargetsSettle, gone } from "./_process.ts";
import {
  cmdline,
  holders,
  inUserns,
  killAll,
  podError,
  PodPlace,
  refused,
  usernsOf,
} from "./_pod.ts";

/** The start time of a process (field 22 of /proc/PID/stat). */
function startTime(pid: number): number {
  const s = Deno.readTextFileSync(`/proc/${pid}/stat`);
  return Number(s.slice(s.lastIndexOf(")") + 2).split(" ")[19]);
}

nsTest(
  "a holder killed by SIGKILL: its pod is gone, its name free",
  async (t) => {
    const place = await PodPlace.create();
    try {
      await t.step(
        "CLI: run --in says it is not running; the record goes",
        async () => {
          const name = place.name("killed");
          await place.must(["start", name]);
          const [holder] = place.holders();
          Deno.kill(holder!, "SIGKILL");
          assert.ok(await gone(holder!));
          refused(
            await place.cli(["run", "--in", name, "--", "true"]),
            new RegExp(
              `pod "${name}" is not running \\(its holder, pid ${holder}, is gone\\)`,
            ),
          );
          assert.deepEqual(place.files(), [], "the stale record is removed");
          assert.equal(await place.must(["ls", "--json"]), "[]\n");
          await place.must(["start", name]);
          await place.must(["stop", name]);
        },
      );

      await t.step(
        "killed but not reaped (a zombie) is not running either",
        async () => {
          // Where PID 1 reaps late or never, the holder stays a zombie: see
          // _zombie.ts, which keeps it one on purpose.
          const name = place.name("zombie");
          const out = await new Deno.Command(Deno.execPath(), {
            args: ["run", "-A", `${ROOT}tests/integration/_zombie.ts`, name],
            env: place.env,
            stdin: "null",
          }).output();
          assert.equal(out.code, 0, text(out.stderr));
          const r = JSON.parse(text(out.stdout));
          assert.equal(r.zombie, "Z", "the old holder was still a zombie");
          assert.equal(r.runIn.code, 125, r.runIn.stderr);
          assert.match(
            r.runIn.stderr,
            new RegExp(`pod "${name}" is not running`),
          );
          assert.equal(r.ls.stdout, "[]\n");
          assert.equal(r.restart.code, 0, `start again: ${r.restart.stderr}`);
          assert.equal(r.stop.code, 0, r.stop.stderr);
          assert.deepEqual(place.files(), []);
        },
      );

      await t.step(
        "library: a stale handle neither runs nor forgets a new pod",
        async () => {
          const name = place.name("handle");
          await place.use(async () => {
            const old = await UsernsPod.start({ name });
            Deno.kill(old.pid, "SIGKILL");
            assert.ok(await gone(old.pid));
            podError(
              await old.command("true").output().catch((e) => e),
              "POD_NOT_FOUND",
              new RegExp(`pod "${name}" is not running`),
            );
            podError(
              (() => {
                try {
                  return UsernsPod.open(name);
                } catch (e) {
                  return e;
                }
              })(),
              "POD_NOT_FOUND",
              /is not running/,
            );
            await place.must(["start", name]);
            const [fresh] = place.holders();
            // The old handle's stop must leave the new pod alone.
            assert.deepEqual(await old.stop(), { remaining: 0 });
            assert.ok(alive(fresh!));
            assert.deepEqual(UsernsPod.list().map((p) => [p.name, p.pid]), [
              [name, fresh],
            ]);
            await UsernsPod.open(name).stop();
          });
        },
      );
      place.assertStopped();
    } finally {
      await place.close();
    }
  },
);

nsTest(
  "a stale record naming a live unrelated process: never used, never killed",
  async (t) => {
    const place = await PodPlace.create();
    const sleep = new Deno.Command("sleep", {
      args: ["60"],
      stdin: "null",
      stdout: "null",
    }).spawn();
    const name = place.name("reused");
    const forge = (fields: Record<string, unknown>) => {
      Deno.mkdirSync(place.state, { recursive: true, mode: 0o700 });
      const rec = {
        name,
        pid: sleep.pid,
        start: startTime(sleep.pid),
        userns: Deno.statSync(`/proc/${sleep.pid}/ns/user`).ino,
        namespaces: ["user", "pid", "mount"],
        uid: [{ inner: 0, outer: Deno.uid(), count: 1 }],
        gid: [{ inner: 0, outer: Deno.gid(), count: 1 }],
        setgroups: "deny",
        created: new Date().toISOString(),
        ...fields,
      };
      Deno.writeTextFileSync(
        `${place.state}/${name}.json`,
        JSON.stringify(rec),
      );
    };
    const notRunning = new RegExp(`pod "${name}" is not running`);
    try {
      for (
        const [why, fields] of [
          ["another start time", { start: 1 }],
          // above pid_max (2^22 at most): no process has it
          ["a pid no process has", { pid: 2 ** 22 + 1 }],
        ] as const
      ) {
        await t.step(`${why}: stop, run --in, enter refuse it`, async () => {
          for (
            const args of [
              ["stop", name],
              ["run", "--in", name, "--", "true"],
              ["enter", name, "--", "true"],
            ]
          ) {
            forge(fields);
            refused(await place.cli(args), notRunning);
            assert.deepEqual(place.files(), [], "removed as stale");
          }
          forge(fields);
          await place.use(async () => {
            podError(
              await Promise.resolve().then(() => UsernsPod.open(name)).catch((
                e,
              ) => e),
              "POD_NOT_FOUND",
              notRunning,
            );
          });
          assert.ok(alive(sleep.pid), "the unrelated process still runs");
        });
      }
      await t.step("ls drops it; start takes the name", async () => {
        forge({ start: 1 });
        assert.equal(await place.must(["ls", "--json"]), "[]\n");
        assert.deepEqual(place.files(), []);
        forge({ pid: 2 ** 22 + 1 });
        await place.must(["start", name]);
        const [holder] = place.holders();
        assert.ok(holder !== undefined && holder !== sleep.pid);
        await place.must(["stop", name]);
        // A claim of a start whose starter is not the process named.
        Deno.writeTextFileSync(
          `${place.state}/${name}.json`,
          JSON.stringify({ starting: sleep.pid, start: 1 }),
        );
        await place.must(["start", name]);
        await place.must(["stop", name]);
        assert.ok(alive(sleep.pid), "the unrelated process still runs");
      });
      place.assertStopped();
    } finally {
      sleep.kill("SIGKILL");
      await sleep.status;
      await place.close();
    }
  },
);

nsTest(
  "stop with processes inside: killed with a pid namespace, else counted",
  async (t) => {
    const place = await PodPlace.create();
    const orphan = "sleep 300 </dev/null >/dev/null 2>&1 &";
    try {
      await t.step("with a pid namespace: every process goes", async () => {
        const name = place.name("withpid");
        await place.must(["start", "--pid", name]);
        await place.must(["run", "--in", name, "--", "sh", "-c", orphan]);
        const [holder] = place.holders();
        const ns = usernsOf(holder!)!;
        assert.equal(inUserns(ns).length, 2, "the holder and sleep");
        const [info] = JSON.parse(await place.must(["ls", "--json"]));
        assert.equal(info.processes, 2);
        assert.deepEqual(await place.cli(["stop", name]), {
          code: 0,
          stdout: "",
          stderr: "",
        });
        assert.deepEqual(inUserns(ns), []);
      });
      await t.step("without: they go on, and stop says how many", async () => {
        const name = place.name("nopid");
        await place.must(["start", name]);
        await place.must(["run", "--in", name, "--", "sh", "-c", orphan]);
        await place.must(["run", "--in", name, "--", "sh", "-c", orphan]);
        const [holder] = place.holders();
        const ns = usernsOf(holder!)!;
        const out = await place.cli(["stop", name]);
        assert.equal(out.code, 0);
        assert.equal(
          out.stderr,
          `userns: warning: pod "${name}" stopped; 2 processes still run in its namespaces (it had no pid namespace of its own)\n`,
        );
        assert.ok(await gone(holder!));
        const left = inUserns(ns);
        assert.equal(left.length, 2, "both sleeps still run");
        assert.ok(left.every((pid) => cmdline(pid) === "sleep 300"));
        killAll(left);
      });
      await t.step("library: stop() says how many remain", async () => {
        await place.use(async () => {
          for (
            const [namespaces, remaining] of [[["pid"], 0], [[], 1]] as const
          ) {
            const pod = await UsernsPod.start({
              name: place.name(`lib${remaining}`),
              namespaces: [...namespaces],
            });
            const ns = usernsOf(pod.pid)!;
            const out = await pod.command("sh", { args: ["-c", orphan] })
              .output();
            assert.equal(out.code, 0);
            assert.deepEqual(await pod.stop(), { remaining });
            assert.equal(inUserns(ns).length, remaining);
            killAll(inUserns(ns));
          }
        });
      });
      place.assertStopped();
    } finally {
      await place.close();
    }
  },
);

nsTest("a name that exists: POD_EXISTS, and nothing else started", async () => {
  const place = await PodPlace.create();
  try {
    await place.use(async () => {
      const name = place.name("taken");
      await using pod = await UsernsPod.start({ name });
      const fds = fdTargets();
      podError(
        await UsernsPod.start({ name }).catch((e) => e),
        "POD_EXISTS",
        new RegExp(`pod "${name}" exists \\(holder pid ${pod.pid}\\)`),
      );
      assert.deepEqual(await fdTargetsSettle(fds), fds, "no fd left open");
      assert.deepEqual(holders(name), [pod.pid]);
      assert.deepEqual(place.files(), [`${name}.json`]);
    });
    place.assertStopped();
  } finally {
    await place.close();
  }
});

nsTest("two starts of one name racing: exactly one wins", async () => {
  const place = await PodPlace.create();
  try {
    for (let round = 0; round < 20; round++) {
      const name = place.name(`race${String(round).padStart(2, "0")}`);
      const outs = await Promise.all([
        place.cli(["start", name]),
        place.cli(["start", name]),
      ]);
      const won = outs.filter((o) => o.code === 0);
      const lost = outs.filter((o) => o.code !== 0);
      assert.equal(won.length, 1, `round ${round}: ${JSON.stringify(outs)}`);
      refused(
        lost[0]!,
        new RegExp(`pod "${name}" (exists|is being started)`),
      );
      assert.equal(holders(name).length, 1, "no holder of the loser");
      assert.deepEqual(place.files(), [`${name}.json`]);
      await place.use(() => UsernsPod.open(name).stop());
      assert.deepEqual(place.files(), []);
      // The next round races on creating the state directory too.
      Deno.removeSync(place.state);
    }
    assert.deepEqual(place.holders(), []);
    place.assertStopped();
  } finally {
    await place.close();
  }
});

nsTest(
  "a process whose main thread has ended while another thread runs (as a pod's root can make of the holder through ptrace) is alive, not gone",
  async () => {
    const dir = Deno.makeTempDirSync({ prefix: "userns-zleader-" });
    try {
      Deno.writeTextFileSync(
        `${dir}/z.c`,
        `#include <pthread.h>
#include <unistd.h>
static void *run(void *a) { (void)a; pause(); return 0; }
int main(void)
{
	pthread_t t;
	pthread_create(&t, 0, run, 0);
	pthread_exit(0);
}
`,
      );
      const cc = await new Deno.Command("cc", {
        args: ["-o", `${dir}/z`, `${dir}/z.c`, "-lpthread"],
      }).output();
      assert.ok(cc.success, text(cc.stderr));
      const native = await import(`${ROOT}ffi/process.ts`);
      const leader = new Deno.Command(`${dir}/z`).spawn();
      try {
        // "Z" in /proc/PID/stat once its main thread has ended.
        let state = "";
        for (let i = 0; i < 200 && state !== "Z"; i++) {
          await new Promise((r) => setTimeout(r, 10));
          state = Deno.readTextFileSync(`/proc/${leader.pid}/stat`)
            .split(") ")[1]![0]!;
        }
        assert.equal(state, "Z");
        assert.equal(
          native.startTime(leader.pid),
          startTime(leader.pid),
          "a leader with a live thread counts as alive",
        );
      } finally {
        leader.kill("SIGKILL");
        await leader.status;
      }
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
);
