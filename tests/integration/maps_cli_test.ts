// `userns maps` as a user runs it: a separate process, real /proc files.
import assert from "node:assert/strict";
import { UsernsCommand } from "../../lib/mod.ts";
import { nsTest } from "./_env.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const ROOT = new URL("../..", import.meta.url).pathname;
const dec = new TextDecoder();

/** Runs `userns maps ARGS` with Deno `flags`; returns its pid too. */
async function maps(args: string[], flags = ["-A"]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, MAIN, "maps", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = await child.output();
  return {
    pid: child.pid,
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}

/** The kernel's map text as `{inner, outer, count}` lines, parsed here. */
function lines(text: string) {
  return text.trim().split("\n").filter((l) => l.trim()).map((l) => {
    const [inner, outer, count] = l.trim().split(/\s+/).map(Number);
    return { inner, outer, count };
  });
}

/** What the kernel shows for this test process, in the same namespace. */
function ownMaps() {
  return {
    uid: lines(Deno.readTextFileSync("/proc/self/uid_map")),
    gid: lines(Deno.readTextFileSync("/proc/self/gid_map")),
    setgroups: Deno.readTextFileSync("/proc/self/setgroups").trim(),
  };
}

Deno.test("maps --json: the CLI's own maps, exactly the README's shape", async () => {
  const out = await maps(["--json"]);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stderr, "");
  assert.equal(out.stdout.split("\n").length, 2, "one line");
  assert.deepStrictEqual(JSON.parse(out.stdout), {
    pid: out.pid,
    ...ownMaps(),
  });
});

Deno.test("maps: human table of uid map, gid map, setgroups", async () => {
  const out = await maps([]);
  assert.equal(out.code, 0, out.stderr);
  const own = ownMaps();
  const expected = [
    `pid ${out.pid}`,
    "map inside outside count",
    ...own.uid.map((m) => `uid ${m.inner} ${m.outer} ${m.count}`),
    ...own.gid.map((m) => `gid ${m.inner} ${m.outer} ${m.count}`),
    `setgroups ${own.setgroups}`,
  ];
  const got = out.stdout.trimEnd().split("\n");
  assert.deepStrictEqual(
    got.map((l) => l.trim().split(/\s+/).join(" ")),
    expected,
  );
  assert.match(got[2]!, /^uid +\d+ +\d+ +\d+$/);
});

Deno.test("maps: a missing pid exits 1 with one line", async () => {
  const pid = 2 ** 22 + 12345; // above the largest pid_max
  const out = await maps([String(pid), "--json"]);
  assert.equal(out.code, 1);
  assert.equal(out.stdout, "");
  assert.equal(
    out.stderr,
    `userns: no process ${pid}: /proc/${pid}/uid_map does not exist; ` +
      "check the pid (ps)\n",
  );
});

Deno.test("maps: another process's maps with the documented flags, no -A", async () => {
  // /proc is read through the native library: --allow-ffi, not --allow-all.
  const out = await maps(["1"], [
    `--allow-read=${ROOT}`,
    "--allow-ffi",
    "--allow-env",
  ]);
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /^pid 1\n/);
  const denied = await maps(["1"], [`--allow-read=${ROOT}`, "--allow-env"]);
  assert.equal(denied.code, 1);
  assert.match(
    denied.stderr,
    /^userns: cannot load the native library: FFI is not permitted; run deno with --allow-ffi\n$/,
  );
});

Deno.test("maps: usage errors exit 2 with one line", async () => {
  for (
    const args of [["abc"], ["0"], ["1", "2"], ["--bogus"], ["-1"], ["1e3"]]
  ) {
    const out = await maps(args);
    assert.equal(out.code, 2, `${args}: ${out.stderr}`);
    assert.equal(out.stdout, "");
    assert.match(out.stderr, /^userns: [^\n]+; [^\n]+\n$/, `${args}`);
  }
});

Deno.test("maps --help lists every option", async () => {
  const out = await maps(["--help"]);
  assert.equal(out.code, 0);
  for (const opt of ["--json", "-h, --help"]) {
    assert.match(out.stdout, new RegExp(`^  ${opt}\\s+\\S`, "m"), opt);
  }
});

/** Maps of a process in a namespace made with `options`, and as seen inside. */
async function childMaps(options: { map?: "root" }) {
  const script = "cat /proc/self/uid_map; echo -; cat /proc/self/gid_map; " +
    "echo -; cat /proc/self/setgroups";
  const inside = await new UsernsCommand("sh", {
    ...options,
    args: ["-c", script],
    stdout: "piped",
  }).output();
  const [uid, gid, setgroups] = dec.decode(inside.stdout).split("-\n");
  const child = new UsernsCommand("sleep", { ...options, args: ["30"] })
    .spawn();
  try {
    const out = await maps(["--json", String(child.pid)]);
    assert.equal(out.code, 0, out.stderr);
    assert.deepStrictEqual(JSON.parse(out.stdout), {
      pid: child.pid,
      uid: lines(uid!),
      gid: lines(gid!),
      setgroups: setgroups!.trim(),
    });
    return JSON.parse(out.stdout);
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
}

nsTest(
  "maps --json PID: a child in a namespace, as it sees itself",
  async () => {
    await childMaps({});
    const root = await childMaps({ map: "root" });
    const me = { uid: Deno.uid()!, gid: Deno.gid()! };
    assert.deepStrictEqual(root.uid, [{ inner: 0, outer: me.uid, count: 1 }]);
    assert.deepStrictEqual(root.gid, [{ inner: 0, outer: me.gid, count: 1 }]);
  },
);
