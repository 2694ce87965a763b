/**
 * Argument parsing shared by the subcommands: one small table-driven parser
 * (`node:util` costs about 20 ms of start-up). Every option takes its value
 * as the next word, whatever it starts with, or after `=`.
 *
 * @module
 */
import { UsernsError } from "../errors/errors.ts";

/** One option: its type, whether it repeats, and its one-line gloss. */
export interface OptionSpec {
  /** `string` options take a value. */
  type: "string" | "boolean";
  /** May be given more than once; its value is then an array. */
  multiple?: boolean;
  /** Value placeholder in the help, for string options. */
  value?: string;
  /** One-line gloss for the help. */
  help: string;
  /** A one-letter alias, e.g. `h` for `-h`. */
  short?: string;
  /** Words its value takes (`--bind SRC DEST`: 2); the first may follow `=`. @default {1} */
  arity?: 1 | 2;
  /** Each use is also kept in {@link Parsed.ordered}, in command-line order
   * with the other ordered options (mounts apply in the order given). */
  ordered?: boolean;
  /**
   * For a string option whose value may be left out: the value it then
   * has. The next word is taken as its value only when it is a decimal
   * number, so that `--suggest USER` leaves USER an operand.
   */
  bare?: string;
}

/** A subcommand's options by long name. */
export type OptionSpecs = Record<string, OptionSpec>;

/** An option's value: a string, the strings of a repeatable one, or true. */
export type OptionValue = string | string[] | true;

/** Parsed options and the operands after them. */
export interface Parsed {
  /** Option values by long name; absent when not given. A two-word value
   * is its words joined by a NUL. */
  values: Record<string, OptionValue | undefined>;
  /** The uses of `ordered` options, in command-line order: name, words. */
  ordered: [string, string[]][];
  /** Operands, and everything from the first one on when `stopAtOperand`. */
  operands: string[];
}

/** The `-h`/`--help` option every subcommand has. */
export const HELP: OptionSpec = {
  type: "boolean",
  short: "h",
  help: "show this help",
};

/**
 * A usage error: the CLI prints it as `userns: SUB: WHAT; see userns SUB
 * --help` (or with `hint` instead) and exits 125 (`run`, `enter`) or 2.
 *
 * @param what what is wrong, with the word in question quoted
 * @param hint what to do, when there is better advice than the help
 * @returns the error to throw
 */
export function usageError(what: string, hint?: string): UsernsError {
  return new UsernsError("INVALID_ARGUMENT", what, hint ? { hint } : {});
}

const quote = (s: string): string => JSON.stringify(s);

/** The long name of `flag` (`--name` or `-x`), if the table has it. */
function lookup(flag: string, specs: OptionSpecs): string | undefined {
  if (flag.startsWith("--")) {
    const name = flag.slice(2);
    return Object.hasOwn(specs, name) ? name : undefined;
  }
  return Object.keys(specs).find((n) => `-${specs[n]!.short}` === flag);
}

/** Records one value, refusing a second one for a non-repeatable option. */
function store(
  values: Parsed["values"],
  name: string,
  spec: OptionSpec,
  value: string | true,
  flag: string,
): void {
  const old = values[name];
  if (spec.multiple && typeof value === "string") {
    values[name] = [...(Array.isArray(old) ? old : []), value];
  } else if (old !== undefined) {
    throw usageError(`repeated option ${quote(flag)}`);
  } else values[name] = value;
}

/**
 * Whether a word is a decimal number as the CLI takes one: digits only,
 * with a leading `-` when `signed`. No sign, space, `0x` or exponent, which
 * `Number()` would accept.
 *
 * @param text the word
 * @param signed a leading minus is allowed @default {false}
 * @returns whether it is
 */
export function isDecimal(text: string, signed = false): boolean {
  return (signed ? /^-?[0-9]+$/ : /^[0-9]+$/).test(text);
}

