// Spawn cost inside a pod, against a plain Deno.Command and against
// Deno.Command running `unshare --map-users=auto ...`: sequential latency in
// shuffled rounds, and throughput with 16 spawns in flight. `podRows()`
// returns rows in the shape of bench.ts's table; run alone, this file
// prints them:
//
//   deno run -A tests/bench/pods.ts [ROUNDS]
//
// Run it as the unprivileged user that matters (unshare needs a range).
import { UsernsPod } from "../../lib/mod.ts";
import { median, ms, paired, shuffledRounds, verdict } from "./_stats.ts";

/** One row of bench.ts's table: group, what, median, vs, ratio, target. */
export type Row = [string, string, string, string, string, string];

const UNSHARE = [
  "--user",
  "--map-users=auto",
  "--map-groups=auto",
  "--map-root-user",
  "true",
];

async function ok(p: Promise<{ code: number }>, what: string): Promise<void> {
  const { code } = await p;
  if (code !== 0) throw new Error(`${what} exited ${code}`);
}

/** Spawns per second, `total` in all, `inFlight` at a time. */
async function rate(
  total: number,
  inFlight: number,
  spawn: () => Promise<unknown>,
): Promise<number> {
  let started = 0;
  const t = performance.now();
  const worker = async () => {
    while (started++ < total) await spawn();
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return total / ((performance.now() - t) / 1000);
}

/**
 * Measures spawns into a pod (user + mount namespace; and one with a pid
 * namespace of its own) against `Deno.Command("true")` and against
 * `Deno.Command` of `unshare --user --map-users=auto ... true`.
 *
 * @param rounds timed sequential rounds
 * @returns the rows, as bench.ts prints them
 */
export async function podRows(rounds = 300): Promise<Row[]> {
  const rows: Row[] = [];
  const dir = await Deno.makeTempDir({ prefix: "uns-bench-" });
  const old = Deno.env.get("XDG_RUNTIME_DIR");
  Deno.env.set("XDG_RUNTIME_DIR", dir);
  const pod = await UsernsPod.start({ name: `bench-${Deno.pid}` });
  const pidPod = await UsernsPod.start({
    name: `bench-pid-${Deno.pid}`,
    namespaces: ["pid"],
  });
  try {
    const inPod = () => ok(pod.command("true").output(), "pod");
    const inPidPod = () => ok(pidPod.command("true").output(), "pid pod");
    const plain = () => ok(new Deno.Command("true").output(), "true");
    const unshare = () =>
      ok(new Deno.Command("unshare", { args: UNSHARE }).output(), "unshare");
    const group = `pods, warm, sequential, shuffled rounds, n=${rounds}`;
    const [p, q, d, u] = await shuffledRounds(rounds, [
      inPod,
      inPidPod,
      plain,
      unshare,
    ]) as [number[], number[], number[], number[]];
    const vsPlain = paired(p, d), vsUnshare = paired(p, u);
    rows.push([
      group,
      `pod.command("true").output() (user+mount pod)`,
      ms(median(p)),
      `Deno.Command("true") ${ms(median(d))}`,
      `${vsPlain.toFixed(2)}x`,
      `<= 1.3x: ${verdict(vsPlain <= 1.3)} (median of per-round ratios)`,
    ]);
    rows.push([
      group,
      `pod.command("true").output() (user+mount pod)`,
      ms(median(p)),
      `Deno.Command(unshare --map-users=auto ...) ${ms(median(u))}`,
      `${vsUnshare.toFixed(2)}x`,
      `<= 0.35x: ${verdict(vsUnshare <= 0.35)}`,
    ]);
    rows.push([
      group,
      `pod.command("true").output() (pod with a pid namespace)`,
      ms(median(q)),
      `Deno.Command("true") ${ms(median(d))}`,
      `${paired(q, d).toFixed(2)}x`,
      "init forked and executed too",
    ]);
    const total = 400, n = 16;
    const g = `pods, throughput, ${total} spawns of true, ${n} in flight`;
    const [rp, rd, ru] = [
      await rate(total, n, inPod),
      await rate(total, n, plain),
      await rate(total, n, unshare),
    ];
    rows.push([
      g,
      "pod.command spawns/s",
      rp.toFixed(0),
      `Deno.Command("true") ${rd.toFixed(0)}/s; unshare ${ru.toFixed(0)}/s`,
      `${(rp / rd).toFixed(2)}x; ${(rp / ru).toFixed(2)}x`,
      "higher is better",
    ]);
  } finally {
    await pod.stop();
    await pidPod.stop();
    if (old === undefined) Deno.env.delete("XDG_RUNTIME_DIR");
    else Deno.env.set("XDG_RUNTIME_DIR", old);
    await Deno.remove(dir, { recursive: true });
  }
  return rows;
}

if (import.meta.main) {
  const rows = await podRows(Number(Deno.args[0] ?? 300));
  console.log("| group | what | median | vs | ratio | target |");
  console.log("|---|---|---|---|---|---|");
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
}
