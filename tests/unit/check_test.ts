import assert from "node:assert/strict";
import { skippableTest } from "../_skip.ts";
import { checkCommandOptions } from "../../lib/command/check.ts";
import {
  checkSpawnOptions,
  type SpawnMethod,
} from "../../lib/command/check_deno.ts";
import { isUsernsError } from "../../lib/errors/mod.ts";

const CAN_RUN =
  (await Deno.permissions.query({ name: "run", command: "true" })).state ===
    "granted";
/** What the tests beside Deno.Command need: `deno task test` grants it. */
const RUN_NEEDS = CAN_RUN
  ? undefined
  : "--allow-run, to run Deno.Command beside (deno task test grants it)";
const METHODS: readonly SpawnMethod[] = ["spawn", "output", "outputSync"];
/** An error class, built-in or Deno's. */
type ErrorClass = abstract new (...args: never[]) => Error;

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

/** What Deno.Command does: "ok", or the phase and the class it throws. */
async function denoOutcome(
  command: unknown,
  options: unknown,
  method: SpawnMethod,
): Promise<string> {
  let cmd: Deno.Command;
  try {
    cmd = new Deno.Command(command as string, options as Deno.CommandOptions);
  } catch (e) {
    return `constructor ${kind(e)}`;
  }
  let running: Promise<unknown> | undefined;
  try {
    if (method === "spawn") running = cmd.spawn().status;
    else if (method === "output") running = cmd.output();
    else cmd.outputSync();
  } catch (e) {
    return `${method} ${kind(e)}`;
  }
  try {
    await running;
  } catch (e) {
    return `${method} rejects ${kind(e)}`;
  }
  return "ok";
}

/** What UsernsCommand will do, with the checks where it calls them. */
function ourOutcome(
  command: unknown,
  options: unknown,
  method: SpawnMethod,
): string {
  try {
    checkCommandOptions(options);
  } catch (e) {
    return `constructor ${kind(e)}`;
  }
  try {
    checkSpawnOptions(command, options, method);
  } catch (e) {
    assert.ok(isUsernsError(e), `not a userns error: ${e}`);
    assert.doesNotMatch(e.message, /\n/);
    return `${method} ${kind(e)}`;
  }
  return "ok";
}

interface Row {
  name: string;
  command?: unknown;
  options?: unknown;
  /**
   * Where Deno.Command accepts this and quietly coerces it, we throw a
   * TypeError instead, at the moment Deno would have thrown one.
   */
  stricter?: true;
}

