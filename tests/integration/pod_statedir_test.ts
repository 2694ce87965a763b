// Pods whose state directory cannot be used: not private (mode 755, a
// symbolic link, another owner), full, nearly full or read-only; and the
// /tmp/userns-UID fallback. Each refusal is one line and exit 125 (CLI) or
// POD_STATE (library), and leaves no holder, fd or file behind. The full
// and read-only ones are made in a mount namespace of the test's own.
import assert from "node:assert/strict";
import { type UsernsError, UsernsPod } from "../../lib/mod.ts";
import { cli, MAIN, nsTest, ROOT } from "./_env.ts";
import { fdTargets, fdTargetsSettle } from "./_process.ts";
import { holders, podError, PodPlace, refused } from "./_pod.ts";

nsTest(
  "a state directory that is not private is refused: one line",
  async (t) => {
    const place = await PodPlace.create();
    const name = place.name("private");
    /** Start (CLI and library) and ls all refuse, and nothing is written. */
    const allRefuse = async (re: RegExp) => {
      refused(await place.cli(["start", name]), re);
      refused(await place.cli(["ls"]), re);
      const fds = fdTargets();
      await place.use(async () => {
        podError(
          await UsernsPod.start({ name }).catch((e) => e),
          "POD_STATE",
          re,
        );
        assert.throws(
          () => UsernsPod.list(),
          (e: UsernsError) => e.code === "POD_STATE",
        );
      });
      assert.deepEqual(await fdTargetsSettle(fds), fds, "no fd left open");
      assert.deepEqual(place.holders(), []);
    };
    try {
      await t.step("mode 755", async () => {
        Deno.mkdirSync(place.state);
        Deno.chmodSync(place.state, 0o755);
        await allRefuse(
          new RegExp(
            `${place.state} is not a private directory of yours \\(owner ${Deno.uid()}, mode 755\\)`,
          ),
        );
        assert.deepEqual(place.files(), []);
        Deno.removeSync(place.state);
      });
      await t.step("a symbolic link to a private directory", async () => {
        const real = `${place.runtime}/real`;
        Deno.mkdirSync(real, { mode: 0o700 });
        Deno.symlinkSync(real, place.state);
        await allRefuse(/, a symbolic link\)/);
        assert.deepEqual([...Deno.readDirSync(real)], []);
        Deno.removeSync(place.state);
        Deno.removeSync(real);
      });
      await t.step("another owner", async () => {
        // Made by inside uid 1, which is some other uid outside.
        const out = await cli([
          "run",
          "--",
          "sh",
          "-c",
          'mkdir -m 700 "$1" && chown 1:1 "$1"',
          "sh",
          place.state,
        ]);
        assert.equal(out.code, 0, out.stderr);
        const owner = Deno.statSync(place.state).uid;
        assert.notEqual(owner, Deno.uid());
        await allRefuse(new RegExp(`\\(owner ${owner}, mode 700\\)`));
        Deno.removeSync(place.state);
      });
      await t.step(
        "no XDG_RUNTIME_DIR, or a relative one: /tmp/userns-UID",
        async () => {
          // In a mount namespace of its own with a fresh /tmp, where the user
          // is root: /tmp/userns-0.
          const script = (xdg: string) =>
            `${xdg} "$1" run -A "$2" start --map root "$3" && ` +
            `stat -c '%a %u %F' /tmp/userns-0 && ls -A /tmp/userns-0 && ` +
            `${xdg} "$1" run -A "$2" stop "$3" && ls -A /tmp/userns-0`;
          for (
            const xdg of ["env -u XDG_RUNTIME_DIR", "env XDG_RUNTIME_DIR=run"]
          ) {
            // The tree may be under /tmp (a copy, as CI makes): at /mnt.
            const out = await cli([
              "run",
              "--bind",
              ROOT,
              "/mnt",
              "--tmpfs",
              "/tmp",
              "--",
              "sh",
              "-c",
              script(xdg),
              "sh",
              Deno.execPath(),
              "/mnt/main.ts",
              name,
            ]);
            assert.equal(out.code, 0, out.stderr);
            assert.equal(out.stdout, `700 0 directory\n${name}.json\n`);
          }
          assert.deepEqual(place.holders(), []);
        },
      );
      place.assertStopped();
    } finally {
      await place.close();
    }
  },
);

/**
 * Sets up the state directory DIR as asked in a mount namespace of its own
 * (where the caller is root), then runs `userns start --map root NAME` with
 * it, and lists what is left in DIR/userns.
 */
const STATE_FAULT = `d=$1 how=$2; shift 2
case $how in
almost) mount -t tmpfs -o size=4k,mode=700 t "$d" ;;
full) mount -t tmpfs -o size=4k,mode=700 t "$d" && mkdir -m 700 "$d/userns" &&
  { cat /dev/zero >"$d/fill" 2>/dev/null; true; } ;;
ro-parent) mount -t tmpfs -o ro,mode=700 t "$d" ;;
ro) mount -t tmpfs -o mode=700 t "$d" && mkdir -m 700 "$d/userns" &&
  mount -o remount,ro "$d" ;;
esac || exit 99
XDG_RUNTIME_DIR=$d "$@" 2>&1
echo "exit $?"
ls -A "$d/userns" 2>&1
exit 0`;

nsTest(
  "a full or read-only state directory: one line, nothing left",
  async (t) => {
    const place = await PodPlace.create();
    const dir = `${place.runtime}/xdg`;
    Deno.mkdirSync(dir, { mode: 0o700 });
    try {
      for (
        const [how, why, left] of [
          // room for the claim, none for the record: the holder has started
          // by then and must go
          [
            "almost",
            /cannot record pod "[^"]+" in .*: No space left on device/,
            "",
          ],
          [
            "full",
            /cannot record pod "[^"]+" in .*: No space left on device/,
            "",
          ],
          [
            "ro-parent",
            /cannot create .*\/xdg\/userns: Read-only file system/,
            "ls: ",
          ],
          ["ro", /cannot record pod "[^"]+" in .*: Read-only file system/, ""],
        ] as const
      ) {
        await t.step(how, async () => {
          const name = place.name(how);
          const out = await cli([
            "run",
            "--",
            "sh",
            "-c",
            STATE_FAULT,
            "sh",
            dir,
            how,
            Deno.execPath(),
            "run",
            "-A",
            MAIN,
            "start",
            "--map",
            "root",
            name,
          ]);
          assert.equal(out.code, 0, out.stderr);
          const [line, exit, ...rest] = out.stdout.split("\n");
          assert.match(line!, /^userns: /);
          assert.match(line!, why);
          assert.equal(exit, "exit 125");
          assert.ok(rest.join("\n").startsWith(left), `left: ${rest}`);
          if (!left) assert.deepEqual(rest, [""], "no file left");
          assert.deepEqual(holders(name), [], "no holder left");
        });
      }
      place.assertStopped();
    } finally {
      await place.close();
    }
  },
);
