/**
 * `userns subids [USER]`: one user's ranges as a table or JSON, and one
 * warning line for a side without any.
 *
 * @module
 */
import { rangesFor, type SubIdFile, type SubIdRange } from "../subid.ts";
import { delegateHint, type SuggestPaths } from "../suggest_read.ts";
import type { Owner } from "./subids_user.ts";

type Kind = "uid" | "gid";

/** Which files lack a range: `uid` and/or `gid` to their paths. */
type Sides = Partial<Record<Kind, string>>;

/** Table rows of one side's ranges. */
function rows(kind: Kind, ranges: SubIdRange[]): string[][] {
  if (!ranges.length) return [[`sub${kind}`, "(none)", "", "", ""]];
  return ranges.map((r) => [
    `sub${kind}`,
    `${r.start}`,
    `${r.count}`,
    r.count > 0 ? `${r.start + r.count - 1}` : "-",
    `${r.source}:${r.line}`,
  ]);
}

/**
 * Formats a user's ranges as a table: kind, start, count, last id, source.
 *
 * @param owner the user
 * @param uid the user's `/etc/subuid` ranges
 * @param gid the user's `/etc/subgid` ranges
 * @returns the text, without a final newline
 */
function table(owner: Owner, uid: SubIdRange[], gid: SubIdRange[]): string {
  const all = [
    ["ids", "start", "count", "end", "source"],
    ...rows("uid", uid),
    ...rows("gid", gid),
  ];
  const widths = all[0]!.map((_, c) =>
    Math.max(...all.map((r) => r[c]!.length))
  );
  const pad = (cell: string, c: number) =>
    c === 0 || c === 4 || cell === "(none)"
      ? cell.padEnd(widths[c]!)
      : cell.padStart(widths[c]!);
  const user = `user ${owner.name ?? "(no passwd entry)"} (uid ${owner.uid})`;
  return [user, ...all.map((r) => r.map(pad).join("  ").trimEnd())]
    .join("\n");
}

/** The warning for the sides in `empty` (path by side), one line. */
function warning(owner: Owner, empty: Sides, paths: SuggestPaths): string {
  const kinds = Object.keys(empty).join("s or ");
  const files = Object.values(empty).join(" and ");
  const who = owner.name === null
    ? `uid ${owner.uid}`
    : JSON.stringify(owner.name);
  return `userns: warning: no subordinate ${kinds}s for ${who} in ${files}; ` +
    delegateHint(
      { name: owner.name ?? undefined, uid: owner.uid },
      empty,
      paths,
    );
}

/**
 * Prints one user's ranges; a side without any is no error (SPEC), but
 * says so in one warning line on stderr unless `json`.
 *
 * @param owner the user
 * @param files the subuid and subgid files, read
 * @param paths where the inputs of a suggestion are
 * @param json print JSON
 * @returns 0
 */
export function show(
  owner: Owner,
  [subuid, subgid]: [SubIdFile, SubIdFile],
  paths: SuggestPaths,
  json: boolean,
): number {
  const user = { uid: owner.uid, name: owner.name ?? undefined };
  const uid = rangesFor(subuid, user);
  const gid = rangesFor(subgid, user);
  const plain = (rs: SubIdRange[]) =>
    rs.map(({ start, count, source, line }) => ({
      start,
      count,
      source,
      line,
    }));
  console.log(
    json
      ? JSON.stringify({
        user: owner.name,
        uid: owner.uid,
        subuid: plain(uid),
        subgid: plain(gid),
      })
      : table(owner, uid, gid),
  );
  const empty: Sides = {
    ...(uid.length ? {} : { uid: subuid.path }),
    ...(gid.length ? {} : { gid: subgid.path }),
  };
  if (!json && Object.keys(empty).length) {
    console.error(warning(owner, empty, paths));
  }
  return 0;
}
