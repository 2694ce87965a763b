// `userns run --root` with a busybox root filesystem, side by side with
// bwrap: what the command sees (ids, hostname, processes, /dev), that the
// root cannot be escaped as a chroot can, what `--dev` makes, and the
// mounts applied in order inside the root.
import assert from "node:assert/strict";
import { cli, nsTest, PRIVILEGED } from "./_env.ts";
import {
  bwrap,
  bwrapReason,
  exec,
  listing,
  rootfs,
  rootfsReason,
} from "./_rootfs.ts";

/** A busybox session under `--root`: who, where, what it sees. */
const SESSION = "id; hostname; ps; ls /dev; echo x >/dev/null && echo null ok";

/** `userns run --root` with a /dev, a /proc and a hostname. */
const ROOTED = (root: string) => [
  "run",
  "--root",
  root,
  "--dev",
  "/dev",
  "--proc",
  "/proc",
  "--hostname",
  "box",
  "--",
];

/** The same with bwrap: its root bound at /, new pid and uts namespaces. */
const BWRAPPED = (root: string, command: string[]) =>
  bwrap([
    "--unshare-pid",
    "--unshare-uts",
    "--hostname",
    "box",
    "--bind",
    root,
    "/",
    "--dev",
    "/dev",
    "--proc",
    "/proc",
  ], command);

/** What `--dev` makes, as `ls /dev` lists it (README, `run`). */
const DEV =
  "fd full null ptmx pts random shm stderr stdin stdout tty urandom " +
  "zero";

/**
 * What legitimately differs between us and bwrap in a session's output:
 * PID 1 is `userns-init` here and bwrap itself (its whole command line)
 * there; bwrap's `--dev` also links `core` to /proc/kcore, which our
 * list leaves out (it is unreadable in a user namespace anyway).
 */
function normalize(out: string): string {
  return out.replace(/^( +1 0 +).*$/m, "$1<init>").replace(/^core\n/m, "");
}

nsTest(
  "run --root: a busybox root, as a session sees it",
  async () => {
    const fs = await rootfs();
    const out = await cli([...ROOTED(fs.root), "sh", "-c", SESSION]);
    assert.equal(out.code, 0, out.stderr);
    const lines = out.stdout.split("\n");
    // groups=0 when the caller has its own gid as a supplementary group.
    assert.match(lines[0]!, /^uid=0 gid=0( groups=0)?$/);
    assert.equal(lines[1], "box");
    assert.match(lines[2]!, /^PID +USER +COMMAND$/);
    assert.match(lines[3]!, /^ +1 0 +userns-init$/);
    assert.match(lines[4]!, /^ +2 0 +sh -c id; hostname; ps;/);
    assert.match(lines[5]!, /^ +\d+ 0 +\{ps\} sh -c id;/, "ps is the third");
    assert.equal(lines.slice(6).join(" "), `${DEV} null ok `);
    assert.equal(out.stderr, "");
  },
  rootfsReason,
);

nsTest("run --root side by side with bwrap: the same session", async () => {
  const fs = await rootfs();
  const ours = await cli([...ROOTED(fs.root), "sh", "-c", SESSION]);
  const theirs = await exec(BWRAPPED(fs.root, ["sh", "-c", SESSION]));
  assert.equal(theirs.code, 0, theirs.stderr);
  assert.equal(ours.code, 0, ours.stderr);
  assert.match(theirs.stdout, /^ +1 0 +\S*bwrap /m, "bwrap's own PID 1");
  assert.match(theirs.stdout, /^core$/m, "bwrap links /dev/core");
  assert.equal(normalize(ours.stdout), normalize(theirs.stdout));
}, rootfsReason ?? bwrapReason);

nsTest(
  "run --root: the chroot escape fails; under a plain chroot it works",
  async () => {
    const fs = await rootfs();
    const ours = await cli([
      "run",
      "--root",
      fs.root,
      "--",
      "/bin/escape",
      fs.marker,
    ]);
    // chroot() itself worked: the command is root in its namespace.
    assert.deepEqual([ours.code, ours.stdout, ours.stderr], [
      1,
      "chroot: ok\ncould not escape\n",
      "",
    ]);
    // The control: the same program under chroot(2) reads the host's file.
    // Unprivileged, chroot needs a user namespace of its own: unshare -r.
    const chroot = ["chroot", fs.root, "/bin/escape", fs.marker];
    const control = await exec(
      PRIVILEGED ? chroot : ["unshare", "-r", ...chroot],
    );
    assert.deepEqual([control.code, control.stdout], [
      0,
      `chroot: ok\nescaped: ${fs.markerText}`,
    ]);
  },
  rootfsReason,
);