/** Bad inputs for the options both have; the command runs /usr/bin/true. */
const ROWS: Row[] = [
  { name: "valid, no options" },
  {
    name: "valid, every option",
    options: {
      args: ["x"],
      cwd: "/",
      clearEnv: false,
      env: { A: "b" },
      stdin: "null",
      stdout: "null",
      stderr: "null",
      signal: new AbortController().signal,
    },
  },
  { name: "an unknown key is ignored", options: { bogus: 1, namespace: [] } },
  { name: "command a number", command: 1 },
  { name: "command undefined", command: undefined },
  { name: "command null", command: null },
  { name: "command an object", command: {} },
  {
    name: "command a URL-like object",
    command: { href: "file:///usr/bin/true", protocol: "file:" },
  },
  { name: "command empty", command: "" },
  { name: "command name with NUL", command: "tr\0ue" },
  { name: "command path with NUL", command: "/usr/bin/tr\0ue" },
  { name: "command https: URL", command: new URL("https://host/true") },
  { name: "command data: URL", command: new URL("data:text/plain,x") },
  { name: "command URL with host", command: new URL("file://h/usr/bin/true") },
  { name: "command URL not UTF-8", command: new URL("file:///usr/bin/%C3") },
  { name: "command URL with %00", command: new URL("file:///usr/bin/t%00") },
  { name: "command URL decoded", command: new URL("file:///usr/bin/tru%65") },
  { name: "options null", options: null, stricter: true },
  { name: "options a number", options: 5, stricter: true },
  { name: "options a string", options: "x", stricter: true },
  { name: "options an array", options: [], stricter: true },
  { name: "args a string", options: { args: "x" }, stricter: true },
  { name: "args a number", options: { args: 5 }, stricter: true },
  { name: "args null", options: { args: null } },
  { name: "args an object", options: { args: {} }, stricter: true },
  { name: "args a Set", options: { args: new Set(["a"]) }, stricter: true },
  { name: "an arg a number", options: { args: [1] }, stricter: true },
  { name: "an arg null", options: { args: [null] }, stricter: true },
  { name: "an arg an object", options: { args: [{}] }, stricter: true },
  { name: "args with a hole", options: { args: [, "a"] } },
  { name: "an arg with NUL", options: { args: ["a\0b"] } },
  { name: "cwd a number", options: { cwd: 1 } },
  { name: "cwd an object", options: { cwd: {} } },
  { name: "cwd null", options: { cwd: null }, stricter: true },
  { name: "cwd empty", options: { cwd: "" } },
  { name: "cwd with NUL", options: { cwd: "/tmp\0x" } },
  { name: "cwd https: URL", options: { cwd: new URL("https://host/") } },
  { name: "cwd URL with host", options: { cwd: new URL("file://h/") } },
  { name: "cwd URL not UTF-8", options: { cwd: new URL("file:///%C3") } },
  { name: "cwd file: URL", options: { cwd: new URL("file:///") } },
  { name: "env a number", options: { env: 5 }, stricter: true },
  { name: "env null", options: { env: null } },
  { name: "env a string", options: { env: "x" }, stricter: true },
  { name: "env an array", options: { env: ["A=b"] }, stricter: true },
  { name: "env a Map", options: { env: new Map() }, stricter: true },
  { name: "env value a number", options: { env: { A: 1 } } },
  { name: "env value undefined", options: { env: { A: undefined } } },
  { name: "env value null", options: { env: { A: null } } },
  { name: "env key with NUL", options: { env: { "A\0": "x" } } },
  { name: "env value with NUL", options: { env: { A: "x\0y" } } },
  { name: "env odd keys", options: { env: { "A=B": "x", "": "y" } } },
  { name: "clearEnv a string", options: { clearEnv: "no" }, stricter: true },
  { name: "clearEnv a number", options: { clearEnv: 1 }, stricter: true },
  { name: "clearEnv null", options: { clearEnv: null }, stricter: true },
  { name: 'stdout "pipe"', options: { stdout: "pipe" } },
  { name: 'stdin "pipe"', options: { stdin: "pipe" } },
  { name: 'stderr "Piped"', options: { stderr: "Piped" } },
  { name: "stdout a number (an fd)", options: { stdout: 1 }, stricter: true },
  { name: "stdout null", options: { stdout: null }, stricter: true },
  { name: 'stdin "piped"', options: { stdin: "piped" } },
  { name: "signal an object", options: { signal: {} }, stricter: true },
  { name: "signal a string", options: { signal: "x" }, stricter: true },
  { name: "signal null", options: { signal: null }, stricter: true },
  { name: "signal aborted", options: { signal: AbortSignal.abort() } },
  {
    name: "a type error comes before an empty command",
    command: "",
    options: { stdout: "pipe" },
  },
  {
    name: "a type error comes before a cwd with NUL",
    options: { cwd: "/\0", env: { A: 1 } },
  },
  {
    name: "a name not found comes before a cwd with NUL",
    command: "",
    options: { cwd: "/\0" },
  },
];

skippableTest({
  name: "checks throw what Deno.Command throws, when it throws it",
  skip: { needs: RUN_NEEDS },
  // A bad signal makes Deno.Command throw after the child is spawned.
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    for (const row of ROWS) {
      const command = "command" in row ? row.command : "true";
      await t.step(row.name, async () => {
        for (const method of METHODS) {
          const deno = await denoOutcome(command, row.options, method);
          const ours = ourOutcome(command, row.options, method);
          const want = deno === "ok" && row.stricter
            ? `${method} TypeError`
            : deno;
          assert.equal(ours, want, `${method}: Deno.Command gives ${deno}`);
        }
      });
    }
  },
});

