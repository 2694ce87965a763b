// Bad values are refused, never cut: clock offsets
// beyond what the kernel could take, a hostname with a newline or another
// control character, more mount operations than the native side takes.
// Each is one line and exit 125 before anything runs (CLI), or a typed
// error with a code from the constructor (library); and a clock offset the
// kernel refuses (ERANGE) is said to be that, not an old kernel.
import assert from "node:assert/strict";
import { isUsernsError, UsernsCommand, UsernsPod } from "../../lib/mod.ts";
import { cli, nsTest } from "./_env.ts";
import { PodPlace, refused } from "./_pod.ts";

/** A tmpfs on /mnt, then 18 `--dev` under it (14 operations each) and
 * `tmpfs` more tmpfs mounts: 253 + `tmpfs` mount operations. */
function mountOptions(tmpfs: number): string[] {
  return [
    "--tmpfs",
    "/mnt",
    ...Array.from({ length: 18 }, (_, i) => ["--dev", `/mnt/d${i}`]).flat(),
    ...Array.from({ length: tmpfs }, (_, i) => ["--tmpfs", `/mnt/t${i}`])
      .flat(),
  ];
}

const TOO_MANY =
  /^userns: (run|start): too many mounts: --bind, --ro-bind, --tmpfs, --dev, --proc and --mount-proc come to 257 mount operations, at most 256; each --dev is 14 of them; /;

nsTest(
  "run and start refuse bad values in one line: nothing runs",
  async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "userns-values-" });
    const cases: [string, string[], RegExp][] = [
      [
        "an offset past the kernel's range",
        ["--monotonic", "4611686019"],
        /^userns: run: --monotonic must be an integer of seconds from -4611686018 to 4611686018, got 4611686019; /,
      ],
      [
        "a negative one",
        ["--boottime", "-4611686019"],
        /^userns: run: --boottime must be an integer of seconds from -4611686018 to 4611686018, got -4611686019; /,
      ],
      [
        "one that is no exact number",
        ["--monotonic", "99999999999999999999"],
        /^userns: run: invalid --monotonic "99999999999999999999": out of range; /,
      ],
      [
        "a newline in the hostname",
        ["--hostname", "box\nroot@host:~# "],
        /^userns: run: --hostname must not contain a newline or other control character, got "box\\nroot@host:~# "; /,
      ],
      [
        "an escape sequence in the hostname",
        ["--hostname", "box\x1b[2J"],
        /^userns: run: --hostname must not contain a newline or other control character, got "box\\u001b\[2J"; /,
      ],
      [
        "a hostname longer than the kernel's 64 bytes",
        ["--hostname", "h".repeat(65)],
        /^userns: run: --hostname must be 1 to 64 bytes long, got "h{65}"; /,
      ],
      [
        "more mount operations than the native side takes",
        [...mountOptions(3), "--mount-proc"],
        TOO_MANY,
      ],
    ];
    try {
      for (const [i, [what, options, re]] of cases.entries()) {
        await t.step(what, async () => {
          const marker = `${dir}/ran${i}`;
          const out = await cli(["run", ...options, "--", "touch", marker]);
          refused(out, re);
          assert.throws(() => Deno.statSync(marker), Deno.errors.NotFound);
        });
      }
      await t.step("start refuses them too", async () => {
        const place = await PodPlace.create();
        try {
          refused(
            await place.cli(["start", ...mountOptions(4), place.name("m")]),
            TOO_MANY,
          );
          refused(
            await place.cli(["start", "--hostname", "a\nb", place.name("h")]),
            /^userns: start: --hostname must not contain a newline/,
          );
          assert.deepEqual(place.holders(), []);
          assert.deepEqual(place.files(), []);
        } finally {
          await place.close();
        }
      });
      await t.step("as many mount operations as it takes run", async () => {
        const out = await cli(["run", ...mountOptions(3), "--", "true"]);
        assert.deepEqual([out.code, out.stderr], [0, ""]);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

nsTest(
  "a clock offset the kernel refuses (ERANGE) is said to be one",
  async () => {
    // Well within the range, but no machine has been up for 63 years.
    const out = await cli(["run", "--monotonic", "-2000000000", "--", "true"]);
    refused(
      out,
      /^userns: cannot set up the namespace: time failed: ERANGE; a clock offset \(--monotonic, --boottime; timeOffsets\) would put the clock inside below 0 or past 4611686018 s: a negative offset may be at most the time since boot\n$/,
    );
    assert.doesNotMatch(out.stderr, /Linux 5\.6/);
  },
);

nsTest(
  "a clock offset past 32 bits reaches the kernel whole, never cut",
  async () => {
    // 2^32 + 5: an int32 slot would make it 5.
    const out = await cli([
      "run",
      "--monotonic",
      "4294967301",
      "--",
      "cat",
      "/proc/self/timens_offsets",
    ]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /^monotonic +4294967301 +0$/m);
  },
);

nsTest(
  "the library refuses them from the constructor, with a code",
  async (t) => {
    const mounts = Array.from(
      { length: 19 },
      (_, i) => ({ type: "dev" as const, target: `/mnt/d${i}` }),
    );
    const cases: [string, () => unknown, ErrorConstructor, RegExp][] = [
      [
        "timeOffsets.monotonic past the kernel's range",
        () =>
          new UsernsCommand("true", {
            timeOffsets: { monotonic: 2 ** 32 * 2 ** 20 },
          }),
        RangeError,
        /^timeOffsets\.monotonic must be an integer of seconds from -4611686018 to 4611686018, got 4503599627370496$/,
      ],
      [
        "a newline in hostname",
        () => new UsernsCommand("true", { hostname: "a\nb" }),
        TypeError,
        /^hostname must not contain a newline or other control character, got "a\\nb"$/,
      ],
      [
        "mounts past the native limit",
        () => new UsernsCommand("true", { mounts }),
        RangeError,
        /^mounts must come to at most 256 mount operations, got 266 \(a "dev" mount is 14 of them\)$/,
      ],
    ];
    for (const [what, make, cls, re] of cases) {
      await t.step(what, () => {
        assert.throws(make, (e: unknown) => {
          assert.ok(e instanceof cls, `${e} is a ${cls.name}`);
          assert.ok(isUsernsError(e));
          assert.equal((e as { code: string }).code, "INVALID_ARGUMENT");
          assert.match((e as Error).message, re);
          return true;
        });
      });
    }
    await t.step("UsernsPod.start() too, and starts nothing", async () => {
      const place = await PodPlace.create();
      try {
        await place.use(async () => {
          const e = await UsernsPod.start({ name: place.name("m"), mounts })
            .catch((e) => e);
          assert.ok(e instanceof RangeError && isUsernsError(e), `${e}`);
          assert.equal(e.code, "INVALID_ARGUMENT");
        });
        assert.deepEqual(place.holders(), []);
        assert.deepEqual(place.files(), []);
      } finally {
        await place.close();
      }
    });
  },
);
