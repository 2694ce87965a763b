/**
 * `userns subids [USER] [--check] [--subuid FILE] [--subgid FILE] [--json]`:
 * a user's subordinate ranges as shadow's `newuidmap` sees them, or a check
 * of the whole files.
 *
 * @module
 */
import { SubIdError, UsernsError } from "../errors.ts";
import { currentIdentity, findPasswdEntry, readPasswd } from "../identity.ts";
import {
  checkSubIdFile,
  rangesFor,
  readSubIdFileSync,
  type SubIdFile,
  type SubIdProblem,
  type SubIdRange,
} from "../subid.ts";
import {
  HELP,
  helpText,
  maxOperands,
  type OptionSpecs,
  parse,
} from "./args.ts";

/** Options of `userns subids`. */
export const SUBIDS_OPTIONS: OptionSpecs = {
  check: {
    type: "boolean",
    help: "check the whole files instead: one PATH:LINE: problem per finding",
  },
  subuid: {
    type: "string",
    value: "FILE",
    help: "read FILE instead of /etc/subuid",
  },
  subgid: {
    type: "string",
    value: "FILE",
    help: "read FILE instead of /etc/subgid",
  },
  json: {
    type: "boolean",
    help: "print JSON: {user,uid,subuid,subgid}, or with --check an array",
  },
  help: HELP,
};

const USAGE = "Usage: userns subids [USER] [--check] [--subuid FILE] " +
  "[--subgid FILE] [--json]\n\n" +
  "Shows the subordinate ranges of USER (a name or uid; default: you), " +
  "matched by name and by uid as newuidmap does.\n" +
  "Exit status: 0 ok, 1 no ranges or problems found, 2 usage error.";

type Kind = "uid" | "gid";

/**
 * The user whose ranges are shown: `name` is null for a numeric uid that
 * has no passwd entry (its ranges are then matched by the uid alone).
 */
interface Owner {
  name: string | null;
  uid: number;
}

/** Resolves the USER operand (default: the caller) through /etc/passwd. */
function resolveUser(operand: string | undefined): Owner {
  if (operand === undefined) {
    const me = currentIdentity();
    return { name: me.name ?? null, uid: me.uid };
  }
  if (/^[0-9]+$/.test(operand)) {
    const uid = Number(operand);
    if (!Number.isSafeInteger(uid)) {
      throw new UsernsError("INVALID_ARGUMENT", `invalid uid ${operand}`, {
        hint: "give a user name or a uid below 2^53",
      });
    }
    return { name: findPasswdEntry(readPasswd(), uid)?.name ?? null, uid };
  }
  const entry = findPasswdEntry(readPasswd(), operand);
  if (!entry) {
    throw new UsernsError(
      "USER_UNKNOWN",
      `unknown user "${operand}": no such name in /etc/passwd`,
      { hint: "give a login name or a numeric uid" },
    );
  }
  return { name: entry.name, uid: entry.uid };
}

/** Reads `--sub<kind> FILE`, or `/etc/sub<kind>` (missing: no ranges). */
function load(kind: Kind, named: unknown): SubIdFile {
  if (named === undefined) return readSubIdFileSync(`/etc/sub${kind}`);
  const path = String(named);
  try {
    Deno.statSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new SubIdError("SUBID_READ", `cannot read ${path}: no such file`, {
        hint: `check the --sub${kind} path`,
        cause: e,
      });
    }
  }
  return readSubIdFileSync(path);
}

/** `--check`: every finding in both files. */
function check(files: SubIdFile[], json: boolean): number {
  const found: SubIdProblem[] = files.flatMap(checkSubIdFile)
    .map(({ source, line, problem }) => ({ source, line, problem }));
  if (json) console.log(JSON.stringify(found));
  else if (found.length) {
    console.log(
      found.map((p) => `${p.source}:${p.line}: ${p.problem}`).join("\n"),
    );
  }
  return found.length ? 1 : 0;
}

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

/** The hint line for a side without ranges. */
function noRanges(owner: Owner, kind: Kind, path: string): string {
  const who = owner.name ?? String(owner.uid);
  const hint = owner.name === null
    ? `ask an admin to add a line "${owner.uid}:100000:65536" to it`
    : `ask an admin to add some (usermod --add-sub${kind}s 100000-165535 ${who})`;
  return `userns: no subordinate ranges for "${who}" in ${path}; ${hint}`;
}

/** Shows one user's ranges; 1 when a side has none. */
function show(owner: Owner, files: SubIdFile[], json: boolean): number {
  const user = { uid: owner.uid, name: owner.name ?? undefined };
  const [uid, gid] = files.map((f) => rangesFor(f, user)) as [
    SubIdRange[],
    SubIdRange[],
  ];
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
  const empty = ([["uid", uid], ["gid", gid]] as const)
    .map(([kind, rs], i) =>
      rs.length ? "" : noRanges(owner, kind, files[i]!.path)
    )
    .filter((line) => line);
  for (const line of empty) console.error(line);
  return empty.length ? 1 : 0;
}

/** {@link subids}, synchronously. */
function subidsSync(argv: string[]): number {
  const { values, operands } = parse(argv, SUBIDS_OPTIONS, false);
  if (values.help) {
    console.log(helpText(USAGE, SUBIDS_OPTIONS));
    return 0;
  }
  maxOperands(operands, values.check ? 0 : 1);
  try {
    const files = [load("uid", values.subuid), load("gid", values.subgid)];
    if (values.check) return check(files, !!values.json);
    return show(resolveUser(operands[0]), files, !!values.json);
  } catch (e) {
    if (!(e instanceof UsernsError) || e.code === "INVALID_ARGUMENT") throw e;
    console.error(`userns: ${e.message}`);
    return 1;
  }
}

/**
 * `userns subids`.
 *
 * @param argv arguments after `subids`
 * @returns 0 ok; 1 no ranges on a side, findings of `--check`, an unknown
 *   user or an unreadable file
 * @throws {UsernsError} INVALID_ARGUMENT for a usage error (exit status 2)
 */
export function subids(argv: string[]): Promise<number> {
  return Promise.resolve(subidsSync(argv));
}
