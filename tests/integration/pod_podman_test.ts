// Podman inside a pod, as the unprivileged test user (nsuser when the suite
// runs as root): a container that `podman run -d` started in one
// `userns run --in NAME` is still there for `podman exec` and `podman stop`
// in later, separate calls (which fails across separate `userns run`
// namespaces), and `userns stop` leaves no process behind: no conmon, no
// runc, no container process, no podman pause process. One image, built
// offline in the sandbox's private storage, serves both steps.
import assert from "node:assert/strict";
import { nsTest } from "./_env.ts";
import { buildBusyboxImage, PODMAN_RUN } from "./_image.ts";
import { containerReason } from "./_image.ts";
import type { Output } from "./_user.ts";
import { Sandbox } from "./_sandbox.ts";
import { holders, killAll } from "./_pod.ts";

/** `podman run -d` as it works here (see PODMAN_RUN), without `--rm`. */
const PODMAN_RUN_D = [...PODMAN_RUN.filter((a) => a !== "--rm"), "-d"];

/** What the container runs: an argument no other process has. */
const SLEEP = ["sleep", "86399"];

/** Processes of the test: the sandbox's (conmon, runc, podman's pause
 * process, by their command line or environment), the container's sleep,
 * and the pod's holder. */
async function left(sb: Sandbox, pod: string): Promise<string[]> {
  const ps = await new Deno.Command("ps", {
    args: ["-eo", "pid=,args="],
    stdin: "null",
  }).output();
  const mine = new TextDecoder().decode(ps.stdout).split("\n").filter((l) =>
    / sleep 86399$/.test(l) || l.includes(`userns-pause ${pod}`) ||
    /\b(conmon|runc|catatonit)\b/.test(l) && l.includes(sb.dir)
  ).map((l) => l.trim());
  return [...new Set([...mine, ...sb.leftovers()])];
}

/** Asserts exit 0, and returns stdout. */
function ok(out: Output, what: string): string {
  assert.equal(out.code, 0, `${what}: exit ${out.code}: ${out.stderr}`);
  return out.stdout;
}

nsTest(
  "podman in a pod: run -d, then exec and stop from later calls",
  async (t) => {
    const sb = await Sandbox.create();
    try {
      const image = await buildBusyboxImage(sb);
      const pod = `pm${Deno.pid}`;
      const inPod = (name: string, argv: string[]) =>
        sb.userns(["run", "--in", name, "--", ...argv]);

      await t.step(
        "the container outlives the call that started it",
        async () => {
          ok(await sb.userns(["start", pod]), "userns start");
          const id = ok(
            await inPod(pod, [
              ...PODMAN_RUN_D,
              "--name",
              "c1",
              image,
              ...SLEEP,
            ]),
            "podman run -d",
          ).trim();
          assert.match(id, /^[0-9a-f]{64}$/);
          const exec = ok(
            await inPod(pod, [
              "podman",
              "exec",
              "c1",
              "sh",
              "-c",
              "id -u; cat /proc/1/cmdline | tr '\\0' ' '",
            ]),
            "podman exec",
          );
          assert.equal(exec, "0\nsleep 86399 ");
          const ps = ok(
            await inPod(pod, [
              "podman",
              "ps",
              "--format",
              "{{.Names}} {{.Status}}",
            ]),
            "podman ps",
          );
          assert.match(ps, /^c1 Up .*\n$/);
        },
      );

      await t.step("a separate userns run cannot exec into it", async () => {
        const out = await sb.userns([
          "run",
          "--",
          "podman",
          "exec",
          "c1",
          "true",
        ]);
        assert.notEqual(out.code, 0, "exec from another namespace");
        assert.match(out.stderr, /Error: /);
      });

      await t.step("podman stop and rm from later calls", async () => {
        assert.equal(
          ok(await inPod(pod, ["podman", "stop", "-t", "0", "c1"]), "stop"),
          "c1\n",
        );
        const ps = ok(
          await inPod(pod, ["podman", "ps", "-a", "--format", "{{.Status}}"]),
          "podman ps -a",
        );
        assert.match(ps, /^Exited \(137\) .*\n$/, "killed: -t 0");
        ok(await inPod(pod, ["podman", "rm", "c1"]), "podman rm");
        const out = await sb.userns(["stop", pod]);
        assert.deepEqual(
          out,
          { code: 0, stdout: "", stderr: "" },
          "none remain",
        );
        assert.deepEqual(await left(sb, pod), []);
      });

      await t.step(
        "a pod with a pid namespace: stop ends a running container",
        async () => {
          const pid = `${pod}p`;
          ok(await sb.userns(["start", "--pid", "--mount-proc", pid]), "start");
          ok(
            await inPod(pid, [
              ...PODMAN_RUN_D,
              "--name",
              "c2",
              image,
              ...SLEEP,
            ]),
            "podman run -d",
          );
          const running = await left(sb, pid);
          assert.ok(running.some((l) => / sleep 86399$/.test(l)), `${running}`);
          assert.ok(running.some((l) => /\bconmon\b/.test(l)), `${running}`);
          const out = await sb.userns(["stop", pid]);
          assert.deepEqual(out, { code: 0, stdout: "", stderr: "" });
          assert.deepEqual(
            await left(sb, pid),
            [],
            "conmon and sleep ended too",
          );
        },
      );
    } finally {
      // A step that failed leaves its pod: its holder, then the storage.
      killAll(holders(`pm${Deno.pid}`));
      const problems = await sb.close();
      if (problems.length) console.error(problems.join("\n"));
    }
  },
  containerReason,
);
