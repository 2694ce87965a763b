// The exact Deno permissions userns needs, and one clear line for each that
// is missing, from the CLI and from the library.
import assert from "node:assert/strict";
import { MAIN, nsTest, ROOT, text } from "./_env.ts";

/** The flags the README documents for `userns run` with a built library. */
const NEEDED = [
  "--allow-sys=uid,gid",
  "--allow-env",
  "--allow-read",
  "--allow-ffi",
  "--allow-run=newuidmap,newgidmap",
];

async function run(
  flags: string[],
  args: string[],
  env?: Record<string, string>,
) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, ...args],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

nsTest(
  "each missing permission, the others given: exit 125 and one line naming it",
  async (t) => {
    for (let i = 0; i < NEEDED.length; i++) {
      const flag = NEEDED[i]!.split("=")[0]!;
      // newuidmap runs only unprivileged; root writes /proc itself.
      if (flag === "--allow-run" && Deno.uid() === 0) continue;
      await t.step(`without ${flag}`, async () => {
        const out = await run(NEEDED.filter((_, k) => k !== i), [
          MAIN,
          "run",
          "--",
          "id",
          "-u",
        ]);
        assert.equal(out.code, 125, out.stderr);
        assert.match(
          out.stderr,
          new RegExp(`^userns: [^\\n]*${flag}[^\\n]*\\n$`),
        );
      });
    }
    await t.step(
      "without --allow-read, subids (runs nothing) exits 2",
      async () => {
        const out = await run(NEEDED.filter((f) => f !== "--allow-read"), [
          MAIN,
          "subids",
        ]);
        assert.equal(out.code, 2, out.stderr);
        assert.match(out.stderr, /^userns: [^\n]*--allow-read[^\n]*\n$/);
      },
    );
    await t.step("with exactly the documented flags it runs", async () => {
      const out = await run(NEEDED, [MAIN, "run", "--", "id", "-u"]);
      assert.equal(out.stdout, "0\n", out.stderr);
    });
  },
);

nsTest("the library throws a typed PERMISSION error", async () => {
  const script =
    `import { UsernsCommand, UsernsError } from "${ROOT}lib/mod.ts";
    try { await new UsernsCommand("true").output(); }
    catch (e) { console.log(e instanceof UsernsError ? e.code + " " + e.message : "untyped " + e); }`;
  const file = Deno.makeTempFileSync({ suffix: ".ts" });
  Deno.writeTextFileSync(file, script);
  const out = await run(["--allow-sys=uid,gid", "--allow-read"], [file]);
  Deno.removeSync(file);
  assert.match(
    out.stdout,
    /^PERMISSION not permitted: requires env access( to "PATH")?; run deno with --allow-env/,
  );
});

nsTest(
  "pods with exactly the documented flags: start, ls, run --in, stop, and the library, leave no record",
  async (t) => {
    const runtime = Deno.makeTempDirSync({ prefix: "userns-perm-" });
    const env = { XDG_RUNTIME_DIR: runtime };
    const state = `${runtime}/userns`;
    const records = () => [...Deno.readDirSync(state)].map((e) => e.name);
    try {
      await t.step("the CLI", async () => {
        const cli = (...args: string[]) => run(NEEDED, [MAIN, ...args], env);
        let out = await cli("start", "perm");
        assert.equal(out.code, 0, out.stderr);
        assert.deepEqual(records(), ["perm.json"]);
        out = await cli("ls");
        assert.match(out.stdout, /^perm /m, out.stderr);
        out = await cli("run", "--in", "perm", "--", "true");
        assert.equal(out.code, 0, out.stderr);
        out = await cli("stop", "perm");
        assert.equal(out.code, 0, out.stderr);
        assert.equal(out.stderr, "");
        assert.deepEqual(records(), []);
      });
      await t.step("await using UsernsPod", async () => {
        const file = `${runtime}/pod.ts`;
        Deno.writeTextFileSync(
          file,
          `import { UsernsPod } from "${ROOT}lib/mod.ts";
          {
            await using pod = await UsernsPod.start();
            const out = await pod.command("true").output();
            console.log(out.code, (await UsernsPod.list()).length);
          }`,
        );
        const out = await run(NEEDED, [file], env);
        assert.equal(out.stdout, "0 1\n", out.stderr);
        assert.deepEqual(records(), []);
      });
    } finally {
      Deno.removeSync(runtime, { recursive: true });
    }
  },
);
