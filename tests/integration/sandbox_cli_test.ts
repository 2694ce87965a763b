/**
 * Issue 17 end to end: `userns run --sandbox` through the real CLI (and the
 * library's `sandbox: true`, and a pod started with `--sandbox`), as the
 * caller and, from a root run, as the unprivileged test user, from a
 * working directory outside /tmp and a HOME of the test's own. The same
 * script runs side by side under the equivalent bwrap command line, and
 * the results must be equal wherever bwrap has the feature: bwrap applies
 * no seccomp filter by default, and binds the host's /sys (its
 * /sys/class/net lists the host's interfaces; `ip link` does not).
 *
 * Only loopback and namespaces the commands make are used; `--network
 * pasta` is started, never sent anything.
 */
import assert from "node:assert/strict";
import { nsTest, PRIVILEGED } from "./_env.ts";
import { runScenario, testUser, UNPRIVILEGED_REASON, USER } from "./_user.ts";
import { needs, WHO, type Who } from "./_net_runner.ts";
import {
  baseEnv,
  keyed,
  makePlace,
  oneLine,
  type Place,
  runIn,
  userns,
} from "./_cli_as.ts";
import { type LibraryArgs, SCRIPT } from "./_sandbox_probe.ts";
import { findOnPath } from "../../lib/system/path_search.ts";

const places = new Map<Who, Promise<Place>>();
/** One place per user, made on first use. */
const placeOf = (who: Who) => {
  if (!places.has(who)) places.set(who, makePlace(who));
  return places.get(who)!;
};

/** The caller's variables given to every command: four a sandbox keeps
 * (with PATH and HOME), one it must drop besides the harness's own. */
function callerEnv(who: Who): Record<string, string> {
  return {
    USER: who === "user" ? USER : testUser?.name ?? "root",
    LANG: "C.UTF-8",
    LC_ALL: "C.UTF-8",
    TERM: "dumb",
    SECRET_TOKEN: "must-not-pass",
  };
}

/** What the sandbox keeps of {@link callerEnv}, with `--env FOO=bar`. */
const KEPT = "FOO,HOME,LANG,LC_ALL,PATH,TERM,USER";

const ZERO = "0000000000000000";

/** What the script prints under `--sandbox --hide ~/.ssh --env FOO=bar`. */
const SANDBOXED: Record<string, string> = {
  CapInh: ZERO,
  CapPrm: ZERO,
  CapEff: ZERO,
  CapBnd: ZERO,
  CapAmb: ZERO,
  NoNewPrivs: "1",
  Seccomp: "2",
  home: "EROFS",
  work: "ok",
  extra: "EROFS",
  ssh_write: "EACCES",
  tmp: "0",
  ssh: "EACCES", // a mode-0 tmpfs, and no CAP_DAC_OVERRIDE
  sys_net: "1",
  add_key: "ENOSYS",
  keyctl: "ENOSYS",
  bind: "EACCES",
  tcgets: "ok",
  tiocsti: "EPERM",
  links: "lo",
  secret: "unreadable",
  remount: "32",
  env: KEPT,
};

/** The args of `sh -c SCRIPT`. */
const scriptArgs = (p: Place) => ["sh", "-c", SCRIPT, "sh", p.probe, p.extra];

/** A host file in /tmp, so that an empty /tmp inside means a fresh one. */
const marker = `/tmp/userns-sbcli-marker-${Deno.pid}`;
Deno.writeTextFileSync(marker, "host\n");
globalThis.addEventListener("unload", () => Deno.removeSync(marker));

/** Runs `userns run --sandbox OPTIONS -- sh -c SCRIPT` and parses it. */
async function sandboxed(
  who: Who,
  options: string[] = [],
): Promise<{ p: Place; got: Record<string, string> }> {
  const p = await placeOf(who);
  await removeProbes(p);
  const out = await userns(who, p, [
    "run",
    "--sandbox",
    "--hide",
    `${p.home}/.ssh`,
    "--env",
    "FOO=bar",
    ...options,
    "--",
    ...scriptArgs(p),
  ], { env: callerEnv(who) });
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stderr, "");
  return { p, got: keyed(out.stdout) };
}

/** Removes the files the script writes, so that each run shows its own. */
async function removeProbes(p: Place): Promise<void> {
  for (const f of [p.home, p.work, p.extra].map((d) => `${d}/userns-probe`)) {
    await Deno.remove(f).catch(() => {});
  }
}

