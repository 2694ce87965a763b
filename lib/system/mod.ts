/**
 * What userns reads of the system, and the files it writes there:
 *
 * - `identity.ts`: the caller (uid, gid, and its `/etc/passwd` entry).
 * - `read.ts`: a system file read, a refusal turned into one line.
 * - `file_cache.ts`: a parsed file kept while it is unchanged.
 * - `path_search.ts`: a program on PATH, or why it is not there.
 * - `safe_write.ts`, `safe_read.ts`: files written and read where someone
 *   else may have put something first (the `--pid-file`, pod records),
 *   without following a link or waiting on a FIFO.
 *
 * @module
 */
export {
  currentIdentity,
  findPasswdEntry,
  type Identity,
  readPasswd,
} from "./identity.ts";
export { readFailure, readSystemFile } from "./read.ts";
export { cached } from "./file_cache.ts";
export { findOnPath, STANDARD_DIRS, whyNotOnPath } from "./path_search.ts";
export { FileCallError, StagedFile, writeNewFile } from "./safe_write.ts";
export { NotRegularError, readRegularFile } from "./safe_read.ts";
