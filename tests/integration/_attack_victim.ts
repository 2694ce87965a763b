// The Deno program that uses a pod, for boundary_memory_test.ts: it holds
// a secret in its environment (USERNS_SECRET, from whoever started it) and
// a marker in its heap (`USERNS-HEAP-` and 32 hex digits, made here and
// said on stderr), and runs `/bin/sleep 0.3` in the pod with a cleared
// environment, so that nothing of either is the command's.
//
// `deno run -A _attack_victim.ts POD`. Imports the library only: no probe
// runs at load (it would be one more exec to hold).
import { UsernsPod } from "../../lib/mod.ts";

const hex = crypto.randomUUID().replaceAll("-", "");
// Built at run time, so the marker is in the heap only, not in the source.
const marker = new TextEncoder().encode(["USERNS", "HEAP", hex].join("-"));
console.error(`victim marker ${hex}`);
const out = await UsernsPod.open(Deno.args[0]!).command("/bin/sleep", {
  args: ["0.3"],
  clearEnv: true,
  stdout: "null",
}).output();
console.error(`victim done ${out.code} ${marker.length}`);
Deno.exit(out.code);
