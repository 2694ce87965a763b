/**
 * `userns maps [PID] [--json]`: the uid map, gid map and setgroups policy of
 * a process (default: `userns` itself).
 *
 * @module
 */
import { UsernsError } from "../errors/errors.ts";
import type { IdMapping } from "../idmap/rules.ts";
import { type ProcessMaps, readProcessMaps } from "../inspect/maps.ts";
import {
  decimal,
  HELP,
  helpText,
  maxOperands,
  type OptionSpecs,
  parse,
} from "./args.ts";

/** Options of `userns maps`. */
export const MAPS_OPTIONS: OptionSpecs = {
  json: {
    type: "boolean",
    help: 'print {"pid","uid":[{inner,outer,count}],"gid":[...],"setgroups"}',
  },
  help: HELP,
};

const USAGE = "Usage: userns maps [PID] [--json]\n\n" +
  "Prints the uid map, gid map and setgroups policy of PID (default: userns itself).\n" +
  "Exit status: 0 ok, 1 the process is missing or unreadable, 2 usage error.";

/**
 * The PID operand, if any.
 *
 * @throws {UsernsError} INVALID_ARGUMENT for extra operands or a non-number
 */
function pidOperand(operands: string[]): number | undefined {
  maxOperands(operands, 1);
  const [pid] = operands;
  if (pid === undefined) return undefined;
  const n = decimal(pid);
  if (n === undefined || n === 0) {
    throw new UsernsError("INVALID_ARGUMENT", `invalid pid "${pid}"`, {
      hint: "give a process id, a positive integer",
    });
  }
  return n;
}

/** The rows of one map, or a note when it is not written yet. */
function rows(kind: string, map: IdMapping[]): string[][] {
  if (map.length === 0) return [[kind, "(not written yet)", "", ""]];
  return map.map((m) => [kind, `${m.inner}`, `${m.outer}`, `${m.count}`]);
}

/**
 * Formats maps as a table: one row per map line, then setgroups.
 *
 * @param maps the maps read
 * @returns the text, without a final newline
 */
export function formatProcessMaps(maps: ProcessMaps): string {
  const table = [
    ["map", "inside", "outside", "count"],
    ...rows("uid", maps.uid),
    ...rows("gid", maps.gid),
  ];
  const widths = [0, 1, 2, 3].map((c) =>
    Math.max(...table.map((r) => r[c]!.length))
  );
  const line = (r: string[]) =>
    r.map((cell, c) =>
      c === 0 ? cell.padEnd(widths[0]!) : cell.padStart(widths[c]!)
    )
      .join("  ").trimEnd();
  return [
    `pid ${maps.pid}`,
    ...table.map(line),
    `setgroups ${maps.setgroups}`,
  ].join("\n");
}

/**
 * `userns maps`.
 *
 * @param argv arguments after `maps`
 * @returns 0, or 1 when the process cannot be read
 * @throws {UsernsError} INVALID_ARGUMENT for a usage error (exit status 2)
 */
export function maps(argv: string[]): Promise<number> {
  return Promise.resolve(mapsSync(argv));
}

/** {@link maps}, synchronously. */
function mapsSync(argv: string[]): number {
  const { values, operands } = parse(argv, MAPS_OPTIONS, false);
  if (values.help) {
    console.log(helpText(USAGE, MAPS_OPTIONS));
    return 0;
  }
  const pid = pidOperand(operands);
  let found: ProcessMaps;
  try {
    found = readProcessMaps(pid);
  } catch (e) {
    if (!(e instanceof UsernsError)) throw e;
    console.error(`userns: ${e.message}`);
    return 1;
  }
  const { uid, gid, setgroups } = found;
  console.log(
    values.json
      ? JSON.stringify({ pid: found.pid, uid, gid, setgroups })
      : formatProcessMaps(found),
  );
  return 0;
}
