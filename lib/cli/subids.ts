/**
 * `userns subids [USER] [--check] [--suggest [COUNT]] [--subuid FILE]
 * [--subgid FILE] [--json]`: a user's subordinate ranges as shadow's
 * `newuidmap` sees them, a check of the whole files, or a free range to
 * delegate.
 *
 * @module
 */
import { SubIdError, UsernsError } from "../errors/mod.ts";
import {
  checkSubIdFile,
  readSubIdFileSync,
  type SubIdFile,
  type SubIdProblem,
} from "../subid.ts";
import { SUB_ID_COUNT } from "../suggest.ts";
import type { SuggestPaths } from "../suggest_read.ts";
import {
  HELP,
  helpText,
  maxOperands,
  type OptionSpecs,
  parse,
  usageError,
} from "./args.ts";
import { show } from "./subids_show.ts";
import { suggest, suggestCount } from "./subids_suggest.ts";
import { resolveUser } from "./subids_user.ts";

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
