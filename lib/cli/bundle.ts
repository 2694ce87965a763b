/**
 * The CLI bundled into one file (`build/cli.js`, made by `deno task
 * build`): loading it costs about what an empty `deno run` costs, where the
 * ~60 modules of the sources cost some 10 ms more. It is used only while it
 * is fresh: `build/cli.json` records the size and modification time of
 * every source it was made from, and a single change sends the CLI back to
 * its sources. This module imports nothing, so the check is all it costs;
 * it also holds what the launcher must know to fail on its own.
 *
 * @module
 */

/** Subcommands that run a command: their own failures exit 125, others' 2. */
export const RUNNERS: readonly string[] = [
  "run",
  "enter",
  "start",
  "stop",
  "ls",
];

/** The bundle's stamp: each source's path (relative), size and mtime. */
export type Stamp = [path: string, size: number, mtime: number][];

/**
 * The bundle's URL when it exists and every source it was made from is as
 * it was then; undefined otherwise (or when it cannot be checked, say
 * without read permission): then the sources run.
 *
 * @param root the checkout
 * @returns the URL to import, or undefined
 */
export function freshBundle(root: URL): string | undefined {
  try {
    if (Deno.env.get("USERNS_NO_BUNDLE")) return undefined;
    // Paths as strings: a URL per file would cost more than the stats.
    const dir = decodeURIComponent(root.pathname);
    const stamp: Stamp = JSON.parse(
      Deno.readTextFileSync(`${dir}build/cli.json`),
    );
    for (const [path, size, mtime] of stamp) {
      const st = Deno.statSync(dir + path);
      if (st.size !== size || st.mtime?.getTime() !== mtime) return undefined;
    }
    return new URL("build/cli.js", root).href;
  } catch {
    return undefined;
  }
}
