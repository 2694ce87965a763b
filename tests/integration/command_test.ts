// UsernsCommand against real namespaces, newuidmap and /proc, as whoever runs
// the suite (CI: root, then the two-range user nsuser).
import assert from "node:assert/strict";
import {
  currentIdentity,
  type IdMapping,
  isUsernsError,
  parseIdMap,
  planIdMaps,
  rangesFor,
  readSubIdFileSync,
  UsernsCommand,
  type UsernsCommandOptions,
  UsernsError,
} from "../../lib/mod.ts";
import { ID, nsTest, PRIVILEGED, text } from "./_env.ts";

const sh = (script: string, opts: UsernsCommandOptions = {}) =>
  new UsernsCommand("sh", { args: ["-c", script], ...opts }).output();

/** The plan `auto` should produce for the caller, from the real files. */
function expectedAuto() {
  const user = { name: ID.name, uid: ID.uid };
  const subuid = readSubIdFileSync("/etc/subuid");
  const subgid = readSubIdFileSync("/etc/subgid");
  return planIdMaps({
    mode: "auto",
    uid: {
      kind: "uid",
      ownId: ID.uid,
      delegated: rangesFor(subuid, user),
      file: subuid.path,
    },
    gid: {
      kind: "gid",
      ownId: ID.gid,
      delegated: rangesFor(subgid, user),
      file: subgid.path,
    },
    privileged: PRIVILEGED,
    helpers: { newuidmap: true, newgidmap: true },
    strict: !PRIVILEGED,
  });
}

function outerOf(inner: number, map: IdMapping[]): number {
  const line = map.find((m) => inner >= m.inner && inner < m.inner + m.count);
  assert.ok(line, `inner ${inner} is not mapped`);
  return line.outer + inner - line.inner;
}

nsTest("auto: the map read from inside equals the plan", async () => {
  const out = await sh(
    "cat /proc/self/uid_map; echo --; cat /proc/self/gid_map; id -u; id -g",
    {
      strict: !PRIVILEGED,
    },
  );
  assert.equal(out.code, 0, text(out.stderr));
  const [uidMap, rest] = text(out.stdout).split("--\n") as [string, string];
  const lines = rest.trim().split("\n");
  const plan = expectedAuto();
  assert.deepEqual(parseIdMap(uidMap), plan.uid);
  assert.deepEqual(parseIdMap(lines.slice(0, -2).join("\n")), plan.gid);
  assert.deepEqual(lines.slice(-2), ["0", "0"]);
  if (ID.name === "nsuser") {
    // The CI user: two non-adjacent ranges, stacked from inside 1.
    assert.deepEqual(plan.uid, [
      { inner: 0, outer: ID.uid, count: 1 },
      { inner: 1, outer: 200000, count: 65536 },
      { inner: 65537, outer: 400000, count: 65536 },
    ]);
  }
});

nsTest(
  "a file chowned inside to 1000:1000 is owned outside by the mapped ids",
  async () => {
    const dir = Deno.makeTempDirSync();
    try {
      const out = await sh(`touch ${dir}/f && chown 1000:1000 ${dir}/f`, {
        strict: !PRIVILEGED,
      });
      assert.equal(out.code, 0, text(out.stderr));
      const st = Deno.statSync(`${dir}/f`);
      const plan = expectedAuto();
      assert.equal(st.uid, outerOf(1000, plan.uid));
      assert.equal(st.gid, outerOf(1000, plan.gid));
      if (ID.name === "nsuser") {
        assert.deepEqual([st.uid, st.gid], [
          200999,
          200999,
        ]);
      }
    } finally {
      // The file belongs to a subordinate id: only inside root may remove it.
      await sh(`rm -rf ${dir}`, { strict: !PRIVILEGED });
    }
  },
);

