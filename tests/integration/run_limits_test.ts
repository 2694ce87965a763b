// The process options of `userns run` side by side with the tools that do
// the same: --rlimit with prlimit, --no-new-privs with setpriv, --time with
// unshare, --net with bwrap (and unshare -rn as the control).
import assert from "node:assert/strict";
import { cli, nsTest, PRIVILEGED } from "./_env.ts";
import { bwrap, bwrapReason, exec } from "./_rootfs.ts";

/** The caller's limits as /proc/self/limits shows them, by prlimit name. */
function ownLimits(): Record<string, { soft: string; hard: string }> {
  const names: Record<string, string> = {
    "Max cpu time": "cpu",
    "Max file size": "fsize",
    "Max data size": "data",
    "Max stack size": "stack",
    "Max core file size": "core",
    "Max resident set": "rss",
    "Max processes": "nproc",
    "Max open files": "nofile",
    "Max address space": "as",
  };
  const out: Record<string, { soft: string; hard: string }> = {};
  for (const line of Deno.readTextFileSync("/proc/self/limits").split("\n")) {
    const name = Object.keys(names).find((n) => line.startsWith(n));
    if (!name) continue;
    const [soft = "", hard = ""] = line.slice(26).trim().split(/\s+/);
    out[names[name]!] = { soft, hard };
  }
  return out;
}

nsTest("run --rlimit: what prlimit sets, seen inside", async (t) => {
  const own = ownLimits();
  // `unlimited` where the caller may: soft raised to a hard that is
  // unlimited (stack, usually), else a hard already unlimited.
  const open = ["stack", "data", "as", "fsize", "rss", "cpu"]
    .filter((n) => own[n]?.hard === "unlimited");
  const raise = open.find((n) => own[n]?.soft !== "unlimited") ?? open[0];
  assert.ok(raise, "some limit has an unlimited hard limit");
  const specs = ["nofile=100:200", "core=0", "nproc=500", `${raise}=unlimited`];
  if (own.fsize?.hard === "unlimited") specs.push("fsize=1048576:unlimited");
  const probe = ["sh", "-c", "ulimit -Sn; ulimit -Hn; cat /proc/self/limits"];
  await t.step(`${specs.join(" ")}: as prlimit`, async () => {
    const ours = await cli([
      "run",
      ...specs.flatMap((s) => ["--rlimit", s]),
      "--",
      ...probe,
    ]);
    const theirs = await exec([
      "prlimit",
      ...specs.map((s) => `--${s}`),
      ...probe,
    ]);
    assert.equal(theirs.code, 0, theirs.stderr);
    assert.equal(ours.code, 0, ours.stderr);
    assert.equal(ours.stdout, theirs.stdout);
    assert.match(ours.stdout, /^100\n200\n/);
    assert.match(ours.stdout, /^Max open files +100 +200 +files/m);
    assert.match(ours.stdout, /^Max core file size +0 +0 +bytes/m);
  });
  await t.step("a bad spec: one line, 125, nothing runs", async () => {
    for (const spec of ["nofile=abc", "bogus=1", "nofile", "nofile=1:2:3"]) {
      const out = await cli(["run", "--rlimit", spec, "--", "echo", "ran"]);
      assert.equal(out.code, 125, spec);
      assert.equal(out.stdout, "");
      assert.match(
        out.stderr,
        new RegExp(
          `^userns: run: invalid --rlimit "${spec}": use NAME=SOFT\\[:HARD\\], NAME one of as .* stack, values a number or unlimited; see userns run --help\\n$`,
        ),
      );
    }
    const above = await cli(["run", "--rlimit", "nofile=200:100", "true"]);
    assert.equal(above.code, 125);
    assert.match(
      above.stderr,
      /^userns: run: .*soft .*200.* hard .*100[^\n]*\n$/,
    );
  });
  await t.step(
    "raising a hard limit: EPERM, as prlimit unprivileged",
    async () => {
      // The child sets its limits inside its user namespace, where no one
      // has CAP_SYS_RESOURCE over the host's limits: root is refused too.
      const hard = Number(own.nofile!.hard) + 1;
      const out = await cli([
        "run",
        "--rlimit",
        `nofile=${hard}`,
        "echo",
        "ran",
      ]);
      assert.deepEqual([out.code, out.stdout, out.stderr], [
        125,
        "",
        "userns: cannot set the nofile limit: EPERM; raising a hard limit needs privilege outside the namespace\n",
      ]);
    },
  );
});

