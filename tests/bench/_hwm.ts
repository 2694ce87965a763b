// Preloaded into the CLI by bench.ts (deno run --preload): reports the CLI
// process's own peak RSS on stderr as it exits.
globalThis.addEventListener("unload", () => {
  const status = Deno.readTextFileSync("/proc/self/status");
  const kib = /^VmHWM:\s+(\d+)/m.exec(status)?.[1];
  Deno.stderr.writeSync(new TextEncoder().encode(`bench-vmhwm-kib ${kib}\n`));
});
