/**
 * Finding a free range of subordinate ids to delegate (pure: no I/O): the
 * lowest range at or above `SUB_UID_MIN` that no line of `/etc/subuid` or
 * `/etc/subgid` (valid or not), no account in `/etc/passwd` or `/etc/group`
 * and no user namespace's outside range uses. `userns subids --suggest`
 * prints it; every hint that tells an admin to add ranges uses it.
 *
 * @module
 */
import { MAX_ID } from "./id_space.ts";

/** Ids in use, as `[first, end)`: `end` is one past the last id. */
export type IdSpan = [first: number, end: number];

/** shadow's default `SUB_UID_MIN` and `SUB_GID_MIN`. */
export const SUB_ID_MIN = 100000;
/** shadow's default `SUB_UID_COUNT`: the ids a user gets by default. */
export const SUB_ID_COUNT = 65536;

/** The texts a suggestion is computed from. */
export interface SuggestSources {
  /** `/etc/subuid` (empty when missing). */
  subuid: string;
  /** `/etc/subgid`. */
  subgid: string;
  /** `/etc/passwd`: every uid and primary gid is taken. */
  passwd: string;
  /** `/etc/group`: every gid is taken. */
  group: string;
  /** `/etc/login.defs`, for `SUB_UID_MIN` and `SUB_GID_MIN`. */
  loginDefs: string;
  /** Every `/proc/PID/uid_map` and `gid_map` text: outside ranges in use. */
  maps: string[];
}

/** The number at the start of a field as `strtoul(s, &end, 0)` reads it. */
function leadingNumber(field: string | undefined): number | undefined {
  const m = /^\s*\+?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)/.exec(field ?? "");
  if (!m) return undefined;
  const digits = m[1]!;
  if (/^0[xX]/.test(digits)) return parseInt(digits.slice(2), 16);
  return digits.startsWith("0") ? parseInt(digits, 8) : Number(digits);
}

/**
 * The ids every line of a sub-ID file names, whether shadow accepts the
 * line or not (a CRLF ending, a trailing space, a second owner of the same
 * ids): what an admin wrote is taken. Blank lines, `#` comments and zero
 * counts name none.
 *
 * @param text the file's text
 * @returns one span per line that has a start and a count
 */
export function subIdSpans(text: string): IdSpan[] {
  const spans: IdSpan[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "" || line.trimStart().startsWith("#")) continue;
    const [, startField, countField] = line.split(":");
    const start = leadingNumber(startField);
    const count = leadingNumber(countField);
    if (start !== undefined && count) spans.push([start, start + count]);
  }
  return spans;
}

/**
 * The ids of the accounts in a passwd or group file.
 *
 * @param text the file's text
 * @param fields which `:` fields hold ids: `[2, 3]` (uid and gid) for
 *   passwd, `[2]` for group
 * @returns one span of one id per decimal field
 */
export function accountIds(text: string, fields: number[]): IdSpan[] {
  return text.split("\n").flatMap((line) => {
    const f = line.split(":");
    return fields.map((i) => f[i] ?? "").filter((v) => /^[0-9]+$/.test(v))
      .map((v): IdSpan => [Number(v), Number(v) + 1]);
  });
}

/**
 * The outside ranges of a `/proc/PID/uid_map` or `gid_map`, except the
 * whole space mapped onto itself (the initial namespace's map).
 *
 * @param text the map's text
 * @returns one span per line
 */
export function mapSpans(text: string): IdSpan[] {
  return text.split("\n").flatMap((line): IdSpan[] => {
    const f = line.trim().split(/\s+/).map(Number);
    if (f.length !== 3 || !f.every(Number.isSafeInteger)) return [];
    const [inner, outer, count] = f as [number, number, number];
    if (inner === 0 && outer === 0 && count === MAX_ID) return [];
    return count > 0 ? [[outer, outer + count]] : [];
  });
}

/**
 * The lowest id a suggestion may start at: the larger of `SUB_UID_MIN` and
 * `SUB_GID_MIN` in login.defs (each 100000 when unset), since the one range
 * is suggested for both files.
 *
 * @param loginDefs the text of `/etc/login.defs`
 * @returns the minimum
 */
export function subIdMinimum(loginDefs: string): number {
  const value = (name: string) => {
    const m = new RegExp(`^\\s*${name}\\s+(\\S+)\\s*$`, "m").exec(loginDefs);
    return leadingNumber(m?.[1]) ?? SUB_ID_MIN;
  };
  return Math.max(value("SUB_UID_MIN"), value("SUB_GID_MIN"));
}

/**
 * The lowest `count` ids at or above `min` that overlap none of `taken`
 * and end at or before 4294967295 (the kernel's `first + count` limit).
 *
 * @example Usage
 * ```ts
 * import { lowestFree } from "./suggest.ts";
 * console.assert(lowestFree([[100000, 165536]], 100000, 65536) === 165536);
 * ```
 *
 * @param taken ids in use, in any order, overlapping or not
 * @param min the lowest id to start at
 * @param count how many ids, at least 1
 * @returns the first id of the range, or undefined when none is free
 */
export function lowestFree(
  taken: IdSpan[],
  min: number,
  count: number,
): number | undefined {
  if (!Number.isSafeInteger(count) || count < 1) return undefined;
  let start = Math.max(0, min);
  for (const [first, end] of [...taken].sort((a, b) => a[0] - b[0])) {
    if (end <= start) continue;
    if (first >= start + count) break;
    start = end;
  }
  return start + count <= MAX_ID ? start : undefined;
}

/**
 * The lowest free range of `count` ids for the given system files and maps.
 *
 * @param sources the texts of the files and maps
 * @param count how many ids
 * @returns the first id, or undefined when no range is free
 */
export function suggestRange(
  sources: SuggestSources,
  count: number,
): number | undefined {
  const taken = [
    ...subIdSpans(sources.subuid),
    ...subIdSpans(sources.subgid),
    ...accountIds(sources.passwd, [2, 3]),
    ...accountIds(sources.group, [2]),
    ...sources.maps.flatMap(mapSpans),
  ];
  return lowestFree(taken, subIdMinimum(sources.loginDefs), count);
}

/**
 * The command that delegates a range to a user in the files given:
 * `usermod --add-subuids A-B --add-subgids A-B USER` (usermod writes
 * /etc/subuid and /etc/subgid). A uid without a passwd entry cannot be
 * named to usermod: the line is appended to the files instead.
 *
 * @param start the first id
 * @param count how many ids
 * @param user the login name, or the bare uid when it has none
 * @param files the sub-ID files to get the range, by side
 * @returns one shell command line
 */
export function delegateCommand(
  start: number,
  count: number,
  user: { name?: string; uid: number },
  files: Partial<Record<"uid" | "gid", string>> = {
    uid: "/etc/subuid",
    gid: "/etc/subgid",
  },
): string {
  const sides = (["uid", "gid"] as const).filter((s) => files[s] !== undefined);
  if (user.name === undefined) {
    const paths = sides.map((s) => files[s]).join(" ");
    return `echo ${user.uid}:${start}:${count} | tee -a ${paths}`;
  }
  const ids = `${start}-${start + count - 1}`;
  const flags = sides.map((s) => `--add-sub${s}s ${ids}`).join(" ");
  return `usermod ${flags} ${user.name}`;
}
