/**
 * Issue 18 end to end: `userns run --network pasta|slirp4netns` and `userns
 * start --network ... -p` through the real CLI, as the caller and, from a
 * root run, as the unprivileged test user; side by side with rootless
 * `podman run --network slirp4netns -p` (podman 4.3 has no pasta).
 *
 * Only 127.0.0.1 is contacted, and the gateway only where it is mapped to
 * the host's 127.0.0.1 (`--allow-host-loopback`) or inside a network
 * namespace the test made to play the host, where nothing leads off the
 * machine. "Closed by default" is shown by the helper's own arguments and
 * in that namespace; the resolver is read from the file, never asked.
 */
import assert from "node:assert/strict";
import { nsTest, PRIVILEGED } from "./_env.ts";
import { testUser, UNPRIVILEGED_REASON } from "./_user.ts";
import {
  brokenTun,
  fakeHost,
  HELPERS,
  needs,
  WHO,
  type Who,
} from "./_net_runner.ts";
import { freePort, gone, helpersOf, running } from "./_net_scenarios.ts";
import {
  cliArgv,
  makePlace,
  oneLine,
  type Place,
  spawnAs,
  userns,
} from "./_cli_as.ts";
import { containerReason } from "./_image.ts";
import { buildBusyboxImage } from "./_image.ts";
import { Sandbox } from "./_sandbox.ts";
import { findOnPath } from "../../lib/system/path_search.ts";

type Helper = (typeof HELPERS)[number];

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
const text = (b: Uint8Array) => new TextDecoder().decode(b);

const places = new Map<Who, Promise<Place>>();
const placeOf = (who: Who) => {
  if (!places.has(who)) places.set(who, makePlace(who));
  return places.get(who)!;
};

const UNPRIV = PRIVILEGED ? UNPRIVILEGED_REASON : undefined;

/** One test per helper and per user. */
function netCliTest(
  name: string,
  fn: (helper: Helper, who: Who) => Promise<void>,
  also?: string,
): void {
  for (const helper of HELPERS) {
    for (const who of WHO) {
      nsTest(
        `userns run --network ${helper}, as ${
          who === "user" ? "the test user" : "the caller"
        }: ${name}`,
        () => fn(helper, who),
        UNPRIV ?? needs(helper) ?? also,
      );
    }
  }
}

/** The addresses listening on TCP `port` in this network namespace. */
function listening(port: number): string[] {
  const found: string[] = [];
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let lines: string[];
    try {
      lines = Deno.readTextFileSync(file).trim().split("\n").slice(1);
    } catch {
      continue;
    }
    for (const l of lines) {
      const [, local, , st] = l.trim().split(/\s+/);
      const [addr, p] = local!.split(":");
      if (p !== hex || st !== "0A") continue;
      found.push(
        addr!.length === 8
          ? addr!.match(/../g)!.reverse().map((h) => parseInt(h, 16)).join(".")
          : addr === "0".repeat(32)
          ? "::"
          : addr!,
      );
    }
  }
  return found.sort();
}

/** Waits until `port` has a listener here; returns the addresses. */
async function listeningSoon(port: number, ms = 15_000): Promise<string[]> {
  for (let t = 0; t < ms; t += 50) {
    const l = listening(port);
    if (l.length) return l;
    await delay(50);
  }
  return [];
}

/** Reads what 127.0.0.1:port sends (after `send`), retrying until something comes. */
async function fetchFrom(
  port: number,
  send = "",
  ms = 15_000,
): Promise<string> {
  for (let t = 0; t < ms; t += 100) {
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      if (send) await c.write(new TextEncoder().encode(send));
      const got = text(await new Response(c.readable).bytes());
      if (got) return got;
    } catch {
      // not listening yet
    }
    await delay(100);
  }
  return "";
}

/** Waits for a pid file; returns its pid. */
async function pidFrom(file: string, ms = 15_000): Promise<number> {
  for (let t = 0; t < ms; t += 20) {
    try {
      const pid = Number(Deno.readTextFileSync(file).trim());
      if (pid > 0) return pid;
    } catch {
      // not yet
    }
    await delay(20);
  }
  throw new Error(`no pid in ${file}`);
}

