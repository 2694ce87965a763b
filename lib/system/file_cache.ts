/**
 * A small cache of parsed system files (/etc/passwd, /etc/subuid,
 * /etc/subgid), so that spawning does not re-read and re-parse them each
 * time. A changed file is always read again.
 *
 * @module
 */

const fileCache = new Map<string, { key: string; value: unknown }>();

/**
 * `read(path)`, or its result from the last call while the file is the same
 * one: same device, inode, size and modification time. A file modified less
 * than {@link SETTLED_MS} before it was read is not cached, so two changes
 * within one tick of the clock cannot look like none.
 *
 * @param path the file
 * @param read reads and parses it (and reports its errors)
 * @returns what `read` returned for the file as it is now
 */
export function cached<T>(path: string, read: (path: string) => T): T {
  let st: Deno.FileInfo;
  try {
    st = Deno.statSync(path);
  } catch {
    fileCache.delete(path);
    return read(path); // missing or unreadable: read() says how
  }
  const mtime = st.mtime?.getTime();
  const key = `${st.dev}:${st.ino}:${st.size}:${mtime}`;
  const hit = fileCache.get(path);
  if (hit?.key === key) return hit.value as T;
  const value = read(path);
  if (mtime !== undefined && Date.now() - mtime > SETTLED_MS) {
    fileCache.set(path, { key, value });
  } else fileCache.delete(path);
  return value;
}

/** How old a file must be before its contents are cached, in ms. */
const SETTLED_MS = 2000;
