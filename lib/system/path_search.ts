/**
 * Looking a program up on PATH as `execvp` does, and, when it is not found,
 * saying why: a directory that cannot be searched, a file that cannot be
 * executed, a program installed elsewhere than on PATH, or not at all.
 *
 * @module
 */
import type { Cause } from "../errors/errors.ts";

/** Where distributions install programs such as newuidmap. */
export const STANDARD_DIRS: readonly string[] = [
  "/usr/local/sbin",
  "/usr/local/bin",
  "/usr/sbin",
  "/usr/bin",
  "/sbin",
  "/bin",
];

/** The absolute directories of a PATH value, in order. */
const dirs = (path: string) => path.split(":").filter((d) => d.startsWith("/"));

/** An executable regular file at `file`, or why it is not one. */
function probe(file: string): "ok" | "missing" | Cause {
  let st: Deno.FileInfo;
  try {
    st = Deno.statSync(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "missing";
    const dir = file.slice(0, file.lastIndexOf("/")) || "/";
    if (e instanceof Deno.errors.NotCapable) {
      return {
        what: `cannot search ${dir}: not permitted by Deno`,
        hint: `run deno with --allow-read`,
      };
    }
    const code = (e as { code?: unknown }).code;
    const why = typeof code === "string" ? code : (e as Error).name;
    return {
      what: `cannot search ${dir}: ${why}`,
      hint: `make ${dir} searchable (ls -ld ${dir}; chmod a+x ${dir})`,
    };
  }
  if (st.isFile && ((st.mode ?? 0) & 0o111) !== 0) return "ok";
  const mode = (st.mode ?? 0).toString(8).padStart(4, "0").slice(-4);
  return {
    what: st.isFile
      ? `${file} is not executable (mode ${mode})`
      : `${file} is not a regular file`,
    hint: `reinstall it, or fix its mode (ls -l ${file})`,
  };
}

/**
 * Looks a program up on PATH, as execvp would.
 *
 * @param name the program
 * @param path a PATH value
 * @returns its absolute path, or undefined
 */
export function findOnPath(name: string, path: string): string | undefined {
  return dirs(path).map((d) => `${d}/${name}`).find((f) => probe(f) === "ok");
}

/**
 * Why a program is not found on PATH: the first directory of PATH that
 * cannot be searched or holds it unexecutable; else where it is installed
 * off PATH; else that it is not installed.
 *
 * @param name the program
 * @param path the PATH value searched
 * @param install what to do when it is not installed at all
 * @param elsewhere where to look off PATH @default {@link STANDARD_DIRS}
 * @returns what failed and what to do
 */
export function whyNotOnPath(
  name: string,
  path: string,
  install: string,
  elsewhere: readonly string[] = STANDARD_DIRS,
): Cause {
  for (const dir of dirs(path)) {
    const found = probe(`${dir}/${name}`);
    if (typeof found === "object") {
      return {
        what: `${name} not found on PATH: ${found.what}`,
        hint: found.hint,
      };
    }
  }
  const on = new Set(dirs(path));
  const off = elsewhere.filter((d) => !on.has(d))
    .find((d) => probe(`${d}/${name}`) === "ok");
  if (off) {
    return {
      what: `${name} is at ${off}/${name} but not on PATH (PATH=${path})`,
      hint: `add ${off} to PATH`,
    };
  }
  return { what: `${name} not found on PATH`, hint: install };
}
