/**
 * The network benchmark of issue 18, against rootless podman with the same
 * helper: the extra start-up of a network over a plain new network
 * namespace, and TCP throughput host -> inside through a published port.
 * One shuffled run: every round runs each configuration once, in a new
 * random order, and ratios are taken per round, then their median.
 *
 *     deno run -A tests/bench/net.ts [ROUNDS] [MIB]
 *
 * Run it unprivileged (rootless podman; as root: through `runuser`, with a
 * HOME of its own, as in the report). podman 4.3 has no pasta: both
 * helpers of ours are compared with its slirp4netns, whose own port
 * forwarding (`port_handler=slirp4netns`) is the same path as ours.
 * The sink inside is one small static C program, the same for both (busybox
 * nc reads 2.5 Gbit/s at most). Only 127.0.0.1 is contacted.
 *
 * Under `deno test` this file registers no test.
 */
import { UsernsCommand } from "../../lib/mod.ts";
import type { NetworkHelper } from "../../lib/net/mod.ts";

const SINK_C = `#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	static char buf[1 << 20];
	struct sockaddr_in a = { .sin_family = AF_INET };
	int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_port = htons(argc > 1 ? atoi(argv[1]) : 80);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 16))
		return 1;
	for (;;) {
		int f = accept(s, NULL, NULL);
		if (f < 0)
			continue;
		if (write(f, "ready\\n", 6) == 6)
			while (read(f, buf, sizeof buf) > 0)
				;
		close(f);
	}
}
`;

const IMAGE = "localhost/userns-netbench:busybox";
const BUILD = `set -eu
c=$(buildah from scratch)
m=$(buildah mount "$c")
mkdir -p "$m/bin" "$m/tmp"
cp /bin/busybox "$m/bin/busybox"
for a in sh true; do ln -s busybox "$m/bin/$a"; done
buildah umount "$c" >/dev/null
buildah config --env PATH=/bin "$c"
buildah commit --quiet --rm "$c" "$1"`;
const PODMAN = ["podman", "--runtime", "runc"];

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function run(argv: string[]): Promise<string> {
  const out = await new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!out.success) throw new Error(`${argv.join(" ")}: ${text(out.stderr)}`);
  return text(out.stdout).trim();
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Sends `mib` MiB to 127.0.0.1:port once the sink answers; returns Gbit/s. */
async function throughput(port: number, mib: number): Promise<number> {
  const ready = new Uint8Array(16);
  for (let t = 0; t < 200; t++) {
    let c: Deno.TcpConn | undefined;
    try {
      c = await Deno.connect({ hostname: "127.0.0.1", port });
      if (await c.read(ready) === null) throw new Error("not yet");
      const buf = new Uint8Array(1 << 20);
      const t0 = performance.now();
      for (let i = 0; i < mib; i++) {
        for (let o = 0; o < buf.length;) o += await c.write(buf.subarray(o));
      }
      await c.closeWrite();
      while (await c.read(ready) !== null);
      return mib * 8 * 1.048576e-3 / ((performance.now() - t0) / 1000);
    } catch {
      await delay(25);
    } finally {
      try {
        c?.close();
      } catch {
        // closed already
      }
    }
  }
  throw new Error(`no sink on port ${port}`);
}

/**
 * One run of `true` with the network, through the library's `network` and
 * `publish` options: ms from spawn to its status. The status now comes once
 * the helper has exited (`lib/command/child.ts`), which takes it 36-48 ms
 * after the namespace is gone (the kernel's teardown in its exit); `podman
 * run` does not wait for slirp4netns to exit.
 */
async function oursStart(
  network: NetworkHelper | "none",
): Promise<[number, number]> {
  const t0 = performance.now();
  await new UsernsCommand("true", {
    namespaces: ["pid"],
    network,
    publish: network === "none"
      ? undefined
      : [{ hostPort: freePort(), port: 80 }],
  }).output();
  // The helper is ended and reaped before output() returns: both figures
  // are the same run's end.
  const t1 = performance.now();
  return [t1 - t0, t1 - t0];
}

async function podmanStart(network: string): Promise<number> {
  const t0 = performance.now();
  const publish = network === "none"
    ? []
    : ["-p", `127.0.0.1:${freePort()}:80`];
  await run([
    ...PODMAN,
    "run",
    "--rm",
    "--network",
    network,
    ...publish,
    IMAGE,
    "true",
  ]);
  return performance.now() - t0;
}

