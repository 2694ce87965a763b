/**
 * What the sandbox tests run: `_seccomp_loader.c` (c/filter.c's functions
 * around an execve, compiled with them) and `_seccomp_probe.c` (tries what
 * a sandbox must refuse), built once per test process with `cc` into a
 * temp dir anyone may read, and run inside a real user namespace
 * (`unshare -r`, or the loader's own `-u UID`). No spawn path of userns is
 * involved.
 */
import type { SeccompFilter } from "../../lib/sandbox/seccomp.ts";

/** The repository root, with a trailing slash. */
export const ROOT = new URL("../..", import.meta.url).pathname;

/** What a run printed and how it ended. */
export interface Ran {
  code: number;
  signal: Deno.Signal | null;
  stdout: string;
  stderr: string;
}

/** Runs argv, collecting its output. */
export async function run(argv: string[]): Promise<Ran> {
  const out = await new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    stdin: "null",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return {
    code: out.code,
    signal: out.signal,
    stdout: text(out.stdout),
    stderr: text(out.stderr),
  };
}

const CFLAGS = [
  "-std=c11",
  "-D_GNU_SOURCE",
  "-O2",
  "-Wall",
  "-Wextra",
  "-Werror",
  "-fno-stack-protector",
];

/** The built programs. */
export interface Tools {
  loader: string;
  probe: string;
  dir: string;
}

async function cc(args: string[]): Promise<Ran> {
  try {
    // Static where libc.a is installed: runs the same under any user.
    const r = await run(["cc", ...CFLAGS, "-static", ...args]);
    return r.code === 0 ? r : await run(["cc", ...CFLAGS, ...args]);
  } catch (e) {
    return { code: 127, signal: null, stdout: "", stderr: String(e) };
  }
}

async function build(): Promise<Tools | string> {
  const dir = await Deno.makeTempDir({ prefix: "userns-filter-" });
  globalThis.addEventListener("unload", () => {
    Deno.removeSync(dir, { recursive: true });
  });
  await Deno.chmod(dir, 0o755);
  const t = { loader: `${dir}/loader`, probe: `${dir}/probe`, dir };
  const c = `${ROOT}c`, it = `${ROOT}tests/integration`;
  for (
    const args of [
      [`-I${c}`, `${c}/filter.c`, `${it}/_seccomp_loader.c`, "-o", t.loader],
      [`${it}/_seccomp_probe.c`, "-o", t.probe],
    ]
  ) {
    const r = await cc(args);
    if (r.code !== 0) return `cc failed: ${r.stderr.split("\n")[0]}`;
  }
  const u = await run(["unshare", "-r", "true"]).catch((e) => ({
    code: 127,
    stderr: String(e),
  }));
  if (u.code !== 0) return `unshare -r does not work: ${u.stderr.trim()}`;
  return t;
}

const built = await build();

/** Why the tools cannot run here, or undefined. */
export const toolsReason: string | undefined = typeof built === "string"
  ? built
  : undefined;

/** The built tools (only when {@link toolsReason} is undefined). */
export const tools = built as Tools;

let n = 0;

/**
 * Writes each program of a filter to its own file.
 *
 * @returns the loader's arguments: `-f FILE` per program
 */
export function filterArgs(filter: SeccompFilter | undefined): string[] {
  if (!filter) return [];
  const args: string[] = [];
  let at = 0;
  for (const len of filter.lengths) {
    const path = `${tools.dir}/prog${n++}.bpf`;
    Deno.writeFileSync(path, filter.bytes.subarray(at * 8, (at + len) * 8), {
      mode: 0o644,
    });
    args.push("-f", path);
    at += len;
  }
  return args;
}

/** The loader's `-c` argument for a capability mask. */
export const capArgs = (keep: bigint): string[] => ["-c", keep.toString(16)];

/** The five capability sets and the seccomp lines of /proc/self/status. */
export function statusOf(text: string): Record<string, string> {
  return Object.fromEntries(
    text.split("\n")
      .filter((l) => /^(Cap|Seccomp|NoNewPrivs)/.test(l))
      .map((l) => l.split(/:\s*/) as [string, string]),
  );
}

/** The probe's lines as name -> "ok" or errno name. */
export function probed(stdout: string): Record<string, string> {
  return Object.fromEntries(
    stdout.trim().split("\n").filter((l) => l).map((l) =>
      l.split(" ") as [string, string]
    ),
  );
}

/** Registers a test that needs the tools (and names why not). */
export function filterTest(
  name: string,
  fn: (t: Deno.TestContext) => Promise<void> | void,
  needs?: string,
): void {
  const why = toolsReason ?? needs;
  Deno.test({ name, ignore: why !== undefined, fn });
  if (why) console.error(`ignored "${name}": ${why}`);
}
