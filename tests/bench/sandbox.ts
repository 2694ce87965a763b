// Issue 17's benchmark: a sandboxed spawn against bwrap's equivalent line,
// and the CLI's `run --sandbox` against its plain `run`, in shuffled rounds
// (ratios are medians of per-round ratios). `sandboxRows()` returns rows in
// the shape of bench.ts's table; run alone, this file prints them:
//
//   deno run -A tests/bench/sandbox.ts [ROUNDS] [CLI_ROUNDS]
//
// Run it as the unprivileged user that matters, from a working directory
// outside /tmp (the sandbox binds it). `srt` (npm
// @anthropic-ai/sandbox-runtime, which wraps bwrap; needs ripgrep and socat)
// is a third column where it is on PATH or named by SRT: information only.
import { UsernsCommand } from "../../lib/mod.ts";
import { median, ms, paired, shuffledRounds, verdict } from "./_stats.ts";
import type { Row } from "./pods.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/**
 * The bwrap line that stands for `--sandbox` (the environment kept as
 * userns keeps it): host read-only, the working directory writable, fresh
 * /tmp /dev /proc, every namespace, no capabilities, a new session, death
 * with the parent. bwrap has no seccomp filter of its own by default.
 */
export function bwrapSandbox(cwd: string = Deno.cwd()): string[] {
  const env = Object.entries(Deno.env.toObject()).filter(([k]) =>
    ["PATH", "HOME", "USER", "LANG", "TERM"].includes(k) || k.startsWith("LC_")
  );
  return [
    "--unshare-all",
    "--ro-bind",
    "/",
    "/",
    ...(cwd === "/" ? [] : ["--bind", cwd, cwd]),
    "--tmpfs",
    "/tmp",
    "--dev",
    "/dev",
    "--proc",
    "/proc",
    "--new-session",
    "--die-with-parent",
    "--clearenv",
    ...env.flatMap(([k, v]) => ["--setenv", k, v]),
    "--cap-drop",
    "ALL",
    "--chdir",
    cwd,
    "--",
  ];
}

function onPath(name: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
    } catch {
      // not there
    }
  }
  return undefined;
}

/** `srt`, where it runs here: from SRT, else PATH. */
async function srt(): Promise<string | undefined> {
  const at = Deno.env.get("SRT") ?? onPath("srt");
  if (!at) return undefined;
  const out = await new Deno.Command(at, { args: ["true"], stdin: "null" })
    .output().catch(() => undefined);
  return out?.success ? at : undefined;
}

async function ok(
  p: Promise<{ code: number; stderr: Uint8Array }>,
  what: string,
): Promise<void> {
  const out = await p;
  if (out.code !== 0) {
    throw new Error(`${what} exited ${out.code}: ${text(out.stderr)}`);
  }
}

/**
 * Measures, in shuffled rounds: the library's `sandbox: true` spawn of
 * `true` against `Deno.Command` spawning bwrap's equivalent line (target
 * <= 1.0x), and `userns run --sandbox -- true` against `userns run -- true`
 * (target <= 1.15x), with bwrap and srt as whole commands beside.
 *
 * @param rounds timed rounds of the library group
 * @param cliRounds timed rounds of the CLI group
 * @returns the rows, as bench.ts prints them
 */
export async function sandboxRows(
  rounds = 200,
  cliRounds = 40,
): Promise<Row[]> {
  const rows: Row[] = [];
  const bwrap = [...bwrapSandbox(), "true"];
  const lib =
    `library, warm, sequential, ${rounds} shuffled rounds (median of per-round ratios)`;
  const [mine, theirs, plain] = await shuffledRounds(rounds, [
    () => ok(new UsernsCommand("true", { sandbox: true }).output(), "userns"),
    () => ok(new Deno.Command("bwrap", { args: bwrap }).output(), "bwrap"),
    () => ok(new UsernsCommand("true").output(), "userns plain"),
  ]) as [number[], number[], number[]];
  const r = paired(mine, theirs);
  rows.push([
    lib,
    `UsernsCommand("true", { sandbox: true }).output()`,
    ms(median(mine)),
    `Deno.Command(bwrap --unshare-all --ro-bind / / ... --cap-drop ALL true) ${
      ms(median(theirs))
    }`,
    `${r.toFixed(2)}x`,
    `<= 1.0x: ${verdict(r <= 1.0)}`,
  ]);
  rows.push([
    lib,
    `UsernsCommand("true").output(), no sandbox`,
    ms(median(plain)),
    "",
    `${paired(mine, plain).toFixed(2)}x (sandbox / plain)`,
    "reference",
  ]);
  const main = `${ROOT}main.ts`;
  const cli = (args: string[]) => () =>
    ok(
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", main, "run", ...args, "--", "true"],
        stdin: "null",
      }).output(),
      `userns run ${args.join(" ")}`,
    );
  const srtAt = await srt();
  const runs = [
    cli(["--sandbox"]),
    cli([]),
    () => ok(new Deno.Command("bwrap", { args: bwrap }).output(), "bwrap"),
    ...srtAt
      ? [() =>
        ok(
          new Deno.Command(srtAt, { args: ["true"], stdin: "null" }).output(),
          "srt",
        )]
      : [],
  ];
  const t = await shuffledRounds(cliRounds, runs);
  const g =
    `CLI, whole process, ${cliRounds} shuffled rounds (median of per-round ratios)`;
  const c = paired(t[0]!, t[1]!);
  rows.push([
    g,
    "userns run --sandbox -- true",
    ms(median(t[0]!)),
    `userns run -- true ${ms(median(t[1]!))}`,
    `${c.toFixed(2)}x`,
    `<= 1.15x: ${verdict(c <= 1.15)}`,
  ]);
  rows.push([
    g,
    "userns run --sandbox -- true",
    ms(median(t[0]!)),
    `bwrap (the same line) ${ms(median(t[2]!))}`,
    `${paired(t[0]!, t[2]!).toFixed(2)}x`,
    "whole processes: a deno start-up against a C program",
  ]);
  rows.push([
    g,
    "userns run --sandbox -- true",
    ms(median(t[0]!)),
    srtAt ? `srt true ${ms(median(t[3]!))}` : "srt: not installed here",
    srtAt ? `${paired(t[0]!, t[3]!).toFixed(2)}x` : "",
    "information only (npm @anthropic-ai/sandbox-runtime)",
  ]);
  return rows;
}

if (import.meta.main) {
  const rows = await sandboxRows(
    Number(Deno.args[0] ?? 200),
    Number(Deno.args[1] ?? 40),
  );
  console.log("| group | what | median | vs | ratio | target |");
  console.log("|---|---|---|---|---|---|");
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
}
