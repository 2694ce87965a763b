// Run by parity_test.ts in a process of its own, once with Deno.Command and
// once with UsernsCommand:
//
//   deno run -A _parity_exit.ts deno|userns ref|unref SECONDS
//
// spawns `sleep SECONDS`, unref()s it or not, and prints, as the program is
// about to exit, how long after the spawn that was and the child's pid.
import { UsernsCommand } from "../../lib/mod.ts";

const [which, mode, seconds] = Deno.args;
const Command = which === "userns" ? UsernsCommand : Deno.Command;
// On /dev/null: a child that outlives the program holds none of its pipes.
const child = new Command("sleep", {
  args: [seconds!],
  stdin: "null",
  stdout: "null",
  stderr: "null",
}).spawn();
const start = performance.now();
if (mode === "unref") child.unref();
globalThis.addEventListener("unload", () => {
  const elapsed = Math.round(performance.now() - start);
  console.log(JSON.stringify({ elapsed, pid: child.pid }));
});