nsTest(
  "run --no-new-privs: NoNewPrivs 1, as setpriv --no-new-privs",
  async () => {
    const probe = ["grep", "NoNewPrivs", "/proc/self/status"];
    const ours = await cli(["run", "--no-new-privs", "--", ...probe]);
    const theirs = await exec(["setpriv", "--no-new-privs", ...probe]);
    const without = await cli(["run", "--", ...probe]);
    assert.deepEqual([ours.code, ours.stdout], [0, "NoNewPrivs:\t1\n"]);
    assert.equal(theirs.stdout, ours.stdout);
    assert.equal(without.stdout, "NoNewPrivs:\t0\n");
  },
);

nsTest("run --time with offsets, as unshare --time", async () => {
  const probe = [
    "sh",
    "-c",
    "cat /proc/self/timens_offsets; cut -d' ' -f1 /proc/uptime",
  ];
  const offsets = ["--monotonic", "1000", "--boottime", "86400"];
  const ours = await cli(["run", "--time", ...offsets, "--", ...probe]);
  const theirs = await exec([
    "unshare",
    ...(PRIVILEGED ? [] : ["-r"]),
    "--time",
    ...offsets,
    ...probe,
  ]);
  const host = Number(Deno.readTextFileSync("/proc/uptime").split(" ")[0]);
  assert.equal(ours.code, 0, ours.stderr);
  assert.equal(theirs.code, 0, theirs.stderr);
  const [oursOffsets, oursUptime] = ours.stdout.split(/\n(?=[\d.]+\n$)/);
  const [theirOffsets, theirUptime] = theirs.stdout.split(/\n(?=[\d.]+\n$)/);
  assert.equal(oursOffsets, theirOffsets);
  assert.match(oursOffsets!, /^monotonic +1000 +0\nboottime +86400 +0$/);
  for (const uptime of [oursUptime, theirUptime]) {
    const ahead = Number(uptime) - host;
    assert.ok(ahead > 86390 && ahead < 86410, `uptime ahead by ${ahead}`);
  }
  // --monotonic alone implies --time; --time alone moves no clock.
  const implied = await cli(["run", "--monotonic", "5", "--", ...probe]);
  assert.match(implied.stdout, /^monotonic +5 +0\nboottime +0 +0\n/);
  const plain = await cli(["run", "--time", "--", ...probe]);
  assert.match(plain.stdout, /^monotonic +0 +0\nboottime +0 +0\n/);
});

/** Connects to a closed port of 127.0.0.1 (bash's /dev/tcp), then lists
 * the interfaces: "Connection refused" needs the loopback up. */
const NET_PROBE = [
  "sh",
  "-c",
  "bash -c 'exec 3<>/dev/tcp/127.0.0.1/9' 2>&1 | sed 's/.*: //' | sort -u; " +
  "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '",
];

nsTest("run --net: only the loopback, and it is up", async () => {
  const ours = await cli(["run", "--net", "--", ...NET_PROBE]);
  assert.deepEqual([ours.code, ours.stdout], [0, "Connection refused\nlo\n"]);
  // The control: a new network namespace whose loopback nobody brought up.
  const down = await exec(["unshare", "-rn", ...NET_PROBE]);
  assert.equal(down.stdout, "Network is unreachable\nlo\n");
});

nsTest("run --net side by side with bwrap --unshare-net", async () => {
  const ours = await cli(["run", "--net", "--", ...NET_PROBE]);
  const theirs = await exec(
    bwrap(["--unshare-net", "--dev-bind", "/", "/"], NET_PROBE),
  );
  assert.equal(theirs.code, 0, theirs.stderr);
  assert.equal(ours.stdout, theirs.stdout);
}, bwrapReason);