/**
 * A decimal word (see {@link isDecimal}) as the number it says exactly.
 *
 * @param text the word
 * @param signed a leading minus is allowed @default {false}
 * @returns the number, or undefined when the word is not decimal or its
 * number is past 2^53 (not exactly representable)
 */
export function decimal(text: string, signed = false): number | undefined {
  if (!isDecimal(text, signed)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * Parses argv. Options and operands may be mixed; `--` ends the options.
 * With `stopAtOperand`, the first operand ends them too, and it and the
 * rest are returned untouched (the command and its own arguments).
 * `-h`/`--help` ends parsing at once: help is shown whatever follows.
 *
 * @param argv the arguments after the subcommand
 * @param specs the subcommand's options
 * @param stopAtOperand whether the first operand ends our options
 * @returns values and operands
 * @throws {UsernsError} INVALID_ARGUMENT (see {@link usageError}) for an
 *   unknown option, a missing value, a value given to a boolean option, or
 *   a repeated option that does not repeat
 */
export function parse(
  argv: string[],
  specs: OptionSpecs,
  stopAtOperand: boolean,
): Parsed {
  const values: Parsed["values"] = {};
  const ordered: Parsed["ordered"] = [];
  const operands: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === "--") {
      return { values, ordered, operands: [...operands, ...argv.slice(i + 1)] };
    }
    if (!word.startsWith("-") || word === "-") {
      if (stopAtOperand) return { values, ordered, operands: argv.slice(i) };
      operands.push(word);
      continue;
    }
    const eq = word.startsWith("--") ? word.indexOf("=") : -1;
    const flag = eq < 0 ? word : word.slice(0, eq);
    const name = lookup(flag, specs);
    if (name === undefined) throw usageError(`unknown option ${quote(flag)}`);
    const spec = specs[name]!;
    let value: string | true = true;
    if (spec.type === "boolean") {
      if (eq >= 0) throw usageError(`unexpected value for ${quote(flag)}`);
      if (name === "help") {
        return { values: { help: true }, ordered: [], operands: [] };
      }
    } else if (eq >= 0) value = word.slice(eq + 1);
    else if (spec.bare !== undefined && !isDecimal(argv[i + 1] ?? "")) {
      value = spec.bare;
    } else if (i + 1 < argv.length) value = argv[++i]!;
    else throw usageError(`missing value for ${quote(flag)}`);
    if (spec.arity === 2 && typeof value === "string") {
      if (i + 1 >= argv.length) {
        throw usageError(`missing second value for ${quote(flag)}`);
      }
      value = `${value}\0${argv[++i]}`;
    }
    if (spec.ordered && typeof value === "string") {
      ordered.push([name, value.split("\0")]);
    }
    store(values, name, spec, value, flag);
  }
  return { values, ordered, operands };
}

/**
 * Throws unless there are at most `max` operands.
 *
 * @param operands the operands
 * @param max how many the subcommand takes
 * @throws {UsernsError} INVALID_ARGUMENT naming the first extra one
 */
export function maxOperands(operands: string[], max: number): void {
  const extra = operands[max];
  if (extra !== undefined) {
    throw usageError(`unexpected argument ${quote(extra)}`);
  }
}

/** An option as the help shows it: `-h, --help` or `--map MODE`. */
function synopsis(name: string, s: OptionSpec): string {
  const short = s.short ? `-${s.short}, ` : "";
  const value = s.type === "string"
    ? (s.bare !== undefined
      ? ` [${s.value ?? "VALUE"}]`
      : ` ${s.value ?? "VALUE"}`)
    : "";
  return `${short}--${name}${value}`;
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
    synopsis(name, s),
    s.help + (s.multiple ? " (repeatable)" : ""),
  ]);
  const width = Math.max(...rows.map(([l]) => l!.length));
  return `${usage}\n\nOptions:\n${
    rows.map(([l, r]) => `  ${l!.padEnd(width)}  ${r}`).join("\n")
  }\n`;
}
