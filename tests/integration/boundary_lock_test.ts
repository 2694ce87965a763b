// Read-only stays read-only (README, "The boundary"). Inside
// root, with every capability of its namespace, tries to undo a --ro-bind,
// with and without --root: remount it read-write (mount(2) and
// mount_setattr(2), and mount(8) as a user would), unmount it, move it away,
// bind its parent without it (mount(2) and open_tree(2)). Each try must fail
// and a write after it must give EROFS, the host file unchanged; bwrap runs
// side by side and what it refuses, userns refuses. And the lock must not
// cost inside root anything podman needs: full CapEff, new user namespaces,
// new mounts.
import assert from "node:assert/strict";
import { nsTest } from "./_env.ts";
import {
  type Attacker,
  attackers,
  attackReason,
  attackRootfs,
} from "./_attack_fs.ts";
import {
  bwrap,
  bwrapReason,
  listing,
  removeRootfs,
  type Rootfs,
  rootfsReason,
} from "./_rootfs.ts";

/** Where an attack runs: the ro-bind, its parent, a scratch dir, and the
 * program, as the command sees them. */
interface Setting {
  /** `without --root` or `with --root`. */
  label: string;
  /** userns's mount options (and root). */
  userns: string[];
  /** bwrap's options for the same view. */
  bwrap: string[];
  /** The ro-bind's destination, inside. */
  dest: string;
  /** A file under it, to write; the host's file when dest is that file. */
  file: string;
  /** Its parent mount point, to bind without it. */
  parent: string;
  /** The ro file, as the parent's bind shows it without the ro-bind. */
  below: (at: string) => string;
  /** A directory the attacker may write in. */
  scratch: string;
  /** The attack program. */
  attack: string;
}

function settings(fs: Rootfs): Setting[] {
  const ro = `${fs.dir}/ro`;
  return [{
    label: "without --root",
    userns: ["--ro-bind", `${ro}/f`, `${ro}/f`],
    bwrap: ["--bind", "/", "/", "--ro-bind", `${ro}/f`, `${ro}/f`],
    dest: `${ro}/f`,
    file: `${ro}/f`,
    parent: ro,
    below: (at) => `${at}/f`,
    scratch: `${fs.dir}/scratch`,
    attack: `${fs.dir}/attack`,
  }, {
    label: "with --root",
    userns: ["--root", fs.root, "--proc", "/proc", "--ro-bind", ro, "/data"],
    bwrap: [
      "--bind",
      fs.root,
      "/",
      "--proc",
      "/proc",
      "--ro-bind",
      ro,
      "/data",
    ],
    dest: "/data",
    file: "/data/f",
    parent: "/",
    below: (at) => `${at}/data/f`,
    scratch: "/tmp",
    attack: "/bin/attack",
  }];
}

/** One try: its shell line and the answers userns must give. */
interface Try {
  /** The op, as the attack program names it. */
  op: string;
  /** The shell line: the try, then `write` of the ro file, and, for a bind
   * of the parent, `write` of the file below at the new place. */
  script: (s: Setting) => string;
  /** The answers that hold the boundary (the try's line). */
  want: RegExp;
}

const TRIES: Try[] = [
  ...["remount", "setattr"].map((op) => ({
    op,
    script: (s: Setting) => `${s.attack} ${op} ${s.dest}`,
    want: new RegExp(`^${op}: EPERM$`),
  })),
  ...["umount", "detach"].map((op) => ({
    op,
    script: (s: Setting) => `${s.attack} ${op} ${s.dest}`,
    want: new RegExp(`^${op}: (EINVAL|EPERM)$`),
  })),
  {
    op: "move",
    script: (s) => `${s.attack} move ${s.dest} ${s.scratch}/moved`,
    want: /^move: (EINVAL|EPERM)$/,
  },
  ...["bind", "clone"].map((op) => ({
    op,
    script: (s: Setting) =>
      `${s.attack} ${op} ${s.parent} ${s.scratch}/${op}; ` +
      `${s.attack} write ${s.below(`${s.scratch}/${op}`)} | sed 's/^/below /'`,
    want: new RegExp(`^${op}: E[A-Z]+$`),
  })),
  {
    op: "mount(8)",
    script: (s) =>
      `mount -o remount,bind,rw ${s.dest} >/dev/null 2>&1 && ` +
      `echo "mount(8): ok" || echo "mount(8): failed"`,
    want: /^mount\(8\): failed$/,
  },
];

