// Pods through the CLI: `userns start`, `run --in`, `enter NAME`, `ls`,
// `stop`, and pod names (the library: pod_lib_test.ts). Each test has its
// own XDG_RUNTIME_DIR and pod names, and kills what it left in `finally`.
// Both CI passes (root, then nsuser) run it.
import assert from "node:assert/strict";
import { parseIdMap, UsernsError, UsernsPod } from "../../lib/mod.ts";
import { cli, nsTest, text } from "./_env.ts";
import { gone } from "./_process.ts";
import { cmdline, PodPlace, refused } from "./_pod.ts";

/** `ps -o FIELD= -p PID`, trimmed. */
async function ps(field: string, pid: number): Promise<string> {
  const out = await new Deno.Command("ps", {
    args: ["-o", `${field}=`, "-p", String(pid)],
    stdin: "null",
  }).output();
  return text(out.stdout).trim();
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

    await t.step("ls --json: the shape the README gives", async () => {
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
      "enter NAME: every namespace it holds; --ns and the flags choose",
      async () => {
        const script = "hostname; cat /mnt/f; readlink /proc/self/ns/pid";
        const enter = (...opts: string[]) =>
          place.must(["enter", ...opts, name, "--", "sh", "-c", script]);
        const pod = ["podhost", "kept", link(holder, "pid")];
        assert.deepEqual((await enter()).trim().split("\n"), pod);
        assert.deepEqual((await enter("--all")).trim().split("\n"), pod);
        assert.deepEqual(
          (await enter("--ns", "user,mount")).trim().split("\n"),
          [Deno.hostname(), "kept", link("self", "pid")],
        );
        assert.deepEqual(
          (await enter("--ns", "mnt", "--uts")).trim().split("\n"),
          ["podhost", "kept", link("self", "pid")],
        );
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
