// `deno task bench`: spawn latency, throughput and memory of userns against
// what a Deno user does without it and against the peers, printed as ONE
// markdown table, every figure from this one run on this machine. Medians;
// the runs of compared commands alternate, so that a noisy moment hits all.
// Run it as the unprivileged user that matters (the peers need one too).
// `deno task bench underLoad throughputFresh` runs only the groups named
// (see GROUPS); BENCH_ROUNDS sets the rounds of the fresh-process groups,
// CLI_ROUNDS those of the CLI's start-up (40 by default). `sandbox` (issue
// 17: tests/bench/sandbox.ts; SANDBOX_ROUNDS, SRT for srt's path) and `net`
// (issue 18: tests/bench/net.ts; NET_ROUNDS, NET_MIB) are groups too: run
// them from a working directory outside /tmp, as the unprivileged user.
import { UsernsCommand } from "../../lib/mod.ts";
import { prepare } from "../../lib/command/prepare.ts";
import { writeIdMaps } from "../../lib/idmap/write.ts";
import { closeFd } from "../../ffi/fd.ts";
import { readFailure, release, spawnPaused } from "../../ffi/spawn.ts";
import { getReactor } from "../../ffi/reactor.ts";
import { podRows } from "./pods.ts";
import { sandboxRows } from "./sandbox.ts";
import { netRows } from "./net.ts";
import {
  median,
  ms,
  paired,
  rounds,
  shuffledRounds,
  verdict,
} from "./_stats.ts";
import { freshBundle } from "../../lib/cli/bundle.ts";

/** The exit code of a spawned child, once it has ended. */
const exited = (pidfd: number) =>
  new Promise<number>((resolve) =>
    getReactor().on(pidfd, (code) => resolve(code))
  );

const ROOT = new URL("../..", import.meta.url).pathname;
const SPAWNS = 300; // per compared command, sequential
/** Rounds of the workloads run each in a fresh process (BENCH_ROUNDS). */
const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? 3);
const UNSHARE = [
  "unshare",
  "--user",
  "--map-users=auto",
  "--map-groups=auto",
  "--map-root-user",
  "true",
];
const MAIN = `${ROOT}main.ts`;
const CLI = [Deno.execPath(), "run", "-A", MAIN, "run", "--", "true"];
/** An empty module in this tree, so that both find the same deno.json. */
const EMPTY = [Deno.execPath(), "run", "-A", `${ROOT}tests/bench/_empty.ts`];
/** Rounds of the CLI group (CLI_ROUNDS): 40 at least, for a median that a
 * shared machine's load moves little. */
const CLI_ROUNDS = Number(Deno.env.get("CLI_ROUNDS") ?? 40);
const BWRAP = ["bwrap", "--unshare-user", "--bind", "/", "/", "true"];
const PEERS: [string, string[]][] = [
  ["unshare --map-users=auto", UNSHARE],
  ["podman unshare true", ["podman", "unshare", "true"]],
  ["buildah unshare true", ["buildah", "unshare", "true"]],
  ["rootlesskit true", ["rootlesskit", "true"]],
  ["bwrap --unshare-user --bind / / true", BWRAP],
];

