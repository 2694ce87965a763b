// `enter` and the boundary (README, "The boundary"): what the target's root can do to the
// process that `userns enter` puts into its namespaces, tried from inside.
//
// Root entering a user's namespace: the entered process
// runs in a new session, so that it cannot type into root's terminal with
// TIOCSTI (with a terminal on stdin it gets a relayed pty of its own:
// `--tty` is the default there), and the namespace's root cannot read or
// attach it before it executes. A command that tries TIOCSTI stands for
// the namespace's root, which may ptrace the command once it runs.
//
// `enter` joins every namespace that differs (item 3): entering a `--root`
// sandbox sees the sandbox's files, mounts, root and namespaces, never the
// host's; a target that has exited is a clean refusal, not a join.
import assert from "node:assert/strict";
import { cli, MAIN, nsTest, PRIVILEGED, text } from "./_env.ts";
import { asUser, cliAsUser, UNPRIVILEGED_REASON, userMain } from "./_user.ts";
import { inUserns, usernsOf } from "./_pod.ts";
import {
  buildRootfs,
  removeRootfs,
  type Rootfs,
  rootfsReason,
} from "./_rootfs.ts";
import {
  buildTools,
  held,
  leaks,
  onTerminal,
  removeTools,
  secret,
  startTarget,
  startWatch,
  type Terminal,
  tiocstiReason,
  toolsReason,
} from "./_attack.ts";

/** `deno run -A main.ts` as root. */
const USERNS = [Deno.execPath(), "run", "-A", MAIN];

/**
 * Registers a test of root entering the test user's namespace: as root
 * (and under CI it fails when the test user or a tool is missing); ignored
 * when not root, where the suite's root run covers it.
 */
function rootTest(
  name: string,
  fn: (t: Deno.TestContext) => Promise<void>,
  needs?: string,
): void {
  nsTest(name, fn, needs ?? UNPRIVILEGED_REASON, "root");
}

/**
 * Asserts that nothing the entered `sti` did reached root's shell: it read
 * nothing once userns was done, `sti` ran in another session, and every
 * fd of `sti` on root's terminal was refused TIOCSTI.
 */
function untouched(term: Terminal, what: string): void {
  const all = `${what}:\n${term.output}`;
  assert.equal(term.code, 0, `${what}: userns failed:\n${term.output}`);
  assert.deepEqual(term.read, [], `root's shell read what was typed; ${all}`);
  assert.ok(term.stiSid !== undefined, `sti was never seen; ${all}`);
  assert.notEqual(term.stiSid, term.sid, `sti ran in root's session; ${all}`);
  for (const fd of ["fd0", "fd1", "fd2"]) {
    const [tty, result] = (term.sti[fd] ?? "").split(" ");
    if (tty === term.tty) {
      assert.notEqual(result, "pushed", `${fd} is root's terminal; ${all}`);
    }
  }
}

