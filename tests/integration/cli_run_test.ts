// `userns run` as a user runs it: a separate process, real signals.
import assert from "node:assert/strict";
import { cli, MAIN, nsTest, text } from "./_env.ts";
import { alive, delay, firstLine } from "./_process.ts";
import { cliAsUser, UNPRIVILEGED_REASON } from "./_user.ts";
import { closeFd } from "../../ffi/fd.ts";
import { openPty } from "../../ffi/pty.ts";

const DENO = Deno.execPath();

nsTest("run: exit codes 0, N, 128+N, 125, 126, 127", async (t) => {
  const cases: [string, string[], number, RegExp?][] = [
    ["success", ["true"], 0],
    ["own code", ["sh", "-c", "exit 7"], 7],
    ["signal", ["sh", "-c", "kill -KILL $$"], 137],
    [
      "not found",
      ["no-such-command-userns"],
      127,
      /^userns: failed to spawn 'no-such-command-userns': not found on PATH \(ENOENT\); .*\n$/,
    ],
    [
      "cannot execute",
      ["/proc/self/status"],
      126,
      /^userns: failed to spawn '\/proc\/self\/status': permission denied \(EACCES\); /,
    ],
    [
      "bad option",
      ["--bogus", "true"],
      125,
      /^userns: run: unknown option "--bogus"; see userns run --help\n$/,
    ],
    ["bad map", ["--uid-map", "0:x:1", "true"], 125, /^userns: .*"0:x:1"/],
    [
      "bad chdir",
      ["--cwd", "/nonexistent", "true"],
      125,
      /^userns: failed to spawn 'true': no such cwd '\/nonexistent'; /,
    ],
  ];
  for (const [name, args, code, stderr] of cases) {
    await t.step(name, async () => {
      const out = await cli(["run", ...args], {
        stdout: "piped",
        stderr: "piped",
      });
      assert.equal(out.code, code, out.stderr);
      if (stderr) {
        assert.match(out.stderr, stderr);
        assert.equal(out.stderr.trim().split("\n").length, 1, "one line");
      } else assert.equal(out.stderr, "");
    });
  }
});

nsTest(
  "run: no command runs $SHELL, else /bin/sh, as unshare does",
  async () => {
    const shell = await cli(["run"], {
      stdout: "piped",
      env: { SHELL: "/usr/bin/id" },
    });
    assert.deepEqual([shell.code, shell.stdout.split(" ")[0]], [
      0,
      "uid=0(root)",
    ]);
    // No SHELL: /bin/sh, which reads its commands from stdin (here, EOF).
    const sh = await cli(["run"], { stderr: "piped", env: { SHELL: "" } });
    assert.deepEqual([sh.code, sh.stderr], [0, ""]);
  },
);

nsTest("run: command flags are the command's; -- is optional", async () => {
  const a = await cli(["run", "sh", "-c", "echo $0 $1", "x", "--map"], {
    stdout: "piped",
  });
  assert.equal(a.stdout, "x --map\n");
  const b = await cli(["run", "--map", "root", "--", "id", "-u"], {
    stdout: "piped",
  });
  assert.equal(b.stdout, "0\n");
});

nsTest(
  "run: stdin passes through; fds and ignored signals do not",
  async () => {
    const script =
      `exec 7</dev/null; trap '' TERM; echo hello | "${DENO}" run -A "${MAIN}" run -- ` +
      `sh -c 'cat; ls /proc/$$/fd; exec grep -E "^Sig(Ign|Blk)" /proc/self/status'`;
    const out = await new Deno.Command("bash", {
      args: ["-c", script],
      stdout: "piped",
    }).output();
    assert.equal(
      new TextDecoder().decode(out.stdout),
      "hello\n0\n1\n2\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n",
    );
  },
);

nsTest("run: --help lists every option, --version", async () => {
  const help = await cli(["run", "--help"], { stdout: "piped" });
  assert.equal(help.code, 0);
  for (
    const opt of [
      "--map",
      "--uid-map",
      "--gid-map",
      "--user",
      "--group",
      "--setgroups",
      "--mount-proc",
      "--init",
      "--hostname",
      "--root",
      "--cwd",
      "--setsid",
      "--ctty",
      "--oom-score-adj",
      "--env",
      "--clear-env",
      "--strict",
      "--quiet",
    ]
  ) {
    assert.match(help.stdout, new RegExp(`^  ${opt}\\b.*\\S`, "m"), opt);
  }
  const v = await cli(["--version"], { stdout: "piped" });
  assert.match(v.stdout, /^userns \d+\.\d+\.\d+\n$/);
});

