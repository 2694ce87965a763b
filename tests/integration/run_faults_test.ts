// Errors of the mount options name their cause, in one line, exit 125,
// through the CLI and the library alike, and leave nothing behind: no
// process, no fd, and nothing in the root filesystem beyond what a run
// creates (the missing targets of binds, tmpfs, dev and proc).
import assert from "node:assert/strict";
import {
  SpawnError,
  UsernsCommand,
  type UsernsCommandOptions,
  UsernsError,
} from "../../lib/mod.ts";
import { cli, nsTest } from "./_env.ts";
import { leavesNothing, typed } from "./_process.ts";
import { listing } from "./_rootfs.ts";

/** A bare root: /bin/sh (a copy of the static busybox), no /proc, no /dev. */
async function bareRoot(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "userns-bare-" });
  await Deno.mkdir(`${dir}/root/bin`, { recursive: true });
  await Deno.copyFile("/bin/busybox", `${dir}/root/bin/sh`);
  await Deno.chmod(`${dir}/root/bin/sh`, 0o755);
  await Deno.writeTextFile(`${dir}/file`, "not a directory\n");
  return dir;
}

const busyboxReason = (() => {
  try {
    Deno.statSync("/bin/busybox");
    return undefined;
  } catch {
    return "no /bin/busybox (apt-get install busybox-static)";
  }
})();

/** A fault: its options, the CLI's line, the library's error. */
interface Case {
  name: string;
  cli: string[];
  options: UsernsCommandOptions;
  line: string;
  error: [abstract new (...args: never[]) => Error, string];
}

/** The cases, for a dir made by bareRoot(). */
function cases(dir: string): Case[] {
  const root = `${dir}/root`;
  return [
    {
      name: "--mount-proc with no /proc in the root: the mount point",
      cli: ["--mount-proc", "--root", root],
      options: { mountProc: true, root },
      line:
        `userns: cannot mount a proc on /proc: ENOENT; the mount point /proc is missing in ${root}`,
      error: [SpawnError, "SETUP"],
    },
    {
      name: "a missing bind source",
      cli: ["--root", root, "--bind", `${dir}/missing`, "/data"],
      options: {
        root,
        mounts: [{
          type: "bind" as const,
          source: `${dir}/missing`,
          target: "/data",
        }],
      },
      line:
        `userns: run: cannot bind-mount ${dir}/missing: it does not exist; check the source path (it is looked up outside the new root)`,
      error: [UsernsError, "INVALID_ARGUMENT"],
    },
    {
      name: "a missing --root",
      cli: ["--root", `${dir}/missing`],
      options: { root: `${dir}/missing` },
      line:
        `userns: cannot make ${dir}/missing the root: ENOENT; it does not exist`,
      error: [SpawnError, "SETUP"],
    },
    {
      name: "a --root that is a file",
      cli: ["--root", `${dir}/file`],
      options: { root: `${dir}/file` },
      line:
        `userns: cannot make ${dir}/file the root: ENOTDIR; it is not a directory`,
      error: [SpawnError, "SETUP"],
    },
    {
      name: "a --cwd missing in the root",
      cli: ["--root", root, "--cwd", "nope"],
      options: { root, cwd: "nope" },
      line:
        "userns: failed to spawn '/bin/sh': no such cwd '/nope'; check that the directory exists inside",
      error: [Deno.errors.NotFound, "CWD_NOT_FOUND"],
    },
  ];
}

nsTest("run: each mount error names its cause, one line, 125", async (t) => {
  const dir = await bareRoot();
  try {
    for (const c of cases(dir)) {
      await t.step(c.name, async () => {
        const before = listing(dir);
        const out = await cli([
          "run",
          ...c.cli,
          "--",
          "/bin/sh",
          "-c",
          "echo ran",
        ]);
        assert.deepEqual([out.code, out.stdout, out.stderr], [
          125,
          "",
          `${c.line}\n`,
        ]);
        assert.doesNotMatch(out.stderr, /--pid|pid namespace/);
        assert.deepEqual(listing(dir), before, "nothing was created");
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}, busyboxReason);

nsTest("the library: the same errors, typed, and nothing left", async (t) => {
  const dir = await bareRoot();
  try {
    for (const c of cases(dir)) {
      await t.step(c.name, async () => {
        const before = listing(dir);
        await leavesNothing(async () => {
          const cmd = new UsernsCommand("/bin/sh", {
            args: ["-c", "echo ran"],
            ...c.options,
          });
          const e = await cmd.output().then(
            () => undefined,
            (e: unknown) => e,
          );
          const [cls, code] = c.error;
          typed(
            e,
            cls as unknown as typeof UsernsError,
            code,
            new RegExp(
              `^${RegExp.escape(c.line.replace(/^userns: (run: )?/, ""))}$`,
            ),
          );
        });
        assert.deepEqual(listing(dir), before, "nothing was created");
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}, busyboxReason);

nsTest(
  "run: a failed run leaves in the root only the missing targets it creates",
  async () => {
    const dir = await bareRoot();
    try {
      const root = `${dir}/root`;
      const before = listing(root);
      // Operations run in order; the proc of --mount-proc is the last, and
      // fails: the targets made before it stay, as a run that worked would
      // have left them.
      const out = await cli([
        "run",
        "--root",
        root,
        "--bind",
        `${dir}/file`,
        "/etc/data",
        "--tmpfs",
        "/scratch",
        "--mount-proc",
        "--",
        "/bin/sh",
        "-c",
        "echo ran",
      ]);
      assert.equal(out.code, 125);
      assert.match(
        out.stderr,
        /^userns: cannot mount a proc on \/proc: ENOENT;/,
      );
      const made = listing(root).filter((l) => !before.includes(l));
      assert.deepEqual(made, [
        "/etc dir",
        "/etc/data file 0",
        "/scratch dir",
      ]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
  busyboxReason,
);
