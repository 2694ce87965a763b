/**
 * The CLI as a user runs it, for the end-to-end tests of `--sandbox` and
 * `--network` (`sandbox_cli_test.ts`, `net_cli_test.ts`): `userns` and the
 * peers (bwrap, podman) run as the caller and, from a root run, as the test
 * user, each in a place of its own outside /tmp and outside any real home:
 *
 *     /var/tmp/userns-cli-XXXX/   (0755, owned by who runs)
 *       home/        HOME, with .ssh/id_test to hide
 *       work/        the working directory
 *       extra/       a directory to --bind
 *       bin/probe    _seccomp_probe.c, built static
 *
 * A helper module: it registers no test.
 */
import { MAIN, PRIVILEGED, ROOT, text } from "./_env.ts";
import { asUser, type Output, testUser, userMain } from "./_user.ts";
import type { Who } from "./_net_runner.ts";

export type { Who };

/** Where one user's run happens. */
export interface Place {
  /** The directory holding the rest. */
  base: string;
  /** HOME inside. */
  home: string;
  /** The working directory. */
  work: string;
  /** A directory to bind writable. */
  extra: string;
  /** The static probe (`_seccomp_probe.c`). */
  probe: string;
  /** The real home of who runs: its caches (deno's, userns's) are there. */
  realHome: string;
}

/** The uid and gid of who runs. */
function ids(who: Who): [number, number] {
  if (who === "user") return [testUser!.uid, testUser!.gid];
  return [Deno.uid()!, Deno.gid()!];
}

let probeBuilt: string | undefined;

/** Builds the probe once, static where libc.a is installed. */
async function buildProbe(dir: string): Promise<string> {
  const out = `${dir}/probe`;
  const args = [
    "-std=c11",
    "-D_GNU_SOURCE",
    "-O2",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-fno-stack-protector",
    `${ROOT}tests/integration/_seccomp_probe.c`,
    "-o",
    out,
  ];
  for (const extra of [["-static"], []]) {
    const r = await new Deno.Command("cc", {
      args: [...extra, ...args],
      stdin: "null",
    }).output();
    if (r.success) return out;
    if (extra.length === 0) throw new Error(`cc: ${text(r.stderr)}`);
  }
  return out;
}

/**
 * Makes a place for `who`: owned by it, removed when this process ends.
 *
 * @param who who runs there
 * @returns the place
 */
export async function makePlace(who: Who): Promise<Place> {
  const base = await Deno.makeTempDir({
    dir: "/var/tmp",
    prefix: "userns-cli-",
  });
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(base, { recursive: true });
    } catch {
      // files made inside by a mapped id: left for /var/tmp's cleaning
    }
  });
  const p: Place = {
    base,
    home: `${base}/home`,
    work: `${base}/work`,
    extra: `${base}/extra`,
    probe: `${base}/bin/probe`,
    realHome: who === "user"
      ? testUser!.home
      : Deno.env.get("HOME") ?? testUser?.home ?? "/",
  };
  for (const d of [p.home, `${p.home}/.ssh`, p.work, p.extra, `${base}/bin`]) {
    await Deno.mkdir(d, { recursive: true });
  }
  await Deno.writeTextFile(`${p.home}/.ssh/id_test`, "secret\n");
  await Deno.chmod(`${p.home}/.ssh`, 0o700);
  probeBuilt ??= await buildProbe(`${base}/bin`);
  if (probeBuilt !== p.probe) await Deno.copyFile(probeBuilt, p.probe);
  await Deno.chmod(p.probe, 0o755);
  await Deno.chmod(base, 0o755);
  const [uid, gid] = ids(who);
  if (PRIVILEGED) {
    const r = await new Deno.Command("chown", {
      args: ["-R", `${uid}:${gid}`, base],
    }).output();
    if (!r.success) throw new Error(`chown: ${text(r.stderr)}`);
  }
  return p;
}

/** How to run one command. */
export interface RunOpts {
  /** The working directory (default: the place's work). */
  cwd?: string;
  /** The environment besides PATH, NO_COLOR and DENO_NO_UPDATE_CHECK. */
  env?: Record<string, string>;
  /** As root, a prefix run as root before the rest (see `asUser`). */
  wrap?: string[];
  /** Killed after this long (default 120 s). */
  timeoutMs?: number;
}

/**
 * The whole environment a command gets: PATH, NO_COLOR,
 * DENO_NO_UPDATE_CHECK, the caches of who runs (so that HOME may be the
 * place's), then `env`.
 */
export function baseEnv(
  p: Place,
  env: Record<string, string> = {},
): Record<string, string> {
  return {
    PATH: Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin",
    NO_COLOR: "1",
    DENO_NO_UPDATE_CHECK: "1",
    DENO_DIR: Deno.env.get("DENO_DIR") ?? `${p.realHome}/.cache/deno`,
    XDG_CACHE_HOME: `${p.realHome}/.cache`,
    HOME: p.home,
    ...env,
  };
}

/**
 * Spawns argv as `who` in the place, with exactly {@link baseEnv}.
 *
 * @returns the child, its stdout and stderr piped
 */
export function spawnAs(
  who: Who,
  p: Place,
  argv: string[],
  o: RunOpts = {},
): Deno.ChildProcess {
  const env = baseEnv(p, o.env);
  let cmd = argv;
  if (who === "user") cmd = asUser(argv, env, o.wrap ?? []).argv;
  else if (o.wrap?.length) cmd = [...o.wrap, ...argv];
  return new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    cwd: o.cwd ?? p.work,
    clearEnv: true,
    env: who === "user" && PRIVILEGED ? {} : env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/**
 * Runs argv as `who` in the place; killed after `timeoutMs`.
 *
 * @returns its exit code and output
 */
export async function runIn(
  who: Who,
  p: Place,
  argv: string[],
  o: RunOpts = {},
): Promise<Output> {
  const child = spawnAs(who, p, argv, o);
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // ended meanwhile
    }
  }, o.timeoutMs ?? 120_000);
  try {
    const out = await child.output();
    return {
      code: out.code,
      stdout: text(out.stdout),
      stderr: text(out.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** The CLI's argv for `who`: `deno run -A main.ts ARGS` (a readable copy
 * for the test user). */
export function cliArgv(who: Who, args: string[]): string[] {
  return [
    Deno.execPath(),
    "run",
    "-A",
    who === "user" ? userMain() : MAIN,
    ...args,
  ];
}

/**
 * Runs `userns ARGS` as `who` in the place.
 *
 * @returns its exit code and output
 */
export function userns(
  who: Who,
  p: Place,
  args: string[],
  o: RunOpts = {},
): Promise<Output> {
  return runIn(who, p, cliArgv(who, args), o);
}

/** The lines `KEY VALUE...` of a probe's output, as KEY -> VALUE. */
export function keyed(stdout: string): Record<string, string> {
  const r: Record<string, string> = {};
  for (const line of stdout.split("\n")) {
    const m = /^(\S+)\s*(.*)$/.exec(line);
    if (m) r[m[1]!] = m[2]!;
  }
  return r;
}

/** Asserts-free one-line check of a userns error: one line, `userns: `. */
export function oneLine(stderr: string): boolean {
  return /^userns: [^\n]+\n$/.test(stderr);
}