interface Cells {
  vs?: string;
  ratio?: string;
  target?: string;
}
const rows: string[][] = [];
let group = "";
function row(what: string, value: string, c: Cells = {}): void {
  rows.push([group, what, value, c.vs ?? "", c.ratio ?? "", c.target ?? ""]);
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
const kib = (b: number) => `${b >= 0 ? "+" : ""}${(b / 1024).toFixed(0)} KiB`;
const kibs = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
const text = (b: Uint8Array) => new TextDecoder().decode(b);

async function run(argv: string[]): Promise<Deno.CommandOutput> {
  const [cmd, ...args] = argv;
  return await new Deno.Command(cmd!, { args, stdin: "null" }).output();
}

function ok(out: { code: number }, what: string): void {
  if (out.code !== 0) throw new Error(`${what} exited ${out.code}`);
}

/** Runs `fns` in turn, 20 untimed rounds then `n` timed; times in ms. */
async function alternate(n: number, fns: (() => Promise<unknown>)[]) {
  const t: number[][] = fns.map(() => []);
  for (let i = -20; i < n; i++) {
    for (const [k, fn] of fns.entries()) {
      const a = performance.now();
      await fn();
      if (i >= 0) t[k]!.push(performance.now() - a);
    }
  }
  return t;
}

async function library(): Promise<void> {
  group = `library, warm, sequential, n=${SPAWNS}`;
  const t = await alternate(SPAWNS, [
    async () => ok(await new UsernsCommand("true").output(), "userns"),
    async () => ok(await run(UNSHARE), "unshare"),
    async () => ok(await run(["true"]), "true"),
  ]) as [number[], number[], number[]];
  const [mine, theirs, bare] = t.map(median) as [number, number, number];
  const r = paired(t[0], t[1]);
  row(`UsernsCommand("true").output()`, ms(mine), {
    vs: `Deno.Command(unshare --map-users=auto ...) ${ms(theirs)}`,
    ratio: `${r.toFixed(2)}x (of medians ${ratio(mine, theirs)})`,
    target: `<= 0.7x: ${verdict(r <= 0.7)} (median of per-round ratios)`,
  });
  row(`Deno.Command("true").output(), no namespace`, ms(bare), {
    target: "reference",
  });
  const p = await phases();
  row(
    "its phases (stdio null): prepare / clone / maps / release→exec / wait",
    p.map((x) => x.toFixed(2)).join(" / ") + " ms",
  );
}

/** The steps of one spawn timed apart, as lib/command/ runs them. */
async function phases(): Promise<number[]> {
  const t: number[][] = [[], [], [], [], []];
  const quiet = { stdin: "null", stdout: "null", stderr: "null" } as const;
  for (let i = -20; i < 200; i++) {
    const a = performance.now();
    const p = prepare("true", quiet, "null");
    const b = performance.now();
    const c = spawnPaused(p.request);
    const exit = exited(c.pidfd);
    const d = performance.now();
    await writeIdMaps(c.pid, p.plan!, p.helpers, 10_000);
    const e = performance.now();
    release(c.syncFd);
    const failed = await readFailure(c.errFd);
    const f = performance.now();
    const code = await exit;
    const g = performance.now();
    closeFd(c.errFd);
    if (failed || code !== 0) throw new Error("a phase run failed");
    if (i < 0) continue;
    [b - a, d - b, e - d, f - e, g - f].forEach((x, k) => t[k]!.push(x));
  }
  return t.map(median);
}

function onPath(name: string): boolean {
  return (Deno.env.get("PATH") ?? "").split(":").some((dir) => {
    try {
      return Deno.statSync(`${dir}/${name}`).isFile;
    } catch {
      return false;
    }
  });
}

/** The peers on PATH that run here; the others get a row saying why not. */
async function peers(): Promise<[string, string[]][]> {
  const present: [string, string[]][] = [];
  for (const [name, argv] of PEERS) {
    const out = onPath(argv[0]!) ? await run(argv) : undefined;
    if (out?.code === 0) present.push([name, argv]);
    else {
      const why = out ? text(out.stderr).trim().split("\n")[0] : "";
      row(name, out ? `fails here (exit ${out.code})` : "not installed", {
        target: why?.slice(0, 60),
      });
    }
  }
  return present;
}

async function cli(): Promise<[string, string[]][]> {
  group = "CLI, whole process";
  const present = await peers();
  const n = CLI_ROUNDS;
  const cmds = [CLI, EMPTY, ...present.map((p) => p[1])];
  const times = await shuffledRounds(n, cmds.map((argv) => () => run(argv)));
  group = `CLI, whole process, ${n} shuffled rounds (median of per-round ` +
    "ratios)";
  const mine = times[0]!;
  const bundled = freshBundle(new URL("../../", import.meta.url))
    ? "its bundle"
    : "sources: no fresh bundle";
  row(`userns run -- true (deno run -A main.ts, ${bundled})`, ms(median(mine)));
  const empty = paired(mine, times[1]!);
  row("userns / deno run of an empty file", ms(median(times[1]!)), {
    ratio: `${empty.toFixed(2)}x`,
    target: `<= 1.45x: ${verdict(empty <= 1.45)}`,
  });
  present.forEach(([name], i) => {
    const theirs = times[i + 2]!;
    const r = paired(mine, theirs);
    const buildah = name.startsWith("buildah");
    row(`userns / ${name}`, ms(median(theirs)), {
      ratio: `${r.toFixed(2)}x`,
      target: buildah ? `<= 0.75x: ${verdict(r <= 0.75)}` : "",
    });
  });
  return present;
}

/** The CLI's own VmHWM, and each process tree's peak RSS (GNU time). */
async function cliMemory(present: [string, string[]][]): Promise<void> {
  group = "CLI peak memory";
  const [exe, sub, ...rest] = CLI;
  const preload = `--preload=${ROOT}tests/bench/_hwm.ts`;
  const hwm: number[] = [];
  for (let i = 0; i < 5; i++) {
    const out = await run([exe!, sub!, preload, ...rest]);
    const kib = /bench-vmhwm-kib (\d+)/.exec(text(out.stderr))?.[1];
    hwm.push(Number(kib) * 1024);
  }
  row("userns run -- true: VmHWM of its deno process", mib(median(hwm)), {
    target: "median of 5",
  });
  if (!onPath("time") || (await run(["time", "--version"])).code !== 0) {
    return row("the peers", "n/a: GNU time is not installed");
  }
  const all: [string, string[]][] = [["userns run -- true", CLI], ...present];
  for (const [name, argv] of all) {
    const out = await run(["time", "-f", "bench-maxrss-kib %M", ...argv]);
    const kib = /bench-maxrss-kib (\d+)/.exec(text(out.stderr))?.[1];
    row(`${name}: largest process of its tree`, mib(Number(kib) * 1024), {
      target: "GNU time %M",
    });
  }
}

async function throughput(): Promise<void> {
  const total = 400;
  group = `throughput, ${total} spawns of true`;
  const rate = async (inFlight: number, spawn: () => Promise<unknown>) => {
    let started = 0;
    const t = performance.now();
    const worker = async () => {
      while (started++ < total) ok(await spawn() as { code: number }, "spawn");
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    return total / ((performance.now() - t) / 1000);
  };
  for (const n of [1, 4, 16]) {
    const mine = await rate(n, () => new UsernsCommand("true").output());
    const theirs = await rate(n, () => run(UNSHARE));
    row(`${n} in flight: userns spawns/s`, mine.toFixed(0), {
      vs: `Deno.Command+unshare ${theirs.toFixed(0)}/s`,
      ratio: ratio(mine, theirs),
      target: "higher is better",
    });
  }
}

type Sample = {
  rssAnon: number;
  hwm: number;
  heapUsed: number;
  heapTotal: number;
};
type Probe = { before: Sample; after: Sample };

async function probe(
  of: "userns" | "deno",
  warm: number,
  n: number,
): Promise<Probe> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      `${ROOT}tests/bench/_probe.ts`,
      of,
      `${warm}`,
      `${n}`,
    ],
    stdin: "null",
  }).output();
  if (out.code !== 0) throw new Error(`probe: ${text(out.stderr)}`);
  return JSON.parse(text(out.stdout));
}

