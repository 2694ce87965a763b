// Pods through the CLI and the library: `userns start`, `run --in`,
// `enter NAME`, `ls`, `stop`; UsernsPod.start/open/list/command/stop. Each
// test has its own XDG_RUNTIME_DIR and pod names, and kills what it left in
// `finally`. Both CI passes (root, then nsuser) run it.
import assert from "node:assert/strict";
import { parseIdMap, UsernsError, UsernsPod } from "../../lib/mod.ts";
import { cli, nsTest, text } from "./_env.ts";
import { alive, gone } from "./_process.ts";
import { cmdline, inUserns, PodPlace, usernsOf } from "./_pod.ts";
import { shuffledRounds } from "../bench/pods.ts";

/** `ps -o FIELD= -p PID`, trimmed. */
async function ps(field: string, pid: number): Promise<string> {
  const out = await new Deno.Command("ps", {
    args: ["-o", `${field}=`, "-p", String(pid)],
    stdin: "null",
  }).output();
  return text(out.stdout).trim();
}

/** Asserts exit 125 and one line on stderr matching `re`. */
function refused(
  out: { code: number; stdout: string; stderr: string },
  re: RegExp,
): void {
  assert.equal(out.code, 125, `${out.stdout}${out.stderr}`);
  assert.equal(out.stdout, "");
  assert.match(out.stderr, /^userns: [^\n]*\n$/, "one line");
  assert.match(out.stderr, re);
}

const link = (pid: number | "self", ns: string) =>
  Deno.readLinkSync(`/proc/${pid}/ns/${ns}`);