rootTest(
  "boundary: root enters a user's namespace: nothing typed reaches root's terminal (TIOCSTI), a new session, a pty of its own",
  async (t) => {
    const tools = await buildTools();
    const plain = await startTarget(["--", "/bin/sleep", "120"], true);
    const pid = await startTarget(["--pid", "--", "/bin/sleep", "120"], true);
    try {
      await t.step(
        "control: sti on root's terminal types into its shell",
        async () => {
          const tok = `ctl${secret().slice(0, 8)}`;
          const term = await onTerminal(tools, [tools.sti, tok], tok);
          assert.ok(
            term.read.includes(`${tok}-fd0`),
            `TIOCSTI did not reach the shell, nothing can be shown:\n${term.output}`,
          );
        },
      );
      const cases: [string, string[]][] = [
        ["enter PID", ["enter", String(plain.pid)]],
        ["enter --all --pid PID", ["enter", "--all", "--pid", String(pid.pid)]],
      ];
      for (const [what, enter] of cases) {
        await t.step(
          `${what}, stdin a terminal: a pty of its own`,
          async () => {
            const tok = `tty${secret().slice(0, 8)}`;
            const term = await onTerminal(
              tools,
              [...USERNS, ...enter, "--", tools.sti, tok],
              tok,
            );
            untouched(term, what);
            const [tty] = (term.sti.fd0 ?? "").split(" ");
            assert.match(
              tty!,
              /^\d+:\d+$/,
              `stdin is a terminal:\n${term.output}`,
            );
            assert.notEqual(
              tty,
              term.tty,
              `stdin is root's terminal:\n${term.output}`,
            );
          },
        );
        await t.step(
          `${what}, stdin not a terminal but stdout root's: a pty of its own, root's terminal on no fd`,
          async () => {
            const tok = `nul${secret().slice(0, 8)}`;
            const term = await onTerminal(tools, [
              "sh",
              "-c",
              'exec "$@" </dev/null',
              "sh",
              ...USERNS,
              ...enter,
              "--",
              tools.sti,
              tok,
            ], tok);
            untouched(term, `${what} </dev/null`);
            // A terminal passed on as stdout is open for reading too: what
            // root types later could be read from it.
            const [tty] = (term.sti.fd1 ?? "").split(" ");
            assert.match(
              tty!,
              /^\d+:\d+$/,
              `stdout is a terminal:\n${term.output}`,
            );
            assert.notEqual(
              tty,
              term.tty,
              `stdout is root's terminal:\n${term.output}`,
            );
          },
        );
      }
      await t.step("enter -t PID: a relayed pty", async () => {
        const tok = `opt${secret().slice(0, 8)}`;
        const term = await onTerminal(tools, [
          ...USERNS,
          "enter",
          "-t",
          String(plain.pid),
          "--",
          tools.sti,
          tok,
        ], tok);
        untouched(term, "enter -t PID");
        const [tty] = (term.sti.fd0 ?? "").split(" ");
        assert.match(tty!, /^\d+:\d+$/, `stdin is a terminal:\n${term.output}`);
        assert.notEqual(
          tty,
          term.tty,
          `stdin is root's terminal:\n${term.output}`,
        );
      });
    } finally {
      await plain.stop();
      await pid.stop();
      await removeTools(tools);
    }
  },
  toolsReason ?? tiocstiReason,
);

rootTest(
  "boundary: root enters a user's namespace: its root neither reads nor attaches the entered process before it executes",
  async () => {
    const tools = await buildTools();
    const dir = await Deno.makeTempDir({ prefix: "userns-watch-" });
    await Deno.chmod(dir, 0o777);
    const user = asUser([
      Deno.execPath(),
      "run",
      "-A",
      userMain(),
      "run",
      "--pid-file",
      `${dir}/pid`,
      "--",
      tools.watch,
    ]);
    const watch = await startWatch(user.argv, user.env);
    try {
      const target = (await Deno.readTextFile(`${dir}/pid`)).trim();
      const cases = [];
      for (const enter of [["enter"], ["enter", "--all"]]) {
        const key = secret();
        const out = await new Deno.Command(tools.hold, {
          args: [
            "1500",
            ...USERNS,
            ...enter,
            "--clear-env",
            target,
            "--",
            "/bin/sleep",
            "0.3",
          ],
          env: { USERNS_SECRET: key },
          stdin: "null",
          stdout: "null",
          stderr: "piped",
          signal: AbortSignal.timeout(60_000),
        }).output();
        const err = text(out.stderr);
        assert.equal(out.code, 0, `${enter.join(" ")}: ${err}`);
        cases.push({
          what: `${enter.join(" ")} ${target}`,
          leak: { secrets: [key], held: held(err), command: "sleep" },
        });
      }
      const seen = await watch.stop();
      assert.equal(seen.code, 0, seen.stderr);
      const problems = cases.flatMap((c) => leaks(seen.lines, c.leak, c.what));
      assert.deepEqual(problems, [], seen.lines.join("\n"));
    } finally {
      await watch.stop();
      await Deno.remove(dir, { recursive: true });
      await removeTools(tools);
    }
  },
  toolsReason,
);

/** What the entered process tells of where it is. */
const WHERE = (marker: string) =>
  [
    "cat /where",
    "for n in cgroup ipc mnt net pid time user uts; do readlink /proc/self/ns/$n; done",
    "stat -c %d:%i /",
    `cat ${marker} 2>/dev/null || echo unreachable`,
    `/bin/escape ${marker} || true`,
  ].join("; ");

