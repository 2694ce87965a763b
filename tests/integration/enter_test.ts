// Joining the namespaces of a running process: library and CLI.
import assert from "node:assert/strict";
import {
  EnterCommand,
  UsernsCommand,
  type UsernsError,
} from "../../lib/mod.ts";
import { children, cli, fdsSettle, nsTest, openFds, text } from "./_env.ts";

/** A target namespace: sleep under a new hostname and pid namespace. */
async function target() {
  const child = new UsernsCommand("sleep", {
    args: ["30"],
    hostname: "inner",
    mountProc: true,
    stdin: "null",
  }).spawn();
  await child.ready;
  return child;
}

nsTest(
  "EnterCommand joins the user namespace and, with all, the others",
  async (t) => {
    const tgt = await target();
    const link = (ns: string) => Deno.readLinkSync(`/proc/${tgt.pid}/ns/${ns}`);
    try {
      await t.step("all: hostname, identity, pid namespace", async () => {
        const out = await new EnterCommand(tgt.pid, "sh", {
          args: [
            "-c",
            "hostname; id -u; readlink /proc/self/ns/user /proc/self/ns/uts; echo $$",
          ],
          namespaces: "all",
        }).output();
        assert.equal(out.code, 0, text(out.stderr));
        assert.deepEqual(text(out.stdout).trim().split("\n"), [
          "inner",
          "0",
          link("user"),
          link("uts"),
          "3", // userns-init is PID 1 of the target's namespace, it PID 2
        ]);
      });
      await t.step("every namespace that differs by default", async () => {
        const out = await new EnterCommand(tgt.pid, "sh", {
          args: ["-c", "readlink /proc/self/ns/user /proc/self/ns/uts"],
        }).output();
        assert.deepEqual(text(out.stdout).trim().split("\n"), [
          link("user"),
          link("uts"),
        ]);
      });
      await t.step(
        "only the user namespace when no other is named",
        async () => {
          const out = await new EnterCommand(tgt.pid, "sh", {
            args: ["-c", "readlink /proc/self/ns/user /proc/self/ns/uts"],
            namespaces: [],
          }).output();
          assert.deepEqual(text(out.stdout).trim().split("\n"), [
            link("user"),
            Deno.readLinkSync("/proc/self/ns/uts"),
          ]);
        },
      );
      await t.step("exit status and nothing left behind", async () => {
        const fds = openFds();
        const out = await new EnterCommand(tgt.pid, "sh", {
          args: ["-c", "exit 4"],
          namespaces: ["pid"],
        }).output();
        assert.equal(out.code, 4);
        await assert.rejects(
          new EnterCommand(tgt.pid, "no-such-command-userns").output(),
          (e) =>
            e instanceof Deno.errors.NotFound &&
            (e as UsernsError).code === "EXEC_NOT_FOUND",
        );
        assert.deepEqual(await fdsSettle(fds), fds);
        assert.deepEqual(children(), [tgt.pid]);
      });
      await t.step("CLI: enter --all, exit codes", async () => {
        const out = await cli([
          "enter",
          "--all",
          String(tgt.pid),
          "--",
          "hostname",
        ], { stdout: "piped" });
        assert.deepEqual([out.code, out.stdout], [0, "inner\n"]);
        const code = await cli([
          "enter",
          String(tgt.pid),
          "sh",
          "-c",
          "exit 6",
        ]);
        assert.equal(code.code, 6);
      });
    } finally {
      tgt.kill("SIGKILL");
      await tgt.status;
    }
  },
);

nsTest(
  "enter: a process in our own namespace, or none, is a clear error",
  async () => {
    const own = await cli(["enter", String(Deno.pid), "true"], {
      stderr: "piped",
    });
    assert.equal(own.code, 125);
    assert.match(
      own.stderr,
      /^userns: enter: process \d+ is in your own user namespace: .*; .*\n$/,
    );
    const none = await cli(["enter", "4194000", "true"], { stderr: "piped" });
    assert.equal(none.code, 125);
    assert.match(
      none.stderr,
      /^userns: cannot read \/proc\/4194000\/ns\/user: no such process; /,
    );
    // Not a pid: the name of a pod.
    const bad = await cli(["enter", "x", "true"], { stderr: "piped" });
    assert.equal(bad.code, 125);
    assert.match(
      bad.stderr,
      /^userns: no pod named "x"; see userns ls, or start it with userns start\n$/,
    );
  },
);
