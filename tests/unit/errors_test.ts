import assert from "node:assert/strict";
import { skippableTest } from "../_skip.ts";
import {
  abortedError,
  brokenPipeError,
  cwdError,
  deniedError,
  execError,
  HelperError,
  helperTimeoutError,
  IdMapError,
  isUsernsError,
  notFoundError,
  permissionError,
  SpawnError,
  SubIdError,
  UsernsBrokenPipe,
  UsernsError,
  UsernsFilesystemLoop,
  UsernsNotADirectory,
  UsernsNotFound,
  UsernsPermissionDenied,
  UsernsRangeError,
  UsernsTypeError,
  UsernsURIError,
} from "../../lib/errors/mod.ts";

const CAN_RUN = (await Deno.permissions.query({ name: "run" })).state ===
  "granted";
/** What the tests beside Deno.Command need: `deno task test` grants it. */
const RUN_NEEDS = CAN_RUN
  ? undefined
  : "--allow-run, to run Deno.Command beside (deno task test grants it)";

/** The most specific class of an error: a Deno.errors class, else built-in. */
function kind(e: unknown): string {
  for (const [name, cls] of Object.entries(Deno.errors)) {
    if (e instanceof cls) return name;
  }
  for (const cls of [TypeError, RangeError, URIError]) {
    if (e instanceof cls) return cls.name;
  }
  return e instanceof Error ? "Error" : typeof e;
}

/** One of every error class of userns, each with its base. */
const EVERY: [Error, abstract new (...a: never[]) => Error][] = [
  [new UsernsError("SETUP", "x"), Error],
  [new SubIdError("SUBID_NONE", "x"), UsernsError],
  [new IdMapError("MAP_RANGE", "x"), UsernsError],
  [new HelperError("HELPER_FAILED", "x"), UsernsError],
  [new SpawnError("SETUP", "x"), UsernsError],
  [new UsernsTypeError("INVALID_ARGUMENT", "x"), TypeError],
  [new UsernsRangeError("INVALID_ARGUMENT", "x"), RangeError],
  [new UsernsURIError("INVALID_ARGUMENT", "x"), URIError],
  [new UsernsNotFound("EXEC_NOT_FOUND", "x"), Deno.errors.NotFound],
  [
    new UsernsPermissionDenied("EXEC_DENIED", "x"),
    Deno.errors.PermissionDenied,
  ],
  [new UsernsNotADirectory("EXEC_NOT_FOUND", "x"), Deno.errors.NotADirectory],
  [new UsernsFilesystemLoop("EXEC_DENIED", "x"), Deno.errors.FilesystemLoop],
  [new UsernsBrokenPipe("BROKEN_PIPE", "x"), Deno.errors.BrokenPipe],
];

Deno.test("isUsernsError() is true for every error class of userns", () => {
  for (const [e, base] of EVERY) {
    assert.ok(isUsernsError(e), e.constructor.name);
    assert.ok(e instanceof base, `${e.constructor.name} extends ${base.name}`);
    assert.equal(typeof e.code, "string");
  }
});

Deno.test("isUsernsError() is false for anything else", () => {
  const others: unknown[] = [
    new Error("x"),
    new TypeError("x"),
    new Deno.errors.NotFound("x"),
    Object.assign(new Error("x"), { code: "EXEC_NOT_FOUND" }),
    { code: "EXEC_NOT_FOUND", message: "x" },
    null,
    undefined,
    "EXEC_NOT_FOUND",
    42,
  ];
  for (const e of others) assert.equal(isUsernsError(e), false, String(e));
});

Deno.test("isUsernsError() knows the errors of another copy of userns", () => {
  // A second copy (another version) marks its classes with the same
  // registered symbol.
  class Foreign extends Error {
    code = "SETUP";
  }
  Object.defineProperty(Foreign.prototype, Symbol.for("userns.error"), {
    value: true,
  });
  assert.ok(isUsernsError(new Foreign("x")));
});

