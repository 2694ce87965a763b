// Pods through the library: UsernsPod.start/open/list/command/stop and
// await using, commands with mounts, namespaces and a root on top of the
// pod's, and what a spawn into a pod costs. Each test has its own
// XDG_RUNTIME_DIR and pod names, and kills what it left in `finally`.
import assert from "node:assert/strict";
import { UsernsError, UsernsPod } from "../../lib/mod.ts";
import { nsTest, text } from "./_env.ts";
import { alive, gone } from "./_process.ts";
import { cmdline, inUserns, PodPlace, usernsOf } from "./_pod.ts";
import { shuffledRounds } from "../bench/_stats.ts";

const link = (pid: number | "self", ns: string) =>
  Deno.readLinkSync(`/proc/${pid}/ns/${ns}`);

nsTest(
  "UsernsPod: start, open, list, command, stop, await using",
  async (t) => {
    const place = await PodPlace.create();
    try {
      await place.use(async () => {
        const name = place.name("lib");
        const pod = await UsernsPod.start({
          name,
          namespaces: ["uts"],
          hostname: "libhost",
        });
        const sh = async (
          script: string,
          o: Parameters<typeof pod.command>[1] = {},
        ) => {
          const out = await pod.command("sh", { args: ["-c", script], ...o })
            .output();
          assert.equal(out.code, 0, text(out.stderr));
          return text(out.stdout);
        };
        await t.step("start: a named holder, recorded", () => {
          assert.equal(pod.name, name);
          assert.deepEqual(place.holders(), [pod.pid]);
          assert.deepEqual(pod.namespaces, ["user", "uts", "mount"]);
          const [info] = UsernsPod.list();
          assert.equal(info?.name, name);
          assert.equal(info?.pid, pod.pid);
          assert.deepEqual(info?.namespaces, ["user", "uts", "mount"]);
          assert.equal(info?.processes, 1);
        });

        await t.step(
          "command joins: state is kept between commands",
          async () => {
            assert.equal(
              await sh("mount -t tmpfs lib /mnt && echo one >/mnt/f; hostname"),
              "libhost\n",
            );
            assert.equal(
              await sh("cat /mnt/f; readlink /proc/self/ns/user"),
              `one\n${link(pod.pid, "user")}\n`,
            );
          },
        );

        await t.step(
          "output() waits for a background process's output",
          async () => {
            // sh ends at once; its background job holds stdout a while.
            assert.equal(await sh("(sleep 0.2; echo late) &"), "late\n");
          },
        );

        await t.step("mounts, new namespaces and a root on top", async () => {
          // A tmpfs over /mnt in a mount namespace of its own, on top of the
          // pod's: the command sees it, the next one the pod's again.
          assert.equal(
            await sh("ls -A /mnt; hostname", {
              mounts: [{ type: "tmpfs", target: "/mnt" }],
              namespaces: ["uts"],
              hostname: "top",
            }),
            "top\n",
          );
          assert.equal(await sh("cat /mnt/f; hostname"), "one\nlibhost\n");
          const root = await Deno.makeTempDir();
          try {
            await Deno.mkdir(`${root}/bin`);
            await Deno.copyFile("/bin/busybox", `${root}/bin/busybox`);
            const out = await pod.command("/bin/busybox", {
              args: ["sh", "-c", "/bin/busybox ls -A /; echo $$"],
              root,
              namespaces: ["pid"],
              stdout: "piped",
            }).output();
            // A new pid namespace and /proc on top of the pod's, with a root.
            assert.equal(
              text(out.stdout),
              "bin\nproc\n2\n",
              text(out.stderr),
            );
          } finally {
            await Deno.remove(root, { recursive: true });
          }
        });

        await t.step("map options are refused", async () => {
          const e = await pod.command("true", { map: "root" } as never).output()
            .catch((e) => e);
          assert.ok(e instanceof UsernsError, String(e));
          assert.equal(e.code, "INVALID_ARGUMENT");
        });

        await t.step("open() attaches to a pod the CLI started", async () => {
          const other = place.name("fromcli");
          await place.must(["start", other]);
          const opened = UsernsPod.open(other);
          assert.equal(cmdline(opened.pid), `userns-pause ${other}`);
          assert.deepEqual(opened.namespaces, ["user", "mount"]);
          const out = await opened.command("readlink", {
            args: ["/proc/self/ns/user"],
          }).output();
          assert.equal(text(out.stdout), `${link(opened.pid, "user")}\n`);
          assert.deepEqual(
            UsernsPod.list().map((p) => p.name).sort(),
            [other, name].sort(),
          );
          assert.deepEqual(await opened.stop(), { remaining: 0 });
          assert.ok(await gone(opened.pid));
          assert.throws(
            () => UsernsPod.open(other),
            (e: UsernsError) => e.code === "POD_NOT_FOUND",
          );
        });

        await t.step("stop(): the holder and the record go", async () => {
          const ns = usernsOf(pod.pid)!;
          assert.deepEqual(await pod.stop(), { remaining: 0 });
          assert.equal(alive(pod.pid), false);
          assert.deepEqual(inUserns(ns), []);
          assert.deepEqual(UsernsPod.list(), []);
          assert.deepEqual(place.files(), []);
        });

        await t.step(
          "await using stops it at the end of the block",
          async () => {
            let pid = 0;
            {
              await using scoped = await UsernsPod.start({
                name: place.name("scoped"),
              });
              pid = scoped.pid;
              assert.ok(alive(pid));
              assert.equal(UsernsPod.list().length, 1);
            }
            assert.ok(await gone(pid, 100), "stopped by asyncDispose");
            assert.deepEqual(UsernsPod.list(), []);
          },
        );
      });
      place.assertStopped();
    } finally {
      await place.close();
    }
  },
);

nsTest(
  "a spawn into a pod costs about a plain spawn: no helper runs",
  async () => {
    // Measured on a loaded 2-core machine: 1.28-1.41x Deno.Command("true")
    // (tests/bench/pods.ts); the map helpers alone would make it 4x or
    // more. The bound leaves room for noise, not for a helper.
    const place = await PodPlace.create();
    try {
      await place.use(async () => {
        await using pod = await UsernsPod.start({ name: place.name("speed") });
        const [inPod, plain] = await shuffledRounds(100, [
          () => pod.command("true").output(),
          () => new Deno.Command("true").output(),
        ]) as [number[], number[]];
        const ratios = inPod.map((x, i) => x / plain[i]!).sort((a, b) => a - b);
        const median = ratios[ratios.length >> 1]!;
        assert.ok(
          median <= 2,
          `pod spawn / Deno.Command: ${median.toFixed(2)}x`,
        );
      });
      place.assertStopped();
    } finally {
      await place.close();
    }
  },
);
