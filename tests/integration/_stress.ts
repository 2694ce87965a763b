// The body of stress_test.ts, run as a fresh process (`deno run -A
// _stress.ts SPAWNS IN_FLIGHT WARM_UP`) so that its
// memory, fds and threads are its own, not those of the test runner (which
// holds ~85 MB of type-checker heap that it gives back, page by page, while
// the spawns run: measured in-process, RSS *fell* by 100 MB and would hide
// any leak). Prints one JSON line with what it measured; asserts nothing.
import v8 from "node:v8";
import vm from "node:vm";
import { UsernsCommand } from "../../lib/mod.ts";

const [SPAWNS, IN_FLIGHT, WARM_UP] = Deno.args.map(Number) as [
  number,
  number,
  number,
];

/** A field of /proc/self/status, as a number (kB for memory). */
function status(field: string): number {
  const text = Deno.readTextFileSync("/proc/self/status");
  return Number(new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(text)?.[1]);
}

/**
 * Open fds as "N -> target", sorted by number. Sockets are left out: the
 * runtime opens a socket pair of its own a second or two after start, with
 * or without this library (an empty script with a timer does), and the
 * library never opens a socket; its fds are pipes, pidfds and /dev/null.
 */
function openFds(): string[] {
  const fds = [...Deno.readDirSync("/proc/self/fd")].map((e) => Number(e.name));
  return fds.sort((a, b) => a - b).flatMap((fd) => {
    try {
      const target = Deno.readLinkSync(`/proc/self/fd/${fd}`);
      return target.startsWith("socket:") ? [] : [`${fd} -> ${target}`];
    } catch {
      return []; // the directory listing's own fd, closed by now
    }
  });
}

const children = () =>
  [...Deno.readDirSync("/proc/self/task")].flatMap((t) =>
    Deno.readTextFileSync(`/proc/self/task/${t.name}/children`).trim().split(
      " ",
    ).filter(Boolean).map(Number)
  );

// A full GC on demand, so that memory figures count what is live. The flag
// is set at run time, not with --v8-flags: started with --expose-gc, V8
// keeps its young generation grown after GCs, and RSS rose by 15 MB per
// 1,000 spawns with JS heap use flat (plain Deno.Command loops do not show
// it; this library's FFI promises do), which is V8 heap sizing, not a leak.
v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;
const libc = Deno.dlopen(
  "libc.so.6",
  {
    malloc_trim: { parameters: ["usize"], result: "i32" },
  } as const,
);

/**
 * Live memory: RSS after a full GC and glibc's malloc_trim(0), which hands
 * the free pages of every malloc arena back to the kernel. Untrimmed RSS is
 * the allocator's high-water mark: with 32 spawns in flight the main arena's
 * top rises ~20 MB over the first thousands of spawns and stays (measured
 * flat from 2,000 to 9,200 spawns): fragmentation, not a leak.
 */
function memory() {
  gc();
  gc();
  const untrimmed = status("VmRSS") * 1024;
  libc.symbols.malloc_trim(0n);
  const { heapUsed, external } = Deno.memoryUsage();
  return { untrimmed, rss: status("VmRSS") * 1024, js: heapUsed + external };
}

const threadsBefore = status("Threads");
let peakThreads = threadsBefore;
let started = 0;
const wrong: string[] = [];

/** Runs spawns up to `until`, IN_FLIGHT at a time. */
async function run(until: number): Promise<void> {
  const worker = async () => {
    while (started < until) {
      const i = started++;
      // Every 8th runs `true`; the others exit with a code of their own.
      const want = i % 8 === 7 ? 0 : (i * 37) % 256;
      const cmd = i % 8 === 7
        ? new UsernsCommand("true")
        : new UsernsCommand("sh", { args: ["-c", `exit ${want}`] });
      const out = await cmd.output();
      if (
        out.code !== want || out.success !== (want === 0) ||
        out.signal !== null
      ) {
        wrong.push(`#${i}: want ${want}, got ${JSON.stringify(out)}`);
      }
      peakThreads = Math.max(peakThreads, status("Threads"));
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
}

const t0 = performance.now();
await run(WARM_UP);
// After the warm-up the runtime has opened what it opens lazily (the
// library) and the JIT has compiled the path.
const fdsWarm = openFds();
const warm = memory();
await run(SPAWNS);
const elapsedMs = performance.now() - t0;
const end = memory();
// The runtime closes the fds of its own child processes (the helpers) a
// moment after reaping them: give it up to a second.
let fdsEnd = openFds();
for (let i = 0; i < 50 && fdsEnd.join() !== fdsWarm.join(); i++) {
  await new Promise((r) => setTimeout(r, 20));
  fdsEnd = openFds();
}
const childrenEnd = children();
// Deno's blocking pool lets an idle thread go after 10 s; a thread stuck in
// a read or a wait that never returns stays. Wait up to 20 s for the pool to
// drain back to the count from before the first spawn.
const idleStart = performance.now();
let threadsIdle = status("Threads");
while (threadsIdle > threadsBefore && performance.now() - idleStart < 20_000) {
  await new Promise((r) => setTimeout(r, 250));
  threadsIdle = status("Threads");
}
libc.close();
console.log(JSON.stringify({
  spawns: started,
  elapsedMs,
  wrong,
  fdsWarm,
  fdsEnd,
  childrenEnd,
  threadsBefore,
  peakThreads,
  threadsIdle,
  idleMs: performance.now() - idleStart,
  warm,
  end,
}));