nsTest("userns start, run --in, enter, ls, stop", async (t) => {
  const place = await PodPlace.create();
  const name = place.name("cli");
  try {
    let holder = 0;
    await t.step(
      "start returns once ready: the state dir, the holder",
      async () => {
        const out = await place.cli([
          "start",
          "--pid",
          "--hostname",
          "podhost",
          name,
        ]);
        assert.deepEqual(out, { code: 0, stdout: "", stderr: "" });
        const st = Deno.lstatSync(place.state);
        assert.ok(st.isDirectory);
        assert.equal((st.mode ?? 0) & 0o777, 0o700, "created mode 700");
        assert.equal(st.uid, Deno.uid());
        assert.deepEqual(place.files(), [`${name}.json`]);
        const pids = place.holders();
        assert.equal(pids.length, 1, `one holder: ${pids}`);
        holder = pids[0]!;
        assert.equal(await ps("args", holder), `userns-pause ${name}`);
        const rss = Number(await ps("rss", holder));
        assert.ok(rss > 0 && rss <= 2048, `RSS ${rss} KiB, at most 2 MiB`);
        assert.deepEqual([...Deno.readDirSync(`/proc/${holder}/fd`)], []);
        assert.notEqual(link(holder, "user"), link("self", "user"));
      },
    );

    await t.step("the holder ignores stray signals", async () => {
      for (const sig of ["SIGTERM", "SIGINT", "SIGHUP", "SIGUSR1"] as const) {
        Deno.kill(holder, sig);
      }
      assert.equal(await gone(holder, 300), false, "still running");
      assert.equal(cmdline(holder), `userns-pause ${name}`);
    });

    await t.step("start of a live name: exit 125, one line", async () => {
      refused(
        await place.cli(["start", name]),
        new RegExp(`pod "${name}" exists \\(holder pid ${holder}\\)`),
      );
      assert.deepEqual(place.holders(), [holder], "no second holder");
    });

    await t.step("ls --json: the SPEC's shape", async () => {
      const out = await place.cli(["ls", "--json"]);
      assert.equal(out.code, 0, out.stderr);
      const pods = JSON.parse(out.stdout);
      assert.equal(pods.length, 1);
      const pod = pods[0];
      assert.deepEqual(Object.keys(pod), [
        "name",
        "pid",
        "namespaces",
        "uid",
        "gid",
        "processes",
        "created",
      ]);
      const uid = parseIdMap(Deno.readTextFileSync(`/proc/${holder}/uid_map`));
      const gid = parseIdMap(Deno.readTextFileSync(`/proc/${holder}/gid_map`));
      for (const m of [...pod.uid, ...pod.gid]) {
        assert.deepEqual(Object.keys(m), ["inner", "outer", "count"]);
      }
      assert.deepEqual(
        { ...pod, created: "" },
        {
          name,
          pid: holder,
          namespaces: ["user", "uts", "pid", "mount"],
          uid,
          gid,
          processes: 1,
          created: "",
        },
      );
      assert.equal(new Date(pod.created).toISOString(), pod.created);
      assert.ok(Date.now() - Date.parse(pod.created) < 60_000);
      const table = await place.must(["ls"]);
      const [head, row, ...rest] = table.split("\n");
      assert.match(
        head!,
        /^NAME +PID +NAMESPACES +UID MAP +PROCESSES +CREATED$/,
      );
      assert.match(
        row!,
        new RegExp(
          `^${name} +${holder} +user,uts,pid,mount +\\S+ +1 +${pod.created}$`,
        ),
      );
      assert.deepEqual(rest, [""]);
    });

    await t.step("run --in joins every namespace the pod holds", async () => {
      const out = await place.must([
        "run",
        "--in",
        name,
        "--",
        "sh",
        "-c",
        "hostname; id -u; readlink /proc/self/ns/user /proc/self/ns/uts " +
        "/proc/self/ns/pid /proc/self/ns/mnt; grep NSpid /proc/self/status; " +
        "echo $$; mount -t tmpfs pod /mnt && echo kept >/mnt/f",
      ]);
      const [host, uid, user, uts, pid, mnt, nspid, self] = out.trim()
        .split("\n");
      assert.deepEqual([host, uid], ["podhost", "0"]);
      assert.notEqual(self, "1", "the holder is PID 1 of the pod");
      assert.deepEqual([user, uts, pid, mnt], [
        link(holder, "user"),
        link(holder, "uts"),
        link(holder, "pid"),
        link(holder, "mnt"),
      ]);
      // grep's pid outside, then in the pod's namespace
      assert.match(nspid!, /^NSpid:\s+\d+\s+\d+$/);
    });

    await t.step(
      "a mount made in one run --in is there in the next",
      async () => {
        assert.equal(
          await place.must(["run", "--in", name, "--", "cat", "/mnt/f"]),
          "kept\n",
        );
        // Not outside, nor in a namespace of its own.
        assert.throws(() => Deno.statSync("/mnt/f"), Deno.errors.NotFound);
        const apart = await cli(["run", "--", "cat", "/mnt/f"]);
        assert.notEqual(apart.code, 0);
      },
    );

    await t.step(
      "run --in --uts --pid: new namespaces nested in the pod's",
      async () => {
        const out = await place.must([
          "run",
          "--in",
          name,
          "--uts",
          "--hostname",
          "nested",
          "--pid",
          "--",
          "sh",
          "-c",
          "hostname; readlink /proc/self/ns/user; " +
          "grep NSpid /proc/self/status; cat /mnt/f; echo $$",
        ]);
        const [host, user, nspid, f, self] = out.trim().split("\n");
        assert.deepEqual([host, user, f], [
          "nested",
          link(holder, "user"),
          "kept",
        ]);
        // grep's pid outside, in the pod's namespace, in the new one
        assert.match(nspid!, /^NSpid:\s+\d+\s+\d+\s+\d+$/);
        assert.equal(self, "2", "userns-init is PID 1 of the new namespace");
        assert.equal(
          await place.must(["run", "--in", name, "--", "hostname"]),
          "podhost\n",
          "the pod's own hostname is unchanged",
        );
      },
    );

    await t.step("run --in refuses map options: one line, 125", async () => {
      for (
        const opt of [
          ["--map", "root"],
          ["--uid-map", "0:0:1"],
          ["--gid-map=0:0:1"],
          ["--setgroups", "deny"],
          ["--strict"],
        ]
      ) {
        const flag = opt[0]!.split("=")[0]!;
        refused(
          await place.cli(["run", "--in", name, ...opt, "--", "true"]),
          new RegExp(`${flag} cannot be given with --in`),
        );
      }
    });

    await t.step(
      "enter NAME: user and mount always; --uts, --all",
      async () => {
        const script = "hostname; cat /mnt/f; readlink /proc/self/ns/pid";
        const plain = await place.must([
          "enter",
          name,
          "--",
          "sh",
          "-c",
          script,
        ]);
        assert.deepEqual(plain.trim().split("\n"), [
          Deno.hostname(),
          "kept",
          link("self", "pid"),
        ]);
        const uts = await place.must([
          "enter",
          "--uts",
          name,
          "--",
          "hostname",
        ]);
        assert.equal(uts, "podhost\n");
        const all = await place.must([
          "enter",
          "--all",
          name,
          "--",
          "sh",
          "-c",
          script,
        ]);
        assert.deepEqual(all.trim().split("\n"), [
          "podhost",
          "kept",
          link(holder, "pid"),
        ]);
      },
    );

    await t.step("stop: the holder goes, and the record", async () => {
      assert.deepEqual(await place.cli(["stop", name]), {
        code: 0,
        stdout: "",
        stderr: "",
      });
      assert.ok(await gone(holder), "holder ended");
      assert.deepEqual(place.files(), []);
      assert.equal(await place.must(["ls", "--json"]), "[]\n");
      const none = new RegExp(`no pod named "${name}"`);
      refused(await place.cli(["run", "--in", name, "--", "true"]), none);
      refused(await place.cli(["stop", name]), none);
    });
    place.assertStopped();
  } finally {
    await place.close();
  }
});

