/**
 * A program on PATH, found natively as execvp() finds it.
 *
 * @module
 */
import { raw } from "./raw.ts";

const encoder = new TextEncoder();

/**
 * Finds a program on PATH as execvp() would, natively: one call, where a
 * search by stat() throws for every entry that lacks it.
 *
 * @param path a PATH value
 * @param name the program
 * @returns its absolute path, or undefined
 */
export function which(path: string, name: string): string | undefined {
  const i = raw.which(
    encoder.encode(path + "\0"),
    encoder.encode(name + "\0"),
  );
  return i < 0 ? undefined : `${path.split(":")[i]}/${name}`;
}
