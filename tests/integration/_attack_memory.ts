// The scenario of boundary_memory_test.ts, in a process of its own so that
// it runs as the test user too (_scenario.ts): a pod's root, with every
// capability of the pod's user namespace, watches for the processes that
// join the pod and tries to read the caller's environment and memory
// through them, and to ptrace them, while each join is held just before
// its exec (`hold-exec`). The callers: `userns run --in POD`, a Deno
// program's `UsernsPod.command()` (_attack_victim.ts) and `userns enter
// POD`, each with a secret of its own in its environment (and the program
// a marker in its heap).
//
// `deno run -A _attack_memory.ts memory plain|pid|root` exits 0 and prints
// `scenario memory: ok` on stderr, or throws every leak it saw.
import { MAIN, text } from "./_env.ts";
import { PodPlace } from "./_pod.ts";
import { buildRootfs, removeRootfs, type Rootfs } from "./_rootfs.ts";
import {
  buildTools,
  held,
  leaks,
  removeTools,
  secret,
  startWatch,
} from "./_attack.ts";

/** How long each exec is held: the window the pod's root gets. */
const HOLD_MS = "1500";

const VICTIM = new URL("./_attack_victim.ts", import.meta.url).pathname;

/** The pod's options, and where the watch program is, by kind. */
function podOptions(kind: string, watch: string, fs?: Rootfs): string[] {
  if (kind === "plain") return [];
  if (kind === "pid") return ["--pid", "--proc", "/proc"];
  if (kind === "root" && fs) {
    Deno.copyFileSync(watch, `${fs.root}/bin/watch`);
    Deno.chmodSync(`${fs.root}/bin/watch`, 0o755);
    return ["--root", fs.root, "--proc", "/proc", "--dev", "/dev"];
  }
  throw new Error(`no pod kind "${kind}"`);
}

/** The callers, each the argv that `hold-exec` runs. */
function callers(pod: string): [string, string[]][] {
  const deno = [Deno.execPath(), "run", "-A"];
  const cmd = ["--clear-env", "--", "/bin/sleep", "0.3"];
  return [
    ["userns run --in", [...deno, MAIN, "run", "--in", pod, ...cmd]],
    ["UsernsPod.command()", [...deno, VICTIM, pod]],
    ["userns enter", [
      ...deno,
      MAIN,
      "enter",
      "--clear-env",
      pod,
      ...cmd.slice(1),
    ]],
  ];
}

async function memory(kind: string): Promise<void> {
  const tools = await buildTools();
  const place = await PodPlace.create();
  const fs = kind === "root" ? await buildRootfs() : undefined;
  try {
    const pod = place.name(kind);
    await place.must(["start", ...podOptions(kind, tools.watch, fs), pod]);
    const watch = await startWatch([
      Deno.execPath(),
      "run",
      "-A",
      MAIN,
      "run",
      "--in",
      pod,
      "--",
      fs ? "/bin/watch" : tools.watch,
    ], place.env);
    const cases = [];
    for (const [what, argv] of callers(pod)) {
      const key = secret();
      const out = await new Deno.Command(tools.hold, {
        args: [HOLD_MS, ...argv],
        env: { ...place.env, USERNS_SECRET: key },
        stdin: "null",
        stdout: "null",
        stderr: "piped",
        signal: AbortSignal.timeout(60_000),
      }).output();
      const err = text(out.stderr);
      if (out.code !== 0) {
        throw new Error(`${what} in a ${kind} pod: exit ${out.code}: ${err}`);
      }
      const marker = /^victim marker ([0-9a-f]{32})$/m.exec(err)?.[1];
      cases.push({
        what: `${what}, ${kind} pod`,
        leak: {
          secrets: marker ? [key, marker] : [key],
          held: held(err),
          command: "sleep",
        },
      });
    }
    const seen = await watch.stop();
    if (seen.code !== 0) {
      throw new Error(`watch: exit ${seen.code}: ${seen.stderr}`);
    }
    const problems = cases.flatMap((c) => leaks(seen.lines, c.leak, c.what));
    if (problems.length) {
      const pids = new Set(
        cases.flatMap((c) => c.leak.held.map((h) => h.inner)),
      );
      const about = seen.lines.filter((l) => pids.has(Number(l.split(" ")[0])));
      throw new Error(
        `${problems.join("\n")}\nwatch saw of the held processes ` +
          `(${[...pids].join(" ")}):\n${about.join("\n")}`,
      );
    }
    console.log(`${kind}: ${seen.lines.at(-1)}`);
    await place.must(["stop", pod]);
  } finally {
    await place.close();
    await removeTools(tools);
    if (fs) removeRootfs(fs);
  }
}

if (import.meta.main) {
  const [name, kind = ""] = Deno.args;
  if (name !== "memory") throw new Error(`no scenario "${name}"`);
  await memory(kind);
  console.error("scenario memory: ok");
}