function parentOf(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

/** The command lines of the helpers attached to `pid` (setpriv, pasta, slirp4netns). */
function helperLines(pid: number): string[] {
  return helpersOf(pid).map((h) => {
    try {
      return Deno.readTextFileSync(`/proc/${h}/cmdline`).split("\0").join(" ");
    } catch {
      return "";
    }
  });
}

/** The helper processes whose command line holds `needle`. */
function helpersWith(needle: string): number[] {
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
    if (!/^(pasta|passt|slirp4netns)/.test(prog)) continue;
    if (argv.some((a) => a.includes(needle)) && running(Number(e.name))) {
      found.push(Number(e.name));
    }
  }
  return found;
}

/** A command that runs until {@link stop} makes its file (killing the
 * test user's runuser would leave userns running). */
function waiter(p: Place, name: string): string[] {
  const file = `${p.base}/stop-${name}`;
  try {
    Deno.removeSync(file);
  } catch {
    // none
  }
  return ["sh", "-c", 'while [ ! -e "$0" ]; do sleep 0.05; done', file];
}

/** Ends a {@link waiter}, and waits for the run. */
async function stop(
  p: Place,
  name: string,
  child: Deno.ChildProcess,
): Promise<Deno.CommandOutput> {
  Deno.writeTextFileSync(`${p.base}/stop-${name}`, "");
  return await child.output();
}

/** The resolver each helper's namespace is given. */
const RESOLVER = { pasta: "169.254.0.1", slirp4netns: "10.0.2.3" };

netCliTest(
  "a server inside answers on the published 127.0.0.1 port; the helper ends with the run",
  async (helper, who) => {
    const p = await placeOf(who);
    const hostPort = freePort();
    const pidFile = `${p.base}/pid-${helper}`;
    await Deno.remove(pidFile).catch(() => {});
    const child = spawnAs(
      who,
      p,
      cliArgv(who, [
        "run",
        "--network",
        helper,
        "-p",
        `${hostPort}:8080`,
        "--pid-file",
        pidFile,
        "--",
        "sh",
        "-c",
        "echo hello-inside | busybox nc -l -p 8080",
      ]),
    );
    const out = child.output();
    try {
      const pid = await pidFrom(pidFile);
      const helpers = helpersOf(pid);
      assert.ok(helpers.length > 0, "no helper attached to the namespace");
      // -p without an address: 127.0.0.1 only, never the network.
      assert.deepEqual(await listeningSoon(hostPort), ["127.0.0.1"]);
      assert.equal(await fetchFrom(hostPort), "hello-inside\n");
      const o = await out;
      assert.equal(o.code, 0, text(o.stderr));
      assert.deepEqual(await gone(helpers, 5000), [], "helper left after run");
      assert.deepEqual(listening(hostPort), []);
    } finally {
      try {
        child.kill("SIGKILL");
      } catch {
        // ended
      }
      await out;
    }
  },
);

netCliTest(
  "-p 0.0.0.0:HOSTPORT:PORT listens on every address, as written",
  async (helper, who) => {
    const p = await placeOf(who);
    const hostPort = freePort();
    const child = spawnAs(
      who,
      p,
      cliArgv(who, [
        "run",
        "--network",
        helper,
        "-p",
        `0.0.0.0:${hostPort}:8080`,
        "--",
        ...waiter(p, `any-${helper}`),
      ]),
    );
    try {
      const l = await listeningSoon(hostPort);
      assert.ok(l.includes("0.0.0.0"), `listening on ${l}`);
      assert.ok(!l.includes("127.0.0.1"), `listening on ${l}`);
    } finally {
      const o = await stop(p, `any-${helper}`, child);
      assert.equal(o.code, 0, text(o.stderr));
    }
  },
);

