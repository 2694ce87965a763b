// Fault scenarios that need a process of their own: a PATH, a resource limit
// or no_new_privs that must not touch the test runner, or an unprivileged
// caller when the suite runs as root. fault_test.ts runs
// `deno run -A _faults.ts SCENARIO` (as the unprivileged test user when
// root, through runuser); a scenario exits 0 or throws what went wrong.
//
// It deliberately does not import _env.ts, whose probe spawns a namespace
// at load (which would fail under no_new_privs and use up the limits).
import assert from "node:assert/strict";
import {
  HelperError,
  IdMapError,
  rangesFor,
  readSubIdFileSync,
  SpawnError,
  type UsernsChild,
  UsernsCommand,
  UsernsError,
} from "../../lib/mod.ts";
import { currentIdentity } from "../../lib/system/identity.ts";
import { startNative } from "../../ffi/spawn.ts";
import {
  alive,
  children,
  delay,
  gone,
  leavesNothing,
  typed,
  within,
} from "./_process.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const MAIN = `${ROOT}main.ts`;

// ---- what a process holds ----------------------------------------------

/** Fields of /proc/PID/stat after the command name, or undefined. */
function stat(pid: number): string[] | undefined {
  try {
    const s = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return s.slice(s.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

async function waitFor(what: string, ok: () => boolean, ms = 10_000) {
  for (const end = Date.now() + ms; !ok(); await delay(20)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
  }
}

const exists = (path: string) => {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
};

/** This process's children that are newuidmap or newgidmap and have not
 * ended (a zombie has). */
function mapHelpers(): number[] {
  return children().filter((pid) => {
    try {
      const s = Deno.readTextFileSync(`/proc/${pid}/stat`);
      const comm = s.slice(s.indexOf("(") + 1, s.lastIndexOf(")"));
      const state = s.slice(s.lastIndexOf(")") + 2, s.lastIndexOf(")") + 3);
      return (comm === "newuidmap" || comm === "newgidmap") && state !== "Z";
    } catch {
      return false; // gone
    }
  });
}

/** Writes executable newuidmap/newgidmap scripts into dir. */
function fakeHelpers(dir: string, body: (name: string) => string): void {
  for (const name of ["newuidmap", "newgidmap"]) {
    Deno.writeTextFileSync(`${dir}/${name}`, `#!/bin/sh\n${body(name)}\n`);
    Deno.chmodSync(`${dir}/${name}`, 0o755);
  }
}

/** The helpers run with an empty environment: the scripts use full paths. */
const REAL = (name: string) => `exec /usr/bin/${name} "$@"`;

async function withPath<T>(
  dir: string,
  fn: () => Promise<T>,
): Promise<T> {
  const path = Deno.env.get("PATH") ?? "";
  Deno.env.set("PATH", `${dir}:${path}`);
  try {
    return await fn();
  } finally {
    Deno.env.set("PATH", path);
  }
}

/** Temporary directories, removed when the scenario ends, however. */
const temps: string[] = [];
function tempDir(): string {
  const dir = Deno.makeTempDirSync({ prefix: "userns-fault-" });
  temps.push(dir);
  return dir;
}

// ---- scenarios ------------------------------------------------------------

const SCENARIOS: Record<string, () => Promise<void>> = {
  /** No newuidmap on PATH: strict fails before clone, non-strict falls back. */
  async "helper-missing"() {
    const empty = tempDir();
    const path = Deno.env.get("PATH") ?? "";
    // Nothing on PATH at all, so the commands are given by full path.
    Deno.env.set("PATH", empty);
    try {
      await leavesNothing(() => {
        let thrown: unknown;
        try {
          new UsernsCommand("/bin/true", { strict: true }).spawn();
        } catch (e) {
          thrown = e; // thrown by spawn() itself: planned before clone
        }
        typed(
          thrown,
          HelperError,
          "HELPER_MISSING",
          // The helper is installed, just not on this PATH: that is said.
          /^newuidmap is at \/usr\/bin\/newuidmap but not on PATH \(PATH=.*\): it maps the subordinate ids; add \/usr\/bin to PATH$/,
        );
      });
      await leavesNothing(async () => {
        const warnings: string[] = [];
        const out = await new UsernsCommand("/bin/cat", {
          args: ["/proc/self/uid_map", "/proc/self/gid_map"],
          onWarning: (w) => warnings.push(w),
        }).output();
        assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
        assert.equal(warnings.length, 1, "one warning");
        assert.match(
          warnings[0]!,
          /^newuidmap is at \/usr\/bin\/newuidmap but not on PATH \(PATH=[^)]*\): mapping only your own uid and gid; add \/usr\/bin to PATH$/,
        );
        assert.doesNotMatch(warnings[0]!, /\n/);
        const id = currentIdentity();
        const lines = new TextDecoder().decode(out.stdout).trim().split("\n")
          .map((l) => l.trim().split(/\s+/).join(" "));
        assert.deepEqual(lines, [`0 ${id.uid} 1`, `0 ${id.gid} 1`]);
      });
    } finally {
      Deno.env.set("PATH", path);
    }
  },

  /** An explicit range outside the delegated ones is refused before clone. */
  async "not-delegated"() {
    const id = currentIdentity();
    const mine = rangesFor(readSubIdFileSync("/etc/subuid"), {
      name: id.name,
      uid: id.uid,
    });
    assert.ok(mine.length > 0, "the test user has subordinate uids");
    // Past the end of every delegated range: delegated to nobody we know.
    const outer = Math.max(...mine.map((r) => r.start + r.count)) + 1000;
    const dir = tempDir();
    // Helpers that record that they ran, then do the real job.
    fakeHelpers(
      dir,
      (name) => `echo "${name} $*" >>"${dir}/ran"\n${REAL(name)}`,
    );
    await withPath(dir, async () => {
      await leavesNothing(() => {
        let thrown: unknown;
        try {
          new UsernsCommand("true", {
            uidMap: [
              { inner: 0, outer: id.uid, count: 1 },
              { inner: 1, outer, count: 10 },
            ],
          }).spawn();
        } catch (e) {
          thrown = e;
        }
        typed(
          thrown,
          IdMapError,
          "MAP_NOT_DELEGATED",
          new RegExp(
            `^uid map line 2 "1 ${outer} 10": outside uids ${outer}-${
              outer + 9
            } are not delegated to you in /etc/subuid; map only ids ` +
              "delegated to you \\(userns subids\\), or ask an admin for more " +
              '\\("userns subids --suggest" prints the usermod line for a free ' +
              "one\\)$",
          ),
        );
      });
      assert.ok(!exists(`${dir}/ran`), "no helper ran: nothing was cloned");
      // The same with a delegated range runs, through the recording helper.
      const ok = await new UsernsCommand("true", {
        uidMap: [
          { inner: 0, outer: id.uid, count: 1 },
          { inner: 1, outer: mine[0]!.start, count: 10 },
        ],
      }).output();
      assert.equal(ok.code, 0);
      assert.match(Deno.readTextFileSync(`${dir}/ran`), /^newuidmap \d+ /m);
    });
  },

  /** Helpers that fail (exit 1 with a message): HELPER_FAILED naming the
   * helper and quoting it, and nothing is left. */
  async "helper-fails"() {
    const dir = tempDir();
    fakeHelpers(dir, (name) => `echo "${name}: refused" >&2\nexit 1`);
    await withPath(dir, async () => {
      await leavesNothing(async () => {
        const e = await new UsernsCommand("/bin/true").output().then(
          () => undefined,
          (e) => e,
        );
        typed(
          e,
          HelperError,
          "HELPER_FAILED",
          /^new[ug]idmap exited 1: "new[ug]idmap: refused"; /,
        );
      });
    });
  },

  /**
   * Helpers that ended before their deadline, whose exits are taken in one
   * batch with the deadline's event: the spawn succeeds. The event loop is
   * kept busy until the helpers have ended (the waiter thread queues their
   * exits meanwhile) and the deadline has passed. A run whose helpers were
   * still running at the deadline (a loaded machine) proves nothing and is
   * made again with a longer one.
   */
  async "late-deadline"() {
    await new UsernsCommand("true").output(); // the helpers are found
    for (let timeout = 500; timeout <= 8000; timeout *= 2) {
      const started = performance.now();
      const child = new UsernsCommand("cat", {
        args: ["/proc/self/uid_map"],
        helperTimeout: timeout,
        stdout: "piped",
      }).spawn();
      let late = false;
      for (;;) {
        const running = mapHelpers().length > 0;
        const now = performance.now() - started;
        if (running && now >= timeout) late = true;
        if (!running && now > timeout + 50) break;
      }
      if (late) {
        await child.output().catch(() => {});
        continue;
      }
      await within(child.ready, "ready");
      const out = await within(child.output(), "the output");
      assert.equal(out.code, 0);
      // Unprivileged, more than the own id means the helpers wrote it.
      const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
      if (Deno.uid() !== 0) assert.ok(lines.length > 1, lines.join(" | "));
      return;
    }
    throw new Error("the helpers never ended before their deadline");
  },

  /** Under no_new_privs the real setuid newuidmap refuses: HELPER_FAILED. */
  async "helper-refuses"() {
    const status = Deno.readTextFileSync("/proc/self/status");
    assert.match(status, /^NoNewPrivs:\s+1$/m, "run under no_new_privs");
    const dir = tempDir();
    await leavesNothing(async () => {
      const child = new UsernsCommand("sh", {
        args: ["-c", `touch ${dir}/ran`],
      }).spawn();
      const e = await within(
        child.status.then(() => undefined, (e) => e),
        "the status",
      );
      typed(
        e,
        HelperError,
        "HELPER_FAILED",
        /^new[ug]idmap exited 1: "new[ug]idmap: [^"]*Operation not permitted"; /,
      );
      assert.match(
        (e as HelperError).hint ?? "",
        /^no_new_privs is set/,
        "the hint names the cause",
      );
      assert.equal(
        await within(child.ready.catch((r) => r), "ready"),
        e,
        "ready says it too",
      );
      assert.ok(await gone(child.pid), "the cloned child is gone");
      assert.ok(!exists(`${dir}/ran`), "the command never ran");
    });
  },

  /** The CLI SIGKILLed between clone and release, then after release. */
  async "cli-killed"() {
    const dir = tempDir();
    // newuidmap takes 5 s: the CLI is held between clone and release. The
    // script records itself, the CLI ($PPID) and the child ($1).
    fakeHelpers(
      dir,
      (name) =>
        name === "newuidmap"
          ? `echo "$$ $PPID $1" >"${dir}/held.tmp"\n/bin/mv "${dir}/held.tmp" "${dir}/held"\n/bin/sleep 5\n${
            REAL(name)
          }`
          : REAL(name),
    );
    const cli = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "run", "--", "sleep", "30"],
      env: { PATH: `${dir}:${Deno.env.get("PATH")}` },
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    let helper: number[] = [];
    let child = 0;
    try {
      await waitFor("the slow newuidmap", () => exists(`${dir}/held`));
      const [script, parent, pid] = Deno.readTextFileSync(`${dir}/held`)
        .trim().split(" ").map(Number) as [number, number, number];
      helper = [script];
      child = pid;
      assert.equal(parent, cli.pid, "newuidmap was started by the CLI");
      const s = stat(pid);
      assert.ok(s, `the cloned child ${pid} exists`);
      assert.equal(Number(s[1]), cli.pid, "its parent is the CLI");
      // It may still be closing fds on its way to the read() of its pipe.
      await waitFor("the child to sleep", () => stat(pid)?.[0] === "S", 1000);
      assert.equal(
        Deno.readTextFileSync(`/proc/${pid}/uid_map`),
        "",
        "not mapped yet: between clone and release",
      );
      cli.kill("SIGKILL");
      assert.equal((await cli.status).signal, "SIGKILL");
      assert.ok(await gone(pid), `the cloned child ${pid} outlived the CLI`);
    } finally {
      // The fake helper and its sleep, and on a failure the child: ours.
      for (const pid of [...helper.flatMap(descendants), child]) {
        try {
          if (pid > 0 && alive(pid)) Deno.kill(pid, "SIGKILL");
        } catch { /* gone */ }
      }
      try {
        cli.kill("SIGKILL");
      } catch { /* gone */ }
      await cli.status;
    }

    // After release: the command is running; the CLI dies, so does it.
    const run = new Deno.Command(Deno.execPath(), {
      // As inside uid 1, another outside uid than the CLI's: switching to it
      // clears the parent-death signal, which the child must set again.
      args: [
        "run",
        "-A",
        MAIN,
        "run",
        "--user",
        "1",
        "--group",
        "1",
        "--",
        "sh",
        "-c",
        "echo; exec sleep 30",
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = run.stdout.getReader();
    await reader.read(); // the command is running
    const [cmd] = descendants(run.pid).slice(1);
    try {
      assert.ok(cmd && alive(cmd), "the command runs");
      run.kill("SIGKILL");
      await run.status;
      await reader.cancel();
      assert.ok(await gone(cmd), `the command ${cmd} outlived the CLI`);
    } finally {
      for (const pid of [run.pid, cmd ?? 0]) {
        try {
          if (pid > 0 && alive(pid)) Deno.kill(pid, "SIGKILL");
        } catch { /* gone */ }
      }
    }
  },

  /** An AbortSignal while newuidmap runs: the status says SIGTERM (as
   * Deno.Command's), ready rejects with ABORTED; the command never runs. */
  async "abort-during-maps"() {
    const dir = tempDir();
    fakeHelpers(
      dir,
      (name) => `/bin/touch "${dir}/started"\n/bin/sleep 0.5\n${REAL(name)}`,
    );
    await withPath(dir, () =>
      leavesNothing(async () => {
        const ac = new AbortController();
        const child = new UsernsCommand("sh", {
          args: ["-c", `touch ${dir}/ran`],
          signal: ac.signal,
        }).spawn();
        await waitFor("the slow helper", () => exists(`${dir}/started`));
        const reason = new Error("stop");
        ac.abort(reason);
        assert.deepEqual(await within(child.status, "the status"), {
          success: false,
          code: 143,
          signal: "SIGTERM",
        });
        const e = await within(child.ready.catch((e) => e), "ready");
        typed(
          e,
          UsernsError,
          "ABORTED",
          /^aborted before the command started$/,
        );
        assert.equal(e.cause, reason, "the abort reason is the cause");
        assert.ok(await gone(child.pid), "the cloned child is gone");
        assert.ok(!exists(`${dir}/ran`), "the command never ran");
      }));
  },

  /**
   * Spawns until the fds run out (run under `ulimit -n 40`): a typed EMFILE
   * error, nothing kept, and spawning works again once fds are free.
   */
  async emfile() {
    // Cold: the very first spawn of this process meets EMFILE (reading
    // /etc/passwd and /etc/subuid). Once fds are free it must see the caller
    // as before, not as a failed read left it (nameless, so without the
    // ranges listed under its name).
    await leavesNothing(async () => {
      const held: Deno.FsFile[] = [];
      try {
        for (;;) held.push(Deno.openSync("/dev/null"));
      } catch { /* none left */ }
      let error: unknown;
      try {
        new UsernsCommand("true").spawn();
      } catch (e) {
        error = e;
      } finally {
        for (const f of held) f.close();
      }
      assert.ok(error instanceof UsernsError, `typed: ${Deno.inspect(error)}`);
      assert.equal(error.errno, "EMFILE", error.message);
      assert.match(error.message, /EMFILE.*(open files|ulimit -n)/);
      const privileged = Deno.uid() === 0;
      const out = await new UsernsCommand("cat", {
        args: ["/proc/self/uid_map"],
        strict: !privileged,
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      assert.deepEqual(
        [out.success, out.code, out.signal],
        [true, 0, null],
        new TextDecoder().decode(out.stderr),
      );
      const lines = text.trim().split("\n").map((l) => l.trim().split(/\s+/));
      const me = currentIdentity();
      const ranges = rangesFor(readSubIdFileSync("/etc/subuid"), {
        name: me.name,
        uid: me.uid,
      });
      if (privileged && ranges.length === 0) {
        // Root without ranges maps the whole ID space onto itself.
        assert.deepEqual(lines, [["0", "0", "4294967295"]]);
      } else {
        // The own id as 0, then each range listed under the caller's name:
        // as before the failure.
        assert.deepEqual(lines[0], ["0", String(me.uid), "1"], text);
        assert.equal(lines.length, 1 + ranges.length, text);
      }
    });
    await leavesNothing(async () => {
      const kids: UsernsChild[] = [];
      let error: unknown;
      for (let i = 0; i < 200 && error === undefined; i++) {
        try {
          const child = new UsernsCommand("sleep", {
            args: ["30"],
            stdin: "null",
          }).spawn();
          kids.push(child);
          await within(child.ready, "ready");
        } catch (e) {
          error = e;
        }
      }
      assert.ok(error, "ran out of fds");
      assert.ok(error instanceof UsernsError, `typed: ${Deno.inspect(error)}`);
      assert.equal(error.errno, "EMFILE", error.message);
      assert.match(error.message, /EMFILE/);
      assert.doesNotMatch(error.message, /\n/);
      // It is not a missing program: what to do is raise ulimit -n.
      assert.match(error.message, /open files|ulimit -n/, error.message);
      assert.ok(kids.length >= 3, `${kids.length} spawns before EMFILE`);
      for (const k of kids) {
        try {
          k.kill("SIGKILL");
        } catch { /* the failed one has ended */ }
      }
      await within(
        Promise.allSettled(kids.map((k) => k.status)),
        "the statuses",
      );
      for (const k of kids) assert.ok(await gone(k.pid), `${k.pid} is gone`);
    });
    // Every fd budget from none up, so that each call in turn is the one
    // that runs out (a sub-ID file, a pipe, /dev/null, the pidfd, a
    // helper's pipe): the error must say EMFILE and what to do about it.
    const held: Deno.FsFile[] = [];
    const errors: UsernsError[] = [];
    let spawned = 0;
    await leavesNothing(async () => {
      try {
        for (;;) held.push(Deno.openSync("/dev/null"));
      } catch (e) {
        assert.equal((e as { code?: string }).code, "EMFILE", String(e));
      }
      for (let free = 0; free <= 20 && held.length > 0; free++) {
        let error: unknown;
        try {
          const child = new UsernsCommand("true", {
            stdin: "null",
            stdout: "null",
            stderr: "null",
          }).spawn();
          error = await within(
            child.status.then(() => undefined, (e) => e),
            "the status",
          );
        } catch (e) {
          error = e;
        }
        if (error === undefined) spawned++;
        else {
          assert.ok(error instanceof UsernsError, Deno.inspect(error));
          errors.push(error);
        }
        held.pop()!.close();
      }
      for (const f of held.splice(0)) f.close();
    });
    const wrong = errors.filter((e) =>
      e.errno !== "EMFILE" || !/EMFILE/.test(e.message) ||
      !/open files|ulimit -n/.test(e.message) || /\n/.test(e.message)
    );
    assert.deepEqual(
      wrong.map((e) => `${e.name} ${e.code} ${e.errno}: ${e.message}`),
      [],
      "every error says EMFILE and to raise ulimit -n",
    );
    assert.ok(errors.length >= 3, `${errors.length} budgets too small`);
    assert.ok(spawned >= 1, "a budget large enough spawns");
    const again = await new UsernsCommand("sh", { args: ["-c", "exit 3"] })
      .output();
    assert.equal(again.code, 3, "spawns again once fds are free");
  },

  /**
   * Spawns until RLIMIT_NPROC stops clone(): SpawnError EAGAIN. The limit is
   * lowered (soft) from inside once the runtime's threads exist, to what
   * this user runs now plus 6: as `ulimit -u` before start would, without
   * guessing how many threads the runtime will want. Root is exempt.
   */
  async nproc() {
    assert.notEqual(Deno.uid(), 0, "RLIMIT_NPROC does not bind root");
    const map = "root" as const; // no helper: the limit hits clone() itself
    // A few at once, so that the blocking pool has its threads already.
    await Promise.all(
      [1, 2, 3].map(() => new UsernsCommand("true", { map }).output()),
    );
    const libc = Deno.dlopen(
      "libc.so.6",
      {
        getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
        setrlimit: { parameters: ["i32", "buffer"], result: "i32" },
      } as const,
    );
    const RLIMIT_NPROC = 6;
    const saved = new BigUint64Array(2);
    assert.equal(libc.symbols.getrlimit(RLIMIT_NPROC, saved), 0);
    const tasks = tasksOf(Deno.uid()!);
    const limit = new BigUint64Array([BigInt(tasks + 6), saved[1]!]);
    try {
      await leavesNothing(async () => {
        const kids: UsernsChild[] = [];
        let error: unknown;
        assert.equal(libc.symbols.setrlimit(RLIMIT_NPROC, limit), 0);
        try {
          for (let i = 0; i < 64 && error === undefined; i++) {
            try {
              const child = new UsernsCommand("sleep", {
                args: ["30"],
                stdin: "null",
                map,
              }).spawn();
              kids.push(child);
              await within(child.ready, "ready");
            } catch (e) {
              error = e;
            }
          }
        } finally {
          assert.equal(libc.symbols.setrlimit(RLIMIT_NPROC, saved), 0);
        }
        typed(
          error,
          SpawnError,
          "NAMESPACE",
          /^cannot create the namespaces: EAGAIN; the process limit is reached; check ulimit -u$/,
        );
        assert.equal((error as SpawnError).errno, "EAGAIN");
        // Usually 5: what the kernel counts can differ from this snapshot of
        // /proc by the threads other processes of the user start or end
        // meanwhile, so no exact number is asserted; 64 spawns without an
        // error (the limit not enforced) fail above.
        for (const k of kids) k.kill("SIGKILL");
        const statuses = await within(
          Promise.all(kids.map((k) => k.status)),
          "the statuses",
        );
        assert.ok(statuses.every((s) => s.signal === "SIGKILL"));
      });
      const again = await new UsernsCommand("sh", {
        args: ["-c", "exit 3"],
        map,
      }).output();
      assert.equal(again.code, 3, "spawns again under the old limit");
    } finally {
      libc.close();
    }
  },

  /**
   * Held in beforeExec (mapped, not released) until the test SIGKILLs this
   * process; prints the child's pid.
   */
  async hold() {
    const timer = setTimeout(() => {}, 60_000);
    const child = new UsernsCommand("sleep", {
      args: ["30"],
      beforeExec: (pid) => {
        console.log(pid);
        return new Promise(() => {});
      },
    }).spawn();
    await child.status.finally(() => clearTimeout(timer));
  },
};

/** pid and all its descendants, parents first. */
function descendants(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      for (const t of Deno.readDirSync(`/proc/${out[i]}/task`)) {
        const list = Deno.readTextFileSync(
          `/proc/${out[i]}/task/${t.name}/children`,
        ).trim();
        if (list) out.push(...list.split(" ").map(Number));
      }
    } catch { /* gone */ }
  }
  return out;
}

/** Tasks (threads) of processes whose real uid is uid: what NPROC counts. */
function tasksOf(uid: number): number {
  let n = 0;
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const s = Deno.readTextFileSync(`/proc/${e.name}/status`);
      if (Number(/^Uid:\s+(\d+)/m.exec(s)?.[1]) === uid) {
        n += Number(/^Threads:\s+(\d+)/m.exec(s)?.[1]);
      }
    } catch { /* gone */ }
  }
  return n;
}

if (import.meta.main) {
  // The library's own lasting fds (its context, its file) exist before any
  // scenario looks at the fds; nothing is read or spawned yet.
  startNative();
  const name = Deno.args[0] ?? "";
  const scenario = SCENARIOS[name];
  if (!scenario) throw new Error(`no scenario "${name}"`);
  try {
    await scenario();
  } finally {
    for (const dir of temps) Deno.removeSync(dir, { recursive: true });
  }
  console.error(`scenario ${name}: ok`);
}
