// A bound on waiting, shared by the fault tests and their subprocess script.

/**
 * Waits for p, but fails after ms: a status that never settles is a child
 * stuck on its pipe (or a reaper that never returns), not a slow test.
 */
export async function within<T>(
  p: Promise<T>,
  what: string,
  ms = 10_000,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not settle within ${ms} ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}