Deno.test("built-in based errors keep Deno's names and carry the fields", () => {
  const e = new UsernsNotFound("EXEC_NOT_FOUND", "failed", {
    hint: "do this",
    errno: "ENOENT",
    step: "exec",
    cause: 1,
  });
  assert.equal(e.name, "NotFound");
  assert.equal(e.message, "failed; do this");
  assert.deepEqual([e.code, e.hint, e.errno, e.step, e.cause], [
    "EXEC_NOT_FOUND",
    "do this",
    "ENOENT",
    "exec",
    1,
  ]);
  assert.equal(new UsernsTypeError("INVALID_ARGUMENT", "x").name, "TypeError");
  assert.equal(new UsernsBrokenPipe("BROKEN_PIPE", "x").name, "BrokenPipe");
  assert.equal(new UsernsError("SETUP", "x").name, "UsernsError");
});

Deno.test("execError() picks the class by errno, as Deno.Command does", () => {
  const cases: [string | number, string, string][] = [
    ["ENOENT", "NotFound", "EXEC_NOT_FOUND"],
    [2, "NotFound", "EXEC_NOT_FOUND"],
    ["ENOTDIR", "NotADirectory", "EXEC_NOT_FOUND"],
    ["EACCES", "PermissionDenied", "EXEC_DENIED"],
    ["EPERM", "PermissionDenied", "EXEC_DENIED"],
    ["ELOOP", "FilesystemLoop", "EXEC_DENIED"],
    ["E2BIG", "Error", "EXEC_DENIED"],
    ["ENAMETOOLONG", "Error", "EXEC_DENIED"],
    [99, "Error", "EXEC_DENIED"],
  ];
  for (const [errno, cls, code] of cases) {
    const e = execError("/bin/x", errno);
    assert.equal(kind(e), cls, String(errno));
    assert.equal(e.code, code);
    assert.equal(e.step, "exec");
    assert.ok(isUsernsError(e));
  }
  assert.ok(execError("x", "E2BIG") instanceof SpawnError);
});

