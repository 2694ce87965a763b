/**
 * Argument parsing shared by the subcommands: `node:util` `parseArgs` for our
 * own options, stopping at the first operand so the command's flags stay its.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { UsernsError } from "../errors.ts";

/** One option: its type, whether it repeats, and its one-line gloss. */
export interface OptionSpec {
  /** `string` options take a value. */
  type: "string" | "boolean";
  /** May be given more than once. */
  multiple?: boolean;
  /** Value placeholder in the help, for string options. */
  value?: string;
  /** One-line gloss for the help. */
  help: string;
}

/** A subcommand's options by long name. */
export type OptionSpecs = Record<string, OptionSpec>;

/** Parsed options and the operands after them. */
export interface Parsed {
  /** Option values by long name. */
  values: Record<string, unknown>;
  /** Operands, and everything from the first one on when `stopAtOperand`. */
  operands: string[];
}

/**
 * Parses argv. With `stopAtOperand`, options end at `--` or at the first
 * operand; the rest is returned untouched (the command and its arguments).
 *
 * @param argv the arguments after the subcommand
 * @param specs the subcommand's options
 * @param stopAtOperand whether the first operand ends our options
 * @returns values and operands
 * @throws {UsernsError} INVALID_ARGUMENT naming the bad option
 */
export function parse(
  argv: string[],
  specs: OptionSpecs,
  stopAtOperand: boolean,
): Parsed {
  let end = argv.length;
  if (stopAtOperand) {
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i]!;
      if (a === "--" || !a.startsWith("-") || a === "-") {
        end = i;
        break;
      }
      const spec = specs[a.slice(2)];
      if (a.startsWith("--") && !a.includes("=") && spec?.type === "string") {
        i++;
      }
    }
  }
  const ours = argv.slice(0, end);
  const rest = argv.slice(end);
  if (rest[0] === "--") rest.shift();
  try {
    const { values, positionals } = parseArgs({
      args: ours,
      options: Object.fromEntries(
        Object.entries(specs).map((
          [k, s],
        ) => [k, { type: s.type, multiple: !!s.multiple }]),
      ),
      allowPositionals: !stopAtOperand,
      strict: true,
    });
    return { values, operands: stopAtOperand ? rest : positionals };
  } catch (e) {
    const why = (e as Error).message.split("\n")[0]!.replace(/\.$/, "");
    throw new UsernsError(
      "INVALID_ARGUMENT",
      why[0]!.toLowerCase() + why.slice(1),
      {
        hint: "see --help",
      },
    );
  }
}

/**
 * Formats a subcommand's help: usage, then one option per line with a gloss.
 *
 * @param usage the usage line(s)
 * @param specs the options
 * @returns the help text
 */
export function helpText(usage: string, specs: OptionSpecs): string {
  const rows = Object.entries(specs).map(([name, s]) => [
    `--${name}${s.type === "string" ? ` ${s.value ?? "VALUE"}` : ""}`,
    s.help + (s.multiple ? " (repeatable)" : ""),
  ]);
  const width = Math.max(...rows.map(([l]) => l!.length));
  return `${usage}\n\nOptions:\n${
    rows.map(([l, r]) => `  ${l!.padEnd(width)}  ${r}`).join("\n")
  }\n`;
}
