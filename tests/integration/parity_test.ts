// Deno.Command parity: ONE table of scenarios, each run with Deno.Command and
// with UsernsCommand (no namespace option), and the two results compared:
// values, statuses, and the class of what was thrown and when. Each scenario
// also says what both give, so the table reads as the contract.
//
// Where the product's contract makes the two differ, the scenario's `spec`
// asserts each side's own result exactly and returns the part they share;
// its comment names the rule. Those differences are:
// - inside the namespace the command runs as 0:0, and sees the
//   `_CONTAINERS_*` variables (`--map auto`, podman compatibility);
// - it starts with fds 0-2 only and every signal at its default (`run`);
// - it has kill-on-parent-death, so an unref'd command ends with the program;
// - `output()` reports every failure by rejecting, where Deno.Command throws
//   some synchronously (a command not found throws from spawn() and
//   rejects output());
// - a wrong option type or value is a TypeError from the constructor, where
//   Deno.Command throws it when it spawns.
// One more differs without such a rule and is kept on purpose (see
// "argv[0]"): the program gets its name as given, as unshare(1), podman
// unshare and execvp() pass it, not the path Deno resolved.
import assert from "node:assert/strict";
import { isUsernsError, UsernsCommand } from "../../lib/mod.ts";
import { ID, nsTest, ROOT } from "./_env.ts";
import { alive, delay, gone, within } from "./_process.ts";

type Command = typeof Deno.Command;
type Side = "deno" | "userns";

interface Scenario {
  /** What is done. */
  name: string;
  /** Does it with one of the two classes; returns what is compared. */
  run: (Command: Command) => Promise<unknown> | unknown;
  /** What both give (after `spec`). */
  expect: unknown;
  /** A difference the contract requires: asserts one side's result, returns the
   * part both share. */
  spec?: (seen: never, side: Side) => unknown;
}

/** The built-in classes Deno.Command's errors are instances of. */
const CLASSES: [string, abstract new (...args: never[]) => Error][] = [
  ["NotFound", Deno.errors.NotFound],
  ["PermissionDenied", Deno.errors.PermissionDenied],
  ["BrokenPipe", Deno.errors.BrokenPipe],
  ["TypeError", TypeError],
];

/** Every error a scenario caught, to check that ours carry a code. */
let caught: unknown[] = [];

function failure(how: "throws" | "rejects", e: unknown): unknown {
  caught.push(e);
  const cls = CLASSES.find(([, c]) => e instanceof c)?.[0];
  return { [how]: cls ?? `unexpected ${Deno.inspect(e)}` };
}

