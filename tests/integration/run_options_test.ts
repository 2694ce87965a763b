// More options of `userns run`: --map subids under a nested unshare, no
// command as unshare runs it, --pid-file with enter, --no-mount refusals.
import assert from "node:assert/strict";
import { rangesFor, readSubIdFileSync } from "../../lib/idmap/subid.ts";
import { cli, MAIN, nsTest, PRIVILEGED, text } from "./_env.ts";
import { delay } from "./_process.ts";
import { cliAsUser, UNPRIVILEGED_REASON, USER, USER_UID } from "./_user.ts";
import { exec } from "./_rootfs.ts";

/** The test user's first two ranges, or fewer. */
function userRanges(kind: "uid" | "gid") {
  return rangesFor(readSubIdFileSync(`/etc/sub${kind}`), {
    name: USER,
    uid: USER_UID,
  });
}

nsTest(
  "run --map subids: ids mean the same inside; a nested unshare sees the delegated ranges",
  async (t) => {
    const [u1, u2] = userRanges("uid"), [g1, g2] = userRanges("gid");
    assert.ok(u1 && u2 && g1 && g2, `${USER} has two ranges of each`);
    const dir = await Deno.makeTempDir({ prefix: "userns-subids-" });
    try {
      if (PRIVILEGED) Deno.chownSync(dir, USER_UID, null);
      // Under auto, inside id 1 is the first range's start, and 1 + its
      // count the second's.
      const second = 1 + u1.count, secondG = 1 + g1.count;
      const made = await cliAsUser([
        "run",
        "--",
        "sh",
        "-c",
        `cd ${dir} && touch a b && chown 1:1 a && chown ${second}:${secondG} b`,
      ]);
      assert.equal(made.code, 0, made.stderr);
      await t.step("a file's owner, as auto and subids see it", async () => {
        const stat = ["stat", "-c", "%u:%g", `${dir}/a`, `${dir}/b`];
        const auto = await cliAsUser(["run", "--", ...stat]);
        assert.equal(auto.stdout, `1:1\n${second}:${secondG}\n`);
        const subids = await cliAsUser([
          "run",
          "--map",
          "subids",
          "--",
          ...stat,
        ]);
        assert.equal(
          subids.stdout,
          `${u1.start}:${g1.start}\n${u2.start}:${g2.start}\n`,
        );
      });
      await t.step(
        "nested unshare --map-auto: the ranges pass newuidmap",
        async () => {
          // newuidmap checks the request against /etc/subuid: the ranges are
          // the user's, mapped onto themselves, so it passes under subids
          // and is "not allowed" under auto (without a private /etc/subuid).
          // Whether the write then succeeds depends on the helper: a setuid
          // root newuidmap (Debian) gets no privilege in a namespace where
          // uid 0 is not mapped, so the kernel says EPERM; one with file
          // capabilities (Fedora) works: see the next step.
          const nested = ["sh", "-c", "unshare --map-auto true 2>&1"];
          const subids = await cliAsUser([
            "run",
            "--map",
            "subids",
            "--",
            ...nested,
          ]);
          const auto = await cliAsUser(["run", "--", ...nested]);
          assert.match(auto.stdout, /^newuidmap: uid range .* not allowed$/m);
          assert.doesNotMatch(subids.stdout, /not allowed/);
          const setuid =
            (Deno.statSync("/usr/bin/newuidmap").mode! & 0o4000) !== 0;
          if (setuid) {
            assert.match(
              subids.stdout,
              /^newuidmap: write to uid_map failed: Operation not permitted$/m,
            );
          }
        },
      );
      if (PRIVILEGED) {
        await t.step(
          "root only: with file-capability helpers, the nested unshare works",
          async () => {
            // Copies of the helpers with file capabilities instead of the
            // setuid bit, as Fedora installs them: those the kernel honours
            // in a nested namespace.
            const caps = `${dir}/caps`;
            Deno.mkdirSync(caps, { mode: 0o755 });
            Deno.chmodSync(caps, 0o755);
            for (const [h, cap] of [["uid", "setuid"], ["gid", "setgid"]]) {
              Deno.copyFileSync(`/usr/bin/new${h}map`, `${caps}/new${h}map`);
              Deno.chmodSync(`${caps}/new${h}map`, 0o755);
              const set = await exec([
                "setcap",
                `cap_${cap}+ep`,
                `${caps}/new${h}map`,
              ]);
              assert.equal(set.code, 0, `setcap (libcap2-bin): ${set.stderr}`);
            }
            const out = await cliAsUser([
              "run",
              "--map",
              "subids",
              "--",
              "env",
              `PATH=${caps}:${Deno.env.get("PATH")}`,
              "unshare",
              "--map-auto",
              "--map-root-user",
              "sh",
              "-c",
              "id -u; cat /proc/self/uid_map",
            ]);
            assert.equal(out.code, 0, out.stderr);
            const [id, ...map] = out.stdout.trim().split("\n");
            assert.equal(id, "0");
            // util-linux 2.38 maps the first range only, from inside 1.
            assert.ok(
              map.some((l) => l.trim().split(/\s+/)[1] === String(u1.start)),
              map.join("\n"),
            );
          },
        );
      }
    } finally {
      // The files of subordinate ids: the user may remove them from its
      // own directory, as root may.
      if (PRIVILEGED) Deno.removeSync(dir, { recursive: true });
      else {
        await cli(["run", "--", "rm", "-rf", dir]);
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    }
  },
  UNPRIVILEGED_REASON,
);

/** Prints what runs as the shell: its name, its argument count, its uid. */
const SHOW = '#!/bin/sh\necho "$0 $# $(id -u)"\n';

/** Runs argv with `input` on stdin; returns stdout. */
async function withInput(
  argv: string[],
  input: string,
  env: Record<string, string>,
): Promise<string> {
  const child = new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    env,
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(input));
  await w.close();
  return text((await child.output()).stdout);
}

