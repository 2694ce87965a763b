// What the bench's groups share: medians, per-round ratios, the shuffled
// order of compared runs, and the table's formats.

/** The median of `xs`. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The median of the per-round ratios a/b. */
export const paired = (a: number[], b: number[]): number =>
  median(a.map((x, i) => x / b[i]!));

/** Milliseconds, as the table shows them. */
export const ms = (x: number): string => `${x.toFixed(x < 10 ? 2 : 1)} ms`;

/** A target's verdict. */
export const verdict = (ok: boolean): string => (ok ? "met" : "NOT met");

/** Fisher-Yates, in place. */
function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

/**
 * Runs each of `runs` once per round, in a new random order every round.
 *
 * @param n rounds
 * @param runs what to run
 * @returns the results of each, by round
 */
export async function rounds<T>(
  n: number,
  runs: (() => Promise<T>)[],
): Promise<T[][]> {
  const results: T[][] = runs.map(() => []);
  for (let r = 0; r < n; r++) {
    for (const i of shuffle(runs.map((_, i) => i))) {
      results[i]!.push(await runs[i]!());
    }
  }
  return results;
}

/**
 * Times each of `fns` once per round, in a new random order every round,
 * after 20 untimed rounds.
 *
 * @param n timed rounds
 * @param fns what to time
 * @returns the times (ms) of each, by round
 */
export async function shuffledRounds(
  n: number,
  fns: (() => Promise<unknown>)[],
): Promise<number[][]> {
  const timed = fns.map((fn) => async () => {
    const a = performance.now();
    await fn();
    return performance.now() - a;
  });
  await rounds(20, timed);
  return await rounds(n, timed);
}
