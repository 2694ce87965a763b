import assert from "node:assert/strict";
import { skippableTest } from "../_skip.ts";
import { fileURLToPath } from "node:url";
import { pathFromUrl } from "../../lib/check/file_url.ts";
import { isUsernsError } from "../../lib/errors/mod.ts";

const CAN_RUN = (await Deno.permissions.query({ name: "run" })).state ===
  "granted";
/** What the tests beside Deno.Command need: `deno task test` grants it. */
const RUN_NEEDS = CAN_RUN
  ? undefined
  : "--allow-run, to run Deno.Command beside (deno task test grants it)";
/** A directory that does not exist, so that Deno names the path it tried. */
const MISSING = "file:///nonexistent-userns-check";

/** URL paths, with what they decode to (or the error class). */
const CASES: [string, string | ErrorConstructor][] = [
  ["/a%20b", "/nonexistent-userns-check/a b"],
  ["/a b", "/nonexistent-userns-check/a b"], // URL encodes it first
  ["/a%2Fb", "/nonexistent-userns-check/a/b"], // an encoded slash decodes
  ["/a%2fb", "/nonexistent-userns-check/a/b"],
  ["/caf%C3%A9", "/nonexistent-userns-check/café"],
  ["/100%", "/nonexistent-userns-check/100%"], // a lone % stays
  ["/%zz", "/nonexistent-userns-check/%zz"],
  ["/%2", "/nonexistent-userns-check/%2"],
  ["/%25", "/nonexistent-userns-check/%"],
  ["/a?q=1#h", "/nonexistent-userns-check/a"], // query, fragment ignored
  ["/x/../a", "/nonexistent-userns-check/a"], // URL resolves dot segments
  ["/%C3", URIError], // not UTF-8
  ["/%FF%FE", URIError],
];

/** The path Deno.Command tried, from its NotFound message. */
function denoTried(url: URL, as: "command" | "cwd"): string | Error {
  try {
    if (as === "command") new Deno.Command(url).outputSync();
    else new Deno.Command("true", { cwd: url }).spawn();
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) return e as Error;
    const m = (e as Error).message.match(
      as === "command" ? /^Failed to spawn '(.*)': / : /No such cwd '(.*)'$/,
    );
    assert.ok(m, (e as Error).message);
    return m[1]!;
  }
  throw new Error(`Deno.Command found ${url}`);
}

skippableTest({
  name: "pathFromUrl() decodes as Deno.Command does, for command and cwd",
  skip: { needs: RUN_NEEDS },
  async fn(t) {
    for (const [path, want] of CASES) {
      await t.step(path, () => {
        const url = new URL(MISSING + path);
        for (const as of ["command", "cwd"] as const) {
          const deno = denoTried(url, as);
          if (typeof want === "string") {
            assert.equal(deno, want, `Deno.Command, as ${as}`);
            assert.equal(pathFromUrl(url, as), want);
          } else {
            assert.ok(deno instanceof want, `Deno.Command, as ${as}: ${deno}`);
            assert.throws(() => pathFromUrl(url, as), want);
          }
        }
      });
    }
  },
});

skippableTest({
  name: "pathFromUrl() refuses what Deno.Command refuses, with its class",
  skip: { needs: RUN_NEEDS },
  fn() {
    const refused: [URL, ErrorConstructor][] = [
      [new URL("https://example.com/bin/true"), TypeError],
      [new URL("data:text/plain,x"), TypeError],
      [new URL("file://otherhost/bin/true"), TypeError],
    ];
    for (const [url, cls] of refused) {
      assert.throws(() => new Deno.Command(url).outputSync(), cls);
      assert.throws(() => pathFromUrl(url, "command"), (e) => {
        assert.ok(e instanceof cls && isUsernsError(e));
        assert.equal(e.code, "INVALID_ARGUMENT");
        return true;
      });
    }
    // localhost is the empty host: the URL parser drops it.
    const local = new URL("file://localhost/nonexistent-userns-check/x");
    assert.equal(denoTried(local, "command"), "/nonexistent-userns-check/x");
    assert.equal(pathFromUrl(local), "/nonexistent-userns-check/x");
  },
});

skippableTest({
  name: "a string is a path, even one that looks like a file: URL",
  skip: { needs: RUN_NEEDS },
  fn() {
    const s = "file:///nonexistent-userns-check/a%20b";
    assert.throws(
      () => new Deno.Command(s).outputSync(),
      // Resolved against the working directory, and not decoded.
      (e) => e instanceof Deno.errors.NotFound && e.message.includes(`/${s}'`),
    );
    assert.equal(pathFromUrl(s), s);
  },
});

Deno.test("pathFromUrl() messages name the option, on one line", () => {
  // node:assert's throws(fn, Class, text) takes text as its own failure
  // message: the error's message is matched by the function.
  const cases: [() => unknown, ErrorConstructor, string][] = [
    [
      () => pathFromUrl(new URL("https://h/x"), "cwd"),
      TypeError,
      'cwd must be a path or a file: URL, got the URL "https://h/x"',
    ],
    [
      () => pathFromUrl(new URL("file://h/x"), "root"),
      TypeError,
      'root must be a file: URL with an empty host, got host "h"',
    ],
    [
      () => pathFromUrl(new URL("file:///%C3"), "command"),
      URIError,
      'command is not a valid percent-encoded UTF-8 path: "/%C3"',
    ],
    [
      () => pathFromUrl(42 as unknown as string, "command"),
      TypeError,
      "command must be a string or a file: URL, got 42",
    ],
  ];
  for (const [fn, cls, message] of cases) {
    assert.throws(
      fn,
      (e) => e instanceof cls && (e as Error).message === message,
    );
  }
});

Deno.test("pathFromUrl() differs from node:url where Deno.Command does", () => {
  // Node refuses an encoded slash and a host; Deno.Command decodes the one
  // and refuses the other with its own TypeError. We follow Deno.Command.
  assert.equal(
    fileURLToPath("file:///tmp/a%20b"),
    pathFromUrl(new URL("file:///tmp/a%20b")),
  );
  assert.throws(() => fileURLToPath("file:///tmp/a%2Fb"), TypeError);
  assert.equal(pathFromUrl(new URL("file:///tmp/a%2Fb")), "/tmp/a/b");
});