/** Whether the script's file reached the host's `dir`. */
function reached(dir: string): boolean {
  try {
    return Deno.readTextFileSync(`${dir}/userns-probe`) === "probe\n";
  } catch {
    return false;
  }
}

function sandboxTest(
  name: string,
  fn: (who: Who) => Promise<void>,
  needs?: string,
): void {
  for (const who of WHO) {
    nsTest(
      `--sandbox, as ${
        who === "user" ? "the test user" : "the caller"
      }: ${name}`,
      () => fn(who),
      needs,
    );
  }
}

const UNPRIV = PRIVILEGED ? UNPRIVILEGED_REASON : undefined;

sandboxTest(
  "no capabilities, no_new_privs, the filter, a read-only host, a fresh /tmp, only lo, the hidden ~/.ssh, a cleared environment",
  async (who) => {
    const { p, got } = await sandboxed(who);
    assert.deepEqual(got, SANDBOXED);
    assert.ok(reached(p.work), "the write in the working directory");
    assert.ok(!reached(p.home), "the write in HOME");
    assert.ok(Deno.readDirSync("/tmp").some((e) => marker.endsWith(e.name)));
    // The hidden directory is untouched on the host.
    assert.deepEqual(
      [...Deno.readDirSync(`${p.home}/.ssh`)].map((e) => e.name),
      ["id_test"],
    );
  },
  UNPRIV,
);

/** The bwrap line that stands for `--sandbox --hide HOME/.ssh --env FOO=bar`. */
function bwrapLine(p: Place, env: Record<string, string>): string[] {
  const keep = ["PATH", "HOME", "USER", "LANG", "LC_ALL", "TERM"];
  return [
    "bwrap",
    "--unshare-all",
    "--ro-bind",
    "/",
    "/",
    "--bind",
    p.work,
    p.work,
    "--tmpfs",
    "/tmp",
    "--dev",
    "/dev",
    "--proc",
    "/proc",
    "--perms",
    "0000",
    "--tmpfs",
    `${p.home}/.ssh`,
    "--remount-ro",
    `${p.home}/.ssh`,
    "--new-session",
    "--die-with-parent",
    "--clearenv",
    ...keep.flatMap((k) => ["--setenv", k, env[k]!]),
    "--setenv",
    "FOO",
    "bar",
    "--cap-drop",
    "ALL",
    "--chdir",
    p.work,
    "--",
  ];
}

/** Where bwrap 0.8 differs from `--sandbox`, and why. */
const BWRAP_LACKS: Record<string, string> = {
  Seccomp: "no seccomp filter by default",
  add_key: "no seccomp filter by default",
  keyctl: "no seccomp filter by default",
  tiocsti: "no seccomp filter by default (a new session only)",
  sys_net: "/sys is the host's, bound with /",
};

sandboxTest(
  "side by side with the equivalent bwrap line: equal where bwrap has the feature",
  async (who) => {
    const { p, got } = await sandboxed(who);
    await removeProbes(p);
    const env = baseEnv(p, callerEnv(who));
    const out = await runIn(who, p, [...bwrapLine(p, env), ...scriptArgs(p)], {
      env: callerEnv(who),
    });
    assert.equal(out.code, 0, out.stderr);
    const theirs = keyed(out.stdout);
    assert.ok(reached(p.work), "bwrap: the write in the working directory");
    // bwrap sets PWD; the rest of its environment is what it was told.
    theirs.env = theirs.env!.split(",").filter((n) => n !== "PWD").join(",");
    const differ = Object.keys(SANDBOXED).filter((k) => got[k] !== theirs[k])
      .sort();
    assert.deepEqual(
      differ,
      Object.keys(BWRAP_LACKS).sort(),
      `userns ${JSON.stringify(got)}\nbwrap ${JSON.stringify(theirs)}`,
    );
    assert.equal(theirs.Seccomp, "0");
    assert.equal(theirs.tiocsti, "ok");
  },
  UNPRIV ??
    (findOnPath("bwrap", Deno.env.get("PATH") ?? "")
      ? undefined
      : "bwrap is not installed (apt-get install bubblewrap)"),
);