Deno.test("a stricter row is refused by at least one method", async (t) => {
  // Guards the table: "stricter" must stay true of every row that has it.
  for (const row of ROWS.filter((r) => r.stricter)) {
    await t.step(row.name, () => {
      const command = "command" in row ? row.command : "true";
      const refused = METHODS.filter((m) =>
        ourOutcome(command, row.options, m) !== "ok"
      );
      assert.notEqual(refused.length, 0);
    });
  }
});

Deno.test("checkSpawnOptions() names the option and the allowed values", () => {
  const cases: [unknown, unknown, SpawnMethod, ErrorClass, string][] = [
    [
      "true",
      { stdout: "pipe" },
      "spawn",
      TypeError,
      'stdout must be one of "inherit", "piped", "null", got "pipe"',
    ],
    [
      "true",
      { args: ["a", 1] },
      "spawn",
      TypeError,
      "args[1] must be a string, got 1",
    ],
    [
      "true",
      { args: ["a\0"] },
      "spawn",
      TypeError,
      "args[0] must not contain a NUL byte",
    ],
    [
      "true",
      { env: { A: 1 } },
      "spawn",
      TypeError,
      'env["A"] must be a string, got 1',
    ],
    [
      "true",
      { clearEnv: "no" },
      "spawn",
      TypeError,
      'clearEnv must be a boolean, got "no"',
    ],
    [
      "true",
      { signal: {} },
      "spawn",
      TypeError,
      "signal must be an AbortSignal, got an object",
    ],
    [
      "true",
      { stdin: "piped" },
      "output",
      TypeError,
      "piped stdin is not supported by output(); use spawn()",
    ],
    [
      new URL("https://h/x"),
      {},
      "spawn",
      TypeError,
      'command must be a path or a file: URL, got the URL "https://h/x"',
    ],
    [
      "true",
      { cwd: new URL("file://host/tmp") },
      "spawn",
      TypeError,
      'cwd must be a file: URL with an empty host, got host "host"',
    ],
    [
      "",
      {},
      "spawn",
      Deno.errors.NotFound,
      "failed to spawn '': not found on PATH (ENOENT); give a program name or path",
    ],
    [
      "true",
      { cwd: "/a\0" },
      "spawn",
      Deno.errors.NotFound,
      "failed to spawn 'true': no such cwd '/a\\u0000'; check that the directory exists",
    ],
  ];
  for (const [command, options, method, cls, message] of cases) {
    assert.throws(() => checkSpawnOptions(command, options, method), (e) => {
      assert.ok(e instanceof cls, `${e} is not a ${cls.name}`);
      assert.equal((e as Error).message, message);
      assert.ok(isUsernsError(e));
      return true;
    });
  }
});

Deno.test("checkCommandOptions() leaves Deno.Command's options to spawn()", () => {
  // Deno.Command's constructor throws nothing; neither may ours for these.
  for (const row of ROWS) checkCommandOptions(row.options);
});

/** [options, class, message] for the options Deno.Command does not have. */
/** `n` dev mounts (14 mount operations each) and `n` tmpfs mounts (1). */
const devs = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ type: "dev", target: `/d${i}` }));
const tmpfs = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ type: "tmpfs", target: `/t${i}` }));

