/**
 * The network scenarios, each told whole from the host's side through the
 * library's `beforeExec` hook, and each returning what it saw. They run in
 * the test's process, or as a script where the test needs another user or
 * a network namespace of its own playing the host:
 *
 *     deno run -A _net_scenarios.ts NAME '{"helper":"pasta",...}'
 *
 * prints the result as one JSON line. This file imports only the library,
 * so that a copy of it runs as the test user; it registers no test itself.
 *
 * They contact 127.0.0.1 only, and the gateway only where the helper maps
 * it to the host's 127.0.0.1 (`allowHostLoopback`), or inside a network
 * namespace the test made, where nothing leads off the machine.
 */
import { UsernsCommand } from "../../lib/mod.ts";
import {
  type NetworkHandle,
  type NetworkHelper,
  type NetworkOptions,
  type PodNetwork,
  podNetworkAlive,
  podNetworkFiles,
  startNetwork,
  startPodNetwork,
  stopPodNetwork,
} from "../../lib/net/mod.ts";

/** What a scenario is given. */
export interface ScenarioArgs {
  /** The helper. */
  helper: NetworkHelper;
  /** The map of the command: "root" inside a namespace without sub-IDs. */
  map?: "root";
  /** Open the host's loopback. */
  allowHostLoopback?: boolean;
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A free TCP port on 127.0.0.1 (free a moment ago). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** The helper processes (pasta, slirp4netns, or setpriv before it) attached to `pid`. */
export function helpersOf(pid: number): number[] {
  const found: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    let argv: string[];
    try {
      argv = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).split("\0");
    } catch {
      continue;
    }
    const prog = argv[0]?.split("/").pop() ?? "";
    if (!/^(pasta|passt|slirp4netns|setpriv)/.test(prog)) continue;
    if (
      argv.includes(String(pid)) ||
      argv.some((a) => a.startsWith(`/proc/${pid}/`))
    ) {
      found.push(Number(e.name));
    }
  }
  return found;
}

/** Whether `pid` still runs (not gone, not a zombie). */
export function running(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !==
      "Z";
  } catch {
    return false;
  }
}

/** Waits up to `ms` for `pids` to be gone; returns those still running. */
export async function gone(pids: number[], ms = 3000): Promise<number[]> {
  let left = pids.filter(running);
  for (let t = 0; t < ms && left.length; t += 20) {
    await delay(20);
    left = left.filter(running);
  }
  return left;
}

/** The default gateway a test network namespace gives its host (TEST-NET-2). */
export const FAKE_GATEWAY = "198.51.100.1";

/**
 * Whether this process runs in a network namespace a test made to play the
 * host: its default route leads to {@link FAKE_GATEWAY} on a veth pair of
 * its own, and nowhere else.
 */
export function onFakeHost(): boolean {
  const routes = Deno.readTextFileSync("/proc/net/route").trim().split("\n")
    .slice(1)
    .map((l) => l.split(/\s+/));
  const gw = FAKE_GATEWAY.split(".").reverse().map((o) =>
    Number(o).toString(16).padStart(2, "0")
  )
    .join("").toUpperCase();
  return routes.length > 0 && routes.every((r) => r[0] === "v0") &&
    routes.some((r) => r[1] === "00000000" && r[2] === gw);
}

/**
 * Serves `reply` on 127.0.0.1:port until closed. Each connection is closed
 * a moment after the reply: pasta 2023-03 resends, without the FIN, data
 * that a host-side peer sends and closes at once on a mapped-gateway
 * connection (the reader inside then never sees the end).
 */
function serve(port: number, reply: string): Deno.Listener {
  const l = Deno.listen({ hostname: "127.0.0.1", port });
  (async () => {
    for await (const c of l) {
      await c.write(new TextEncoder().encode(reply)).catch(() => {});
      setTimeout(() => c.close(), 300);
    }
  })().catch(() => {});
  return l;
}

/** Reads what 127.0.0.1:port sends, retrying until something comes. */
async function fetchFrom(port: number, ms = 8000): Promise<string> {
  for (let t = 0; t < ms; t += 50) {
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      const got = text(await new Response(c.readable).bytes());
      if (got) return got;
    } catch {
      // not listening yet
    }
    await delay(50);
  }
  return "";
}

/**
 * Spawns `sh -c script` in new net and pid namespaces with the network
 * started from `beforeExec`, runs `during` while it runs, and ends the
 * helper once it has ended.
 */
async function withNetwork<T>(
  a: ScenarioArgs,
  net: NetworkOptions,
  script: string,
  during: (h: NetworkHandle) => Promise<T>,
  mounts: { type: "bind"; source: string; target: string }[] = [],
): Promise<
  {
    out: string;
    err: string;
    code: number;
    during: T;
    helper: number;
    child: number;
    left: number[];
  }