/** Probes the devices of --dev; each line says what it found. */
const DEV_PROBE =
  `exec 3<>/dev/ptmx && echo "ptmx opened, pts: $(ls /dev/pts | tr '\\n' ' ')"
exec 3>&-
{ echo x >/dev/full; } 2>&1 | sed 's/.*: /full: /'
echo "zero: $(head -c 5 /dev/zero | wc -c)"
echo "urandom: $(head -c 4 /dev/urandom | wc -c)"
echo "random: $(head -c 4 /dev/random | wc -c)"
echo x >/dev/null && echo "null: written"
(exec 4</dev/tty) 2>&1 | sed 's/.*: /tty: /' | grep . || echo "tty: opened"
for l in fd stdin stdout stderr ptmx; do echo "$l -> $(readlink /dev/$l)"; done
stat -c '%n %F %t:%T' /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty /dev/pts/ptmx
echo "shm: $(stat -f -c %T /dev/shm)"`;

/** What opening /dev/tty gives this process: it works when the process
 * has a controlling terminal, else ENXIO. */
function hostTty(): string {
  try {
    Deno.openSync("/dev/tty", { read: true }).close();
    return "tty: opened";
  } catch (e) {
    // ENXIO is errno 6; Deno names it only in the message.
    assert.match(String(e), /\(os error 6\)/);
    return "tty: No such device or address";
  }
}

nsTest(
  "run --dev: the devices, a new devpts, the links, a tmpfs shm",
  async () => {
    const fs = await rootfs();
    const out = await cli([
      ...ROOTED(fs.root),
      "sh",
      "-c",
      `${DEV_PROBE}\nstat -c 'shm mode %a' /dev/shm; ` +
      `grep -c ' /dev/shm ' /proc/self/mountinfo; ls /dev | tr '\\n' ' '`,
    ]);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(
      out.stdout,
      // A new devpts instance: the first pty is 0, whatever the host has.
      `ptmx opened, pts: 0 ptmx \n` +
        "full: No space left on device\n" +
        "zero: 5\nurandom: 4\nrandom: 4\nnull: written\n" +
        // As this process sees it: ENXIO without a terminal.
        `${hostTty()}\n` +
        "fd -> /proc/self/fd\nstdin -> /proc/self/fd/0\n" +
        "stdout -> /proc/self/fd/1\nstderr -> /proc/self/fd/2\n" +
        "ptmx -> pts/ptmx\n" +
        "/dev/null character special file 1:3\n" +
        "/dev/zero character special file 1:5\n" +
        "/dev/full character special file 1:7\n" +
        "/dev/random character special file 1:8\n" +
        "/dev/urandom character special file 1:9\n" +
        "/dev/tty character special file 5:0\n" +
        "/dev/pts/ptmx character special file 5:2\n" +
        "shm: tmpfs\nshm mode 1777\n1\n" +
        `${DEV} `,
    );
  },
  rootfsReason,
);

nsTest("run --dev side by side with bwrap --dev", async () => {
  const fs = await rootfs();
  const probe = `${DEV_PROBE}\nls /dev | tr '\\n' ' '`;
  const ours = await cli([...ROOTED(fs.root), "sh", "-c", probe]);
  const theirs = await exec(BWRAPPED(fs.root, ["sh", "-c", probe]));
  assert.equal(ours.code, 0, ours.stderr);
  assert.equal(theirs.code, 0, theirs.stderr);
  // bwrap links /dev/core; its shm is a directory of the /dev tmpfs (mode
  // 755), ours a tmpfs of its own (mode 1777): both are
  // tmpfs to stat -f.
  assert.equal(ours.stdout, theirs.stdout.replace("core ", ""));
}, rootfsReason ?? bwrapReason);

