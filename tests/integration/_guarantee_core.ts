// The guarantee: "A child killed before it executes the command never writes a core
// file of the runtime's memory (its core limit is 0 until it executes)."
// A scenario of _guarantees.ts.
import assert from "node:assert/strict";
import { UsernsCommand } from "../../lib/mod.ts";
import { delay, leavesNothing, within } from "./_process.ts";
import { exists, report, stat, tempDir } from "./_holdings.ts";

const CI = !!Deno.env.get("CI");

/** RLIMIT_CORE of this process, through libc. */
function coreLimit(set?: bigint): { soft: bigint; hard: bigint } {
  const libc = Deno.dlopen(
    "libc.so.6",
    {
      getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
      setrlimit: { parameters: ["i32", "buffer"], result: "i32" },
    } as const,
  );
  try {
    const RLIMIT_CORE = 4;
    const l = new BigUint64Array(2);
    assert.equal(libc.symbols.getrlimit(RLIMIT_CORE, l), 0);
    if (set !== undefined) {
      l[0] = set;
      assert.equal(libc.symbols.setrlimit(RLIMIT_CORE, l), 0);
    }
    return { soft: l[0]!, hard: l[1]! };
  } finally {
    libc.close();
  }
}

/** The "Max core file size" line of /proc/PID/limits: `soft hard`. */
function coreLine(text: string): string {
  const m = /^Max core file size\s+(\S+)\s+(\S+)/m.exec(text);
  assert.ok(m, text);
  return `${m[1]} ${m[2]}`;
}

/**
 * The core limit of a paused child once it sleeps, in the read() of its
 * sync socket: past its first steps (a child just cloned may not have run
 * yet).
 */
async function pausedLimit(pid: number): Promise<string> {
  for (let i = 0; stat(pid)?.[0] !== "S"; i++) {
    if (i > 200) throw new Error(`${pid} never slept waiting for release`);
    await delay(5);
  }
  return coreLine(Deno.readTextFileSync(`/proc/${pid}/limits`));
}

/** Why cores cannot be seen in the cwd here, if they cannot. */
function unobservable(hard: bigint): string | undefined {
  const pattern = Deno.readTextFileSync("/proc/sys/kernel/core_pattern")
    .trim();
  if (pattern.startsWith("|")) return `core_pattern pipes cores: ${pattern}`;
  if (pattern.startsWith("/")) {
    return `core_pattern writes cores elsewhere: ${pattern}`;
  }
  if (hard === 0n) return "the hard core limit is 0";
  return undefined;
}

/**
 * `core`: in a fresh cwd, with the soft core limit raised to the hard one,
 * a child signalled with SIGQUIT or SIGABRT before it executes writes no
 * core (its limit is 0 until then: seen in /proc/PID/limits while it
 * waits), while a plain `sh` killed the same way does, and so does the
 * command once executed: it gets the caller's limit back, or the one asked.
 */
export async function coreScenario(): Promise<void> {
  const cwd = tempDir();
  Deno.chdir(cwd);
  const { hard } = coreLimit();
  const limit = coreLimit(hard);
  const caller = coreLine(Deno.readTextFileSync("/proc/self/limits"));
  report("caller's core limit", caller);
  const cores = () => [...Deno.readDirSync(cwd)].map((e) => e.name).sort();
  /** The core files written since the last call (they are removed). */
  const written = () =>
    cores().map((f) => {
      const mib = Deno.statSync(f).size / 2 ** 20;
      Deno.removeSync(f);
      return `${f} (${mib.toFixed(0)} MiB)`;
    });
  const why = unobservable(limit.hard);

  // The control: a core the test sees, where one is written.
  const control = await new Deno.Command("sh", {
    args: ["-c", "kill -QUIT $$"],
  }).output();
  assert.equal(control.signal, "SIGQUIT");
  const shown = written();
  report("control", why ?? (shown.join(" ") || "no core"));
  if (why) {
    console.error(
      `core files are not observable here (${why}): only the limits are checked`,
    );
  } else if (!shown.length) {
    const msg = "the control sh wrote no core in its cwd, though " +
      "core_pattern and the limits say it would: this test cannot see cores";
    if (CI) throw new Error(msg);
    console.error(msg);
  }
  /** No core, where cores are seen. */
  const noCore = (what: string) => {
    const c = written();
    if (!why) assert.deepEqual(c, [], `${what}: a core was written`);
  };

  type Case = [string, Record<string, unknown>, "now" | "hook" | "outside"];
  const cases: Case[] = [
    ["SIGQUIT right after spawn()", {}, "now"],
    ["SIGABRT from beforeExec", {}, "hook"],
    ["SIGQUIT from outside the library, in beforeExec", {}, "outside"],
    // Another inside user: the child is a copy of the runtime (fork mode),
    // not a thread of its memory (shared mode, the cases above).
    ["SIGQUIT right after spawn(), as 1:1", { user: 1, group: 1 }, "now"],
    ["SIGABRT from beforeExec, as 1:1", { user: 1, group: 1 }, "hook"],
  ];
  for (const [name, options, when] of cases) {
    const sig = name.startsWith("SIGABRT") ? "SIGABRT" : "SIGQUIT";
    let paused = "";
    await leavesNothing(async () => {
      const child = new UsernsCommand("sh", {
        args: ["-c", "touch ran"],
        ...options,
        beforeExec: async (pid) => {
          paused = await pausedLimit(pid);
          if (when === "hook") child.kill(sig);
          if (when === "outside") Deno.kill(pid, sig);
        },
      }).spawn();
      if (when === "now") child.kill(sig);
      await child.ready.catch(() => {});
      assert.deepEqual(await within(child.status, name), {
        success: false,
        code: sig === "SIGQUIT" ? 131 : 134,
        signal: sig,
      }, name);
    });
    if (when !== "now") {
      assert.equal(paused, `0 ${caller.split(" ")[1]}`, `${name}: paused`);
    }
    assert.ok(!exists("ran"), `${name}: the command never ran`);
    noCore(name);
  }

  // The command itself: the caller's limit, or the one asked for.
  const limits = async (o: Record<string, unknown> = {}) => {
    const out = await new UsernsCommand("cat", {
      args: ["/proc/self/limits"],
      stdout: "piped",
      ...o,
    }).output();
    return coreLine(new TextDecoder().decode(out.stdout));
  };
  assert.equal(await limits(), caller, "the command has the caller's limit");
  assert.equal(await limits({ user: 1, group: 1 }), caller, "fork mode too");
  assert.equal(await limits({ rlimits: { core: 0 } }), "0 0");
  assert.equal(await limits({ rlimits: { core: [0, 4096] } }), "0 4096");
  // ...and it dumps as a plain sh does.
  const dumped = await new UsernsCommand("sh", {
    args: ["-c", "kill -QUIT $$"],
  }).output();
  assert.equal(dumped.signal, "SIGQUIT");
  const core = written();
  report("the command's own core", why ?? (core.join(" ") || "none"));
  if (!why && shown.length) assert.equal(core.length, 1, "the command's core");
}
