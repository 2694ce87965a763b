// `--ro-bind` that really holds (flags the kernel locked on the source,
// submounts) and `--propagation`, each set up by a script in an outer
// mount namespace: as root the host's (a shared bind mount in a temp dir),
// unprivileged the one of an `unshare -rm` that `userns run` is started in,
// from which it is as unprivileged as it is from the host.
import assert from "node:assert/strict";
import { MAIN, nsTest, PRIVILEGED, text } from "./_env.ts";
import { within } from "./_process.ts";

/** `userns run` as the scripts start it: $1 is the temp dir, so "$@" after
 * a shift is this. `--map root`: in an outer `unshare -r` only 0 is mapped. */
const USERNS = [Deno.execPath(), "run", "-A", MAIN, "run", "--map", "root"];

/**
 * Runs a script as root of a mount namespace: unprivileged in a new one of
 * `unshare -rm`; as root in a new one of `unshare -m`, or, with `host`, in
 * the host's own. Its arguments: the temp dir, then USERNS.
 */
async function outer(
  script: string,
  dir: string,
  host = false,
): Promise<string> {
  const prefix = PRIVILEGED
    ? (host ? [] : ["unshare", "-m", "--propagation", "private"])
    : ["unshare", "-rm", "--propagation", "private"];
  const argv = [...prefix, "sh", "-c", script, "sh", dir, ...USERNS];
  const out = await within(
    new Deno.Command(argv[0]!, {
      args: argv.slice(1),
      stdin: "null",
      signal: AbortSignal.timeout(20_000),
    }).output(),
    "the outer script",
    25_000,
  );
  assert.equal(out.code, 0, `${text(out.stdout)}${text(out.stderr)}`);
  return text(out.stdout);
}

/** Where a write to each path fails, with the reason; or "written". */
const WRITE = `for f in "$@"; do
  if (echo x >"$f") 2>/dev/null; then echo "$f: written"
  else (echo x >"$f") 2>&1 | sed "s|.*: |$f: |"; fi
done`;

/**
 * A tmpfs with nosuid,nodev,noexec (flags a less privileged mount namespace
 * cannot change: the kernel locks them), a submount in it, then the same
 * source bound by userns run read-only, and read-write as the control.
 */
const LOCKED = `set -eu
d=$1; shift
mkdir "$d/src"
mount -t tmpfs -o nosuid,nodev,noexec tmpfs "$d/src"
mkdir "$d/src/sub"
mount -t tmpfs -o nosuid tmpfs "$d/src/sub"
echo data >"$d/src/sub/g"
probe='${WRITE}
cat /data/sub/g
grep -E " /data(/sub)? " /proc/self/mountinfo | cut -d" " -f5,6'
echo "== ro-bind"
"$@" --ro-bind "$d/src" /data -- sh -c "$probe" sh /data/f /data/sub/f
echo "== bind"
"$@" --bind "$d/src" /data -- sh -c "$probe" sh /data/f /data/sub/f
echo "== outside"
sh -c '${WRITE}' sh "$d/src/after" "$d/src/sub/after"`;

nsTest(
  "run --ro-bind: EROFS, under locked flags and in submounts; the source stays writable",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "userns-locked-" });
    try {
      const out = await outer(LOCKED, dir);
      const [ro, rw, outside] = out.split(/^== \w[\w-]*\n/m).slice(1);
      // The flags of the source are kept (mount_setattr adds ro to them);
      // a remount that did not repeat them would fail with EPERM.
      assert.match(
        ro!,
        /^\/data\/f: Read-only file system\n\/data\/sub\/f: Read-only file system\ndata\n\/data ro,nosuid,nodev,noexec,\S+\n\/data\/sub ro,nosuid,\S+\n$/,
      );
      assert.match(
        rw!,
        /^\/data\/f: written\n\/data\/sub\/f: written\ndata\n\/data rw,nosuid,nodev,noexec,\S+\n\/data\/sub rw,nosuid,\S+\n$/,
      );
      assert.equal(
        outside,
        `${dir}/src/after: written\n${dir}/src/sub/after: written\n`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

/**
 * $d/shared is made a shared mount; userns run starts with the propagation
 * `mode` and waits; the outer side then mounts a tmpfs at
 * $d/shared/sub with a file in it; the command looks for the file, mounts a
 * tmpfs of its own on the same place, and the outer side looks whether that
 * one came out. Each side waits for the other on a FIFO.
 */
const PROPAGATION = (mode: string) =>
  `set -u
d=$1; shift
mkdir -p "$d/shared/sub" && mkfifo "$d/ready" "$d/go" "$d/done" || exit 90
cleanup() {
  umount "$d/shared/sub" 2>/dev/null; umount "$d/shared/sub" 2>/dev/null
  umount "$d/shared" 2>/dev/null
}
trap cleanup EXIT
mount --bind "$d/shared" "$d/shared" && mount --make-shared "$d/shared" ||
  exit 91
"$@" --propagation ${mode} -- sh -c '
  d=$1
  echo >"$d/ready"; read x <"$d/go"
  cat "$d/shared/sub/flag" 2>/dev/null || echo "inside: no host mount"
  mount -t tmpfs tmpfs "$d/shared/sub" && echo inner >"$d/shared/sub/inner"
  echo >"$d/done"; read x <"$d/go"
' sh "$d" &
read x <"$d/ready"
mount -t tmpfs tmpfs "$d/shared/sub" && echo "inside: the host mount" >"$d/shared/sub/flag"
echo >"$d/go"
read x <"$d/done"
ls "$d/shared/sub" | sed "s/^/outside: /"
echo >"$d/go"
wait $!
echo "status $?"`;

nsTest(
  "run --propagation: slave receives later host mounts, private does not, neither leaks",
  async (t) => {
    for (
      const [mode, inside] of [
        ["slave", "inside: the host mount"],
        ["private", "inside: no host mount"],
        // The kernel makes the shared mounts of a namespace created from a
        // less privileged user namespace slaves (mount_namespaces(7)): as
        // slave, then.
        ["unchanged", "inside: the host mount"],
      ] as const
    ) {
      await t.step(mode, async () => {
        const dir = await Deno.makeTempDir({ prefix: "userns-prop-" });
        try {
          const out = await outer(PROPAGATION(mode), dir, true);
          // The outside sees its flag only: the command's own mount stays in.
          assert.equal(out, `${inside}\noutside: flag\nstatus 0\n`);
        } finally {
          if (PRIVILEGED) {
            // The host's mounts, should the script have been killed.
            await new Deno.Command("umount", {
              args: ["-R", "-l", `${dir}/shared`],
              stderr: "null",
            }).output();
          }
          await Deno.remove(dir, { recursive: true });
        }
      });
    }
  },
);