nsTest("root and current maps, user and group", async (t) => {
  await t.step("root: own id as 0, nothing else", async () => {
    const out = await sh("cat /proc/self/uid_map; id -u", { map: "root" });
    const [map, uid] = text(out.stdout).trim().split("\n").map((l) => l.trim());
    assert.equal(map!.split(/\s+/).join(" "), `0 ${ID.uid} 1`);
    assert.equal(uid, "0");
  });
  await t.step("current: runs as the own uid and gid", async () => {
    const out = await sh("id -u; id -g", { map: "current" });
    assert.equal(text(out.stdout), `${ID.uid}\n${ID.gid}\n`);
  });
  await t.step("user and group inside", async () => {
    const out = await sh("id -u; id -g; id -G", {
      user: 1000,
      group: 1000,
      strict: !PRIVILEGED,
    });
    assert.equal(text(out.stdout), "1000\n1000\n1000\n");
  });
  await t.step("an unmapped user is refused before anything runs", () => {
    assert.throws(
      () => new UsernsCommand("true", { map: "root", user: 5 }).spawn(),
      (e) => e instanceof UsernsError && e.code === "MAP_UNMAPPED_ID",
    );
  });
});

nsTest("exit status: code, signal, not found, cannot execute", async (t) => {
  await t.step("code", async () => {
    const s = await sh("exit 3");
    assert.deepEqual([s.code, s.success, s.signal], [3, false, null]);
  });
  await t.step("signal", async () => {
    const s = await sh("kill -TERM $$");
    assert.deepEqual([s.code, s.signal], [143, "SIGTERM"]);
  });
  await t.step("not found", async () => {
    await assert.rejects(
      new UsernsCommand("no-such-command-userns").output(),
      // As Deno.Command: a NotFound, and one of ours by its code.
      (e) =>
        e instanceof Deno.errors.NotFound && isUsernsError(e) &&
        e.code === "EXEC_NOT_FOUND" && e.errno === "ENOENT",
    );
  });
  await t.step("cannot execute", async () => {
    const file = Deno.makeTempFileSync();
    try {
      Deno.chmodSync(file, 0o644);
      await assert.rejects(
        new UsernsCommand(file).output(),
        (e) =>
          e instanceof Deno.errors.PermissionDenied && isUsernsError(e) &&
          e.code === "EXEC_DENIED" && e.errno === "EACCES",
      );
    } finally {
      Deno.removeSync(file);
    }
  });
});

nsTest("stdio: piped stdin, null, inherit of the environment", async (t) => {
  await t.step("stdin piped through cat", async () => {
    const child = new UsernsCommand("cat", { stdin: "piped", stdout: "piped" })
      .spawn();
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode("hello\n"));
    await w.close();
    const out = await new Response(child.stdout).text();
    assert.equal(out, "hello\n");
    assert.equal((await child.status).code, 0);
  });
  await t.step("null and env", async () => {
    const out = await sh(
      "cat; echo $FOO $_CONTAINERS_USERNS_CONFIGURED $_CONTAINERS_ROOTLESS_UID",
      {
        env: { FOO: "bar" },
      },
    );
    assert.equal(text(out.stdout), `bar done ${ID.uid}\n`);
  });
  await t.step("clearEnv keeps only what is set", async () => {
    const out = await new UsernsCommand("/usr/bin/env", {
      clearEnv: true,
      env: { A: "1" },
    }).output();
    const vars = text(out.stdout).trim().split("\n").sort();
    assert.deepEqual(vars, [
      "A=1",
      "_CONTAINERS_ROOTLESS_GID=" + ID.gid,
      "_CONTAINERS_ROOTLESS_UID=" + ID.uid,
      "_CONTAINERS_USERNS_CONFIGURED=done",
    ]);
  });
  await t.step("not piped streams throw", async () => {
    const out = await new UsernsCommand("true", { stdout: "null" }).output();
    assert.throws(() => out.stdout, TypeError);
  });
});

nsTest(
  "the command starts with fds 0-2 only, default signals, empty mask",
  async () => {
    const out = await sh(
      "ls /proc/$$/fd; exec grep -E '^Sig(Blk|Ign)' /proc/self/status",
    );
    const lines = text(out.stdout).trim().split("\n");
    assert.deepEqual(lines.slice(0, -2), ["0", "1", "2"]);
    assert.deepEqual(lines.slice(-2), [
      "SigBlk:\t0000000000000000",
      "SigIgn:\t0000000000000000",
    ]);
  },
);