/** Runs one try as userns's or bwrap's command; returns its lines. */
async function run(
  who: Attacker,
  s: Setting,
  t: Try,
  tool: "userns" | "bwrap",
): Promise<string[]> {
  const script = `${t.script(s)}; ${s.attack} write ${s.file}`;
  const out = tool === "userns"
    ? await who.userns(["run", ...s.userns, "--", "sh", "-c", script])
    : await who.run(bwrap(s.bwrap, ["sh", "-c", script]));
  if (out.code !== 0 && out.stdout === "") {
    return [`${tool} did not run: exit ${out.code}: ${out.stderr.trim()}`];
  }
  return out.stdout.trim().split("\n");
}

/** What a try's lines show went wrong; empty if it held. */
function judge(t: Try, lines: string[], want: RegExp | undefined): string[] {
  const [tried, ...writes] = lines;
  const bad: string[] = [];
  if (want && !want.test(tried ?? "")) bad.push(`the try: ${tried}`);
  if (!want && tried?.endsWith(": ok")) bad.push(`the try: ${tried}`);
  for (const w of writes) {
    const below = w.startsWith("below ");
    if (below ? w.endsWith(": ok") : w !== "write: EROFS") {
      bad.push(below ? `the file below: ${w}` : `then ${w}`);
    }
  }
  if (t.op === "bind" || t.op === "clone") {
    if (writes.length !== 2) bad.push(`lines: ${lines.join(" | ")}`);
  } else if (writes.length !== 1) bad.push(`lines: ${lines.join(" | ")}`);
  return bad;
}

/** Puts the files back as they were; says what had changed. */
function restore(fs: Rootfs, s: Setting): string[] {
  const changed: string[] = [];
  const host = Deno.readTextFileSync(`${fs.dir}/ro/f`);
  if (host !== "original\n") {
    changed.push(`the host file now holds ${JSON.stringify(host)}`);
    Deno.writeTextFileSync(`${fs.dir}/ro/f`, "original\n");
  }
  const data = `${fs.root}/data`;
  try {
    const made = listing(data);
    if (made.length) changed.push(`written under the ro-bind: ${made}`);
    Deno.removeSync(data, { recursive: true });
  } catch {
    // not made
  }
  const scratch = s.scratch === "/tmp" ? `${fs.root}/tmp` : s.scratch;
  for (const e of Deno.readDirSync(scratch)) {
    Deno.removeSync(`${scratch}/${e.name}`, { recursive: true });
  }
  return changed;
}

/** Every try in every setting, userns then bwrap; all that went wrong. */
async function attack(who: Attacker, fs: Rootfs): Promise<string[]> {
  const problems: string[] = [];
  for (const s of settings(fs)) {
    for (const t of TRIES) {
      const what = `${s.label}, ${t.op}`;
      const ours = await run(who, s, t, "userns");
      problems.push(
        ...judge(t, ours, t.want).map((p) => `${what}: userns: ${p}`),
        ...restore(fs, s).map((p) => `${what}: userns: ${p}`),
      );
      // bwrap as the reference: what it refuses, userns refuses. Run as
      // root, bwrap keeps every capability and holds nothing: not judged.
      const theirs = await run(who, s, t, "bwrap");
      restore(fs, s);
      if (theirs[0]?.startsWith("bwrap did not run")) {
        problems.push(`${what}: ${theirs[0]}`);
      } else if (!theirs[0]?.endsWith(": ok") && ours[0]?.endsWith(": ok")) {
        problems.push(`${what}: bwrap refuses (${theirs[0]}), userns not`);
      }
    }
  }
  return problems;
}

