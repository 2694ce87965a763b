// One workload in a process of its own (run by bench.ts):
//
//   deno run -A --v8-flags=--expose-gc _load.ts KIND N IN_FLIGHT [ALLOC_N]
//
// KIND is `userns` (UsernsCommand("true").output()), `unshare`
// (Deno.Command running `unshare --user --map-users=auto --map-groups=auto
// --map-root-user true`, the same namespace work) or `true` (Deno.Command,
// no namespace). Runs N spawns, IN_FLIGHT at a time, then prints one JSON
// line:
// - `hwm`: the process's peak RSS (VmHWM) after the N spawns, in bytes;
// - `threads`: the most threads seen, sampled every 5 ms and at the end;
// - `rate`: spawns per second over the N;
// - `alloc`: V8 heap bytes allocated per spawn over ALLOC_N more spawns
//   (when given), from V8's cumulative allocation counter
//   (`total_allocated_bytes` of node:v8's heap statistics), read after a
//   full GC before and right after the batch. node:v8 is loaded only then,
//   after VmHWM is read: the peak is the workload's alone.
import { UsernsCommand } from "../../lib/mod.ts";

const UNSHARE = [
  "--user",
  "--map-users=auto",
  "--map-groups=auto",
  "--map-root-user",
  "true",
];

const [kind, n, inFlight, allocN] = Deno.args;
const spawn: () => Promise<{ code: number }> = kind === "userns"
  ? () => new UsernsCommand("true").output()
  : kind === "unshare"
  ? () => new Deno.Command("unshare", { args: UNSHARE }).output()
  : kind === "true"
  ? () => new Deno.Command("true").output()
  : (() => {
    throw new Error(`unknown workload ${kind}`);
  })();

/** The number of threads of this process (field 20 of /proc/self/stat). */
function threads(): number {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[17]);
}

/** `count` spawns, `width` at a time; each must exit 0. */
async function batch(count: number, width: number): Promise<void> {
  let started = 0;
  const worker = async () => {
    while (started++ < count) {
      const { code } = await spawn();
      if (code !== 0) throw new Error(`${kind} exited ${code}`);
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
}

let peak = threads();
const sampler = setInterval(() => peak = Math.max(peak, threads()), 5);
const start = performance.now();
await batch(Number(n), Number(inFlight));
const seconds = (performance.now() - start) / 1000;
clearInterval(sampler);
peak = Math.max(peak, threads());
const status = Deno.readTextFileSync("/proc/self/status");
const hwm = Number(/^VmHWM:\s+(\d+)/m.exec(status)?.[1]) * 1024;

let alloc: number | undefined;
if (allocN) {
  const { getHeapStatistics } = await import("node:v8");
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run with --v8-flags=--expose-gc");
  // Newer than @types/node's HeapInfo; a runtime without it prints no alloc.
  const allocated = () =>
    (getHeapStatistics() as { total_allocated_bytes?: number })
      .total_allocated_bytes;
  gc();
  const before = allocated();
  await batch(Number(allocN), Number(inFlight));
  const after = allocated();
  if (before !== undefined && after !== undefined) {
    alloc = (after - before) / Number(allocN);
  }
}
console.log(JSON.stringify({
  kind,
  hwm,
  threads: peak,
  rate: Number(n) / seconds,
  alloc,
}));
