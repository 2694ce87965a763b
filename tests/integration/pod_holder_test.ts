// A process inside a pod attacks the pod's holder: as the pod's root it
// ptraces userns-pause and makes it run a system call of its choosing,
// unshare(CLONE_NEWUSER) (the holder leaves the pod's user namespace for a
// nested one) or prctl(PR_SET_DUMPABLE, 0) (an unprivileged caller can no
// longer look at its namespaces). Neither may make the pod forgotten:
// `ls` still lists it and `stop` still kills the holder and, with a pid
// namespace, every process of the pod; without one it counts those left.
import assert from "node:assert/strict";
import { nsTest } from "./_env.ts";
import { compileC, scratchDir } from "./_cache.ts";
import { gone } from "./_process.ts";
import { holders, inUserns, killAll, PodPlace, usernsOf } from "./_pod.ts";

/**
 * `inject PID unshare|undumpable`: attaches to PID (the holder: 1 in the
 * pod's pid namespace), which sits in rt_sigtimedwait, runs the system
 * call in its place by backing its instruction pointer over the 2-byte
 * `syscall` instruction, then puts it back into its wait. x86_64 only.
 */
const INJECT = `#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>

static int stopped(pid_t pid)
{
\tint st;

\treturn waitpid(pid, &st, __WALL) == pid && WIFSTOPPED(st);
}

int main(int argc, char **argv)
{
\tpid_t pid = atoi(argv[1]);
\tstruct user_regs_struct saved, regs;

\tif (ptrace(PTRACE_ATTACH, pid, 0, 0) < 0 || !stopped(pid) ||
\t    ptrace(PTRACE_GETREGS, pid, 0, &saved) < 0) {
\t\tperror("inject: attach");
\t\treturn 1;
\t}
\tregs = saved;
\tregs.rip = saved.rip - 2;
\tregs.orig_rax = -1;
\tif (strcmp(argv[2], "unshare") == 0) {
\t\tregs.rax = SYS_unshare;
\t\tregs.rdi = CLONE_NEWUSER;
\t} else {
\t\tregs.rax = SYS_prctl;
\t\tregs.rdi = PR_SET_DUMPABLE;
\t\tregs.rsi = 0;
\t}
\tif (ptrace(PTRACE_SETREGS, pid, 0, &regs) < 0)
\t\treturn 1;
\tfor (int i = 0; i < 2; i++) /* the call's entry, then its exit */
\t\tif (ptrace(PTRACE_SYSCALL, pid, 0, 0) < 0 || !stopped(pid))
\t\t\treturn 1;
\tif (ptrace(PTRACE_GETREGS, pid, 0, &regs) < 0)
\t\treturn 1;
\tprintf("%s: %lld\\n", argv[2], (long long)regs.rax);
\t/* Its wait again, as if nothing had happened. */
\tsaved.rip -= 2;
\tsaved.rax = saved.orig_rax;
\tif (ptrace(PTRACE_SETREGS, pid, 0, &saved) < 0 ||
\t    ptrace(PTRACE_DETACH, pid, 0, 0) < 0)
\t\treturn 1;
\treturn regs.rax != 0;
}
`;

/** The injector, compiled once, where the pod's root may execute it. */
function injector(): string {
  const dir = scratchDir("userns-inject-");
  Deno.chmodSync(dir, 0o755);
  compileC(INJECT, `${dir}/inject`, ["-O2", "-Wall"]);
  return `${dir}/inject`;
}

const X86_64 = Deno.build.arch === "x86_64"
  ? undefined
  : "the injector is written for x86_64";

nsTest(
  "a pod process that moves or hides the holder does not make stop forget the pod",
  async (t) => {
    const inject = injector();
    const place = await PodPlace.create();
    const orphan = "sleep 300 </dev/null >/dev/null 2>&1 &";
    try {
      for (
        const [call, pid] of [
          ["unshare", true],
          ["unshare", false],
          ["undumpable", true],
        ] as const
      ) {
        const name = place.name(`${call}-${pid ? "pid" : "nopid"}`);
        await t.step(
          `${call}, ${pid ? "with" : "without"} a pid namespace`,
          async () => {
            await place.must(["start", ...(pid ? ["--pid"] : []), name]);
            await place.must(["run", "--in", name, "--", "sh", "-c", orphan]);
            const [holder] = holders(name);
            const ns = usernsOf(holder!)!;
            assert.equal(inUserns(ns).length, 2, "the holder and sleep");
            // The holder is 1 in the pod's pid namespace, where the
            // injector runs then; else its host pid.
            const target = pid ? "1" : String(holder);
            const out = await place.cli(
              ["run", "--in", name, "--", inject, target, call],
            );
            assert.equal(out.code, 0, out.stderr);
            assert.equal(out.stdout, `${call}: 0\n`);
            if (call === "unshare") {
              assert.notEqual(usernsOf(holder!), ns, "the holder moved");
            }
            const [listed] = JSON.parse(await place.must(["ls", "--json"]));
            assert.equal(listed?.pid, holder, "ls still lists it");
            const stop = await place.cli(["stop", name]);
            assert.equal(stop.code, 0, stop.stderr);
            assert.ok(await gone(holder!), "the holder is killed");
            assert.deepEqual(place.files(), [], "and forgotten");
            if (pid) {
              assert.equal(stop.stderr, "");
              assert.deepEqual(inUserns(ns), [], "every process is gone");
            } else {
              assert.match(stop.stderr, /; 1 process still runs in its/);
              assert.equal(inUserns(ns).length, 1, "sleep is left");
              killAll(inUserns(ns));
            }
          },
        );
      }
      place.assertStopped();
    } finally {
      await place.close();
    }
  },
  X86_64,
);
