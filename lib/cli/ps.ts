/**
 * `userns ps`: the user namespaces on the system, and warnings where
 * namespaces of different owners map the same outside uids.
 *
 * @module
 */
import {
  formatCompactMap,
  type NamespaceInfo,
  overlapWarnings,
  scanUserNamespaces,
} from "../inspect/ps.ts";
import {
  HELP,
  helpText,
  maxOperands,
  type OptionSpecs,
  parse,
} from "./args.ts";

/** Options of `userns ps`. */
export const PS_OPTIONS: OptionSpecs = {
  json: { type: "boolean", help: "print the namespaces as a JSON array" },
  help: HELP,
};

const USAGE = "Usage: userns ps [--json]\n\n" +
  "Lists the user namespaces visible here; exit 1 if owners' ranges overlap.";

/**
 * Formats namespaces as a table: NS, OWNER, PID, PROCS, UID MAP.
 *
 * @param list the namespaces
 * @returns the table, a header line first
 */
export function formatNamespaces(list: NamespaceInfo[]): string {
  const rows = [
    ["NS", "OWNER", "PID", "PROCS", "UID MAP"],
    ...list.map((n) => [
      String(n.id),
      String(n.owner),
      String(n.pid),
      String(n.processes),
      formatCompactMap(n.uidMap) + (n.initial ? " (initial)" : ""),
    ]),
  ];
  const widths = rows[0]!.map((_, i) =>
    Math.max(...rows.map((r) => r[i]!.length))
  );
  return rows.map((r) =>
    r.map((cell, i) => i < r.length - 1 ? cell.padEnd(widths[i]!) : cell)
      .join("  ")
  ).join("\n");
}

/** The warning for `n` processes whose namespace could not be read. */
function unlisted(n: number): string {
  return n === 1
    ? "1 process is not readable here: its user namespace may be missing " +
      "from the list"
    : `${n} processes are not readable here: their user namespaces may be ` +
      "missing from the list";
}

/**
 * `userns ps`.
 *
 * @param argv arguments after `ps`
 * @returns 1 if namespaces of different owners overlap, else 0
 * @throws {UsernsError} INVALID_ARGUMENT for a bad option or an operand
 */
export function ps(argv: string[]): Promise<number> {
  const { values, operands } = parse(argv, PS_OPTIONS, false);
  if (values.help) {
    console.log(helpText(USAGE, PS_OPTIONS));
    return Promise.resolve(0);
  }
  maxOperands(operands, 0);
  const { namespaces, unreadable } = scanUserNamespaces();
  console.log(
    values.json ? JSON.stringify(namespaces) : formatNamespaces(namespaces),
  );
  if (unreadable > 0) console.error(`userns: warning: ${unlisted(unreadable)}`);
  const warnings = overlapWarnings(namespaces);
  for (const w of warnings) console.error(`userns: warning: ${w}`);
  return Promise.resolve(warnings.length > 0 ? 1 : 0);
}
