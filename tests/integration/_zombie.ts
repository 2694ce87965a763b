// A pod whose holder was killed but not yet reaped, made on purpose. Run
// as its own process (pod_faults_test.ts does):
//
//   deno run -A _zombie.ts NAME
//
// It makes itself a child subreaper, so the holder that `userns start`
// leaves behind is adopted here and, killed, stays a zombie: this process
// never waits for it (Deno reaps only the children it spawned). That is
// what a pod looks like where PID 1 reaps late or never, as in many
// containers. Then it runs the pod commands against that record and prints
// what they did as JSON. Its zombies go when it exits.
const PR_SET_CHILD_SUBREAPER = 36;
const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const name = Deno.args[0]!;

const libc = Deno.dlopen("libc.so.6", {
  prctl: { parameters: ["i32", "u64", "u64", "u64", "u64"], result: "i32" },
});
if (libc.symbols.prctl(PR_SET_CHILD_SUBREAPER, 1n, 0n, 0n, 0n) !== 0) {
  throw new Error("prctl(PR_SET_CHILD_SUBREAPER) failed");
}

async function cli(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdin: "null",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

/** The command line of a process, NULs as spaces. */
function cmdline(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`)
      .replaceAll("\0", " ").trim();
  } catch {
    return "";
  }
}

/** The state letter of /proc/PID/stat, or "gone". */
function state(pid: number): string {
  try {
    const s = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return s.slice(s.lastIndexOf(")") + 2)[0] ?? "?";
  } catch {
    return "gone";
  }
}

const start = await cli(["start", name]);
const holder = [...Deno.readDirSync("/proc")].map((e) => Number(e.name))
  .find((pid) => cmdline(pid) === `userns-pause ${name}`);
if (start.code !== 0 || !holder) {
  throw new Error(`start: exit ${start.code}: ${start.stderr}`);
}
Deno.kill(holder, "SIGKILL");
while (state(holder) !== "Z") await new Promise((r) => setTimeout(r, 5));
const result = {
  holder,
  runIn: await cli(["run", "--in", name, "--", "true"]),
  ls: await cli(["ls", "--json"]),
  restart: await cli(["start", name]),
  zombie: state(holder),
  stop: await cli(["stop", name]),
};
console.log(JSON.stringify(result));