/** Makes the ro file, its scratch dir, as the attacker's. */
async function prepare(fs: Rootfs, who: Attacker): Promise<void> {
  await Deno.mkdir(`${fs.dir}/ro`);
  await Deno.mkdir(`${fs.dir}/scratch`);
  await Deno.writeTextFile(`${fs.dir}/ro/f`, "original\n");
  if (who.uid !== Deno.uid()) {
    for (const p of ["ro", "ro/f", "scratch"]) {
      await Deno.chown(`${fs.dir}/${p}`, who.uid, null);
    }
  }
}

nsTest(
  "boundary: a --ro-bind cannot be undone by inside root, side by side with bwrap",
  async (t) => {
    for (const who of attackers()) {
      await t.step(`as ${who.name}`, async () => {
        const fs = await attackRootfs(who);
        try {
          await prepare(fs, who);
          const problems = await attack(who, fs);
          if (problems.length) {
            throw new Error(
              `${problems.length} ways round the ro-bind as ${who.name}:\n` +
                problems.join("\n"),
            );
          }
        } finally {
          removeRootfs(fs);
        }
      });
    }
  },
  rootfsReason ?? bwrapReason ?? attackReason,
);

/** The whole capability set of this kernel, as /proc/PID/status shows it. */
function fullCaps(): string {
  const last = Number(
    Deno.readTextFileSync("/proc/sys/kernel/cap_last_cap").trim(),
  );
  return ((1n << BigInt(last + 1)) - 1n).toString(16).padStart(16, "0");
}

nsTest(
  "boundary: under the locked ro-bind inside root keeps every capability, new user namespaces and mounts",
  async (t) => {
    for (const who of attackers()) {
      await t.step(`as ${who.name}`, async () => {
        const fs = await attackRootfs(who);
        try {
          await prepare(fs, who);
          for (const s of settings(fs)) {
            const out = await who.userns([
              "run",
              ...s.userns,
              "--",
              "sh",
              "-c",
              `grep CapEff /proc/self/status; ` +
              // util-linux's unshare, or busybox's in the root
              `unshare -r true && echo "unshare -r: ok"; ` +
              `unshare --user --map-root-user true && echo "unshare --user: ok"; ` +
              `${s.attack} tmpfs ${s.scratch}/t; ${s.attack} write ${s.file}; ` +
              "exit 0",
            ]);
            assert.equal(
              out.stdout,
              `CapEff:\t${fullCaps()}\nunshare -r: ok\nunshare --user: ok\n` +
                "tmpfs: ok\ntmpfs write: ok\nwrite: EROFS\n",
              `${s.label}: ${out.stderr}`,
            );
            assert.equal(out.code, 0, `${s.label}: ${out.stderr}`);
            assert.deepEqual(restore(fs, s), [], s.label);
          }
        } finally {
          removeRootfs(fs);
        }
      });
    }
  },
  rootfsReason ?? attackReason,
);

nsTest(
  "boundary: --user 1000 cannot undo a --ro-bind either",
  async (t) => {
    for (const who of attackers()) {
      await t.step(`as ${who.name}`, async () => {
        const fs = await attackRootfs(who);
        try {
          await prepare(fs, who);
          // Open to all, so that the kernel's answers are about the mounts,
          // not about inside uid 1000's access to the attacker's files.
          await Deno.chmod(`${fs.dir}/ro/f`, 0o666);
          await Deno.chmod(`${fs.dir}/scratch`, 0o777);
          const s = settings(fs)[0]!;
          const out = await who.userns([
            "run",
            "--user",
            "1000",
            ...s.userns,
            "--",
            "sh",
            "-c",
            TRIES.map((t) => t.script(s)).join("; ") +
            `; ${s.attack} write ${s.file}; exit 0`,
          ]);
          assert.equal(out.code, 0, out.stderr);
          assert.doesNotMatch(out.stdout, /: ok$/m, out.stdout);
          assert.match(out.stdout, /^remount: EPERM$/m);
          assert.match(out.stdout, /^write: EROFS$/m);
          assert.deepEqual(restore(fs, s), []);
        } finally {
          removeRootfs(fs);
        }
      });
    }
  },
  rootfsReason ?? attackReason,
);
