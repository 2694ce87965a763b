// Files userns writes where someone else may have planted links: the
// --pid-file in a shared sticky directory that another uid controls, and
// the temporaries of pod records. The attacker plants links at the
// predictable temporary names the old code used and at the final name,
// pointing at a file of the victim (the one who runs userns); the victim's
// file must never be written or truncated, and a file the attacker puts at
// the final name later must not be removed by userns. The attacker is
// another uid: as root, outside uid 1000; unprivileged, a subordinate uid
// (spawnAsOther).
import assert from "node:assert/strict";
import { cli, MAIN, nsTest, PRIVILEGED, text } from "./_env.ts";
import { scratchDir, spawnAsOther } from "./_cache.ts";
import { PodPlace, refused } from "./_pod.ts";
import { delay } from "./_process.ts";

const PRECIOUS = "precious\n";

/** Runs a shell script as the attacker (another uid); fails if it fails. */
async function asAttacker(script: string, ...args: string[]): Promise<void> {
  const out = await spawnAsOther(["sh", "-c", script, "sh", ...args]).output();
  assert.ok(out.success, `attacker: ${text(out.stderr)}`);
}

/**
 * `deno run -A main.ts ARGS` held on its stdin before it starts, so that
 * its pid (the one its temporaries were named by) is known first.
 */
function heldCli(args: string[], env: Record<string, string> = {}) {
  const child = new Deno.Command("sh", {
    args: ["-c", 'read go && exec "$@"', "sh", Deno.execPath(), "run", "-A"]
      .concat([MAIN, ...args]),
    env,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  return {
    pid: child.pid,
    output: child.output(),
    async release() {
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode("go\n"));
      await w.close();
    },
  };
}

/**
 * Waits up to 20 s for `path` to be a regular file with a line in it,
 * failing at once if the victim's file changes meanwhile.
 */
async function regularWithLine(path: string, victim: string): Promise<string> {
  for (let i = 0; i < 400; i++) {
    assert.equal(Deno.readTextFileSync(victim), PRECIOUS, "never written");
    try {
      if (Deno.lstatSync(path).isFile) {
        const t = Deno.readTextFileSync(path);
        if (t.endsWith("\n")) return t;
      }
    } catch {
      // not yet
    }
    await delay(50);
  }
  throw new Error(`${path} did not appear`);
}

/** A directory the attacker may enter and write, with the victim's file. */
function arena(): { base: string; victim: string } {
  const base = scratchDir("userns-planted-");
  Deno.chmodSync(base, 0o777);
  const victim = `${base}/victim`;
  Deno.writeTextFileSync(victim, PRECIOUS, { mode: 0o644 });
  return { base, victim };
}

/** Removes what the attacker left, as the namespace's root may. */
async function cleanUp(base: string): Promise<void> {
  await cli(["run", "--", "rm", "-rf", base]);
}

nsTest(
  "--pid-file in another uid's sticky directory: planted links are never followed",
  async () => {
    const { base, victim } = arena();
    const shared = `${base}/shared`;
    const go = `${base}/go`;
    try {
      await asAttacker('mkdir "$1" && chmod 1777 "$1"', shared);
      const run = heldCli([
        "run",
        "--pid-file",
        `${shared}/pid`,
        "--",
        "sh",
        "-c",
        'while [ ! -e "$1" ]; do sleep 0.05; done',
        "sh",
        go,
      ]);
      // The temporary name the old code used, and one like ours.
      await asAttacker(
        'for n in "pid.$2.tmp" ".pid.$2.tmp"; do ln -s "$3" "$1/$n"; done',
        shared,
        String(run.pid),
        victim,
      );
      await run.release();
      const pid = await regularWithLine(`${shared}/pid`, victim);
      assert.match(pid, /^[1-9][0-9]*\n$/);
      assert.equal(Deno.readTextFileSync(victim), PRECIOUS);
      // The directory's owner replaces the pid file with a file of its own:
      // userns must leave that one alone at the end.
      await asAttacker(
        'echo theirs >"$1/new" && mv -f "$1/new" "$1/pid"',
        shared,
      );
      Deno.writeTextFileSync(go, "");
      const out = await run.output;
      assert.equal(out.code, 0, text(out.stderr));
      assert.equal(text(out.stderr), "");
      assert.equal(Deno.readTextFileSync(victim), PRECIOUS, "never written");
      assert.equal(
        Deno.readTextFileSync(`${shared}/pid`),
        "theirs\n",
        "a file someone else put there is not removed",
      );
      const left = [...Deno.readDirSync(shared)].map((e) => e.name).sort();
      assert.deepEqual(
        left,
        [".pid.%.tmp", "pid", "pid.%.tmp"].map((n) =>
          n.replace("%", String(run.pid))
        ).sort(),
        "only the attacker's files are left",
      );
    } finally {
      await cleanUp(base);
    }
  },
);

nsTest(
  "--pid-file: a link at the final name is never followed; replaced only where the caller may",
  async () => {
    const { base, victim } = arena();
    const shared = `${base}/shared`;
    const marker = `${base}/ran`;
    try {
      await asAttacker('mkdir "$1" && chmod 1777 "$1"', shared);
      await asAttacker('ln -s "$2" "$1/pid"', shared, victim);
      const out = await cli([
        "run",
        "--pid-file",
        `${shared}/pid`,
        "--",
        "sh",
        "-c",
        'touch "$2"; while [ -L "$1" ]; do sleep 0.05; done; cat "$1"',
        "sh",
        `${shared}/pid`,
        marker,
      ]);
      assert.equal(Deno.readTextFileSync(victim), PRECIOUS, "never written");
      if (PRIVILEGED) {
        // Root may replace another user's link in a sticky directory: the
        // link itself is replaced, and ours removed at the end.
        assert.equal(out.code, 0, out.stderr);
        assert.match(out.stdout, /^[1-9][0-9]*\n$/, "the pid, not the victim");
        assert.deepEqual([...Deno.readDirSync(shared)], [], "ours is removed");
      } else {
        // Only the link's owner may replace it there (the rename would fail
        // with EPERM): refused before anything runs; the link stays.
        refused(
          out,
          new RegExp(
            `^userns: run: cannot write the pid file ${shared}/pid: EPERM; another user's file is there, in a sticky directory, and only they may replace it; choose another path\\n$`,
          ),
        );
        assert.throws(() => Deno.statSync(marker), Deno.errors.NotFound);
        assert.equal(Deno.readLinkSync(`${shared}/pid`), victim);
        assert.deepEqual(
          [...Deno.readDirSync(shared)].map((e) => e.name),
          ["pid"],
          "no temporary left",
        );
      }
    } finally {
      await cleanUp(base);
    }
  },
);

nsTest(
  "pod records: a link planted at the old temporary name is never followed",
  async () => {
    const place = await PodPlace.create();
    const { base, victim } = arena();
    const name = place.name("planted");
    try {
      Deno.mkdirSync(place.state, { mode: 0o700 });
      const start = heldCli(["start", name], place.env);
      Deno.symlinkSync(victim, `${place.state}/.${name}.${start.pid}.tmp`);
      await start.release();
      const out = await start.output;
      assert.equal(out.code, 0, text(out.stderr));
      assert.equal(Deno.readTextFileSync(victim), PRECIOUS, "never written");
      assert.ok(Deno.lstatSync(`${place.state}/${name}.json`).isFile);
      await place.must(["stop", name]);
      assert.equal(Deno.readTextFileSync(victim), PRECIOUS);
      place.assertStopped();
    } finally {
      await place.close();
      await cleanUp(base);
    }
  },
);
