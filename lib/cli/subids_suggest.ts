/**
 * `userns subids --suggest [COUNT]`: the lowest free range and the command
 * that delegates it.
 *
 * @module
 */
import { delegateCommand } from "../suggest.ts";
import { suggestFreeRange, type SuggestPaths } from "../suggest_read.ts";
import { usageError } from "./args.ts";
import type { Owner } from "./subids_user.ts";

/**
 * The COUNT of `--suggest`.
 *
 * @param text the option's value
 * @returns the count
 * @throws {UsernsError} INVALID_ARGUMENT unless a whole number from 1
 */
export function suggestCount(text: string): number {
  const count = Number(text);
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(count) || count < 1) {
    throw usageError(
      `invalid --suggest ${
        JSON.stringify(text)
      }: not a count of ids, 1 or more`,
    );
  }
  return count;
}

/**
 * Prints the suggestion: the command line, or with `json`
 * `{"start":N,"count":N,"command":S}`.
 *
 * @param owner whom the range is for
 * @param count how many ids
 * @param paths where the sub-ID files (and the rest) are
 * @param json print JSON
 * @returns 0
 * @throws {UsernsError} NO_FREE_RANGE, SUBID_READ, FILE_READ
 */
export function suggest(
  owner: Owner,
  count: number,
  paths: SuggestPaths,
  json: boolean,
): number {
  const files = {
    uid: paths.subuid ?? "/etc/subuid",
    gid: paths.subgid ?? "/etc/subgid",
  };
  const start = suggestFreeRange(count, paths);
  const user = { name: owner.name ?? undefined, uid: owner.uid };
  const command = delegateCommand(start, count, user, files);
  console.log(json ? JSON.stringify({ start, count, command }) : command);
  return 0;
}