> {
  let handle: NetworkHandle | undefined;
  let child = 0;
  const cmd = new UsernsCommand("sh", {
    args: ["-c", script],
    namespaces: ["net", "pid"],
    map: a.map,
    mounts,
    stdout: "piped",
    stderr: "piped",
    beforeExec: async (pid) => {
      child = pid;
      handle = await startNetwork(pid, {
        network: a.helper,
        allowHostLoopback: a.allowHostLoopback,
        ...net,
      });
      for (const m of mounts) {
        await Deno.writeTextFile(m.source, handle!.resolvConf);
      }
    },
  }).spawn();
  try {
    await cmd.ready;
    const result = await during(handle!);
    const out = await cmd.output();
    await handle!.close();
    return {
      out: text(out.stdout),
      err: text(out.stderr),
      code: out.code,
      during: result,
      helper: handle!.pid,
      child,
      left: [...await gone([handle!.pid]), ...helpersOf(child)],
    };
  } finally {
    await handle?.close();
  }
}

/** A server inside answers on a published host port. */
async function publish(a: ScenarioArgs) {
  const hostPort = freePort();
  const r = await withNetwork(
    a,
    { publish: [{ hostPort, port: 80 }] },
    "echo hello-from-inside | busybox nc -l -p 80",
    () => fetchFrom(hostPort),
  );
  return { ...r, hostPort };
}

/**
 * The host's 127.0.0.1 server, tried from inside through the gateway and
 * through the namespace's own 127.0.0.1.
 */
async function hostLoopback(a: ScenarioArgs) {
  // Closed, pasta's gateway is the host's real one: a try would leave the
  // machine. Only where the test made the host's network namespace.
  if (!a.allowHostLoopback && !onFakeHost()) {
    throw new Error(
      "hostLoopback without allowHostLoopback runs only in a test network namespace",
    );
  }
  const port = freePort();
  const server = serve(port, "hello-host\n");
  try {
    const r = await withNetwork(
      a,
      {},
      `gw=$(ip route | awk '/^default/ {print $3; exit}')
       echo "gw $gw"
       try() { timeout 3 busybox nc -w 2 "$1" ${port} </dev/null 2>/dev/null | head -n 1; }
       echo "via-gateway $(try "$gw")"
       echo "via-loopback $(try 127.0.0.1)"`,
      () => Promise.resolve(),
    );
    const line = (k: string) =>
      r.out.split("\n").find((l) => l.startsWith(`${k} `))?.slice(
        k.length + 1,
      ) ?? "";
    return {
      ...r,
      gateway: line("gw"),
      viaGateway: line("via-gateway") === "hello-host",
      viaLoopback: line("via-loopback") === "hello-host",
    };
  } finally {
    server.close();
  }
}

/** The namespace's resolv.conf, bound where userns builds the mount tree. */
async function resolv(a: ScenarioArgs) {
  const file = await Deno.makeTempFile({ prefix: "userns-net-resolv-" });
  try {
    const r = await withNetwork(
      a,
      {},
      "cat /etc/resolv.conf",
      () => Promise.resolve(),
      [
        { type: "bind", source: file, target: "/etc/resolv.conf" },
      ],
    );
    return { ...r, written: await Deno.readTextFile(file) };
  } finally {
    await Deno.remove(file);
  }
}

/** A network that fails to start: what the spawn threw, and what is left. */
async function failing(a: ScenarioArgs, net: NetworkOptions) {
  let child = 0;
  try {
    await new UsernsCommand("true", {
      namespaces: ["net", "pid"],
      map: a.map,
      beforeExec: async (pid) => {
        child = pid;
        await startNetwork(pid, { network: a.helper, ...net });
      },
    }).output();
    return { threw: false, child, left: helpersOf(child) };
  } catch (e) {
    const cause = (e as Error).cause as Error & {
      reason?: string;
      code?: string;
    };
    return {
      threw: true,
      message: (e as Error).message,
      name: cause?.name,
      reason: cause?.reason,
      code: cause?.code,
      causeMessage: cause?.message,
      child,
      childRunning: running(child),
      left: helpersOf(child),
    };
  }
}

/** A published host port that is taken. */
async function portTaken(a: ScenarioArgs) {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const hostPort = (l.addr as Deno.NetAddr).port;
  try {
    return {
      ...await failing(a, { publish: [{ hostPort, port: 80 }] }),
      hostPort,
    };
  } finally {
    l.close();
  }
}

/** /dev/net/tun made unusable by the caller of the script. */
function tun(a: ScenarioArgs) {
  return failing(a, {});
}