/** The value of fn(), or `{ throws: class }`, or `{ rejects: class }`. */
async function settle(fn: () => unknown): Promise<unknown> {
  let result: unknown;
  try {
    result = fn();
  } catch (e) {
    return failure("throws", e);
  }
  try {
    return await result;
  } catch (e) {
    return failure("rejects", e);
  }
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const status = (s: Deno.CommandStatus) => ({
  success: s.success,
  code: s.code,
  signal: s.signal,
});
const output = (o: Deno.CommandOutput) => ({
  ...status(o),
  stdout: text(o.stdout),
  stderr: text(o.stderr),
});
const failed = (code: number, signal: Deno.Signal | null = null) => ({
  success: false,
  code,
  signal,
});
const OK = { success: true, code: 0, signal: null };

/** `sh -c script`, collected. */
const sh = (Command: Command, script: string, o: Deno.CommandOptions = {}) =>
  new Command("sh", { args: ["-c", script], ...o }).output().then(output);

/** A child that has executed: it said so on stdout, then sleeps. */
async function running(Command: Command, o: Deno.CommandOptions = {}) {
  const child = new Command("sh", {
    args: ["-c", "echo up; exec sleep 30"],
    stdout: "piped",
    ...o,
  }).spawn();
  const reader = child.stdout.getReader();
  await reader.read();
  return { child, done: () => reader.cancel() };
}

/** The environment `env -0` prints. */
async function environment(Command: Command, o: Deno.CommandOptions) {
  const out = await new Command("env", { args: ["-0"], ...o }).output();
  return Object.fromEntries(
    text(out.stdout).split("\0").filter(Boolean).map((kv) => {
      const at = kv.indexOf("=");
      return [kv.slice(0, at), kv.slice(at + 1)];
    }),
  );
}

/** Inside, podman's three variables are set, with the caller's ids. */
function withoutContainers(env: Record<string, string>, side: Side) {
  const ours = Object.entries(env).filter(([k]) =>
    k.startsWith("_CONTAINERS_")
  );
  assert.deepEqual(
    Object.fromEntries(ours),
    side === "deno" ? {} : {
      _CONTAINERS_USERNS_CONFIGURED: "done",
      _CONTAINERS_ROOTLESS_UID: String(ID.uid),
      _CONTAINERS_ROOTLESS_GID: String(ID.gid),
    },
  );
  return Object.fromEntries(
    Object.entries(env).filter(([k]) => !k.startsWith("_CONTAINERS_")),
  );
}

/** `output()` rejects where Deno.Command's throws synchronously. */
function rejectsForThrows(seen: { output: unknown }, side: Side) {
  const { output } = seen as { output: { throws?: string; rejects?: string } };
  const how = side === "deno" ? output.throws : output.rejects;
  assert.ok(how, `output() ${side === "deno" ? "throws" : "rejects"}`);
  return { ...seen, output: how };
}

/** How the program ends with a child that sleeps `seconds`: in a process
 * of its own (_parity_exit.ts), with the child ref'd or not. */
async function programExit(
  Command: Command,
  mode: "ref" | "unref",
  seconds: number,
) {
  const which = Command === Deno.Command ? "deno" : "userns";
  const script = `${ROOT}tests/integration/_parity_exit.ts`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, which, mode, String(seconds)],
    stdin: "null",
  }).output();
  assert.equal(out.code, 0, text(out.stderr));
  const { elapsed, pid } = JSON.parse(text(out.stdout));
  const outlives = !(await gone(pid, 500));
  if (outlives) Deno.kill(pid, "SIGKILL");
  return { waitedForChild: elapsed >= seconds * 900, outlives };
}

