/**
 * The `userns` command line (`lib/cli/main.ts`). From a checkout where
 * `deno task build` has bundled it into `build/cli.js` and nothing changed
 * since, that one file runs, which starts about as fast as an empty
 * `deno run`; otherwise the sources run, with the same result.
 * `USERNS_NO_BUNDLE=1` always runs the sources. This launcher is the
 * checkout's; the published package's CLI is `lib/cli/main.ts` itself.
 *
 * @module
 */
import { freshBundle } from "./lib/cli/bundle.ts";

if (import.meta.main) {
  const root = new URL("./", import.meta.url);
  // A specifier Deno cannot read statically: a literal one would have it
  // load the ~60 source modules before this runs, bundle or not.
  const url = freshBundle(root) ?? new URL("lib/cli/main.ts", root).href;
  const cli: { main(args: string[]): Promise<number> } = await import(url);
  Deno.exit(await cli.main(Deno.args));
}
