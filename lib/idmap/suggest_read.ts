/**
 * Reads what {@link suggestRange} needs from the system: the sub-ID files,
 * the account files, login.defs and the id maps of every process visible.
 *
 * @module
 */
import { listProcDir, readProcFile } from "../../ffi/process.ts";
import { UsernsError } from "../errors/errors.ts";
import { MAX_ID } from "./id_space.ts";
import { readSubIdTextSync } from "./subid.ts";
import {
  delegateCommand,
  SUB_ID_COUNT,
  subIdMinimum,
  suggestRange,
  type SuggestSources,
} from "./suggest.ts";
import { readSystemFile } from "../system/read.ts";

/** Where the inputs are; each defaults to the system's. */
export interface SuggestPaths {
  /** @default "/etc/subuid" */
  subuid?: string;
  /** @default "/etc/subgid" */
  subgid?: string;
  /** @default "/etc/passwd" */
  passwd?: string;
  /** @default "/etc/group" */
  group?: string;
  /** @default "/etc/login.defs" */
  loginDefs?: string;
  /** The proc file system whose processes' maps are read. @default "/proc" */
  proc?: string;
}

/** The distinct uid and gid map texts of the processes in `proc`. */
function processMaps(proc: string): string[] {
  const texts = new Set<string>();
  for (const name of listProcDir(proc) ?? []) {
    if (!/^[0-9]+$/.test(name)) continue;
    for (const file of ["uid_map", "gid_map"]) {
      const text = readProcFile(`${proc}/${name}/${file}`);
      if (typeof text === "string") texts.add(text); // else: it is gone
    }
  }
  return [...texts];
}

/**
 * Reads the inputs of a suggestion. A missing file counts as empty.
 *
 * @param paths where they are
 * @returns the texts
 * @throws {SubIdError} `SUBID_READ` when a sub-ID file cannot be read
 * @throws {UsernsError} `FILE_READ` when passwd, group or login.defs cannot
 */
export function readSuggestSources(paths: SuggestPaths = {}): SuggestSources {
  return {
    subuid: readSubIdTextSync(paths.subuid ?? "/etc/subuid"),
    subgid: readSubIdTextSync(paths.subgid ?? "/etc/subgid"),
    passwd: readSystemFile(paths.passwd ?? "/etc/passwd"),
    group: readSystemFile(paths.group ?? "/etc/group"),
    loginDefs: readSystemFile(paths.loginDefs ?? "/etc/login.defs"),
    maps: processMaps(paths.proc ?? "/proc"),
  };
}

/**
 * The lowest free range of `count` ids on this system: what `userns subids
 * --suggest` prints.
 *
 * @param count how many ids @default 65536
 * @param paths where the inputs are
 * @returns the first id
 * @throws {UsernsError} `NO_FREE_RANGE` when no range of that size is
 *   free; the read errors of {@link readSuggestSources}
 */
export function suggestFreeRange(
  count: number = SUB_ID_COUNT,
  paths: SuggestPaths = {},
): number {
  const sources = readSuggestSources(paths);
  const start = suggestRange(sources, count);
  if (start !== undefined) return start;
  const min = subIdMinimum(sources.loginDefs);
  throw new UsernsError(
    "NO_FREE_RANGE",
    `no free range of ${count} ids from ${min} to ${MAX_ID - 1}: ` +
      "sub-ID files, accounts and user namespaces use the ids in between",
    { hint: "ask for fewer ids (userns subids --suggest COUNT)" },
  );
}

/**
 * The hint for a user without ranges: the command that delegates a free
 * range, or, when none can be found, where to see why.
 *
 * @param user the user, by name when it has one
 * @param files the sub-ID files lacking a range for the user, by side
 * @param paths where the inputs of the suggestion are
 * @returns e.g. `an admin can delegate a free range: usermod ...`
 * @throws {Deno.errors.NotCapable} without Deno's permission to read them
 */
export function delegateHint(
  user: { name?: string; uid: number },
  files: Partial<Record<"uid" | "gid", string>>,
  paths: SuggestPaths = {},
): string {
  try {
    const start = suggestFreeRange(SUB_ID_COUNT, paths);
    return "an admin can delegate a free range: " +
      delegateCommand(start, SUB_ID_COUNT, user, files);
  } catch (e) {
    if (!(e instanceof UsernsError)) throw e;
    return 'ask an admin to delegate a free range ("userns subids --suggest" ' +
      "says why none was found here)";
  }
}
