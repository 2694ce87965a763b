// The library's memory, in a process of its own (run by bench.ts):
//
//   deno run -A --v8-flags=--expose-gc[,...] _probe.ts userns|deno WARM N
//
// WARM spawns of true by UsernsCommand (or Deno.Command), then N more,
// sequential; prints the process's anonymous RSS, VmHWM and V8 heap after
// each (after a full GC), as JSON.
import { UsernsCommand } from "../../lib/mod.ts";

/** A field of /proc/self/status, in bytes. */
function status(field: string): number {
  const text = Deno.readTextFileSync("/proc/self/status");
  return Number(new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(text)?.[1]) *
    1024;
}

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --v8-flags=--expose-gc");

const [of, warm, n] = [Deno.args[0], ...Deno.args.slice(1).map(Number)];
const Command = of === "deno" ? Deno.Command : UsernsCommand;

async function spawns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const out = await new Command("true").output();
    if (out.code !== 0) throw new Error(`exit ${out.code}`);
  }
}

function sample(): Record<string, number> {
  gc!();
  gc!();
  const { heapUsed, heapTotal } = Deno.memoryUsage();
  return {
    rssAnon: status("RssAnon"),
    hwm: status("VmHWM"),
    heapUsed,
    heapTotal,
  };
}

await spawns(warm!);
const before = sample();
await spawns(n!);
const after = sample();
console.log(JSON.stringify({ before, after }));