nsTest(
  "run --root: mounts in order, targets inside the root, --cwd",
  async (t) => {
    const fs = await rootfs();
    const src = `${fs.dir}/src-order`;
    Deno.mkdirSync(`${src}/d`, { recursive: true });
    Deno.writeTextFileSync(`${src}/f`, "file\n");
    Deno.writeTextFileSync(`${src}/d/g`, "dir\n");
    const o = `/tmp/order-${Deno.pid}`; // inside the root
    try {
      await t.step("binds, tmpfs and dev on top of each other", async () => {
        const before = listing(fs.root);
        const out = await cli([
          "run",
          "--root",
          fs.root,
          "--bind",
          `${src}/f`,
          `${o}/new/dir/f`, // a file onto a missing target
          "--bind",
          `${src}/d`,
          `${o}/d2`, // a directory onto a missing target
          "--tmpfs",
          `${o}/mnt`,
          "--bind",
          `${src}/f`,
          `${o}/mnt/f`, // into the tmpfs made just before
          "--dev",
          `${o}/dev`,
          "--bind",
          `${src}/d`,
          `${o}/dev/extra`, // into the new /dev
          "--ro-bind",
          `${src}/d`,
          `${o}/ro`,
          "--bind",
          `${src}/d`,
          `${o}/hidden`,
          "--tmpfs",
          `${o}/hidden`, // on top: hides the bind
          "--cwd",
          `${o.slice(1)}/d2`, // relative: inside the root
          "--",
          "sh",
          "-c",
          `pwd; cat ${o}/new/dir/f ${o}/d2/g ${o}/mnt/f ${o}/dev/extra/g; ` +
          `ls ${o}/mnt ${o}/dev | tr '\\n' ' '; echo; ls -A ${o}/hidden | wc -l; ` +
          `touch ${o}/ro/y 2>&1 | sed 's/.*: //'; ` +
          `echo x >${o}/mnt/t && echo tmpfs written`,
        ]);
        assert.equal(out.code, 0, out.stderr);
        assert.equal(
          out.stdout,
          `${o}/d2\nfile\ndir\nfile\ndir\n` +
            `${o}/dev: extra ${DEV}  ${o}/mnt: f \n0\n` +
            "Read-only file system\ntmpfs written\n",
        );
        // Missing targets were made in the root: an empty file
        // for a file, directories for the rest; nothing else, and not in the
        // host's /tmp.
        const made = listing(fs.root).filter((l) => !before.includes(l));
        const r = o.slice(1);
        assert.deepEqual(made, [
          `/${r} dir`,
          `/${r}/d2 dir`,
          `/${r}/dev dir`,
          `/${r}/hidden dir`,
          `/${r}/mnt dir`,
          `/${r}/new dir`,
          `/${r}/new/dir dir`,
          `/${r}/new/dir/f file 0`,
          `/${r}/ro dir`,
        ]);
        assert.throws(() => Deno.statSync(o), Deno.errors.NotFound);
      });
      await t.step("--cwd defaults to / of the root", async () => {
        const out = await cli(["run", "--root", fs.root, "--", "pwd"], {
          cwd: src,
        });
        assert.deepEqual([out.code, out.stdout], [0, "/\n"]);
        const rel = await cli(
          ["run", "--root", fs.root, "--cwd", "bin", "pwd"],
          {
            cwd: src,
          },
        );
        assert.deepEqual([rel.code, rel.stdout], [0, "/bin\n"]);
      });
      await t.step("a link in the root resolves inside it", async () => {
        // /tmp/lnk points at a host directory; binding onto /tmp/lnk/f must
        // not create anything there.
        const host = `${fs.dir}/host-side`;
        Deno.mkdirSync(host);
        Deno.symlinkSync(host, `${fs.root}${o}-lnk`);
        const out = await cli([
          "run",
          "--root",
          fs.root,
          "--bind",
          `${src}/f`,
          `${o}-lnk/f`,
          "--",
          "true",
        ]);
        assert.equal(out.code, 125);
        assert.equal(
          out.stderr,
          `userns: cannot bind-mount ${src}/f on ${o}-lnk/f: ENOENT; ` +
            `the mount point ${o}-lnk/f is missing in ${fs.root}\n`,
        );
        assert.deepEqual([...Deno.readDirSync(host)], []);
      });
    } finally {
      for (const p of [o, `${o}-lnk`]) {
        Deno.removeSync(`${fs.root}${p}`, { recursive: true });
      }
    }
  },
  rootfsReason,
);