async function oursThroughput(
  network: NetworkHelper,
  sink: string,
  mib: number,
): Promise<number> {
  const hostPort = freePort();
  const child = new UsernsCommand(sink, {
    args: ["80"],
    namespaces: ["pid"],
    network,
    publish: [{ hostPort, port: 80 }],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await child.ready;
    return await throughput(hostPort, mib);
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
}

async function podmanThroughput(
  network: string,
  sink: string,
  mib: number,
): Promise<number> {
  const hostPort = freePort();
  const id = await run([
    ...PODMAN,
    "run",
    "-d",
    "--network",
    network,
    "-p",
    `127.0.0.1:${hostPort}:80`,
    "-v",
    `${sink}:/sink:ro`,
    IMAGE,
    "/sink",
    "80",
  ]);
  try {
    return await throughput(hostPort, mib);
  } finally {
    await run([...PODMAN, "rm", "-f", "-t", "0", id]);
  }
}

async function hostThroughput(sink: string, mib: number): Promise<number> {
  const port = freePort();
  const p = new Deno.Command(sink, {
    args: [String(port)],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    return await throughput(port, mib);
  } finally {
    p.kill("SIGKILL");
    await p.status;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function shuffle<T>(xs: T[]): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** What one run measured: start-up ms and throughput Gbit/s, by round. */
interface Measured {
  ms: Record<string, number[]>;
  gbit: Record<string, number[]>;
}

async function measure(
  rounds: number,
  mib: number,
  only: RegExp,
): Promise<Measured> {
  const dir = await Deno.makeTempDir({ prefix: "userns-netbench-" });
  await Deno.chmod(dir, 0o755);
  await Deno.writeTextFile(`${dir}/sink.c`, SINK_C);
  await run(["cc", "-O2", "-static", "-o", `${dir}/sink`, `${dir}/sink.c`]);
  const sink = `${dir}/sink`;
  const podman = Deno.uid() !== 0;
  if (podman && !(await run([...PODMAN, "images", "-q", IMAGE]))) {
    await run(["buildah", "unshare", "sh", "-c", BUILD, "sh", IMAGE]);
  }
  const slirp = "slirp4netns:port_handler=slirp4netns";
  const ms: Record<string, number[]> = {}, gbit: Record<string, number[]> = {};
  const ours = (n: NetworkHelper | "none") => async () =>
    (await oursStart(n))[0];
  const start: Record<string, () => Promise<number>> = {
    "ours none": ours("none"),
    "ours pasta -p": ours("pasta"),
    "ours slirp4netns -p": ours("slirp4netns"),
    ...podman
      ? {
        "podman none": () => podmanStart("none"),
        "podman slirp4netns -p": () => podmanStart(slirp),
      }
      : {},
  };
  const tput: Record<string, () => Promise<number>> = {
    "host, no namespace": () => hostThroughput(sink, mib),
    "ours pasta": () => oursThroughput("pasta", sink, mib),
    "ours slirp4netns": () => oursThroughput("slirp4netns", sink, mib),
    ...podman
      ? {
        "podman slirp4netns (its port handler)": () =>
          podmanThroughput(slirp, sink, mib),
        "podman slirp4netns (rootlesskit ports)": () =>
          podmanThroughput("slirp4netns", sink, mib),
      }
      : {},
  };
  await oursStart("pasta"); // warm: the native library, the page cache
  for (let r = 0; r < rounds; r++) {
    const jobs = shuffle([
      ...Object.entries(start).filter(([k]) => only.test(k)).map(
        ([k, f]) => async () => (ms[k] ??= []).push(await f()),
      ),
      ...Object.entries(tput).filter(([k]) => only.test(k)).map(
        ([k, f]) => async () => (gbit[k] ??= []).push(await f()),
      ),
    ]);
    for (const job of jobs) await job();
    console.error(`round ${r + 1}/${rounds} done`);
  }
  await Deno.remove(dir, { recursive: true });
  return { ms, gbit };
}

/** Per round: f(a, b); undefined when one was not run. */
function per(
  d: Record<string, number[]>,
  a: string,
  b: string,
  f: (x: number, y: number) => number,
): number[] | undefined {
  return d[a] && d[b] ? d[a].map((x, i) => f(x, d[b]![i]!)) : undefined;
}

/** One row of bench.ts's table: group, what, median, vs, ratio, target. */
type Row = [string, string, string, string, string, string];

/**
 * The rows of bench.ts's `net` group: the extra start-up of a published
 * user-mode network over `network: "none"`, ours against rootless podman's
 * (slirp4netns; target <= 0.5x), and throughput host -> inside through a
 * published 127.0.0.1 port (target >= 1.0x podman's with the same helper).
 *
 * @param rounds shuffled rounds
 * @param mib MiB per transfer
 * @returns the rows
 */
export async function netRows(rounds = 5, mib = 256): Promise<Row[]> {
  const { ms, gbit } = await measure(rounds, mib, /./);
  const rows: Row[] = [];
  const g1 =
    `network start-up, spawn to the end of true, ${rounds} shuffled rounds`;
  const f = (x: number) => `${x.toFixed(1)} ms`;
  for (const [k, v] of Object.entries(ms).sort()) {
    rows.push([g1, k, f(median(v)), "", "", ""]);
  }
  const extra = (a: string, b: string) => per(ms, a, b, (x, y) => x - y);
  const theirs = extra("podman slirp4netns -p", "podman none");
  for (const k of ["ours pasta -p", "ours slirp4netns -p"]) {
    const mine = extra(k, "ours none");
    if (!mine) continue;
    const r = theirs ? median(mine.map((x, i) => x / theirs[i]!)) : undefined;
    rows.push([
      `${g1}: the network's extra, median of per-round differences`,
      `${k} over ours none`,
      f(median(mine)),
      theirs
        ? `podman slirp4netns -p over podman none ${f(median(theirs))}`
        : "podman: not run (root)",
      r === undefined ? "" : `${r.toFixed(2)}x`,
      r === undefined
        ? ""
        : `<= 0.5x: ${r <= 0.5 ? "met" : "NOT met"} (podman 4.3 has no pasta)`,
    ]);
  }
  const g2 =
    `throughput host -> inside through 127.0.0.1:HOSTPORT, ${mib} MiB, ${rounds} shuffled rounds`;
  for (const [k, v] of Object.entries(gbit).sort()) {
    rows.push([g2, k, `${median(v).toFixed(2)} Gbit/s`, "", "", ""]);
  }
  const ratio = (a: string, b: string, target?: number) => {
    const r = per(gbit, a, b, (x, y) => x / y);
    if (!r) return;
    const m = median(r);
    rows.push([
      `${g2}: median of per-round ratios`,
      a,
      `${median(gbit[a]!).toFixed(2)} Gbit/s`,
      `${b} ${median(gbit[b]!).toFixed(2)} Gbit/s`,
      `${m.toFixed(2)}x`,
      target === undefined
        ? ""
        : `>= ${target.toFixed(1)}x: ${m >= target ? "met" : "NOT met"}`,
    ]);
  };
  ratio("ours slirp4netns", "podman slirp4netns (its port handler)", 1.0);
  ratio("ours slirp4netns", "podman slirp4netns (rootlesskit ports)");
  ratio("ours pasta", "podman slirp4netns (rootlesskit ports)", 1.0);
  return rows;
}

async function main(
  rounds: number,
  mib: number,
  only: RegExp,
): Promise<void> {
  const { ms, gbit } = await measure(rounds, mib, only);
  report(ms, gbit, rounds, mib);
}

function report(
  ms: Record<string, number[]>,
  gbit: Record<string, number[]>,
  rounds: number,
  mib: number,
): void {
  const user = Deno.uid() === 0 ? "root" : "unprivileged";
  console.log(`rounds ${rounds}, ${mib} MiB per transfer, ${user}`);
  const show = (title: string, d: Record<string, number[]>, digits: number) => {
    console.log(`\n${title}`);
    for (const [k, v] of Object.entries(d).sort()) {
      console.log(`  ${k.padEnd(42)} ${median(v).toFixed(digits)}`);
    }
  };
  /** Per round: f(a, b); undefined when one was not run. */
  const per = (
    d: Record<string, number[]>,
    a: string,
    b: string,
    f: (x: number, y: number) => number,
  ) => d[a] && d[b] ? d[a].map((x, i) => f(x, d[b]![i]!)) : undefined;
  const extra: Record<string, number[]> = {};
  for (const k of Object.keys(ms).filter((k) => / -p/.test(k))) {
    const base = k.startsWith("podman") ? "podman none" : "ours none";
    const d = per(ms, k, base, (x, y) => x - y);
    if (d) extra[k] = d;
  }
  show("start-up, median ms: spawn to the end of `true`", ms, 1);
  show(
    "extra start-up of the network, median of per-round differences, ms",
    extra,
    1,
  );
  const ratios: Record<string, number[]> = {};
  const ratio = (
    name: string,
    d: Record<string, number[]>,
    a: string,
    b: string,
  ) => {
    const r = per(d, a, b, (x, y) => x / y);
    if (r) ratios[name] = r;
  };
  ratio(
    "start-up: ours slirp4netns / podman slirp4netns (<= 0.5)",
    extra,
    "ours slirp4netns -p",
    "podman slirp4netns -p",
  );
  ratio(
    "start-up: ours pasta / podman slirp4netns",
    extra,
    "ours pasta -p",
    "podman slirp4netns -p",
  );
  show(
    "throughput host -> inside through 127.0.0.1:HOSTPORT, median Gbit/s",
    gbit,
    2,
  );
  ratio(
    "throughput: ours slirp4netns / podman, same port path (>= 1.0)",
    gbit,
    "ours slirp4netns",
    "podman slirp4netns (its port handler)",
  );
  ratio(
    "throughput: ours slirp4netns / podman + rootlesskit ports",
    gbit,
    "ours slirp4netns",
    "podman slirp4netns (rootlesskit ports)",
  );
  ratio(
    "throughput: ours pasta / podman + rootlesskit ports",
    gbit,
    "ours pasta",
    "podman slirp4netns (rootlesskit ports)",
  );
  show("ratios, median of per-round ratios", ratios, 3);
  console.log(`\nsamples ${JSON.stringify({ ms, gbit })}`);
}

if (import.meta.main) {
  await main(
    Number(Deno.args[0] ?? 10),
    Number(Deno.args[1] ?? 512),
    new RegExp(Deno.args[2] ?? ""),
  );
  Deno.exit(0);
}
