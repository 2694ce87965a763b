// `--root` and "Your terminal stays yours" (README, "The boundary"; bwrap's
// CVE-2017-5226): a command under `userns run --root DIR`, or run in a pod
// started with one, runs in a new session unless `--ctty` or `--tty` is
// given, so that it
// cannot type a line into the caller's shell with TIOCSTI. Tried on a real
// terminal (`script`) whose shell reads what was typed once userns is
// done, side by side with `bwrap --new-session`, which refuses the same;
// as the caller and, as root, as the test user too.
import assert from "node:assert/strict";
import { MAIN, nsTest, PRIVILEGED } from "./_env.ts";
import { asUser, UNPRIVILEGED_REASON, userMain } from "./_user.ts";
import {
  buildRootfs,
  bwrap,
  bwrapReason,
  removeRootfs,
  type Rootfs,
  rootfsReason,
} from "./_rootfs.ts";
import {
  buildTools,
  onTerminal,
  removeTools,
  secret,
  type Terminal,
  tiocstiReason,
  type Tools,
  toolsReason,
} from "./_attack.ts";

/** What `sti` got from each channel, without the terminals' names. */
function outcomes(term: Terminal): Record<string, string> {
  return Object.fromEntries(
    Object.entries(term.sti).map(([k, v]) => [k, v.split(" ").at(-1)!]),
  );
}

/**
 * What a command in a new session gets: every fd on the caller's terminal
 * refused TIOCSTI (it is not its controlling terminal), no /dev/tty.
 */
const REFUSED = {
  fd0: "EPERM",
  fd1: "EPERM",
  fd2: "EPERM",
  "/dev/tty": "ENXIO",
};

/**
 * Asserts that `sti`, with fds 0-2 on the caller's terminal, typed nothing
 * into it: each refused as in a new session (REFUSED), and the caller's
 * shell read nothing once the command was done.
 */
function refused(term: Terminal, what: string): void {
  const all = `${what}:\n${term.output}`;
  assert.equal(term.code, 0, all);
  assert.deepEqual(term.read, [], `the caller's shell read it; ${all}`);
  for (const fd of ["fd0", "fd1", "fd2"]) {
    assert.match(term.sti[fd] ?? "", new RegExp(`^${term.tty} `), all);
  }
  assert.deepEqual(outcomes(term), REFUSED, all);
}

/** Runs `caller.sh ARGV... sti TOKEN` on a terminal, as `user` says. */
async function typeInto(
  tools: Tools,
  user: boolean,
  argv: string[],
): Promise<Terminal> {
  const token = `tok${secret().slice(0, 10)}`;
  const prefix = user ? asUser([]).argv : [];
  return await onTerminal(tools, [...argv, token], token, prefix);
}

/** A busybox root the test user can read, with `sti` in its /bin. */
async function stiRoot(tools: Tools): Promise<Rootfs> {
  const fs = await buildRootfs();
  await Deno.chmod(fs.dir, 0o755);
  await Deno.copyFile(tools.sti, `${fs.root}/bin/sti`);
  await Deno.chmod(`${fs.root}/bin/sti`, 0o755);
  return fs;
}

for (const user of [false, true]) {
  if (user && !PRIVILEGED) continue; // the caller is the test user
  const who = user ? "as the test user" : "as the caller";
  nsTest(
    `boundary: run --root: the command cannot type into the caller's terminal (TIOCSTI), as with bwrap --new-session (${who})`,
    async (t) => {
      const tools = await buildTools();
      const fs = await stiRoot(tools);
      const userns = [
        Deno.execPath(),
        "run",
        "-A",
        user ? userMain() : MAIN,
        "run",
        "--root",
        fs.root,
        "--dev",
        "/dev",
      ];
      try {
        await t.step(
          "control: sti on the terminal types into the shell",
          async () => {
            const term = await typeInto(tools, user, [tools.sti]);
            assert.ok(
              term.read.some((l) => l.endsWith("-fd0")),
              `TIOCSTI did not reach the shell, nothing can be shown:\n${term.output}`,
            );
          },
        );
        await t.step("userns run --root: a new session", async () => {
          const term = await typeInto(tools, user, [
            ...userns,
            "--",
            "/bin/sti",
          ]);
          refused(term, "userns run --root");
          assert.notEqual(term.stiSid, undefined, term.output);
          assert.notEqual(
            term.stiSid,
            term.sid,
            `sti ran in the caller's session:\n${term.output}`,
          );
        });
        await t.step(
          "userns run --in a pod started with --root: a new session too",
          async () => {
            const main = user ? userMain() : MAIN;
            const pod = `tty-${secret().slice(0, 8)}`;
            const cli = async (args: string[]) => {
              const { argv } = asUser([Deno.execPath(), "run", "-A", main]);
              const all = user ? argv : [Deno.execPath(), "run", "-A", main];
              const out = await new Deno.Command(all[0]!, {
                args: [...all.slice(1), ...args],
                stdin: "null",
                stderr: "piped",
              }).output();
              assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
            };
            await cli(["start", "--root", fs.root, "--dev", "/dev", pod]);
            try {
              const term = await typeInto(tools, user, [
                Deno.execPath(),
                "run",
                "-A",
                main,
                "run",
                "--in",
                pod,
                "--",
                "/bin/sti",
              ]);
              refused(term, "userns run --in a --root pod");
            } finally {
              await cli(["stop", pod]);
            }
          },
        );
        await t.step("bwrap --new-session: the same", async () => {
          const term = await typeInto(
            tools,
            user,
            bwrap(["--new-session", "--bind", fs.root, "/", "--dev", "/dev"], [
              "/bin/sti",
            ]),
          );
          refused(term, "bwrap --new-session");
        });
        await t.step(
          "(bwrap without --new-session, for the record)",
          async () => {
            const term = await typeInto(
              tools,
              user,
              bwrap(["--bind", fs.root, "/", "--dev", "/dev"], ["/bin/sti"]),
            );
            console.log(
              `plain bwrap: ${JSON.stringify(outcomes(term))}, the caller's ` +
                `shell read: ${JSON.stringify(term.read)}`,
            );
          },
        );
        await t.step(
          "--ctty: the terminal stays the controlling one",
          async () => {
            const term = await typeInto(tools, user, [
              ...userns,
              "--ctty",
              "--",
              "/bin/sti",
            ]);
            assert.equal(term.code, 0, term.output);
            assert.match(term.sti.fd0 ?? "", new RegExp(`^${term.tty} `));
            assert.match(term.sti["/dev/tty"] ?? "", /^fd0 /, term.output);
          },
        );
      } finally {
        removeRootfs(fs);
        await removeTools(tools);
      }
    },
    toolsReason ?? rootfsReason ?? bwrapReason ?? tiocstiReason ??
      (user ? UNPRIVILEGED_REASON : undefined),
  );
}
