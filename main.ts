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
import { freshBundle, RUNNERS } from "./lib/cli/bundle.ts";

if (import.meta.main) {
  const root = new URL("./", import.meta.url);
  // A specifier Deno cannot read statically: a literal one would have it
  // load the ~60 source modules before this runs, bundle or not.
  const url = freshBundle(root) ?? new URL("lib/cli/main.ts", root).href;
  let cli: { main(args: string[]): Promise<number> };
  try {
    cli = await import(url);
  } catch (e) {
    // Such an import needs read access, which the CLI needs anyway.
    const denied = e instanceof TypeError &&
      e.message.startsWith("Requires read access to ");
    if (!denied) throw e;
    console.error(
      "userns: not permitted: requires read access to its own modules; " +
        "run deno with --allow-read (the README lists every flag userns " +
        "needs), or -A",
    );
    Deno.exit(RUNNERS.includes(Deno.args[0] ?? "") ? 125 : 2);
  }
  Deno.exit(await cli.main(Deno.args));
}