nsTest("pod names: 1-64 of [A-Za-z0-9_.-], not starting with .", async (t) => {
  const place = await PodPlace.create();
  try {
    await t.step("the CLI refuses bad ones: one line, 125", async () => {
      for (const bad of ["", ".hidden", "a/b", "a b", "x".repeat(65), "pé"]) {
        refused(
          await place.cli(["start", "--", bad]),
          new RegExp(`invalid pod name ${JSON.stringify(bad)}`),
        );
      }
      refused(
        await place.cli(["run", "--in", "..", "--", "true"]),
        /invalid pod name "\.\."/,
      );
      assert.deepEqual(place.files(), []);
    });
    await t.step("the library too, with INVALID_ARGUMENT", async () => {
      for (const bad of ["", ".x", "a\nb", "-".repeat(65), "a:b"]) {
        await place.use(async () => {
          const e = await UsernsPod.start({ name: bad }).catch((e) => e);
          assert.ok(e instanceof UsernsError, String(e));
          assert.equal(e.code, "INVALID_ARGUMENT");
          assert.throws(() => UsernsPod.open(bad), /invalid pod name/);
        });
      }
      assert.deepEqual(place.holders(), []);
    });
    await t.step("64 characters, and - _ . inside, are fine", async () => {
      const long = place.name("A.b_c-").padEnd(64, "9");
      assert.equal(long.length, 64);
      await place.use(async () => {
        const pod = await UsernsPod.start({ name: long });
        assert.equal(pod.name, long);
        assert.equal(cmdline(pod.pid), `userns-pause ${long}`);
        await pod.stop();
      });
      const dash = place.name("-");
      await place.must(["start", "--", dash]);
      await place.must(["stop", "--", dash]);
    });
    place.assertStopped();
  } finally {
    await place.close();
  }
});

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
            assert.equal(text(out.stdout), "bin\n2\n", text(out.stderr));
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