sandboxTest(
  "each part widened by its option, the rest unchanged",
  async (who) => {
    const cases: [string[], Record<string, string>][] = [
      [["--cap-add", "NET_BIND_SERVICE"], {
        CapInh: "0000000000000400",
        CapPrm: "0000000000000400",
        CapEff: "0000000000000400",
        CapBnd: "0000000000000400",
        CapAmb: "0000000000000400",
        bind: "ok",
      }],
      [["--seccomp", "none"], {
        Seccomp: "0",
        add_key: "ok",
        keyctl: "ok",
        tiocsti: "ok", // this kernel's dev.tty.legacy_tiocsti is 1
      }],
    ];
    const p = await placeOf(who);
    cases.push([["--bind", p.extra, p.extra], { extra: "ok" }]);
    if (!needs("pasta")) {
      cases.push([["--network", "pasta"], { links: "eth0,lo", sys_net: "2" }]);
    }
    const legacy = Deno.readTextFileSync("/proc/sys/dev/tty/legacy_tiocsti")
      .trim();
    for (const [options, changed] of cases) {
      const { got } = await sandboxed(who, options);
      const want = { ...SANDBOXED, ...changed };
      if (legacy !== "1" && options[0] === "--seccomp") want.tiocsti = "EIO";
      assert.deepEqual(got, want, options.join(" "));
      if (options[0] === "--bind") assert.ok(reached(p.extra));
    }
  },
  UNPRIV,
);

sandboxTest(
  "--cap-add NET_BIND_SERVICE lets the command bind port 80, as bwrap's --cap-add does, with pasta too",
  async (who) => {
    // The mounts are locked in a nested user namespace: the network
    // namespace must be the nested one's for the capability to hold.
    const networks = needs("pasta") ? [[]] : [[], ["--network", "pasta"]];
    for (const network of networks) {
      const { got } = await sandboxed(who, [
        "--cap-add",
        "NET_BIND_SERVICE",
        ...network,
      ]);
      assert.equal(got.CapEff, "0000000000000400", network.join(" "));
      assert.equal(got.bind, "ok", network.join(" "));
      const { got: without } = await sandboxed(who, network);
      assert.equal(without.bind, "EACCES", network.join(" "));
    }
  },
  UNPRIV,
);

sandboxTest(
  "with pasta and mounts, ports below 1024 open only to a command that keeps NET_BIND_SERVICE: not to another --user",
  async (who) => {
    const p = await placeOf(who);
    const run = (options: string[]) =>
      userns(who, p, [
        "run",
        "--network",
        "pasta",
        "--bind",
        p.extra,
        p.extra,
        ...options,
        "--",
        p.probe,
        "bind",
        "80",
      ]);
    for (
      const [options, want] of [
        [[], "bind ok"],
        [["--user", "1000", "--group", "1000"], "bind EACCES"],
        [["--cap-drop", "ALL"], "bind EACCES"],
      ] as const
    ) {
      const out = await run([...options]);
      assert.equal(out.code, 0, `${options.join(" ")}: ${out.stderr}`);
      assert.equal(out.stdout.trim(), want, options.join(" "));
    }
  },
  needs("pasta") ?? UNPRIV,
);

sandboxTest(
  "--hide under /sys hides it, with the sandbox's own /sys",
  async (who) => {
    const p = await placeOf(who);
    const out = await userns(who, p, [
      "run",
      "--sandbox",
      "--hide",
      "/sys/class/net",
      "--",
      p.probe,
      "entries",
      "sys_net",
      "/sys/class/net",
    ]);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout.trim(), "sys_net EACCES");
  },
  UNPRIV,
);

sandboxTest(
  "--net with mounts: inside root administers its network namespace, as without them",
  async (who) => {
    const p = await placeOf(who);
    for (const mounts of [[], ["--bind", p.extra, p.extra]]) {
      const out = await userns(who, p, [
        "run",
        "--net",
        ...mounts,
        "--",
        "sh",
        "-c",
        "ip addr add 10.9.9.9/32 dev lo && ip -brief addr show lo",
      ]);
      assert.equal(out.code, 0, `${mounts.join(" ")}: ${out.stderr}`);
      assert.match(out.stdout, /^lo +UNKNOWN +127\.0\.0\.1\/8 10\.9\.9\.9\/32/);
    }
  },
  UNPRIV,
);