/** The scenarios, with their files in `dir` (a path with a space). */
function scenarios(dir: string): Scenario[] {
  const dirUrl = new URL(`file://${dir.replaceAll(" ", "%20")}/`);
  return [
    // ---- output() ---------------------------------------------------------
    {
      name: "output(): stdout, stderr, exit 0",
      run: (C) => sh(C, "printf out; printf err >&2"),
      expect: { ...OK, stdout: "out", stderr: "err" },
    },
    {
      name: "output(): exit 3",
      run: (C) => sh(C, "exit 3"),
      expect: { ...failed(3), stdout: "", stderr: "" },
    },
    {
      name: "output(): exit 255",
      run: (C) => sh(C, "echo x; exit 255"),
      expect: { ...failed(255), stdout: "x\n", stderr: "" },
    },
    {
      name: "output(): killed by SIGKILL",
      run: (C) => sh(C, "kill -KILL $$"),
      expect: { ...failed(137, "SIGKILL"), stdout: "", stderr: "" },
    },
    {
      name: "output(): killed by SIGTERM",
      run: (C) => sh(C, "kill -TERM $$"),
      expect: { ...failed(143, "SIGTERM"), stdout: "", stderr: "" },
    },
    {
      name: "output(): status and output keys",
      run: async (C) => Object.keys(await new C("true").output()),
      expect: ["success", "code", "signal", "stdout", "stderr"],
    },
    {
      name: "output(): stdout null, reading .stdout throws",
      run: async (C) => {
        const o = await new C("sh", {
          args: ["-c", "echo x; echo y >&2"],
          stdout: "null",
        }).output();
        return { stdout: await settle(() => o.stdout), stderr: text(o.stderr) };
      },
      expect: { stdout: { throws: "TypeError" }, stderr: "y\n" },
    },
    {
      name: "output(): stdin is /dev/null",
      run: (C) => sh(C, "readlink /proc/self/fd/0"),
      expect: { ...OK, stdout: "/dev/null\n", stderr: "" },
    },
    {
      name: "output(): unicode in args and env",
      run: (C) =>
        sh(C, 'printf "%s %s" "$0" "$X"', {
          args: ["-c", 'printf "%s %s" "$0" "$X"', "ünï"],
          env: { X: "ç€😀" },
        }),
      expect: { ...OK, stdout: "ünï ç€😀", stderr: "" },
    },
    // ---- outputSync() -----------------------------------------------------
    {
      name: "outputSync(): stdout, stderr, exit 5",
      run: (C) =>
        output(
          new C("sh", { args: ["-c", "echo out; echo err >&2; exit 5"] })
            .outputSync(),
        ),
      expect: { ...failed(5), stdout: "out\n", stderr: "err\n" },
    },
    {
      name: "outputSync(): killed by a signal",
      run: (C) =>
        status(new C("sh", { args: ["-c", "kill -TERM $$"] }).outputSync()),
      expect: failed(143, "SIGTERM"),
    },
    // ---- spawn(), status, output() ------------------------------------------
    {
      name: "spawn(): child.output() of piped stdout and stderr",
      run: async (C) =>
        output(
          await new C("sh", {
            args: ["-c", "echo a; echo b >&2; exit 2"],
            stdout: "piped",
            stderr: "piped",
          }).spawn().output(),
        ),
      expect: { ...failed(2), stdout: "a\n", stderr: "b\n" },
    },
    {
      name: "spawn(): child.output() of inherited stdout, reading it throws",
      run: async (C) => {
        const o = await new C("true").spawn().output();
        return { ...status(o), stdout: await settle(() => o.stdout) };
      },
      expect: { ...OK, stdout: { throws: "TypeError" } },
    },
    {
      name: "spawn(): child.status",
      run: async (C) =>
        status(
          await new C("sh", { args: ["-c", "exit 4"], stdout: "null" }).spawn()
            .status,
        ),
      expect: failed(4),
    },
    {
      name: "spawn(): child.output() twice: the second rejects",
      run: async (C) => {
        const child = new C("echo", { args: ["x"], stdout: "piped" }).spawn();
        const first = text((await child.output()).stdout);
        return { first, second: await settle(() => child.output()) };
      },
      expect: { first: "x\n", second: { rejects: "TypeError" } },
    },
    {
      name: "spawn(): .stdout after child.output() is a locked stream",
      run: async (C) => {
        const child = new C("echo", { args: ["x"], stdout: "piped" }).spawn();
        await child.output();
        return child.stdout.locked;
      },
      expect: true,
    },
    {
      name: "spawn(): .stdin of a child whose stdin is not piped throws",
      run: async (C) => {
        const child = new C("true").spawn();
        const seen = await settle(() => child.stdin);
        await child.status;
        return seen;
      },
      expect: { throws: "TypeError" },
    },
    {
      name: "spawn(): stdin is inherited by default",
      run: async (C) => {
        const child = new C("readlink", {
          args: ["/proc/self/fd/0"],
          stdout: "piped",
        }).spawn();
        const out = text((await child.output()).stdout).trim();
        return out === Deno.readLinkSync("/proc/self/fd/0");
      },
      expect: true,
    },
    {
      // (Under `deno test`, Deno.Command's inherited stdout is a pipe the
      // test runner reads: which fd the child writes to is not compared.)
      name: 'output(): stdout "inherit", reading .stdout throws',
      run: async (C) => {
        const o = await new C("sh", {
          args: ["-c", "echo err >&2"],
          stdout: "inherit",
        }).output();
        return {
          ...status(o),
          stdout: await settle(() => o.stdout),
          stderr: text(o.stderr),
        };
      },
      expect: { ...OK, stdout: { throws: "TypeError" }, stderr: "err\n" },
    },
    // ---- kill() ------------------------------------------------------------
    {
      name: "kill(): SIGTERM by default, right after spawn()",
      run: async (C) => {
        const child = new C("sleep", { args: ["30"] }).spawn();
        child.kill();
        return status(await child.status);
      },
      expect: failed(143, "SIGTERM"),
    },
    {
      name: 'kill("SIGINT") once running',
      run: async (C) => {
        const { child, done } = await running(C);
        child.kill("SIGINT");
        const s = status(await child.status);
        await done();
        return s;
      },
      expect: failed(130, "SIGINT"),
    },
    {
      name: "kill(9), a number, right after spawn()",
      run: async (C) => {
        const child = new C("sleep", { args: ["30"] }).spawn();
        child.kill(9 as unknown as Deno.Signal);
        return status(await child.status);
      },
      expect: failed(137, "SIGKILL"),
    },
    {
      name: "kill(0) sends nothing",
      run: async (C) => {
        const { child, done } = await running(C);
        child.kill(0 as unknown as Deno.Signal);
        // Had it sent a signal that ends sleep, the status would settle:
        // it must not, and the command must still run. Then SIGTERM ends it.
        const settled = await Promise.race([
          child.status.then(() => "settled"),
          delay(100).then(() => "running"),
        ]);
        const running_ = [settled, alive(child.pid)];
        child.kill();
        const s = status(await child.status);
        await done();
        return { after0: running_, status: s };
      },
      expect: { after0: ["running", true], status: failed(143, "SIGTERM") },
    },
    {
      name: "kill() after the child ended: TypeError",
      run: async (C) => {
        const child = new C("true").spawn();
        await child.status;
        let message;
        try {
          child.kill();
        } catch (e) {
          message = (e as Error).message;
        }
        return { seen: await settle(() => child.kill()), message };
      },
      expect: {
        seen: { throws: "TypeError" },
        message: "Child process has already terminated",
      },
    },
    {
      name: 'kill() of a signal Deno refuses: "TERM", 40, 1.5, "SIGEMT"',
      run: async (C) => {
        const { child, done } = await running(C);
        const seen = [];
        for (const s of ["TERM", 40, 1.5, "SIGEMT"]) {
          seen.push(await settle(() => child.kill(s as Deno.Signal)));
        }
        child.kill("SIGKILL");
        await child.status;
        await done();
        return seen;
      },
      expect: Array(4).fill({ throws: "TypeError" }),
    },
    // ---- the event loop ------------------------------------------------------
    {
      name: "ref(): a running child keeps the program alive",
      run: (C) => programExit(C, "ref", 0.6),
      expect: { waitedForChild: true, outlives: false },
    },
    {
      name: "unref(): a running child lets the program exit",
      run: (C) => programExit(C, "unref", 5),
      // run: the child keeps its kill-on-parent-death setting, so the
      // command ends with the program; Deno.Command's goes on running.
      spec: (seen: { outlives: boolean }, side) => {
        assert.equal(seen.outlives, side === "deno");
        return { ...seen, outlives: "by side" };
      },
      expect: { waitedForChild: false, outlives: "by side" },
    },
    {
      name: "await using: leaving the block kills (SIGTERM) and waits",
      run: async (C) => {
        let child;
        {
          await using c = new C("sleep", { args: ["30"] }).spawn();
          child = c;
        }
        return { ended: !alive(child.pid), status: status(await child.status) };
      },
      expect: { ended: true, status: failed(143, "SIGTERM") },
    },
    {
      name: "AbortSignal aborted right after spawn()",
      run: async (C) => {
        const ac = new AbortController();
        const child = new C("sleep", { args: ["30"], signal: ac.signal })
          .spawn();
        ac.abort();
        return status(await child.status);
      },
      expect: failed(143, "SIGTERM"),
    },
    {
      name: "AbortSignal aborted once running",
      run: async (C) => {
        const ac = new AbortController();
        const { child, done } = await running(C, { signal: ac.signal });
        ac.abort();
        const s = status(await child.status);
        await done();
        return s;
      },
      expect: failed(143, "SIGTERM"),
    },
    // ---- streams -------------------------------------------------------------
    {
      name: "stdin piped: write, close, cat echoes it",
      run: async (C) => {
        const child = new C("cat", { stdin: "piped", stdout: "piped" }).spawn();
        const w = child.stdin.getWriter();
        await w.write(new TextEncoder().encode("hello\n"));
        await w.close();
        return text((await child.output()).stdout);
      },
      expect: "hello\n",
    },
    {
      name: "stdin piped: 4 MiB through cat",
      run: async (C) => {
        const data = new Uint8Array(4 << 20).map((_, i) => (i * 7) & 0xff);
        const child = new C("cat", { stdin: "piped", stdout: "piped" }).spawn();
        const out = new Response(child.stdout).bytes();
        const w = child.stdin.getWriter();
        await w.write(data);
        await w.close();
        const got = await out;
        const same = got.length === data.length &&
          got.every((b, i) => b === data[i]);
        return { bytes: got.length, same, status: status(await child.status) };
      },
      expect: { bytes: 4 << 20, same: true, status: OK },
    },
    {
      name: "stdout and stderr read with for await",
      run: async (C) => {
        const child = new C("sh", {
          args: ["-c", "echo one; echo two; echo three >&2"],
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        const read = async (s: ReadableStream<Uint8Array>) => {
          let all = "";
          for await (const chunk of s) all += text(chunk);
          return all;
        };
        const [out, err] = await Promise.all([
          read(child.stdout),
          read(child.stderr),
        ]);
        return { out, err, status: status(await child.status) };
      },
      expect: { out: "one\ntwo\n", err: "three\n", status: OK },
    },
    {
      name: "stdout read with a BYOB reader, 4 bytes at a time",
      run: async (C) => {
        const child = new C("printf", { args: ["0123456789"], stdout: "piped" })
          .spawn();
        const reader = child.stdout.getReader({ mode: "byob" });
        let all = "", largest = 0;
        for (;;) {
          const { value, done } = await reader.read(new Uint8Array(4));
          if (done) break;
          all += text(value);
          largest = Math.max(largest, value.length);
        }
        return { all, largest, status: status(await child.status) };
      },
      expect: { all: "0123456789", largest: 4, status: OK },
    },
    {
      name: "writing to the stdin of a child that has exited: BrokenPipe",
      run: async (C) => {
        const child = new C("true", { stdin: "piped" }).spawn();
        await child.status;
        const w = child.stdin.getWriter();
        return await settle(() => w.write(new Uint8Array(16)));
      },
      expect: { rejects: "BrokenPipe" },
    },
    // ---- environment and working directory -------------------------------------
    {
      name: "env: the caller's environment, plus env",
      run: (C) => environment(C, { env: { PARITY_A: "1 2", PARITY_B: "é" } }),
      spec: withoutContainers,
      expect: { ...Deno.env.toObject(), PARITY_A: "1 2", PARITY_B: "é" },
    },
    {
      name: "clearEnv: env alone",
      run: (C) => environment(C, { clearEnv: true, env: { A: "1" } }),
      spec: withoutContainers,
      expect: { A: "1" },
    },
    {
      name: "env PATH: the command is searched on it",
      run: (C) => new C("script", { env: { PATH: dir } }).output().then(output),
      expect: { ...OK, stdout: `script ${Deno.cwd()}\n`, stderr: "" },
    },
    {
      name: "cwd as a string",
      run: (C) => new C("pwd", { cwd: dir }).output().then(output),
      expect: { ...OK, stdout: `${dir}\n`, stderr: "" },
    },
    {
      name: "cwd as a file: URL with %20",
      run: (C) => new C("pwd", { cwd: dirUrl }).output().then(output),
      expect: { ...OK, stdout: `${dir}\n`, stderr: "" },
    },
    {
      name: "the command as a file: URL",
      run: (C) =>
        new C(new URL("script", dirUrl), { cwd: "/" }).output().then(output),
      expect: { ...OK, stdout: "script /\n", stderr: "" },
    },
    {
      name: "a relative command is found from cwd",
      run: (C) => new C("./script", { cwd: dir }).output().then(output),
      expect: { ...OK, stdout: `script ${dir}\n`, stderr: "" },
    },
    {
      name: "a script without #! is run by /bin/sh",
      run: (C) => new C(`${dir}/plain`, { args: ["A"] }).output().then(output),
      expect: { ...failed(7), stdout: `plain ${dir}/plain A\n`, stderr: "" },
    },
    // ---- failures ----------------------------------------------------------------
    {
      name: "not found: NotFound from spawn(), output(), outputSync()",
      run: async (C) => ({
        spawn: await settle(() => new C("no-such-command-parity").spawn()),
        output: await settle(() => new C("no-such-command-parity").output()),
        sync: await settle(() => new C("no-such-command-parity").outputSync()),
      }),
      spec: rejectsForThrows,
      expect: {
        spawn: { throws: "NotFound" },
        output: "NotFound",
        sync: { throws: "NotFound" },
      },
    },
    {
      name: "a file without execute permission: PermissionDenied",
      run: async (C) => ({
        spawn: await settle(() => new C(`${dir}/noexec`).spawn()),
        output: await settle(() => new C(`${dir}/noexec`).output()),
      }),
      spec: rejectsForThrows,
      expect: {
        spawn: { throws: "PermissionDenied" },
        output: "PermissionDenied",
      },
    },
    {
      name: "a directory as the command: PermissionDenied",
      run: async (C) => ({
        spawn: await settle(() => new C(dir).spawn()),
        output: await settle(() => new C(dir).output()),
      }),
      spec: rejectsForThrows,
      expect: {
        spawn: { throws: "PermissionDenied" },
        output: "PermissionDenied",
      },
    },
    {
      name: "a cwd that does not exist: NotFound",
      run: async (C) => ({
        spawn: await settle(() =>
          new C("true", { cwd: `${dir}/none` }).spawn()
        ),
        output: await settle(() =>
          new C("true", { cwd: `${dir}/none` }).output()
        ),
      }),
      spec: rejectsForThrows,
      expect: { spawn: { throws: "NotFound" }, output: "NotFound" },
    },
    {
      name: "piped stdin with output(): TypeError",
      run: async (C) => ({
        output: await settle(() => new C("true", { stdin: "piped" }).output()),
      }),
      spec: rejectsForThrows,
      expect: { output: "TypeError" },
    },
    ...([
      ['stdout: "pipe"', { stdout: "pipe" }],
      ["cwd: 42", { cwd: 42 }],
      ["env: { A: 1 }", { env: { A: 1 } }],
    ] as const).map(([what, o]): Scenario => ({
      name: `a wrong option, ${what}: TypeError`,
      run: async (C) => {
        let command: Deno.Command | undefined;
        const made = await settle(() => command = new C("true", o as never));
        return {
          constructor: command ? "returns" : made,
          spawn: command ? await settle(() => command!.spawn()) : "not reached",
        };
      },
      // UsernsCommand's constructor throws it; Deno's spawn() does.
      spec: (seen: { constructor: unknown; spawn: unknown }, side) => {
        const thrown = side === "deno" ? seen.spawn : seen.constructor;
        assert.equal(
          side === "deno" ? seen.constructor : seen.spawn,
          side === "deno" ? "returns" : "not reached",
        );
        return thrown;
      },
      expect: { throws: "TypeError" },
    })),
    // ---- namespace-related --------------------------------------------------------
    {
      name: "the identity the command runs as",
      run: (C) => sh(C, "id -u; id -g").then((o) => o.stdout),
      // --map auto: the command runs as inside 0:0.
      spec: (seen: string, side) => {
        const ids = side === "deno" ? [ID.uid, ID.gid] : [0, 0];
        assert.equal(seen, `${ids[0]}\n${ids[1]}\n`);
        return "as documented";
      },
      expect: "as documented",
    },
    {
      name: "fds and signal dispositions the command starts with",
      run: (C) =>
        sh(C, "ls /proc/$$/fd; exec grep -E '^Sig(Blk|Ign)' /proc/self/status")
          .then((o) => o.stdout.trim().split("\n")),
      // run: fds 0-2 only, default dispositions, an empty mask.
      // Deno.Command's child may get more (it inherits fds the runtime
      // did not mark close-on-exec, and ignores two signals glibc reserves).
      spec: (seen: string[], side) => {
        if (side === "userns") {
          assert.deepEqual(seen, [
            "0",
            "1",
            "2",
            "SigBlk:\t0000000000000000",
            "SigIgn:\t0000000000000000",
          ]);
        }
        assert.ok(seen.includes("SigBlk:\t0000000000000000"), "empty mask");
        return seen.filter((l) => ["0", "1", "2"].includes(l));
      },
      expect: ["0", "1", "2"],
    },
    {
      name: "argv[0]",
      run: (C) => sh(C, 'echo "$0"', { args: ["-c", 'echo "$0"'] }),
      // Not a rule of the contract: Deno.Command passes the path it resolved,
      // UsernsCommand the name as given, as execvp(), unshare(1) and podman
      // unshare do; the CLI runs commands through this same path.
      spec: (seen: { stdout: string }, side) => {
        if (side === "deno") {
          assert.match(seen.stdout, /^\/(usr\/)?bin\/sh\n$/, "resolved");
        } else assert.equal(seen.stdout, "sh\n", "as given");
        return { ...seen, stdout: "by side" };
      },
      expect: { ...OK, stdout: "by side", stderr: "" },
    },
  ];
}

/** The files the scenarios run, in a directory whose name has a space. */
function makeFiles(): string {
  const dir = Deno.makeTempDirSync({ prefix: "parity dir " });
  const write = (name: string, body: string, mode: number) => {
    Deno.writeTextFileSync(`${dir}/${name}`, body);
    Deno.chmodSync(`${dir}/${name}`, mode);
  };
  write("script", '#!/bin/sh\necho script "$PWD"\n', 0o755);
  write("plain", 'echo plain "$0" "$1"\nexit 7\n', 0o755);
  write("noexec", "#!/bin/sh\necho never\n", 0o644);
  return dir;
}

nsTest("Deno.Command parity, scenario by scenario", async (t) => {
  const dir = makeFiles();
  try {
    for (const s of scenarios(dir)) {
      await t.step(s.name, async () => {
        const seen = {} as Record<Side, unknown>;
        for (const side of ["deno", "userns"] as const) {
          caught = [];
          const Command = side === "deno"
            ? Deno.Command
            : UsernsCommand as unknown as Command;
          const raw = await within(
            Promise.resolve().then(() => s.run(Command)),
            `${side}: ${s.name}`,
          );
          seen[side] = s.spec ? s.spec(raw as never, side) : raw;
          if (side === "userns") {
            for (const e of caught) {
              assert.ok(isUsernsError(e), `ours carry a code: ${e}`);
            }
          }
        }
        assert.deepEqual(seen.userns, seen.deno, "UsernsCommand as Deno's");
        assert.deepEqual(seen.deno, s.expect, "what both give");
      });
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
