// Pods whose state directory cannot be used: not private (mode 755, a
// symbolic link, another owner), full, nearly full or read-only; and the
// /tmp/userns-UID fallback. Each refusal is one line and exit 125 (CLI) or
// POD_STATE (library), and leaves no holder, fd or file behind. The full
// and read-only ones are made in a mount namespace of the test's own.
import assert from "node:assert/strict";
import { type UsernsError, UsernsPod } from "../../lib/mod.ts";
import { cli, MAIN, nsTest, ROOT, text } from "./_env.ts";
import { fdTargets, fdTargetsSettle } from "./_process.ts";
import { holders, podError, PodPlace, refused } from "./_pod.ts";
import { testUser } from "./_user.ts";

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
        await allRefuse(
          new RegExp(
            `${place.state} is taken by another user: it belongs to uid ${owner}\\b.*; set XDG_RUNTIME_DIR to a private directory of yours`,
          ),
        );
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
      await t.step(
        "another user's /tmp/userns-UID: says whose, and XDG_RUNTIME_DIR is the way out",
        async () => {
          // As in the step above, where the user is root: /tmp/userns-0,
          // made by inside uid 1 (some other uid outside).
          const script = `mkdir -m 700 /tmp/userns-0 && chown 1:1 /tmp/userns-0
for args in ls "start --map root $3" "run --in $3 -- true" "stop $3"; do
  env -u XDG_RUNTIME_DIR "$1" run -A "$2" $args 2>&1; echo "exit $?"
done
mkdir -m 700 /tmp/mine && export XDG_RUNTIME_DIR=/tmp/mine &&
  "$1" run -A "$2" start --map root "$3" && "$1" run -A "$2" stop "$3"`;
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
            script,
            "sh",
            Deno.execPath(),
            "/mnt/main.ts",
            name,
          ]);
          assert.equal(out.code, 0, out.stdout + out.stderr);
          const line =
            "userns: /tmp/userns-0 is taken by another user: it belongs to uid 1 (daemon), and only they or root can remove it; " +
            "set XDG_RUNTIME_DIR to a private directory of yours (such as /run/user/0) to keep your pods there, or ask root to remove /tmp/userns-0\n" +
            "exit 125\n";
          assert.equal(out.stdout, line.repeat(4));
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
            /cannot record pod "[^"]+" in .*: ENOSPC/,
            "",
          ],
          [
            "full",
            /cannot record pod "[^"]+" in .*: ENOSPC/,
            "",
          ],
          [
            "ro-parent",
            /cannot create .*\/xdg\/userns: EROFS; check that its parent is writable/,
            "ls: ",
          ],
          ["ro", /cannot record pod "[^"]+" in .*: EROFS/, ""],
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

nsTest(
  "a FIFO, socket, directory or link named NAME.json: refused in one line, never waited on",
  async (t) => {
    const place = await PodPlace.create();
    const name = place.name("odd");
    const path = `${place.state}/${name}.json`;
    const other = place.name("fine");
    const plants: [string, string, () => Deno.Listener | void][] = [
      ["a FIFO", "a FIFO", () => {
        const r = new Deno.Command("mkfifo", { args: [path] }).outputSync();
        assert.ok(r.success, text(r.stderr));
      }],
      ["a socket", "a socket", () => Deno.listen({ transport: "unix", path })],
      ["a directory", "a directory", () => Deno.mkdirSync(path)],
      ["a link to a FIFO", "a symbolic link", () => {
        const fifo = `${place.runtime}/fifo`;
        const r = new Deno.Command("mkfifo", { args: [fifo] }).outputSync();
        assert.ok(r.success, text(r.stderr));
        Deno.symlinkSync(fifo, path);
      }],
    ];
    try {
      Deno.mkdirSync(place.state, { mode: 0o700 });
      await place.must(["start", other]);
      for (const [what, kind, plant] of plants) {
        await t.step(what, async () => {
          const listener = plant();
          const why =
            `cannot read pod "${name}": ${path} is ${kind}, not a regular file; remove it \\(rm "${path}"\\)`;
          const line = new RegExp(`^userns: ${why}\\n$`);
          try {
            for (
              const args of [
                ["run", "--in", name, "--", "true"],
                ["start", name],
                ["stop", name],
                ["enter", name, "--", "true"],
              ]
            ) {
              // A CLI that waits on the FIFO is killed: no exit 125 then.
              const out = await cli(args, {
                env: place.env,
                signal: AbortSignal.timeout(10_000),
              });
              refused(out, line);
            }
            // ls lists the pods and passes over what is not a record.
            const ls = await cli(["ls", "--json"], {
              env: place.env,
              signal: AbortSignal.timeout(10_000),
            });
            assert.equal(ls.code, 0, ls.stderr);
            assert.deepEqual(
              JSON.parse(ls.stdout).map((p: { name: string }) => p.name),
              [other],
            );
            await place.use(() =>
              podError(
                (() => {
                  try {
                    return UsernsPod.open(name);
                  } catch (e) {
                    return e;
                  }
                })(),
                "POD_STATE",
                new RegExp(`^${why}$`),
              )
            );
          } finally {
            // Closing the listener removes its socket.
            if (listener) listener.close();
            else Deno.removeSync(path, { recursive: true });
          }
        });
      }
      await place.must(["stop", other]);
      place.assertStopped();
    } finally {
      await place.close();
    }
  },
);

nsTest(
  "an XDG_RUNTIME_DIR that is not the caller's own (root's su kept a user's) is not used: the pods go to /tmp/userns-UID",
  async () => {
    // Another user's directory: the test user's, seen from root; else one
    // of the caller's own under a directory others may write (not sticky).
    const base = Deno.makeTempDirSync({ prefix: "userns-xdg-" });
    try {
      const runtime = `${base}/run`;
      Deno.mkdirSync(runtime, { mode: 0o700 });
      if (Deno.uid() === 0 && testUser) {
        Deno.chownSync(runtime, testUser.uid, testUser.gid);
      } else {
        Deno.chmodSync(base, 0o777);
      }
      const name = `xdg-${crypto.randomUUID().slice(0, 8)}`;
      const env = { XDG_RUNTIME_DIR: runtime };
      const start = await cli(["start", name], { env });
      assert.equal(start.code, 0, start.stderr);
      try {
        assert.deepEqual([...Deno.readDirSync(runtime)], [], "nothing there");
        const ls = await cli(["ls"], { env });
        assert.match(ls.stdout, new RegExp(`^${name} `, "m"), ls.stderr);
        assert.ok(
          Deno.statSync(`/tmp/userns-${Deno.uid()}/${name}.json`).isFile,
        );
      } finally {
        const stop = await cli(["stop", name], { env });
        assert.equal(stop.code, 0, stop.stderr);
      }
    } finally {
      Deno.removeSync(base, { recursive: true });
    }
  },
);