sandboxTest(
  "a JSON profile: its errno for mkdir, and nothing of the default",
  async (who) => {
    const p = await placeOf(who);
    const file = `${p.base}/deny-mkdir.json`;
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{
          names: ["mkdir", "mkdirat"],
          action: "SCMP_ACT_ERRNO",
          errnoRet: 38,
        }],
      }),
    );
    await Deno.chmod(file, 0o644);
    const out = await userns(who, p, [
      "run",
      "--sandbox",
      "--seccomp",
      file,
      "--",
      "sh",
      "-c",
      `"$0" mkdir "$PWD/made" add_key; mkdir "$PWD/made2" 2>&1; echo "rc $?"`,
      p.probe,
    ]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(
      out.stdout,
      /^mkdir ENOSYS\nadd_key ok\nmkdir: cannot create directory .*made2.*: Function not implemented\nrc 1\n$/,
    );
    // The profile podman applies, as a file: the keyring calls are denied.
    const podmans = "/usr/share/containers/seccomp.json";
    try {
      Deno.statSync(podmans);
    } catch {
      return;
    }
    const sys = await userns(who, p, [
      "run",
      "--sandbox",
      "--seccomp",
      podmans,
      "--",
      p.probe,
      "add_key",
      "tcgets",
    ]);
    assert.equal(sys.stdout, "add_key ENOSYS\ntcgets ok\n", sys.stderr);
  },
  UNPRIV,
);

sandboxTest(
  "a profile entry that cannot be compiled: one line naming it, exit 125",
  async (who) => {
    const p = await placeOf(who);
    const file = `${p.base}/broken.json`;
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [
          { names: ["getpid"], action: "SCMP_ACT_ALLOW" },
          { names: ["mkdir"], action: "SCMP_ACT_BOGUS" },
        ],
      }),
    );
    await Deno.chmod(file, 0o644);
    const out = await userns(who, p, [
      "run",
      "--sandbox",
      "--seccomp",
      file,
      "--",
      "sh",
      "-c",
      "echo ran",
    ]);
    assert.equal(out.code, 125);
    assert.equal(out.stdout, "");
    assert.ok(oneLine(out.stderr), out.stderr);
    assert.ok(out.stderr.includes(file), out.stderr);
    assert.match(
      out.stderr,
      /syscalls\[1\]\.action: unknown action "SCMP_ACT_BOGUS"/,
    );
  },
  UNPRIV,
);

sandboxTest(
  "the library's sandbox: true gives what the CLI gives",
  async (who) => {
    const { p, got } = await sandboxed(who);
    await removeProbes(p);
    const args: LibraryArgs = {
      env: baseEnv(p, callerEnv(who)),
      work: p.work,
      probe: p.probe,
      extra: p.extra,
      hide: [`${p.home}/.ssh`],
      set: { FOO: "bar" },
    };
    const stdout = await runScenario(
      "tests/integration/_sandbox_probe.ts",
      "library",
      { unprivileged: who === "user", args: [JSON.stringify(args)] },
    );
    const r = JSON.parse(stdout.trim().split("\n").at(-1)!);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(keyed(r.stdout), got);
    assert.ok(reached(p.work));
  },
  UNPRIV,
);

sandboxTest(
  "a pod started with --sandbox: its commands have no capabilities and the filter",
  async (who) => {
    const p = await placeOf(who);
    const run = `${p.base}/run`;
    await Deno.mkdir(run, { mode: 0o700 }).catch(() => {});
    if (who === "user" && PRIVILEGED) {
      await Deno.chown(run, testUser!.uid, testUser!.gid);
    }
    const env = { XDG_RUNTIME_DIR: run, ...callerEnv(who) };
    const name = `sbcli${Deno.pid}`;
    const start = await userns(who, p, ["start", "--sandbox", name], { env });
    assert.equal(start.code, 0, start.stderr);
    try {
      const out = await userns(who, p, [
        "run",
        "--in",
        name,
        "--",
        ...scriptArgs(p),
      ], { env });
      assert.equal(out.code, 0, out.stderr);
      const got = keyed(out.stdout);
      for (const k of ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]) {
        assert.equal(got[k], ZERO, `${k}: ${out.stdout}`);
      }
      assert.equal(got.NoNewPrivs, "1");
      assert.equal(got.Seccomp, "2");
      assert.equal(got.add_key, "ENOSYS");
      assert.equal(got.tiocsti, "EPERM");
      assert.equal(got.home, "EROFS", out.stdout);
      assert.equal(got.links, "lo", out.stdout);
      assert.equal(got.env, "HOME,LANG,LC_ALL,PATH,TERM,USER");
    } finally {
      const stop = await userns(who, p, ["stop", name], { env });
      assert.equal(stop.code, 0, stop.stderr);
    }
  },
  UNPRIV,
);