/** What the host sees of the target: what the entered process must see. */
function whereIs(pid: number): string[] {
  const root = Deno.statSync(`/proc/${pid}/root`);
  return [
    "the sandbox side",
    ...["cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"].map((n) =>
      Deno.readLinkSync(`/proc/${pid}/ns/${n}`)
    ),
    `${root.dev}:${root.ino}`,
    "unreachable",
    "chroot: ok",
    "could not escape",
  ];
}

/** Runs the CLI as the test user or as the caller. */
function userns(
  user: boolean,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return user ? cliAsUser(args) : cli(args);
}

/** A busybox root the test user can read, with `/where` in it. */
async function sandboxRoot(): Promise<Rootfs> {
  const fs = await buildRootfs();
  await Deno.chmod(fs.dir, 0o755);
  await Deno.writeTextFile(`${fs.root}/where`, "the sandbox side\n");
  return fs;
}

for (const user of [false, true]) {
  const who = user ? "as the test user" : "as the caller";
  if (user && !PRIVILEGED) continue; // the caller is the test user
  nsTest(
    `boundary: enter PID joins every namespace of a --root sandbox that differs: its files, mounts, root, never the host's (${who})`,
    async (t) => {
      const fs = await sandboxRoot();
      const target = await startTarget([
        "--root",
        fs.root,
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--",
        "/bin/sleep",
        "120",
      ], user);
      try {
        for (const all of [[], ["--all"]]) {
          const enter = ["enter", ...all, String(target.pid)];
          await t.step(["enter", ...all, "PID"].join(" "), async () => {
            const out = await userns(user, [
              ...enter,
              "--",
              "/bin/sh",
              "-c",
              WHERE(fs.marker),
            ]);
            assert.equal(out.code, 0, out.stderr);
            assert.deepEqual(
              out.stdout.trim().split("\n"),
              whereIs(target.pid),
            );
            const mounts = await userns(user, [
              ...enter,
              "--",
              "/bin/cat",
              "/proc/self/mountinfo",
            ]);
            assert.equal(mounts.code, 0, mounts.stderr);
            assert.equal(
              mounts.stdout,
              Deno.readTextFileSync(`/proc/${target.pid}/mountinfo`),
            );
          });
        }
      } finally {
        await target.stop();
        removeRootfs(fs);
      }
    },
    toolsReason ?? rootfsReason ?? (user ? UNPRIVILEGED_REASON : undefined),
  );

  nsTest(
    `boundary: enter of a target that has exited (not yet reaped) is one line, exit 125, nothing runs (${who})`,
    async () => {
      const target = await startTarget([
        "--",
        "/bin/sh",
        "-c",
        "(exit 3) & exec /bin/sleep 120",
      ], user);
      try {
        const ns = usernsOf(target.pid)!;
        const zombie = await zombieOf(target.pid);
        const out = await userns(user, [
          "enter",
          String(zombie),
          "--",
          "/bin/echo",
          "entered",
        ]);
        assert.equal(
          out.code,
          125,
          `enter ${zombie} (exited, not reaped) ran: ${out.stdout}${out.stderr}`,
        );
        assert.equal(out.stdout, "", "the command never ran");
        assert.match(out.stderr, /^userns: [^\n]*\n$/, "one line");
        assert.match(out.stderr, new RegExp(`\\b${zombie}\\b`), "names it");
        assert.deepEqual(inUserns(ns), [target.pid], "nothing left running");
      } finally {
        await target.stop();
      }
    },
    user ? UNPRIVILEGED_REASON : undefined,
  );
}

/** The child of pid once it is a zombie (its parent never reaps it). */
async function zombieOf(pid: number): Promise<number> {
  for (const end = Date.now() + 10_000; Date.now() < end;) {
    const kids = Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`)
      .trim().split(" ").filter(Boolean).map(Number);
    for (const kid of kids) {
      const stat = Deno.readTextFileSync(`/proc/${kid}/stat`);
      if (stat.slice(stat.lastIndexOf(")") + 2)[0] === "Z") return kid;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no zombie child of ${pid}`);
}