netCliTest(
  "the host's loopback: closed by the helper's arguments unless --allow-host-loopback",
  async (helper, who) => {
    const p = await placeOf(who);
    const closing = helper === "pasta"
      ? "--no-map-gw"
      : "--disable-host-loopback";
    for (const allow of [false, true]) {
      const pidFile = `${p.base}/pid-lo-${helper}-${allow}`;
      await Deno.remove(pidFile).catch(() => {});
      const child = spawnAs(
        who,
        p,
        cliArgv(who, [
          "run",
          "--network",
          helper,
          ...(allow ? ["--allow-host-loopback"] : []),
          "--pid-file",
          pidFile,
          "--",
          ...waiter(p, `lo-${helper}`),
        ]),
      );
      try {
        const pid = await pidFrom(pidFile);
        let lines: string[] = [];
        for (
          let t = 0;
          t < 100 && !lines.some((l) => /pasta|slirp/.test(l));
          t++
        ) {
          lines = helperLines(pid);
          await delay(50);
        }
        const line = lines.find((l) =>
          /pasta|slirp4netns/.test(l.split(" ")[0]!)
        ) ??
          lines.join("\n");
        assert.equal(line.split(" ").includes(closing), !allow, line);
        if (helper === "pasta") {
          // Nor through the namespace's own 127.0.0.1 (-T none).
          assert.match(line, / -T none /);
        }
      } finally {
        await stop(p, `lo-${helper}`, child);
      }
    }
  },
);

/** A server on 127.0.0.1:port that says hello-host (as `deno eval` code). */
const SERVER = (port: number) =>
  `const l = Deno.listen({ hostname: "127.0.0.1", port: ${port} });
for await (const c of l) {
  await c.write(new TextEncoder().encode("hello-host\\n")).catch(() => {});
  setTimeout(() => c.close(), 300);
}`;

/** As root: the host's server in the fake host, on its 127.0.0.1. */
function fakeHostWith(port: number): { wrap: string[]; map?: "root" } {
  const { wrap, map } = fakeHost();
  // fakeHost's script ends in `exec "$@"`: run a server first, and end
  // it after the command.
  const i = wrap.indexOf("sh");
  const script = wrap[i + 2]!.replace(
    'exec "$@"',
    `${Deno.execPath()} eval '${SERVER(port)}' &
s=$!
i=0
until [ "$(busybox nc 127.0.0.1 ${port} </dev/null)" = hello-host ]; do
  i=$((i+1)); [ $i -lt 200 ] || exit 99; sleep 0.05
done
"$@"; r=$?
kill $s
exit $r`,
  );
  return { wrap: [...wrap.slice(0, i + 2), script, ...wrap.slice(i + 3)], map };
}

const TRY_GATEWAY = (port: number) =>
  `gw=$(ip route | awk '/^default/ {print $3; exit}')
echo "gw $gw"
echo "via-gateway $(timeout 4 busybox nc -w 3 "$gw" ${port} </dev/null 2>/dev/null | head -n 1)"
echo "via-loopback $(timeout 4 busybox nc -w 3 127.0.0.1 ${port} </dev/null 2>/dev/null | head -n 1)"`;

netCliTest(
  "in a network namespace playing the host: its 127.0.0.1 closed by default, open with --allow-host-loopback",
  async (helper, who) => {
    const p = await placeOf(who);
    const port = 18000 + Math.floor(Math.random() * 1000);
    const { wrap, map } = fakeHostWith(port);
    const got: Record<string, string>[] = [];
    for (const allow of [false, true]) {
      const out = await userns(who, p, [
        "run",
        ...(map ? ["--map", map] : []),
        "--network",
        helper,
        ...(allow ? ["--allow-host-loopback"] : []),
        "--",
        "sh",
        "-c",
        TRY_GATEWAY(port),
      ], { wrap });
      assert.equal(out.code, 0, out.stderr);
      got.push(Object.fromEntries(
        out.stdout.trim().split("\n").map((l) => {
          const [k, ...v] = l.split(" ");
          return [k!, v.join(" ")];
        }),
      ));
    }
    const gw = helper === "pasta" ? "198.51.100.1" : "10.0.2.2";
    assert.deepEqual(got, [
      { gw, "via-gateway": "", "via-loopback": "" },
      { gw, "via-gateway": "hello-host", "via-loopback": "" },
    ]);
  },
  findOnPath("busybox", Deno.env.get("PATH") ?? "")
    ? undefined
    : "no busybox (apt-get install busybox-static)",
);

