/**
 * `userns subids [USER] [--check] [--suggest [COUNT]] [--subuid FILE]
 * [--subgid FILE] [--json]`: a user's subordinate ranges as shadow's
 * `newuidmap` sees them, a check of the whole files, or a free range to
 * delegate.
 *
 * @module
 */
import { SubIdError, UsernsError } from "../errors/errors.ts";
import {
  checkSubIdFile,
  rangesFor,
  readSubIdFileSync,
  type SubIdFile,
  type SubIdProblem,
  type SubIdRange,
} from "../idmap/subid.ts";
import { delegateCommand, SUB_ID_COUNT } from "../idmap/suggest.ts";
import {
  delegateHint,
  suggestFreeRange,
  type SuggestPaths,
} from "../idmap/suggest_read.ts";
import {
  currentIdentity,
  findPasswdEntry,
  readPasswd,
} from "../system/identity.ts";
import {
  decimal,
  HELP,
  helpText,
  isDecimal,
  maxOperands,
  type OptionSpecs,
  parse,
  usageError,
} from "./args.ts";

/** Options of `userns subids`. */
export const SUBIDS_OPTIONS: OptionSpecs = {
  check: {
    type: "boolean",
    help: "check the whole files instead: one PATH:LINE: problem per finding",
  },
  suggest: {
    type: "string",
    value: "COUNT",
    bare: String(SUB_ID_COUNT),
    help: `print the usermod line that delegates the lowest free COUNT ids ` +
      `(default ${SUB_ID_COUNT})`,
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
    help: "print JSON: {user,uid,subuid,subgid}, with --check an array, " +
      "with --suggest {start,count,command}",
  },
  help: HELP,
};

const USAGE = "Usage: userns subids [USER] [--check] [--suggest [COUNT]] " +
  "[--subuid FILE] [--subgid FILE] [--json]\n\n" +
  "Shows the subordinate ranges of USER (a name or uid; default: you), " +
  "matched by name and by uid as newuidmap does.\n" +
  "--suggest finds the lowest free range: no line of either file, no " +
  "account, no user namespace uses it.\n" +
  "Exit status: 0 ok (also for a user without ranges), 1 problems found " +
  "or a file unreadable, 2 usage error.";

type Kind = "uid" | "gid";

/** `--sub<kind> FILE`: it must exist (a missing /etc/sub<kind> is empty). */
function named(kind: Kind, path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
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
  return path;
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

/** Runs the subcommand once the arguments are known to be well formed. */
function answer(values: Record<string, unknown>, user?: string): number {
  const json = !!values.json;
  const paths: SuggestPaths = {
    subuid: named("uid", values.subuid as string | undefined),
    subgid: named("gid", values.subgid as string | undefined),
  };
  if (values.suggest !== undefined) {
    const count = suggestCount(values.suggest as string);
    return suggest(resolveUser(user), count, paths, json);
  }
  const files: [SubIdFile, SubIdFile] = [
    readSubIdFileSync(paths.subuid ?? "/etc/subuid"),
    readSubIdFileSync(paths.subgid ?? "/etc/subgid"),
  ];
  if (values.check) return check(files, json);
  return show(resolveUser(user), files, paths, json);
}

/** {@link subids}, synchronously. */
function subidsSync(argv: string[]): number {
  const { values, operands } = parse(argv, SUBIDS_OPTIONS, false);
  if (values.help) {
    console.log(helpText(USAGE, SUBIDS_OPTIONS));
    return 0;
  }
  if (values.check && values.suggest !== undefined) {
    throw usageError("--check and --suggest do not go together");
  }
  maxOperands(operands, values.check ? 0 : 1);
  try {
    return answer(values, operands[0]);
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
 * @returns 0 ok (a user without ranges too); 1 findings of `--check`, an
 *   unknown user, an unreadable file, no free range
 * @throws {UsernsError} INVALID_ARGUMENT for a usage error (exit status 2)
 */
export function subids(argv: string[]): Promise<number> {
  return Promise.resolve(subidsSync(argv));
}

// The USER operand: a login name or a numeric uid.

/**
 * The user whose ranges are shown: `name` is null for a numeric uid that
 * has no passwd entry (its ranges are then matched by the uid alone).
 */
interface Owner {
  /** The login name, or null. */
  name: string | null;
  /** The uid. */
  uid: number;
}

/**
 * Resolves the USER operand (default: the caller) through /etc/passwd.
 *
 * @param operand the USER operand, if given
 * @returns the user
 * @throws {UsernsError} INVALID_ARGUMENT for a uid past 2^53;
 *   USER_UNKNOWN for a name passwd does not have; FILE_READ when
 *   /etc/passwd cannot be read (the name, and ranges under it, unknown)
 */
function resolveUser(operand: string | undefined): Owner {
  if (operand === undefined) {
    const me = currentIdentity();
    if (me.passwdError) {
      const { what, hint } = me.passwdError;
      throw new UsernsError("FILE_READ", what, { hint });
    }
    return { name: me.name ?? null, uid: me.uid };
  }
  if (isDecimal(operand)) {
    const uid = decimal(operand);
    if (uid === undefined) {
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

// One user's ranges, as a table or JSON.

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
 * Prints one user's ranges; a side without any is no error (exit 0), but
 * says so in one warning line on stderr unless `json`.
 *
 * @param owner the user
 * @param files the subuid and subgid files, read
 * @param paths where the inputs of a suggestion are
 * @param json print JSON
 * @returns 0
 */
function show(
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

// --suggest [COUNT]: the lowest free range, and the command that delegates it.

/**
 * The COUNT of `--suggest`.
 *
 * @param text the option's value
 * @returns the count
 * @throws {UsernsError} INVALID_ARGUMENT unless a whole number from 1
 */
function suggestCount(text: string): number {
  const count = decimal(text);
  if (count === undefined || count < 1) {
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
function suggest(
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
  if (!json) {
    // A user who has ranges already may not need another: say so.
    const has = rangesFor(readSubIdFileSync(files.uid), user);
    if (has.length) {
      const list = has.map((r) => `${r.start}-${r.start + r.count - 1}`);
      console.error(
        `userns: note: ${
          owner.name ?? owner.uid
        } has subordinate uids already (${
          list.join(", ")
        } in ${files.uid}); the line above adds another range`,
      );
    }
  }
  return 0;
}
