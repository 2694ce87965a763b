/**
 * `deno task compile`: builds the native library and `deno compile`s
 * `dist/userns` with it inside. `deno compile` needs Deno's `denort`
 * runtime; this uses `DENORT_BIN` and never tries a download.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { buildLibrary } from "./build.ts";
import { readSources } from "./gen.ts";

/** The permissions the compiled binary runs with (see the README). */
export const BINARY_PERMISSIONS: readonly string[] = [
  "--allow-ffi",
  "--allow-run=newuidmap,newgidmap",
  "--allow-read",
  "--allow-env",
  "--allow-write",
];

/**
 * Text that only the full `deno` CLI carries: the help of its `compile`
 * subcommand. denort is the runtime without the CLI's subcommands, so a
 * binary that holds this is `deno` itself, and `deno compile` on it writes
 * an executable that is just deno.
 */
const CLI_ONLY = "Compile the script into a self contained executable";

/**
 * Why `DENORT_BIN` cannot be used, or undefined when it can: it must be an
 * executable file and not the full `deno` CLI.
 *
 * @param denort the value of `DENORT_BIN`
 * @returns a one-line reason with what to do
 */
export function denortProblem(denort: string | undefined): string | undefined {
  const how =
    "get denort for Deno 2.9.6 (the denort-<target>.zip of Deno's release) " +
    "on a machine that can download it, unzip it, and set DENORT_BIN=/path/to/denort";
  if (!denort) {
    return `DENORT_BIN is not set: deno compile needs the denort runtime; ${how}`;
  }
  try {
    const st = Deno.statSync(denort);
    if (!st.isFile || ((st.mode ?? 0) & 0o111) === 0) {
      return `DENORT_BIN=${denort} is not an executable file; ${how}`;
    }
  } catch {
    return `DENORT_BIN=${denort} does not exist; ${how}`;
  }
  if (contains(denort, CLI_ONLY)) {
    return `DENORT_BIN=${denort} is the deno CLI, not denort (it has the CLI's subcommands), and dist/userns would be just deno; ${how}`;
  }
  return undefined;
}

/** Whether the file holds `text`, read in chunks (deno is ~100 MB). */
function contains(path: string, text: string): boolean {
  const needle = Buffer.from(text);
  const buf = Buffer.alloc(8 << 20);
  using file = Deno.openSync(path);
  for (let kept = 0;;) {
    const n = file.readSync(buf.subarray(kept));
    if (n === null) return false;
    const end = kept + n;
    if (buf.subarray(0, end).indexOf(needle) >= 0) return true;
    kept = Math.min(needle.length - 1, end);
    buf.copyWithin(0, end - kept, end);
  }
}

/**
 * Builds the native library and `deno compile`s `dist/userns` with it
 * inside, on the runtime `denort` (not checked here: see
 * {@link denortProblem}).
 *
 * @param root the checkout, with a trailing slash
 * @param denort the runtime for `deno compile` (`DENORT_BIN`)
 * @returns the output of `deno compile`
 */
export async function compileBinary(
  root: string,
  denort: string,
): Promise<Deno.CommandOutput> {
  Deno.mkdirSync(`${root}build`, { recursive: true });
  buildLibrary(readSources(`${root}c`), `${root}build/libuserns.so`);
  return await new Deno.Command(Deno.execPath(), {
    args: [
      "compile",
      ...BINARY_PERMISSIONS,
      "--include",
      `${root}build/libuserns.so`,
      "--output",
      `${root}dist/userns`,
      `${root}main.ts`,
    ],
    env: { DENORT_BIN: denort },
    stdin: "null",
  }).output();
}

if (import.meta.main) {
  const denort = Deno.env.get("DENORT_BIN");
  const problem = denortProblem(denort);
  if (problem) {
    console.error(`userns: cannot compile dist/userns: ${problem}`);
    Deno.exit(1);
  }
  const root = new URL("..", import.meta.url).pathname;
  const out = await compileBinary(root, denort!);
  Deno.stderr.writeSync(out.stderr);
  Deno.exit(out.code);
}
