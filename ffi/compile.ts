/**
 * `deno task compile`: builds the native library and `deno compile`s
 * `dist/userns` with it inside. `deno compile` needs Deno's `denort`
 * runtime; this uses `DENORT_BIN` and never tries a download.
 *
 * @module
 */
import { buildLibrary, readSources } from "./build.ts";

/** The permissions the compiled binary runs with (see the README). */
export const BINARY_PERMISSIONS: readonly string[] = [
  "--allow-ffi",
  "--allow-run=newuidmap,newgidmap",
  "--allow-read",
  "--allow-env",
  "--allow-write",
];

/**
 * Why `DENORT_BIN` cannot be used, or undefined when it can.
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
    if (st.isFile && ((st.mode ?? 0) & 0o111) !== 0) return undefined;
    return `DENORT_BIN=${denort} is not an executable file; ${how}`;
  } catch {
    return `DENORT_BIN=${denort} does not exist; ${how}`;
  }
}

if (import.meta.main) {
  const root = new URL("..", import.meta.url).pathname;
  const problem = denortProblem(Deno.env.get("DENORT_BIN"));
  if (problem) {
    console.error(`userns: cannot compile dist/userns: ${problem}`);
    Deno.exit(1);
  }
  Deno.mkdirSync(`${root}build`, { recursive: true });
  buildLibrary(readSources(`${root}c`), `${root}build/libuserns.so`);
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "compile",
      ...BINARY_PERMISSIONS,
      "--include",
      `${root}build/libuserns.so`,
      "--output",
      `${root}dist/userns`,
      `${root}main.ts`,
    ],
  }).output();
  Deno.exit(out.code);
}
