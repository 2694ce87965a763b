// Pods when things go wrong: a holder killed, a stale record naming a live
// unrelated process, a state directory that is not private, full or
// read-only, a stop with processes left inside, two starts racing. Each
// ends in one line and exit 125 (CLI) or a typed error (library), and
// leaves no holder and no stray file behind.
import assert from "node:assert/strict";
import { UsernsError, UsernsPod } from "../../lib/mod.ts";
import { cli, MAIN, nsTest, ROOT, text } from "./_env.ts";
import { alive, fdTargets, fdTargetsSettle, gone } from "./_process.ts";
import {
  type CliOutput,
  cmdline,
  holders,
  inUserns,
  killAll,
  PodPlace,
  usernsOf,
} from "./_pod.ts";

/** Asserts exit 125 and one line on stderr matching `re`. */
function refused(out: CliOutput, re: RegExp): void {
  assert.equal(out.code, 125, `${out.stdout}${out.stderr}`);
  assert.match(out.stderr, /^userns: [^\n]*\n$/, `one line: ${out.stderr}`);
  assert.match(out.stderr, re);
}

/** Asserts a UsernsError with `code` and a one-line message. */
function typed(e: unknown, code: string, re: RegExp): void {
  assert.ok(e instanceof UsernsError, `want a UsernsError, got ${e}`);
  assert.equal(e.code, code, e.message);
  assert.doesNotMatch(e.message, /\n/);
  assert.match(e.message, re);
}

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
            typed(
              await old.command("true").output().catch((e) => e),
              "POD_NOT_FOUND",
              new RegExp(`pod "${name}" is not running`),
            );
            typed(
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
          ["another user namespace", { userns: 1 }],
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
            typed(
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
        forge({ userns: 1 });
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
  "a state directory that is not private is refused: one line",
  async (t) => {
    const place = await PodPlace.create();
    const name = place.name("private");
    /** Start (CLI and library) and ls all refuse, and nothing is written. */
    const allRefuse = async (re: RegExp) => {
      refused(await place.cli(["start", name]), re);
      refused(await place.cli(["ls"]), re);
      const fds = fdTargets();
      await place.use(async () => {
        typed(await UsernsPod.start({ name }).catch((e) => e), "POD_STATE", re);
        assert.throws(
          () => UsernsPod.list(),
          (e: UsernsError) => e.code === "POD_STATE",
        );
      });
      assert.deepEqual(await fdTargetsSettle(fds), fds, "no fd left open");
      assert.deepEqual(place.holders(), []);
    };
    try {
      await t.step("mode 755", async () => {
        Deno.mkdirSync(place.state);
        Deno.chmodSync(place.state, 0o755);
        await allRefuse(
          new RegExp(
            `${place.state} is not a private directory of yours \\(owner ${Deno.uid()}, mode 755\\)`,
          ),
        );
        assert.deepEqual(place.files(), []);
        Deno.removeSync(place.state);
      });
      await t.step("a symbolic link to a private directory", async () => {
        const real = `${place.runtime}/real`;
        Deno.mkdirSync(real, { mode: 0o700 });
        Deno.symlinkSync(real, place.state);
        await allRefuse(/, a symbolic link\)/);
        assert.deepEqual([...Deno.readDirSync(real)], []);
        Deno.removeSync(place.state);
        Deno.removeSync(real);
      });
      await t.step("another owner", async () => {
        // Made by inside uid 1, which is some other uid outside.
        const out = await cli([
          "run",
          "--",
          "sh",
          "-c",
          'mkdir -m 700 "$1" && chown 1:1 "$1"',
          "sh",
          place.state,
        ]);
        assert.equal(out.code, 0, out.stderr);
        const owner = Deno.statSync(place.state).uid;
        assert.notEqual(owner, Deno.uid());
        await allRefuse(new RegExp(`\\(owner ${owner}, mode 700\\)`));
        Deno.removeSync(place.state);
      });
      await t.step(
        "no XDG_RUNTIME_DIR, or a relative one: /tmp/userns-UID",
        async () => {
          // In a mount namespace of its own with a fresh /tmp, where the user
          // is root: /tmp/userns-0.
          const script = (xdg: string) =>
            `${xdg} "$1" run -A "$2" start --map root "$3" && ` +
            `stat -c '%a %u %F' /tmp/userns-0 && ls -A /tmp/userns-0 && ` +
            `${xdg} "$1" run -A "$2" stop "$3" && ls -A /tmp/userns-0`;
          for (
            const xdg of ["env -u XDG_RUNTIME_DIR", "env XDG_RUNTIME_DIR=run"]
          ) {
            // The tree may be under /tmp (a copy, as CI makes): at /mnt.
            const out = await cli([
              "run",
              "--bind",
              ROOT,
              "/mnt",
              "--tmpfs",
              "/tmp",
              "--",
              "sh",
              "-c",
              script(xdg),
              "sh",
              Deno.execPath(),
              "/mnt/main.ts",
              name,
            ]);
            assert.equal(out.code, 0, out.stderr);
            assert.equal(out.stdout, `700 0 directory\n${name}.json\n`);
          }
          assert.deepEqual(place.holders(), []);
        },
      );
      place.assertStopped();
    } finally {
      await place.close();
    }
  },
);