/**
 * The library's memory in a process of its own, against `Deno.Command`'s in
 * the same probe: what stays live (V8 heapUsed after a full GC; growth is
 * a leak) and the RSS the process ends with. Both runtimes' RSS rises
 * while garbage that holds native memory awaits a full GC, and malloc
 * keeps the pages: a comparison, not a flat line, is the measure.
 */
async function memory(): Promise<void> {
  const warm = 1000, n = 2000;
  group = `library process memory, ${warm} spawns, then ${n} more`;
  const change = (a: number, b: number) => `${mib(a)} → ${mib(b)}`;
  const [mine, theirs] = [
    await probe("userns", warm, n),
    await probe("deno", warm, n),
  ];
  const live = mine.after.heapUsed - mine.before.heapUsed;
  row(
    "V8 heapUsed after a full GC",
    change(mine.before.heapUsed, mine.after.heapUsed),
    {
      vs: `Deno.Command ${
        change(theirs.before.heapUsed, theirs.after.heapUsed)
      }`,
      ratio: kib(live),
      target: `no leak (< 256 KiB): ${verdict(live < 2 ** 18)}`,
    },
  );
  const r = mine.after.rssAnon / theirs.after.rssAnon;
  row(
    "RssAnon after warm-up → at the end",
    change(mine.before.rssAnon, mine.after.rssAnon),
    {
      vs: `Deno.Command ${change(theirs.before.rssAnon, theirs.after.rssAnon)}`,
      ratio: `${r.toFixed(2)}x`,
      target: `<= 1.2x at the end: ${verdict(r <= 1.2)}`,
    },
  );
  row("VmHWM at the end", mib(mine.after.hwm), {
    vs: `Deno.Command ${mib(theirs.after.hwm)}`,
    ratio: ratio(mine.after.hwm, theirs.after.hwm),
  });
}

/** What tests/bench/_load.ts reports of one workload. */
interface Load {
  /** Peak RSS (VmHWM) after the spawns, bytes. */
  hwm: number;
  /** The most threads seen. */
  threads: number;
  /** Spawns per second. */
  rate: number;
  /** V8 heap bytes allocated per spawn, when asked for. */
  alloc?: number;
}

/** A workload of _load.ts, in a fresh process: `n` spawns of true by
 * UsernsCommand or Deno.Command+unshare, `inFlight` at a time. */
async function fresh(
  kind: "userns" | "unshare",
  n: number,
  inFlight: number,
  allocN?: number,
): Promise<Load> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      `${ROOT}tests/bench/_load.ts`,
      kind,
      `${n}`,
      `${inFlight}`,
      ...(allocN ? [`${allocN}`] : []),
    ],
    stdin: "null",
  }).output();
  if (out.code !== 0) throw new Error(`_load.ts ${kind}: ${text(out.stderr)}`);
  return JSON.parse(text(out.stdout));
}

/** The median of `f` over `loads`. */
const med = (loads: Load[], f: (l: Load) => number) => median(loads.map(f));