netCliTest(
  "--allow-host-loopback: the host's 127.0.0.1 server answers through the gateway",
  async (helper, who) => {
    const p = await placeOf(who);
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    (async () => {
      for await (const c of l) {
        await c.write(new TextEncoder().encode("hello-host\n")).catch(() => {});
        setTimeout(() => c.close(), 300);
      }
    })().catch(() => {});
    try {
      const out = await userns(who, p, [
        "run",
        "--network",
        helper,
        "--allow-host-loopback",
        "--",
        "sh",
        "-c",
        TRY_GATEWAY(port),
      ]);
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stdout, /\nvia-gateway hello-host\nvia-loopback \n$/);
    } finally {
      l.close();
    }
  },
);

netCliTest(
  "/etc/resolv.conf inside names the helper's resolver (read, never asked)",
  async (helper, who) => {
    const p = await placeOf(who);
    const host = Deno.readTextFileSync("/etc/resolv.conf");
    for (const extra of [[], ["--sandbox"]]) {
      const out = await userns(who, p, [
        "run",
        ...extra,
        "--network",
        helper,
        "--",
        "cat",
        "/etc/resolv.conf",
      ]);
      assert.equal(out.code, 0, out.stderr);
      const servers = out.stdout.split("\n").filter((l) =>
        l.startsWith("nameserver ")
      );
      assert.deepEqual(servers, [`nameserver ${RESOLVER[helper]}`], out.stdout);
    }
    assert.equal(Deno.readTextFileSync("/etc/resolv.conf"), host);
  },
);

netCliTest(
  "no helper is left after SIGKILL of userns",
  async (helper, who) => {
    const p = await placeOf(who);
    const pidFile = `${p.base}/pid-kill-${helper}`;
    await Deno.remove(pidFile).catch(() => {});
    const child = spawnAs(
      who,
      p,
      cliArgv(who, [
        "run",
        "--network",
        helper,
        "-p",
        `${freePort()}:8080`,
        "--pid-file",
        pidFile,
        "--",
        "sleep",
        "600",
      ]),
    );
    const out = child.output();
    const pid = await pidFrom(pidFile);
    let helpers: number[] = [];
    for (let t = 0; t < 100 && helpers.length === 0; t++) {
      helpers = helpersOf(pid);
      await delay(50);
    }
    assert.ok(helpers.length > 0, "no helper ran");
    const deno = parentOf(pid);
    assert.match(
      Deno.readTextFileSync(`/proc/${deno}/cmdline`),
      /main\.ts\0run\0/,
      "the init's parent is userns",
    );
    Deno.kill(deno, "SIGKILL");
    await out;
    assert.deepEqual(await gone([...helpers, pid], 5000), []);
    assert.deepEqual(helpersOf(pid), []);
  },
);

netCliTest(
  "a host port already taken: one line, exit 125, nothing left",
  async (helper, who) => {
    const p = await placeOf(who);
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const hostPort = (l.addr as Deno.NetAddr).port;
    try {
      const out = await userns(who, p, [
        "run",
        "--network",
        helper,
        "-p",
        `${hostPort}:8080`,
        "--",
        "sh",
        "-c",
        "echo ran",
      ]);
      assert.equal(out.code, 125, out.stderr);
      assert.equal(out.stdout, "");
      assert.ok(oneLine(out.stderr), out.stderr);
      assert.match(out.stderr, new RegExp(`${hostPort}.*already in use`));
      assert.deepEqual(await gone(helpersWith(`${hostPort}:8080`), 3000), []);
    } finally {
      l.close();
    }
  },
);

netCliTest(
  "an unusable /dev/net/tun: one line with the fix, exit 125",
  async (helper, who) => {
    const p = await placeOf(who);
    let file = "/dev/null";
    if (who === "user") {
      file = await Deno.makeTempFile({ dir: p.base, prefix: "tun-" });
      await Deno.chmod(file, 0o600);
    }
    const { wrap, map } = PRIVILEGED || who === "user"
      ? brokenTun(file)
      : brokenTun();
    const out = await userns(who, p, [
      "run",
      ...(map ? ["--map", map] : []),
      "--network",
      helper,
      "--",
      "sh",
      "-c",
      "echo ran",
    ], { wrap });
    assert.equal(out.code, 125, out.stderr);
    assert.equal(out.stdout, "");
    assert.ok(oneLine(out.stderr), out.stderr);
    assert.match(out.stderr, /\/dev\/net\/tun.*chmod 666 \/dev\/net\/tun/);
  },
);