/**
 * Sets up the state directory DIR as asked in a mount namespace of its own
 * (where the caller is root), then runs `userns start --map root NAME` with
 * it, and lists what is left in DIR/userns.
 */
const STATE_FAULT = `d=$1 how=$2; shift 2
case $how in
almost) mount -t tmpfs -o size=4k,mode=700 t "$d" ;;
full) mount -t tmpfs -o size=4k,mode=700 t "$d" && mkdir -m 700 "$d/userns" &&
  { cat /dev/zero >"$d/fill" 2>/dev/null; true; } ;;
ro-parent) mount -t tmpfs -o ro,mode=700 t "$d" ;;
ro) mount -t tmpfs -o mode=700 t "$d" && mkdir -m 700 "$d/userns" &&
  mount -o remount,ro "$d" ;;
esac || exit 99
XDG_RUNTIME_DIR=$d "$@" 2>&1
echo "exit $?"
ls -A "$d/userns" 2>&1
exit 0`;

nsTest(
  "a full or read-only state directory: one line, nothing left",
  async (t) => {
    const place = await PodPlace.create();
    const dir = `${place.runtime}/xdg`;
    Deno.mkdirSync(dir, { mode: 0o700 });
    try {
      for (
        const [how, why, left] of [
          // room for the claim, none for the record: the holder has started
          // by then and must go
          [
            "almost",
            /cannot record pod "[^"]+" in .*: No space left on device/,
            "",
          ],
          [
            "full",
            /cannot record pod "[^"]+" in .*: No space left on device/,
            "",
          ],
          [
            "ro-parent",
            /cannot create .*\/xdg\/userns: Read-only file system/,
            "ls: ",
          ],
          ["ro", /cannot record pod "[^"]+" in .*: Read-only file system/, ""],
        ] as const
      ) {
        await t.step(how, async () => {
          const name = place.name(how);
          const out = await cli([
            "run",
            "--",
            "sh",
            "-c",
            STATE_FAULT,
            "sh",
            dir,
            how,
            Deno.execPath(),
            "run",
            "-A",
            MAIN,
            "start",
            "--map",
            "root",
            name,
          ]);
          assert.equal(out.code, 0, out.stderr);
          const [line, exit, ...rest] = out.stdout.split("\n");
          assert.match(line!, /^userns: /);
          assert.match(line!, why);
          assert.equal(exit, "exit 125");
          assert.ok(rest.join("\n").startsWith(left), `left: ${rest}`);
          if (!left) assert.deepEqual(rest, [""], "no file left");
          assert.deepEqual(holders(name), [], "no holder left");
        });
      }
      place.assertStopped();
    } finally {
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
      typed(
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