const OWN: [Record<string, unknown>, ErrorClass, string][] = [
  [
    { map: "bogus" },
    TypeError,
    'map must be one of "auto", "root", "current", "subids", got "bogus"',
  ],
  [
    { map: null },
    TypeError,
    'map must be one of "auto", "root", "current", "subids", got null',
  ],
  [
    { setgroups: "yes" },
    TypeError,
    'setgroups must be one of "allow", "deny", got "yes"',
  ],
  [
    { propagation: "shared" },
    TypeError,
    'propagation must be one of "slave", "private", "unchanged", got "shared"',
  ],
  [
    { namespaces: "pid" },
    TypeError,
    'namespaces must be an array of one of "mount", "pid", "uts", "ipc", "net", "cgroup", "time", got "pid"',
  ],
  [
    { namespaces: ["pid", "user"] },
    TypeError,
    'namespaces[1] must be one of "mount", "pid", "uts", "ipc", "net", "cgroup", "time", got "user"',
  ],
  [
    { uidMap: {} },
    TypeError,
    "uidMap must be an array of { inner, outer, count }, got an object",
  ],
  [
    { gidMap: [null] },
    TypeError,
    "gidMap[0] must be { inner, outer, count }, got null",
  ],
  [
    { uidMap: [{ inner: 0, outer: 1000, count: "1" }] },
    TypeError,
    'uidMap[0].count must be an integer from 0 to 4294967295, got "1"',
  ],
  [
    { uidMap: [{ inner: 0, outer: 1000 }] },
    TypeError,
    "uidMap[0].count must be an integer from 0 to 4294967295, got undefined",
  ],
  [
    { uidMap: [{ inner: 0, outer: -1, count: 1 }] },
    RangeError,
    "uidMap[0].outer must be an integer from 0 to 4294967295, got -1",
  ],
  [
    { gidMap: [{ inner: 0.5, outer: 1, count: 1 }] },
    RangeError,
    "gidMap[0].inner must be an integer from 0 to 4294967295, got 0.5",
  ],
  [
    { uidMap: [{ inside: 0, outer: 1, count: 1 }] },
    TypeError,
    'uidMap[0] has an unknown key "inside", expected one of "inner", "outer", "count"',
  ],
  [
    { user: "0" },
    TypeError,
    'user must be an integer from 0 to 4294967294, got "0"',
  ],
  [
    { user: -1 },
    RangeError,
    "user must be an integer from 0 to 4294967294, got -1",
  ],
  [
    { group: 4294967295 },
    RangeError,
    "group must be an integer from 0 to 4294967294, got 4294967295",
  ],
  [
    { oomScoreAdj: 1001 },
    RangeError,
    "oomScoreAdj must be an integer from -1000 to 1000, got 1001",
  ],
  [
    { oomScoreAdj: NaN },
    RangeError,
    "oomScoreAdj must be an integer from -1000 to 1000, got NaN",
  ],
  [
    { oomScoreAdj: 5n },
    TypeError,
    "oomScoreAdj must be an integer from -1000 to 1000, got 5n",
  ],
  [{ hostname: 1 }, TypeError, "hostname must be a string, got 1"],
  [{ hostname: "" }, RangeError, 'hostname must be 1 to 64 bytes long, got ""'],
  [
    { hostname: "é".repeat(33) },
    RangeError,
    `hostname must be 1 to 64 bytes long, got "${"é".repeat(33)}"`,
  ],
  [{ hostname: "a\0b" }, TypeError, "hostname must not contain a NUL byte"],
  [
    { hostname: "a\nb" },
    TypeError,
    'hostname must not contain a newline or other control character, got "a\\nb"',
  ],
  [
    { hostname: "host\u001b[2J" },
    TypeError,
    'hostname must not contain a newline or other control character, got "host\\u001b[2J"',
  ],
  [{ root: 1 }, TypeError, "root must be a string or a file: URL, got 1"],
  [{ root: "" }, RangeError, 'root must be a non-empty path, got ""'],
  [{ root: "/r\0" }, TypeError, "root must not contain a NUL byte"],
  [
    { root: new URL("https://h/") },
    TypeError,
    'root must be a path or a file: URL, got the URL "https://h/"',
  ],
  [
    { root: new URL("file:///%FF") },
    URIError,
    'root is not a valid percent-encoded UTF-8 path: "/%FF"',
  ],
  ...[
    "mountNamespace",
    "mountProc",
    "init",
    "noNewPrivs",
    "setsid",
    "ctty",
    "strict",
  ]
    .map((name): [Record<string, unknown>, ErrorClass, string] => [
      { [name]: "true" },
      TypeError,
      `${name} must be a boolean, got "true"`,
    ]),
  [{ beforeExec: "x" }, TypeError, 'beforeExec must be a function, got "x"'],
  [{ onWarning: {} }, TypeError, "onWarning must be a function, got an object"],
  [
    { helperTimeout: "10" },
    TypeError,
    'helperTimeout must be a number of milliseconds above 0, at most 2147483647, got "10"',
  ],
  [
    { helperTimeout: 0 },
    RangeError,
    "helperTimeout must be a number of milliseconds above 0, at most 2147483647, got 0",
  ],
  [
    { helperTimeout: Infinity },
    RangeError,
    "helperTimeout must be a number of milliseconds above 0, at most 2147483647, got Infinity",
  ],
  [
    { helperTimeout: 2 ** 31 },
    RangeError,
    "helperTimeout must be a number of milliseconds above 0, at most 2147483647, got 2147483648",
  ],
  [
    { mounts: {} },
    TypeError,
    'mounts must be an array of mounts, an object such as { type: "tmpfs", target: "/tmp" }, got an object',
  ],
  [
    { mounts: [{ type: "overlay", target: "/x" }] },
    TypeError,
    'mounts[0].type must be one of "bind", "tmpfs", "dev", "proc", got "overlay"',
  ],
  [
    { mounts: [{ type: "tmpfs", target: "tmp" }] },
    TypeError,
    'mounts[0].target must be an absolute path, got "tmp"',
  ],
  [
    { mounts: [{ type: "dev" }] },
    TypeError,
    "mounts[0].target must be a path or a file: URL, got undefined",
  ],
  [
    { mounts: [{ type: "bind", target: "/x" }] },
    TypeError,
    "mounts[0].source must be a path or a file: URL, got undefined",
  ],
  [
    { mounts: [{ type: "bind", source: "", target: "/x" }] },
    RangeError,
    'mounts[0].source must be a non-empty path, got ""',
  ],
  [
    { mounts: [{ type: "bind", source: "/a", target: "/x", readOnly: true }] },
    TypeError,
    'mounts[0] has an unknown key "readOnly", expected one of "type", "source", "target", "readonly"',
  ],
  [
    { mounts: [{ type: "bind", source: "/a", target: "/x", readonly: 1 }] },
    TypeError,
    "mounts[0].readonly must be a boolean, got 1",
  ],
  [
    { mounts: [{ type: "proc", target: "/proc", size: 1 }] },
    TypeError,
    'mounts[0] has an unknown key "size", expected one of "type", "target"',
  ],
  [
    { mounts: [{ type: "tmpfs", target: "/t", size: "1m,mode=777" }] },
    TypeError,
    'mounts[0].size must be a positive integer of bytes or a size such as "64m" or "50%", got "1m,mode=777"',
  ],
  [
    { mounts: [{ type: "tmpfs", target: "/t", size: 0 }] },
    RangeError,
    'mounts[0].size must be a positive integer of bytes or a size such as "64m" or "50%", got 0',
  ],
  [
    { mounts: [{ type: "tmpfs", target: "/t\0" }] },
    TypeError,
    "mounts[0].target must not contain a NUL byte",
  ],
  [
    { rlimits: [] },
    TypeError,
    "rlimits must be an object such as { nofile: 1024 }, got an array",
  ],
  [
    { rlimits: { nofiles: 1 } },
    TypeError,
    'rlimits has an unknown key "nofiles", expected one of "as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"',
  ],
  [
    { rlimits: { nofile: "1024" } },
    TypeError,
    'rlimits.nofile must be an integer from 0 to 9007199254740991 or "unlimited", got "1024"',
  ],
  [
    { rlimits: { nofile: -1 } },
    RangeError,
    'rlimits.nofile must be an integer from 0 to 9007199254740991 or "unlimited", got -1',
  ],
  [
    { rlimits: { core: [0] } },
    TypeError,
    'rlimits.core must be a number, "unlimited" or [soft, hard], got an array',
  ],
  [
    { rlimits: { core: [0, "inf"] } },
    TypeError,
    'rlimits.core[1] must be an integer from 0 to 9007199254740991 or "unlimited", got "inf"',
  ],
  [
    { rlimits: { nofile: [2048, 1024] } },
    RangeError,
    "rlimits.nofile: the soft limit 2048 is above the hard limit 1024",
  ],
  [
    { rlimits: { stack: ["unlimited", 8388608] } },
    RangeError,
    'rlimits.stack: the soft limit "unlimited" is above the hard limit 8388608',
  ],
  [
    { timeOffsets: 5 },
    TypeError,
    "timeOffsets must be an object such as { monotonic: 3600 }, got 5",
  ],
  [
    { timeOffsets: { realtime: 1 } },
    TypeError,
    'timeOffsets has an unknown key "realtime", expected one of "monotonic", "boottime"',
  ],
  [
    { timeOffsets: { boottime: 1.5 } },
    RangeError,
    "timeOffsets.boottime must be an integer of seconds from -4611686018 to 4611686018, got 1.5",
  ],
  [
    { timeOffsets: { monotonic: 4611686019 } },
    RangeError,
    "timeOffsets.monotonic must be an integer of seconds from -4611686018 to 4611686018, got 4611686019",
  ],
  [
    { timeOffsets: { boottime: -(2 ** 53) } },
    RangeError,
    "timeOffsets.boottime must be an integer of seconds from -4611686018 to 4611686018, got -9007199254740992",
  ],
  [
    { mounts: devs(19) },
    RangeError,
    'mounts must come to at most 256 mount operations, got 266 (a "dev" mount is 14 of them)',
  ],
  [
    { mounts: [...devs(18), ...tmpfs(4)], mountProc: true },
    RangeError,
    'mounts must come to at most 256 mount operations, got 257 (a "dev" mount is 14 of them)',
  ],
  [
    { timeOffsets: { monotonic: "1" } },
    TypeError,
    'timeOffsets.monotonic must be an integer of seconds from -4611686018 to 4611686018, got "1"',
  ],
];