/**
 * Starts `sleep 600` with the network, prints who runs, and waits to be
 * killed: the test kills this process with SIGKILL.
 */
async function hold(a: ScenarioArgs): Promise<never> {
  const tmp = () =>
    new Set(
      [...Deno.readDirSync(Deno.env.get("TMPDIR") ?? "/tmp")]
        .filter((e) => e.name.startsWith("userns-net-")).map((e) => e.name),
    );
  const before = tmp();
  let handle: NetworkHandle | undefined;
  let child = 0;
  const cmd = new UsernsCommand("sleep", {
    args: ["600"],
    namespaces: ["net", "pid"],
    map: a.map,
    beforeExec: async (pid) => {
      child = pid;
      handle = await startNetwork(pid, { network: a.helper });
    },
  }).spawn();
  await cmd.ready;
  console.log(
    JSON.stringify({
      deno: Deno.pid,
      child,
      helper: handle!.pid,
      helpers: helpersOf(child),
      tempDirs: [...tmp()].filter((n) => !before.has(n)),
    }),
  );
  await cmd.status;
  throw new Error("the command ended by itself");
}

/** A helper that is not installed: PATH names no directory that has it. */
function missing(a: ScenarioArgs) {
  return failing(a, { path: "/nonexistent" });
}

/** A process that shares this process's network namespace. */
async function sharedNamespace(a: ScenarioArgs) {
  try {
    await new UsernsCommand("true", {
      namespaces: ["pid"],
      map: a.map,
      beforeExec: async (pid) => {
        await startNetwork(pid, { network: a.helper });
      },
    }).output();
    return { threw: false };
  } catch (e) {
    const cause = (e as Error).cause as Error & {
      reason?: string;
      code?: string;
    };
    return {
      threw: true,
      reason: cause?.reason,
      code: cause?.code,
      causeMessage: cause?.message,
    };
  }
}

/**
 * A pod's network, started at its holder's beforeExec: the holder serves
 * on port 80; returns what its record would keep, and, unless `keep`,
 * stops it and says what is left.
 */
async function pod(a: ScenarioArgs & { keep?: boolean }) {
  const dir = await Deno.makeTempDir({ prefix: "userns-net-pod-" });
  const hostPort = freePort();
  let net: PodNetwork | undefined;
  const holder = new UsernsCommand("sh", {
    args: ["-c", "while :; do echo hello-pod | busybox nc -l -p 80; done"],
    namespaces: ["net", "pid"],
    map: a.map,
    beforeExec: async (pid) => {
      net = await startPodNetwork(pid, {
        network: a.helper,
        publish: [{ hostPort, port: 80 }],
      }, { dir, name: "p" });
    },
  }).spawn();
  await holder.ready;
  const parent = parentOf(net!.pid);
  const got = await fetchFrom(hostPort);
  const files = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  if (a.keep) return { net: net!, dir, got, parent, files, deno: Deno.pid };
  const stopped = await stopPodNetwork(net!, { dir, name: "p" });
  holder.kill("SIGKILL");
  await holder.status;
  const after = [...Deno.readDirSync(dir)].map((e) => e.name);
  await Deno.remove(dir, { recursive: true });
  return {
    net: net!,
    got,
    parent,
    files,
    deno: Deno.pid,
    stopped,
    running: running(net!.pid),
    after,
  };
}

/** Ends a pod's network by what its record keeps; says whether it is gone. */
async function podStop(
  a: { net: PodNetwork; dir: string; linkOnly?: boolean },
) {
  const at = { dir: a.dir, name: "p" };
  let stopped: boolean;
  if (a.linkOnly) {
    await Deno.remove(podNetworkFiles(at).link);
    stopped = (await gone([a.net.pid])).length === 0;
  } else {
    stopped = await stopPodNetwork(a.net, at);
  }
  const after = [...Deno.readDirSync(a.dir)].map((e) => e.name);
  await Deno.remove(a.dir, { recursive: true });
  return { stopped, alive: podNetworkAlive(a.net), after };
}

function parentOf(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

/** The scenarios, by name. */
export const SCENARIOS = {
  publish,
  hostLoopback,
  resolv,
  portTaken,
  tun,
  hold,
  missing,
  sharedNamespace,
  pod,
  podStop,
};

/** A scenario's name. */
export type ScenarioName = keyof typeof SCENARIOS;

if (import.meta.main) {
  const [name, args] = Deno.args as [ScenarioName, string];
  const result = await SCENARIOS[name](JSON.parse(args));
  console.log(JSON.stringify(result));
  Deno.exit(0); // a kept pod's holder dies with this process; its network does not
}