nsTest("each namespace is new, seen from inside", async (t) => {
  const kinds = ["mnt", "pid", "uts", "ipc", "net", "cgroup", "user"] as const;
  const outside = Object.fromEntries(
    kinds.map((k) => [k, Deno.readLinkSync(`/proc/self/ns/${k}`)]),
  );
  const names = {
    mnt: "mount",
    pid: "pid",
    uts: "uts",
    ipc: "ipc",
    net: "net",
    cgroup: "cgroup",
  } as const;
  for (const k of kinds) {
    await t.step(k, async () => {
      const ns = k === "user" ? [] : [names[k]];
      // A namespace link, `mnt:[4026531841]`: a command that printed
      // nothing must not pass for one in a new namespace.
      const link = new RegExp(`^${k}:\\[[0-9]+\\]$`);
      const inside = async (o: UsernsCommandOptions) => {
        // /proc/self, not /proc/$$: in a new pid namespace $$ is the pid
        // inside, and the caller's /proc would show another process.
        const out = await sh(`exec readlink /proc/self/ns/${k}`, o);
        assert.equal(out.code, 0, text(out.stderr));
        const ns = text(out.stdout).trim();
        assert.match(ns, link);
        return ns;
      };
      assert.notEqual(await inside({ namespaces: ns }), outside[k]);
      if (k === "mnt") {
        // The mount namespace is new by default, as under podman unshare.
        assert.equal(await inside({ mountNamespace: false }), outside[k]);
      } else if (k !== "user") {
        assert.equal(await inside({}), outside[k]);
      }
    });
  }
  await t.step(
    "mountProc: a private /proc; init: false makes the command PID 1",
    async () => {
      const out = await sh("echo $$; echo /proc/[0-9]*", {
        mountProc: true,
        init: false,
      });
      assert.equal(text(out.stdout), "1\n/proc/1\n");
    },
  );
  await t.step(
    "init by default: the command is pid 2 under userns-init",
    async () => {
      const out = await sh(
        "echo $$; cat /proc/1/comm; tr '\\0' ' ' </proc/1/cmdline; echo",
        {
          mountProc: true,
        },
      );
      assert.equal(text(out.stdout), "2\nuserns-init\nuserns-init \n");
    },
  );
  await t.step("hostname", async () => {
    const before = Deno.hostname();
    const out = await new UsernsCommand("hostname", { hostname: "inside" })
      .output();
    assert.equal(out.code, 0, text(out.stderr));
    assert.equal(text(out.stdout), "inside\n");
    assert.equal(Deno.hostname(), before, "the caller's hostname is kept");
  });
  await t.step("root and cwd", async () => {
    const root = Deno.makeTempDirSync();
    try {
      Deno.mkdirSync(`${root}/bin`);
      Deno.copyFileSync("/bin/busybox", `${root}/bin/busybox`);
      const out = await new UsernsCommand("/bin/busybox", {
        args: ["pwd"],
        root,
      }).output();
      assert.equal(text(out.stdout), "/\n");
    } finally {
      Deno.removeSync(root, { recursive: true });
    }
    const out = await new UsernsCommand("pwd", { cwd: "/usr" }).output();
    assert.equal(text(out.stdout), "/usr\n");
  });
  await t.step("setsid and oomScoreAdj", async () => {
    const out = await sh(
      "ps -o sid= -p $$; echo $$; cat /proc/$$/oom_score_adj",
      {
        setsid: true,
        oomScoreAdj: 500,
      },
    );
    const [sid, pid, oom] = text(out.stdout).trim().split("\n").map((s) =>
      s.trim()
    );
    assert.equal(sid, pid);
    assert.equal(oom, "500");
  });
});

nsTest("kill and status; beforeExec sees the pid after the maps", async () => {
  let seen: string | undefined;
  const child = new UsernsCommand("sleep", {
    args: ["30"],
    beforeExec: (pid) => {
      seen = Deno.readTextFileSync(`/proc/${pid}/uid_map`);
    },
  }).spawn();
  await child.ready;
  assert.ok(
    seen && parseIdMap(seen).length >= 1,
    "maps were written before beforeExec",
  );
  child.kill("SIGKILL");
  assert.deepEqual(await child.status, {
    success: false,
    code: 137,
    signal: "SIGKILL",
  });
  assert.throws(() => child.kill(), TypeError);
});

nsTest("an AbortSignal stops the command", async () => {
  const ac = new AbortController();
  const child = new UsernsCommand("sleep", { args: ["30"], signal: ac.signal })
    .spawn();
  await child.ready;
  ac.abort();
  assert.equal((await child.status).signal, "SIGTERM");
});

Deno.test("currentIdentity() is the process's", () => {
  assert.equal(currentIdentity().uid, Deno.uid());
});
