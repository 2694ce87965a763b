// `run --in POD --root DIR` stays in DIR (README, "Pods" and "The boundary":
// no way back to your root). The pod's holder,
// userns-pause, keeps the pod's mount namespace with the host's root; a
// command under --root in the pod must get a new pid namespace and a fresh
// /proc, so that no process it can name leads there: not through
// /proc/PID/root or /proc/PID/cwd, and not through pidfd_open() + setns()
// of every pid, which needs no /proc at all. Pods without and with --pid,
// through the CLI and through the library, as the unprivileged user.
import assert from "node:assert/strict";
import { nsTest } from "./_env.ts";
import {
  type Attacker,
  attackers,
  attackReason,
  attackRootfs,
  placeFor,
  podProbe,
} from "./_attack_fs.ts";
import { holders, killAll } from "./_pod.ts";
import { removeRootfs, type Rootfs, rootfsReason } from "./_rootfs.ts";
import { runScenario } from "./_user.ts";

/** The pods: without and with a pid namespace of their own. */
const PODS: { label: string; options: string[]; arg: string }[] = [
  { label: "a pod without --pid", options: [], arg: "nopid" },
  { label: "a pod with --pid", options: ["--pid"], arg: "pid" },
];

/**
 * What the probe and the attack printed must show: a fresh proc of another
 * pid namespace than the holder's, not the holder's pid, nothing read
 * outside the root, no way out through pidfds.
 *
 * @param out the probe's output, then the attack's
 * @param holder the holder's host pid
 * @param holderNs its pid namespace, `pid:[N]`
 */
function judge(out: string, holder: number, holderNs: string): void {
  const lines = out.trimEnd().split("\n");
  const field = (key: string) =>
    lines.find((l) => l.startsWith(`${key}: `))?.slice(key.length + 2);
  assert.doesNotMatch(out, /through|escaped/, `read outside the root:\n${out}`);
  assert.ok(!out.includes("the host side"), `the marker's text:\n${out}`);
  assert.equal(field("proc"), "proc", `a fresh /proc:\n${out}`);
  assert.match(field("namespace") ?? "", /^pid:\[\d+\]$/, out);
  assert.notEqual(field("namespace"), holderNs, `a new pid namespace:\n${out}`);
  const pids = (field("pids") ?? "").trim().split(" ");
  assert.ok(pids.length >= 1 && pids[0] !== "", `it sees itself:\n${out}`);
  assert.ok(!pids.includes(String(holder)), `the holder's pid:\n${out}`);
  assert.doesNotMatch(field("programs") ?? "", /userns-pause/, out);
  assert.match(out, /^done$/m, out);
  assert.match(out, /^pidns: no way out \(\d+ pids seen\)$/m, out);
}

/** The holder of pod NAME, as `userns ls --json` gives it. */
async function holderOf(
  who: Attacker,
  name: string,
  env: Record<string, string>,
): Promise<number> {
  const ls = await who.userns(["ls", "--json"], env);
  assert.equal(ls.code, 0, ls.stderr);
  const pod = (JSON.parse(ls.stdout) as { name: string; pid: number }[])
    .find((p) => p.name === name);
  assert.ok(pod, `pod ${name} listed: ${ls.stdout}`);
  return pod.pid;
}

/** Runs fn with a rootfs and a runtime dir of the attacker's; kills every
 * holder left whose name starts with `prefix`. */
async function withPlace(
  who: Attacker,
  prefix: string,
  fn: (fs: Rootfs, env: Record<string, string>) => Promise<void>,
): Promise<void> {
  const fs = await attackRootfs(who);
  const runtime = await placeFor(who, "uns-podroot-");
  await Deno.chmod(runtime, 0o700);
  try {
    await fn(fs, { XDG_RUNTIME_DIR: runtime });
  } finally {
    killAll(holders(prefix));
    await Deno.remove(runtime, { recursive: true });
    removeRootfs(fs);
  }
}

nsTest(
  "boundary: run --in POD --root DIR reaches nothing outside DIR (CLI)",
  async (t) => {
    for (const who of attackers("user")) {
      for (const pod of PODS) {
        await t.step(`${pod.label}, as ${who.name}`, async () => {
          const name = `t${Deno.pid}-${pod.arg}`;
          await withPlace(who, name, async (fs, env) => {
            const start = await who.userns(
              ["start", ...pod.options, name],
              env,
            );
            assert.equal(start.code, 0, start.stderr);
            const holder = await holderOf(who, name, env);
            const holderNs = Deno.readLinkSync(`/proc/${holder}/ns/pid`);
            let out = "";
            for (
              const cmd of [
                ["sh", "-c", podProbe(fs.marker)],
                ["/bin/attack", "pidns", fs.marker],
              ]
            ) {
              const run = await who.userns(
                ["run", "--in", name, "--root", fs.root, "--", ...cmd],
                env,
              );
              out += run.stdout;
            }
            const stop = await who.userns(["stop", name], env);
            assert.equal(stop.code, 0, stop.stderr);
            judge(out, holder, holderNs);
          });
        });
      }
    }
  },
  rootfsReason ?? attackReason,
);

nsTest(
  "boundary: pod.command(cmd, { root }) reaches nothing outside the root (library)",
  async (t) => {
    for (const who of attackers("user")) {
      for (const pod of PODS) {
        await t.step(`${pod.label}, as ${who.name}`, async () => {
          const name = `t${Deno.pid}-lib-${pod.arg}`;
          await withPlace(who, name, async (fs, env) => {
            const out = await runScenario(
              "tests/integration/_attack_fs.ts",
              "pod-root",
              {
                unprivileged: true,
                args: [env.XDG_RUNTIME_DIR!, fs.root, fs.marker, pod.arg, name],
              },
            );
            const [, pid, ns] = out.match(/^holder (\d+) (\S+)$/m) ?? [];
            assert.ok(pid && ns, `the holder: ${out}`);
            judge(out, Number(pid), ns);
          });
        });
      }
    }
  },
  rootfsReason ?? attackReason,
);