nsTest(
  "run with no command runs $SHELL, else /bin/sh, as unshare does",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "userns-shell-" });
    try {
      const shell = `${dir}/show`;
      Deno.writeTextFileSync(shell, SHOW, { mode: 0o755 });
      const env: Record<string, string> = {
        PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
        HOME: Deno.env.get("HOME") ?? "/",
      };
      const userns = [Deno.execPath(), "run", "-A", MAIN, "run"];
      const unshare = ["unshare", "-r"];
      // The same program, no arguments, as inside root (a script's $0 is
      // its path, whatever argv[0] was).
      const ours = await withInput(userns, "", { ...env, SHELL: shell });
      const theirs = await withInput(unshare, "", { ...env, SHELL: shell });
      assert.equal(ours, `${shell} 0 0\n`);
      assert.equal(theirs, ours);
      // No SHELL: /bin/sh, reading its commands from stdin. unshare starts
      // it as a login shell (argv[0] "-sh", so that it reads the profile);
      // userns as podman unshare does (argv[0] the path).
      const script = 'echo "$0 $(id -u)"\n';
      assert.equal(await withInput(userns, script, env), "/bin/sh 0\n");
      assert.equal(await withInput(unshare, script, env), "-sh 0\n");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

/** Waits up to 5 s for a file to appear; its text. */
async function appears(file: string): Promise<string> {
  for (let i = 0; i < 500; i++, await delay(10)) {
    try {
      const t = Deno.readTextFileSync(file);
      if (t.endsWith("\n")) return t;
    } catch {
      // not yet
    }
  }
  throw new Error(`${file} did not appear`);
}

nsTest(
  "run --pid-file: the init's pid, for enter --all; removed at the end",
  async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "userns-pidfile-" });
    const file = `${dir}/pid`;
    try {
      for (
        const [name, opts, comm] of [
          [
            "with a pid namespace: the init",
            ["--pid", "--hostname", "inside"],
            "userns-init",
          ],
          ["without: the command", ["--hostname", "inside"], "sleep"],
        ] as const
      ) {
        await t.step(name, async () => {
          const run = new Deno.Command(Deno.execPath(), {
            args: [
              "run",
              "-A",
              MAIN,
              "run",
              ...opts,
              "--pid-file",
              file,
              "--",
              "sleep",
              "30",
            ],
            stdin: "null",
          }).spawn();
          try {
            const pid = Number(await appears(file));
            assert.equal(
              Deno.readTextFileSync(`/proc/${pid}/comm`),
              `${comm}\n`,
            );
            const ns = (k: string) => Deno.readLinkSync(`/proc/${pid}/ns/${k}`);
            const entered = await cli([
              "enter",
              "--all",
              String(pid),
              "--",
              "sh",
              "-c",
              "hostname; for k in user mnt uts pid; do readlink /proc/self/ns/$k; done",
            ]);
            assert.equal(entered.code, 0, entered.stderr);
            const nsPid = opts[0] === "--pid"
              ? Deno.readLinkSync(`/proc/${pid}/ns/pid_for_children`)
              : ns("pid");
            assert.equal(
              entered.stdout,
              `inside\n${ns("user")}\n${ns("mnt")}\n${ns("uts")}\n${nsPid}\n`,
            );
          } finally {
            run.kill("SIGTERM"); // forwarded: sleep dies of it
          }
          assert.equal((await run.status).code, 143);
          assert.deepEqual([...Deno.readDirSync(dir)], [], "pid file removed");
        });
      }
      await t.step(
        "a pid file that cannot be written: 125, nothing runs",
        async () => {
          const marker = `${dir}/ran`;
          const out = await cli([
            "run",
            "--pid-file",
            `${dir}/missing/pid`,
            "--",
            "touch",
            marker,
          ]);
          assert.deepEqual([out.code, out.stderr], [
            125,
            `userns: run: cannot write the pid file ${dir}/missing/pid: ENOENT; check that its directory exists and that you may write there\n`,
          ]);
          assert.throws(() => Deno.statSync(marker), Deno.errors.NotFound);
        },
      );
      await t.step("a run that fails leaves no pid file", async () => {
        const out = await cli([
          "run",
          "--pid-file",
          file,
          "--",
          "no-such-command-userns",
        ]);
        assert.equal(out.code, 127);
        assert.deepEqual([...Deno.readDirSync(dir)], []);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

nsTest(
  "run --no-mount: refused with what needs a mount namespace; alone, the caller's",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "userns-nomount-" });
    try {
      const marker = `${dir}/ran`;
      for (
        const [option, ...values] of [
          ["--root", dir],
          ["--bind", dir, "/mnt"],
          ["--ro-bind", dir, "/mnt"],
          ["--tmpfs", "/mnt"],
          ["--dev", "/mnt"],
          ["--proc", "/mnt"],
          ["--mount-proc"],
          ["--propagation", "slave"],
        ]
      ) {
        const out = await cli([
          "run",
          "--no-mount",
          option!,
          ...values,
          "--",
          "touch",
          marker,
        ]);
        assert.deepEqual([out.code, out.stderr], [
          125,
          `userns: run: ${option} needs a mount namespace, but --no-mount was given; see userns run --help\n`,
        ], option);
      }
      assert.throws(() => Deno.statSync(marker), Deno.errors.NotFound);
      const same = await cli([
        "run",
        "--no-mount",
        "--",
        "readlink",
        "/proc/self/ns/mnt",
      ]);
      assert.equal(same.stdout, `${Deno.readLinkSync("/proc/self/ns/mnt")}\n`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