/** Starts `userns run` with a command that prints a line once ready. */
async function startReady(script: string) {
  const proc = new Deno.Command(DENO, {
    args: ["run", "-A", MAIN, "run", "--", "sh", "-c", script],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
  return { proc, reader, first: (await firstLine(reader)).trim() };
}

async function rest(
  reader: ReadableStreamDefaultReader<string>,
): Promise<string> {
  let all = "";
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    all += r.value;
  }
  return all;
}

nsTest(
  "run: forwards SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH",
  async (t) => {
    for (
      const sig of [
        "INT",
        "TERM",
        "HUP",
        "QUIT",
        "USR1",
        "USR2",
        "WINCH",
      ] as const
    ) {
      await t.step(sig, async () => {
        const { proc, reader } = await startReady(
          `trap 'echo got ${sig}; exit 0' ${sig}; echo ready; while :; do sleep 0.05; done`,
        );
        proc.kill(`SIG${sig}`);
        assert.equal(await rest(reader), `got ${sig}\n`);
        assert.equal((await proc.status).code, 0);
      });
    }
    await t.step("a signal that kills the command gives 128+N", async () => {
      const { proc, reader } = await startReady("echo ready; exec sleep 30");
      proc.kill("SIGTERM");
      await rest(reader);
      assert.equal((await proc.status).code, 143);
    });
  },
);

nsTest("run: the command dies with a SIGKILLed userns", async () => {
  const { proc, reader, first } = await startReady("echo $$; exec sleep 30");
  // The command's pid as seen outside: the only sleep whose parent is userns.
  const pid = Number(
    Deno.readTextFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`).trim(),
  );
  assert.equal(first, String(pid));
  proc.kill("SIGKILL");
  await proc.status;
  await rest(reader);
  for (let i = 0; i < 100 && alive(pid); i++) await delay(10);
  assert.equal(alive(pid), false, `pid ${pid} outlived userns`);
});

nsTest(
  "run: auto falls back to root with one warning, or fails with --strict",
  async () => {
    // Without helpers on PATH: unprivileged there is no other way to map
    // the ranges; root writes /proc itself and never falls back, so as
    // root this runs as the test user.
    const env = { PATH: "/nonexistent" };
    const warned = await cliAsUser(["run", "/usr/bin/id", "-u"], env);
    assert.equal(warned.code, 0, warned.stderr);
    assert.equal(warned.stdout, "0\n");
    assert.match(warned.stderr, /^userns: warning: .*newuidmap.*\n$/);
    const quiet = await cliAsUser(["run", "--quiet", "/usr/bin/true"], env);
    assert.deepEqual([quiet.code, quiet.stderr], [0, ""]);
    const strict = await cliAsUser(["run", "--strict", "/usr/bin/true"], env);
    assert.equal(strict.code, 125);
    assert.match(strict.stderr, /^userns: newuidmap .*uidmap.*\n$/);
  },
  UNPRIVILEGED_REASON,
);

nsTest(
  "run: --ctty makes stdin's terminal the controlling one; --setsid alone does not",
  async () => {
    // A fresh pty is nobody's controlling terminal: its slave, opened by
    // path in a process that is no session leader, becomes userns's stdin.
    const pty = openPty();
    const slave = Deno.readLinkSync(`/proc/self/fd/${pty.slave}`);
    try {
      const run = async (flag: string) => {
        const out = await new Deno.Command("sh", {
          args: [
            "-c",
            'exec "$@" <"$0"',
            slave,
            DENO,
            "run",
            "-A",
            MAIN,
            "run",
            flag,
            "--",
            "sh",
            "-c",
            "ps -o tty= -p $$",
          ],
          stdout: "piped",
        }).output();
        return [out.code, text(out.stdout).trim()];
      };
      assert.deepEqual(await run("--ctty"), [0, slave.replace("/dev/", "")]);
      assert.deepEqual(await run("--setsid"), [0, "?"]);
    } finally {
      closeFd(pty.slave);
      closeFd(pty.master);
    }
  },
);