skippableTest({
  name: "execError() matches Deno.Command's class and message, side by side",
  skip: { needs: RUN_NEEDS },
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.symlink(`${dir}/loop2`, `${dir}/loop1`);
      await Deno.symlink(`${dir}/loop1`, `${dir}/loop2`);
      await Deno.writeTextFile(`${dir}/data`, "x", { mode: 0o644 });
      const files = [
        "no-such-program-userns",
        `${dir}/missing`,
        `${dir}/data`, // EACCES, even for root: no x bit
        dir, // a directory: EACCES
        `${dir}/data/x`,
        `${dir}/loop1`,
      ];
      for (const file of files) {
        const deno = (() => {
          try {
            new Deno.Command(file).outputSync();
          } catch (e) {
            return e as Error & { code: string };
          }
          throw new Error(`${file} ran`);
        })();
        const ours = execError(file, deno.code);
        assert.equal(kind(ours), kind(deno), file);
        assert.equal(ours.errno, deno.code);
        // Deno: "Failed to spawn 'FILE': ..."; ours the same, lower case.
        const head = `failed to spawn '${file}': `;
        assert.ok(deno.message.toLowerCase().startsWith(head), deno.message);
        assert.ok(ours.message.startsWith(head), ours.message);
        assert.doesNotMatch(ours.message, /\n/);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("notFoundError() reads like Deno's, on one line, with a hint", () => {
  assert.equal(
    notFoundError("foo").message,
    "failed to spawn 'foo': not found on PATH (ENOENT); check the program name or PATH",
  );
  assert.equal(
    notFoundError("/opt/foo").message,
    "failed to spawn '/opt/foo': no such file or directory (ENOENT); check the path",
  );
  assert.equal(
    notFoundError("./a\nb", 2, "look").message,
    "failed to spawn './a\\nb': no such file or directory (ENOENT); look",
  );
  assert.equal(
    deniedError("/etc/passwd").message,
    "failed to spawn '/etc/passwd': permission denied (EACCES); check that it is a file with execute permission",
  );
});

skippableTest({
  name: "cwdError() matches Deno.Command's class and message, side by side",
  skip: { needs: RUN_NEEDS },
  fn() {
    const cases: [string, string][] = [
      ["/nonexistent-userns-check", "ENOENT"],
      ["/etc/passwd", "ENOTDIR"],
    ];
    for (const [cwd, errno] of cases) {
      let deno: Error | undefined;
      try {
        new Deno.Command("/usr/bin/true", { cwd }).spawn();
      } catch (e) {
        deno = e as Error;
      }
      const ours = cwdError("/usr/bin/true", cwd, errno);
      assert.equal(kind(ours), kind(deno), cwd);
      assert.equal(ours.code, "CWD_NOT_FOUND");
      assert.equal(ours.step, "chdir");
      const what = ours.message.split("; ")[0]!;
      assert.equal(
        what,
        deno!.message.replace(/^F/, "f").replace("No such", "no such"),
      );
    }
    const denied = cwdError("/usr/bin/true", "/root", "EACCES");
    assert.ok(denied instanceof Deno.errors.PermissionDenied);
    assert.equal(denied.code, "CWD_DENIED");
    assert.ok(cwdError("x", "/d", "EIO") instanceof SpawnError);
  },
});

skippableTest({
  name: "brokenPipeError() is what Deno gives for a write to an ended child",
  skip: { needs: RUN_NEEDS },
  async fn() {
    const child = new Deno.Command("true", { stdin: "piped" }).spawn();
    await child.status;
    const writer = child.stdin.getWriter();
    const deno = await writer.write(new Uint8Array(8)).then(
      () => undefined,
      (e) => e,
    );
    await writer.close().catch(() => {});
    const ours = brokenPipeError(deno);
    assert.equal(kind(ours), kind(deno));
    assert.ok(ours instanceof Deno.errors.BrokenPipe);
    assert.equal(ours.code, "BROKEN_PIPE");
    assert.equal(ours.errno, (deno as { code: string }).code);
    assert.ok(isUsernsError(ours));
  },
});

Deno.test("helperTimeoutError() and abortedError() carry their codes", () => {
  const t = helperTimeoutError("newuidmap", 1234, 10000);
  assert.ok(t instanceof HelperError && isUsernsError(t));
  assert.equal(t.code, "HELPER_TIMEOUT");
  assert.equal(
    t.message,
    "newuidmap for pid 1234 did not finish within 10000 ms; raise helperTimeout, or run userns doctor",
  );
  const a = abortedError("why");
  assert.equal(a.code, "ABORTED");
  assert.equal(a.cause, "why");
});

Deno.test("permissionError() still turns a denied permission into PERMISSION", () => {
  const denied = new Deno.errors.NotCapable(
    'Requires run access to "true", run again with the --allow-run flag',
  );
  const e = permissionError(denied);
  assert.ok(e instanceof UsernsError && isUsernsError(e));
  assert.equal(e.code, "PERMISSION");
  assert.match(e.message, /--allow-run/);
  assert.match(e.hint ?? "", /^run deno with --allow-run=true /);
  const other = new Error("x");
  assert.equal(permissionError(other), other);
});

Deno.test("permissionError() names the flag with the values the README lists", () => {
  const hint = (message: string) => {
    const e = permissionError(new Deno.errors.NotCapable(message));
    assert.ok(isUsernsError(e));
    return e.hint;
  };
  assert.match(
    hint('Requires sys access to "gid", run again with the --allow-sys flag')!,
    /^run deno with --allow-sys=uid,gid /,
  );
  assert.match(
    hint(
      'Requires run access to "/usr/bin/newuidmap", run again with the --allow-run flag',
    )!,
    /^run deno with --allow-run=newuidmap,newgidmap /,
  );
  assert.match(
    hint(
      'Requires run access to "setpriv", run again with the --allow-run flag',
    )!,
    /^run deno with --allow-run=pasta,slirp4netns,setpriv,sh /,
  );
  assert.match(
    hint('Requires env access to "PATH", run again with the --allow-env flag')!,
    /^run deno with --allow-env /,
  );
});