netCliTest(
  "a missing helper (PATH without it): one line, exit 125",
  async (helper, who) => {
    const p = await placeOf(who);
    const bin = `${p.base}/nohelper`;
    await Deno.mkdir(bin).catch(() => {});
    for (const tool of ["newuidmap", "newgidmap", "sh"]) {
      const at = findOnPath(tool, Deno.env.get("PATH") ?? "");
      if (at) await Deno.symlink(at, `${bin}/${tool}`).catch(() => {});
    }
    const out = await userns(who, p, [
      "run",
      "--network",
      helper,
      "--",
      "sh",
      "-c",
      "echo ran",
    ], { env: { PATH: bin } });
    assert.equal(out.code, 125, out.stderr);
    assert.equal(out.stdout, "");
    assert.ok(oneLine(out.stderr), out.stderr);
    assert.match(
      out.stderr,
      helper === "pasta"
        ? /^userns: neither pasta nor slirp4netns found on PATH; install passt \(apt-get install passt\) or slirp4netns\n$/
        : /^userns: slirp4netns (is at \S+ but not on PATH .*; add \S+ to PATH|.*found on PATH.*install)/,
    );
  },
);

nsTest(
  "userns run: --allow-host-loopback and -p without a user-mode network, exit 125",
  async () => {
    const p = await placeOf(WHO.at(-1)!);
    for (
      const options of [
        ["--allow-host-loopback"],
        ["--network", "none", "--allow-host-loopback"],
        ["-p", "8080:80"],
        ["--network", "host", "-p", "8080:80"],
        ["--network", "pasta", "-p", "8080"],
        ["--network", "pasta", "-p", "8080:80/sctp"],
      ]
    ) {
      const out = await userns(WHO.at(-1)!, p, [
        "run",
        ...options,
        "--",
        "sh",
        "-c",
        "echo ran",
      ]);
      const what = `${options.join(" ")}: ${out.stderr}`;
      assert.equal(out.code, 125, what);
      assert.equal(out.stdout, "", what);
      assert.ok(oneLine(out.stderr), what);
    }
  },
  UNPRIV,
);

/** A pod's run dir for `who`: XDG_RUNTIME_DIR, 0700, its own. */
async function runDir(p: Place, who: Who): Promise<string> {
  const dir = `${p.base}/run`;
  await Deno.mkdir(dir, { mode: 0o700 }).catch(() => {});
  if (who === "user" && PRIVILEGED) {
    await Deno.chown(dir, testUser!.uid, testUser!.gid);
  }
  return dir;
}

netCliTest(
  "a pod started with --network and -p serves across separate calls; stop ends its helper",
  async (helper, who) => {
    const p = await placeOf(who);
    const env = { XDG_RUNTIME_DIR: await runDir(p, who) };
    const hostPort = freePort();
    const name = `net${helper[0]}${Deno.pid}`;
    const start = await userns(who, p, [
      "start",
      "--pid",
      "--network",
      helper,
      "-p",
      `${hostPort}:8080`,
      name,
    ], { env });
    assert.equal(start.code, 0, start.stderr);
    try {
      const helpers = helpersWith(env.XDG_RUNTIME_DIR).concat(
        helpersWith(`${hostPort}:8080`),
      );
      assert.ok(helpers.length > 0, "no helper for the pod");
      assert.deepEqual(await listeningSoon(hostPort), ["127.0.0.1"]);
      // A server started by one call, and left running in the pod.
      const serve = await userns(who, p, [
        "run",
        "--in",
        name,
        "--",
        "sh",
        "-c",
        "busybox nc -ll -p 8080 -e echo hello-pod </dev/null >/dev/null 2>&1 &",
      ], { env });
      assert.equal(serve.code, 0, serve.stderr);
      assert.equal(await fetchFrom(hostPort), "hello-pod\n");
      // Another call sees the same network.
      const resolv = await userns(who, p, [
        "run",
        "--in",
        name,
        "--",
        "cat",
        "/etc/resolv.conf",
      ], { env });
      assert.match(
        resolv.stdout,
        new RegExp(`^nameserver ${RESOLVER[helper]}$`, "m"),
      );
      const stop = await userns(who, p, ["stop", name], { env });
      assert.equal(stop.code, 0, stop.stderr);
      assert.deepEqual(await gone(helpers, 5000), [], "helper left after stop");
      assert.deepEqual(listening(hostPort), []);
    } finally {
      await userns(who, p, ["stop", name], { env });
    }
  },
);