sandboxTest(
  "bad values: one line, exit 125, the command never runs",
  async (who) => {
    const p = await placeOf(who);
    const cases: [string[], RegExp][] = [
      [["--cap-drop", "FOO"], /--cap-drop: unknown capability "FOO"/],
      [["--cap-add", "sys_nonsense"], /--cap-add: unknown capability/],
      [["--seccomp", "/nonexistent"], /--seccomp \/nonexistent: no such file/],
      [["--network", "bogus"], /invalid --network "bogus"/],
      [
        ["--network", "none", "-p", "8080:80"],
        /-p\/--publish needs a user-mode network/,
      ],
      [["--publish", "8080:80"], /-p\/--publish needs a user-mode network/],
      [["--network", "pasta", "-p", "99999:80"], /"99999" is not a port/],
    ];
    for (const [options, why] of cases) {
      const out = await userns(who, p, [
        "run",
        ...options,
        "--",
        "sh",
        "-c",
        "echo ran",
      ]);
      const what = `${options.join(" ")}: ${out.stderr}`;
      assert.equal(out.code, 125, what);
      assert.equal(out.stdout, "", what);
      assert.ok(oneLine(out.stderr), what);
      assert.match(out.stderr, why, what);
    }
  },
  UNPRIV,
);

sandboxTest(
  "userns's own cache and $XDG_RUNTIME_DIR are hidden, even under the writable working directory: no library or filter planted for the next run, no socket of the session reached",
  async (who) => {
    const p = await placeOf(who);
    // The cache and the runtime directory inside the working directory,
    // as a CI job may have them: writable there, but for the hiding.
    const env = {
      XDG_CACHE_HOME: `${p.work}/cache`,
      XDG_RUNTIME_DIR: `${p.work}/run`,
    };
    for (let i = 0; i < 2; i++) {
      const first = await userns(who, p, ["run", "--sandbox", "--", "true"], {
        env,
      });
      assert.equal(first.code, 0, first.stderr);
    }
    assert.ok(
      Deno.readDirSync(`${p.work}/cache/userns/seccomp`).some((e) =>
        e.name.endsWith(".bpf")
      ),
      "the compiled filters are cached there",
    );
    const socket = `${p.work}/run/bus`;
    Deno.mkdirSync(`${p.work}/run`, { recursive: true, mode: 0o700 });
    const listener = Deno.listen({ transport: "unix", path: socket });
    try {
      if (PRIVILEGED && who === "user") {
        for (const f of [`${p.work}/run`, socket]) {
          await Deno.chown(f, testUser!.uid, testUser!.gid);
        }
      }
      const out = await userns(who, p, [
        "run",
        "--sandbox",
        "--",
        "sh",
        "-c",
        `ls -A ${p.work}/cache/userns ${p.work}/run 2>&1; ` +
        `for f in ${p.work}/cache/userns/seccomp/x ${p.work}/run/x; do ` +
        `touch $f 2>/dev/null && echo "wrote $f"; done; echo done`,
      ], { env });
      assert.equal(out.code, 0, out.stderr);
      assert.doesNotMatch(out.stdout, /\.bpf|bus|wrote/, out.stdout);
      assert.match(out.stdout, /done\n$/);
      assert.deepEqual(
        Deno.readDirSync(`${p.work}/run`).map((e) => e.name).toArray(),
        ["bus"],
      );
    } finally {
      listener.close();
    }
  },
  UNPRIV,
);

sandboxTest(
  "the kernel's settings in /proc are read-only, as podman keeps them (a sandbox of root's is the host's uid 0)",
  async (who) => {
    const p = await placeOf(who);
    const out = await userns(who, p, [
      "run",
      "--sandbox",
      "--",
      "sh",
      "-c",
      // The value it has: harmless should the write go through.
      "v=$(cat /proc/sys/vm/overcommit_ratio); " +
      "if (echo $v > /proc/sys/vm/overcommit_ratio) 2>/dev/null; " +
      "then echo wrote; else echo refused; fi; " +
      "grep ' /proc/sys ' /proc/self/mountinfo | cut -d' ' -f6",
    ]);
    assert.equal(out.code, 0, out.stderr);
    const [write, options] = out.stdout.trim().split("\n");
    assert.equal(write, "refused", out.stdout);
    assert.match(options ?? "", /^ro,/, out.stdout);
  },
  UNPRIV,
);
