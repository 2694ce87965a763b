/**
 * The one way a test of this suite is skipped: {@link skippableTest}. No
 * test calls `Deno.test({ ignore })` or returns early for want of something;
 * each says why it cannot run, and:
 *
 * - for what this machine lacks (`needs`: a tool, the test user, a
 *   permission), it is ignored with the reason printed, except under CI
 *   (`CI` set, as `.ci/run` sets it), where it fails with the reason;
 * - for what only one run of the suite can do (`onlyAs`: root entering
 *   another user's namespace), it is ignored in the other run, its name
 *   saying which run covers it. `.ci/run` runs both, prints each run's
 *   ignored tests, and the README lists these by name.
 *
 * @module
 */

/** Reads what a denied permission hides as unknown (`deno task test:unit`
 * grants only reads). */
function maybe<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

/** Whether this is a CI run, where a test that cannot run fails. */
export const CI: boolean = !!maybe(() => Deno.env.get("CI"));

/** Running as root. */
const ROOT = maybe(() => Deno.uid()) === 0;

/** Why a test may not run here. */
export interface Skip {
  /** What this machine lacks for it, if anything: ignored with this
   * reason, or failed under CI. */
  needs?: string;
  /** The run of the suite it belongs to: in the other one it is ignored
   * (never failed), its name saying which run covers it. */
  onlyAs?: "root" | "unprivileged";
}

const told = new Set<string>();

/** A test's definition, with why it may not run here in place of `ignore`. */
export type SkippableDefinition = Omit<Deno.TestDefinition, "ignore"> & {
  /** Why it may not run here. */
  skip: Skip;
};

/**
 * Registers a test that may not be able to run here.
 *
 * @param name the test's name (or its whole definition, with `skip`)
 * @param skip why it may not run: what it needs, which run it belongs to
 * @param fn the test
 */
export function skippableTest(
  name: string,
  skip: Skip,
  fn: (t: Deno.TestContext) => Promise<void> | void,
): void;
/**
 * Registers a test that may not be able to run here.
 *
 * @param def its definition, with `skip` in place of `ignore`
 */
export function skippableTest(def: SkippableDefinition): void;
export function skippableTest(
  a: string | SkippableDefinition,
  b?: Skip,
  c?: (t: Deno.TestContext) => Promise<void> | void,
): void {
  const { skip, ...def } = typeof a === "string"
    ? { name: a, skip: b!, fn: c! }
    : a;
  const other = skip.onlyAs !== undefined &&
    (skip.onlyAs === "root") !== ROOT;
  if (other) {
    Deno.test({
      ...def,
      name:
        `${def.name} (${skip.onlyAs} only: the ${skip.onlyAs} run covers it)`,
      ignore: true,
    });
    return;
  }
  const why = skip.needs;
  if (why !== undefined && !CI && !told.has(why)) {
    told.add(why);
    console.error(`ignored: ${why}`);
  }
  const fn = def.fn;
  const ignore = why !== undefined && !CI;
  Deno.test({
    ...def,
    // The reason in the name too: the list of ignored tests says why.
    name: ignore ? `${def.name} [ignored: ${why}]` : def.name,
    ignore,
    fn: async (t) => {
      if (why !== undefined) throw new Error(`cannot run under CI: ${why}`);
      await fn(t);
    },
  });
}