for (const helper of HELPERS) {
  nsTest(
    `${helper}: podman run --network host in a pod started with --network ${helper} -p serves on the published port, across separate calls`,
    async () => {
      const sb = await Sandbox.create();
      const name = `netpm${helper[0]}${Deno.pid}`;
      try {
        const image = await buildBusyboxImage(sb);
        const hostPort = freePort();
        const start = await sb.userns([
          "start",
          "--pid",
          "--network",
          helper,
          "-p",
          `${hostPort}:8080`,
          name,
        ]);
        assert.equal(start.code, 0, start.stderr);
        const helpers = helpersWith(`${hostPort}:8080`).concat(
          helpersWith(sb.dir),
        );
        const run = await sb.userns([
          "run",
          "--in",
          name,
          "--",
          "podman",
          "--runtime",
          "runc",
          "run",
          "-d",
          "--name",
          "web",
          "--network",
          "host",
          image,
          "nc",
          "-ll",
          "-p",
          "8080",
          "-e",
          "echo",
          "hello-podman-in-pod",
        ]);
        assert.equal(run.code, 0, run.stderr);
        assert.equal(await fetchFrom(hostPort), "hello-podman-in-pod\n");
        assert.deepEqual(await listeningSoon(hostPort), ["127.0.0.1"]);
        const stop = await sb.userns(["stop", name]);
        assert.equal(stop.code, 0, stop.stderr);
        assert.deepEqual(await gone(helpers, 5000), []);
        assert.deepEqual(listening(hostPort), []);
      } finally {
        await sb.userns(["stop", name]);
        const problems = await sb.close();
        if (problems.length) console.error(problems.join("\n"));
      }
    },
    UNPRIV ?? needs(helper) ?? containerReason,
  );
}

/** The same container server behind podman's own user-mode network. */
const NC = ["nc", "-ll", "-p", "8080", "-e", "echo", "hello-container"];

nsTest(
  "side by side: podman run --network slirp4netns -p and userns run --network slirp4netns -p (podman --network host inside) serve alike",
  async () => {
    const sb = await Sandbox.create();
    try {
      const image = await buildBusyboxImage(sb);
      const podman = ["podman", "--runtime", "runc"];
      // Theirs: -p with an address (podman's default is 0.0.0.0).
      const theirPort = freePort();
      const theirs = await sb.run([
        ...podman,
        "run",
        "-d",
        "--network",
        "slirp4netns",
        "-p",
        `127.0.0.1:${theirPort}:8080`,
        image,
        ...NC,
      ]);
      assert.equal(theirs.code, 0, theirs.stderr);
      const id = theirs.stdout.trim();
      // Ours: -p without one (127.0.0.1 by default), the container on the
      // namespace's network.
      const ourPort = freePort();
      const run = sb.run([
        Deno.execPath(),
        "run",
        "-A",
        sb.main,
        "run",
        "--network",
        "slirp4netns",
        "-p",
        `${ourPort}:8080`,
        "--",
        "sh",
        "-c",
        `${podman.join(" ")} run -d --network host ${image} ${
          NC.join(" ")
        } >/dev/null
         while [ ! -e "$0" ]; do sleep 0.1; done
         ${podman.join(" ")} rm -f -t 0 --all >/dev/null`,
        `${sb.dir}/stop`,
      ]);
      try {
        const [a, b] = [
          await fetchFrom(theirPort),
          await fetchFrom(ourPort),
        ];
        assert.equal(a, "hello-container\n");
        assert.equal(b, a);
        assert.deepEqual(await listeningSoon(theirPort), ["127.0.0.1"]);
        assert.deepEqual(await listeningSoon(ourPort), ["127.0.0.1"]);
      } finally {
        await Deno.writeTextFile(`${sb.dir}/stop`, "");
        const r = await run;
        await sb.run([...podman, "rm", "-f", "-t", "0", id]);
        assert.equal(r.code, 0, r.stderr);
      }
    } finally {
      const problems = await sb.close();
      if (problems.length) console.error(problems.join("\n"));
    }
  },
  UNPRIV ?? needs("slirp4netns") ?? containerReason,
);