/** Peak RSS, threads and V8 allocation under load: UsernsCommand against
 * Deno.Command+unshare doing the same namespace work, each workload in a
 * fresh process, the order shuffled every round. */
async function underLoad(): Promise<void> {
  const total = 4000, inFlight = 32, allocN = 1000;
  group = `library under load: ${total} spawns of true, ${inFlight} in ` +
    `flight, a fresh process each, ${ROUNDS} shuffled rounds`;
  const [mine, theirs] = await rounds(ROUNDS, [
    () => fresh("userns", total, inFlight, allocN),
    () => fresh("unshare", total, inFlight, allocN),
  ]) as [Load[], Load[]];
  const peer = "Deno.Command+unshare";
  const hwm = (l: Load) => l.hwm;
  const rss = paired(mine.map(hwm), theirs.map(hwm));
  row("peak RSS (VmHWM)", mib(med(mine, hwm)), {
    vs: `${peer} ${mib(med(theirs, hwm))}`,
    ratio: `${rss.toFixed(2)}x`,
    target: `<= 1.2x: ${verdict(rss <= 1.2)} (median of per-round ratios)`,
  });
  const threads = (l: Load) => l.threads;
  const more = median(mine.map((l, i) => l.threads - theirs[i]!.threads));
  row("threads, the most seen (every 5 ms)", `${med(mine, threads)}`, {
    vs: `${peer} ${med(theirs, threads)}`,
    ratio: `${more >= 0 ? "+" : ""}${more}`,
    target: `<= +4: ${verdict(more <= 4)} (median of per-round differences)`,
  });
  const alloc = (l: Load) => l.alloc ?? NaN;
  const bytes = med(mine, alloc);
  row(`V8 heap allocated per spawn, over ${allocN} more`, kibs(bytes), {
    vs: `${peer} ${kibs(med(theirs, alloc))}`,
    ratio: ratio(bytes, med(theirs, alloc)),
    target: `<= 40 KiB: ${verdict(bytes <= 40 * 1024)} (V8's ` +
      "total_allocated_bytes)",
  });
}

/** Spawns per second with 16 in flight, each workload in a fresh process. */
async function throughputFresh(): Promise<void> {
  const n = 1000, width = 16;
  group = `throughput, ${n} spawns of true, ${width} in flight, a fresh ` +
    `process each, ${ROUNDS} shuffled rounds`;
  const [mine, theirs] = await rounds(ROUNDS, [
    () => fresh("userns", n, width),
    () => fresh("unshare", n, width),
  ]) as [Load[], Load[]];
  const rate = (l: Load) => l.rate;
  row("userns spawns/s", med(mine, rate).toFixed(0), {
    vs: `Deno.Command+unshare ${med(theirs, rate).toFixed(0)}/s`,
    ratio: `${paired(mine.map(rate), theirs.map(rate)).toFixed(2)}x`,
    target: "higher is better (median of per-round ratios)",
  });
}

function machine(): string {
  const cpu = Deno.readTextFileSync("/proc/cpuinfo");
  const model = /^model name\s*:\s*(.*)$/m.exec(cpu)?.[1] ?? "unknown CPU";
  const kernel = Deno.readTextFileSync("/proc/sys/kernel/osrelease").trim();
  const cores = navigator.hardwareConcurrency;
  return `${cores} x ${model}, Linux ${kernel}, deno ${Deno.version.deno}, ` +
    `uid ${Deno.uid()}`;
}

const t0 = performance.now();
console.log(`# userns bench, ${new Date().toISOString()}`);
console.log(`machine: ${machine()}\n`);
/**
 * The row groups, in the order they run and print, one function each; a
 * new group is a function that sets `group` and calls `row()`, added here.
 * `deno task bench NAME...` runs only the groups named.
 */
const GROUPS: Record<string, () => Promise<void>> = {
  library,
  cli: async () => await cliMemory(await cli()),
  throughput,
  memory,
  underLoad,
  throughputFresh,
  pods: async () => void rows.push(...await podRows()),
  sandbox: async () =>
    void rows.push(
      ...await sandboxRows(
        Number(Deno.env.get("SANDBOX_ROUNDS") ?? 200),
        CLI_ROUNDS,
      ),
    ),
  net: async () =>
    void rows.push(
      ...await netRows(
        Number(Deno.env.get("NET_ROUNDS") ?? 5),
        Number(Deno.env.get("NET_MIB") ?? 256),
      ),
    ),
};
for (const [name, run] of Object.entries(GROUPS)) {
  if (Deno.args.length === 0 || Deno.args.includes(name)) await run();
}
console.log("| group | what | median | vs | ratio | target |");
console.log("|---|---|---|---|---|---|");
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
console.log(`\n(took ${((performance.now() - t0) / 1000).toFixed(0)} s)`);