Deno.test("checkCommandOptions() refuses each bad namespace option", async (t) => {
  for (const [options, cls, message] of OWN) {
    await t.step(message, () => {
      assert.throws(() => checkCommandOptions(options), (e) => {
        assert.ok(e instanceof cls, `${e} is not a ${cls.name}`);
        assert.ok(isUsernsError(e));
        assert.equal(e.code, "INVALID_ARGUMENT");
        assert.equal(e.message, message);
        return true;
      });
    });
  }
});

Deno.test("checkCommandOptions() accepts every valid namespace option", () => {
  const valid = {
    map: "subids",
    uidMap: [{ inner: 0, outer: 1000, count: 1 }],
    gidMap: [{ inner: 0, outer: 4294967295, count: 0 }],
    user: 4294967294,
    group: 0,
    setgroups: "deny",
    namespaces: ["mount", "pid", "uts", "ipc", "net", "cgroup", "time"],
    mountNamespace: false,
    propagation: "unchanged",
    mountProc: true,
    init: false,
    hostname: "h".repeat(64),
    root: new URL("file:///srv/root%20fs"),
    mounts: [
      { type: "bind", source: "/a", target: "/b", readonly: true },
      { type: "bind", source: new URL("file:///a"), target: "/b" },
      { type: "tmpfs", target: "/tmp", size: "64m" },
      { type: "tmpfs", target: "/t", size: 1 << 20 },
      { type: "tmpfs", target: "/u", size: "50%" },
      { type: "dev", target: "/dev" },
      { type: "proc", target: "/proc" },
    ],
    rlimits: {
      nofile: 1024,
      core: [0, 0],
      stack: "unlimited",
      as: [1, "unlimited"],
      nice: 0,
    },
    noNewPrivs: true,
    timeOffsets: { monotonic: -4611686018, boottime: 4611686018 },
    setsid: true,
    ctty: false,
    oomScoreAdj: -1000,
    strict: true,
    helperTimeout: 0.5,
    beforeExec: () => {},
    onWarning: () => {},
    // Deno.Command's options and unknown keys are not looked at here.
    stdout: "pipe",
    bogus: {},
  };
  checkCommandOptions(valid);
  // As many mount operations as the native side takes.
  checkCommandOptions({ mounts: [...devs(18), ...tmpfs(3)], mountProc: true });
  checkCommandOptions({ map: undefined, uidMap: undefined }); // not given
  checkCommandOptions(undefined);
  checkCommandOptions(Object.create({ map: "root" }));
  // An inherited option is read, as Deno.Command reads it.
  assert.throws(
    () => checkCommandOptions(Object.create({ map: "x" })),
    (e) =>
      e instanceof TypeError &&
      e.message ===
        'map must be one of "auto", "root", "current", "subids", got "x"',
  );
});
