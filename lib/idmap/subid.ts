/**
 * Reading `/etc/subuid` and `/etc/subgid` the way shadow 4.13 (`newuidmap`,
 * `newgidmap`, `getsubids`) reads them, and checking them for mistakes.
 *
 * Shadow's rules, mirrored here: a line is cut at `:` and needs three
 * non-empty fields (anything after a third `:` is ignored); numbers go through
 * `strtoul(field, &end, 0)`, so leading whitespace, a sign, hex (`0x`) and
 * octal (`0`) are accepted, trailing characters (a space, the `\r` of a CRLF
 * file) are not, and any value up to 2^64-1 is kept; a count of 0 parses;
 * lines of 1024 bytes or more (as bytes in the file) and NIS lines (`+`/`-`)
 * are skipped; a NUL byte hides the rest of its line and joins the next one,
 * and when that was the file's last line and a newline ended it, shadow
 * cannot read the file at all. The last id of a range is computed as
 * `start + count - 1` in 64 bits: where that wraps, no id matches. Lines
 * shadow skips are reported as problems, except blank lines and `#` comments.
 *
 * @module
 */

import { SubIdError } from "../errors/errors.ts";
import { MAX_ID } from "./id_space.ts";

/** One parsed `owner:start:count` line. */
export interface SubIdRange {
  /** The owner field as written: a user name or a decimal uid. */
  owner: string;
  /** First subordinate id (values past 2^53 lose precision). */
  start: number;
  /** Number of ids; 0 is possible, as shadow parses it. */
  count: number;
  /**
   * Set when `start + count - 1` passes 2^64-1: shadow's last id wraps
   * around and `newuidmap` matches no id in the range (`getsubids` still
   * lists it).
   */
  wraps?: true;
  /** The file the line came from. */
  source: string;
  /** 1-based line number. */
  line: number;
}

/** A line shadow does not parse, or a finding of {@link checkSubIdFile}. */
export interface SubIdProblem {
  /** The file the line came from. */
  source: string;
  /** 1-based line number. */
  line: number;
  /** Lower-case description, e.g. `expected "owner:start:count", got "alice:1"`. */
  problem: string;
}

/** A parsed sub-ID file. */
export interface SubIdFile {
  /** The path it was read from (or named as). */
  path: string;
  /** Every line shadow accepts, in file order (none when shadow cannot read
   * the file at all). */
  ranges: SubIdRange[];
  /** Every line shadow skips, except blank lines and `#` comments. */
  problems: SubIdProblem[];
}

/** The user whose ranges are looked up. */
export interface SubIdUser {
  /** The login name, when known. */
  name?: string;
  /** The numeric uid (also for `/etc/subgid`, as `newgidmap` does). */
  uid: number;
}

const ULONG_MAX = (1n << 64n) - 1n;
const NEWLINE = 0x0a;
/** Shadow copies a line into `char rangebuf[1024]` and skips longer ones. */
const LINE_BYTES = 1024;
const DIGITS: Record<number, RegExp> = {
  8: /^[0-7]+$/,
  10: /^[0-9]+$/,
  16: /^[0-9a-fA-F]+$/,
};

const quote = (s: string): string => JSON.stringify(s);

/** `isspace()` in the C locale. */
function isCSpace(c: string | undefined): boolean {
  return c === " " || (c !== undefined && c >= "\t" && c <= "\r");
}

/**
 * shadow's `getulong()`: `strtoul(s, &end, 0)` that must consume the whole
 * field and must not overflow `unsigned long` (64 bits).
 */
function getulong(s: string): bigint | "invalid" | "range" {
  let i = 0;
  while (isCSpace(s[i])) i++;
  let negative = false;
  if (s[i] === "+" || s[i] === "-") negative = s[i++] === "-";
  let radix = 10;
  if (s[i] === "0" && /^[xX][0-9a-fA-F]/.test(s.slice(i + 1, i + 3))) {
    radix = 16;
    i += 2;
  } else if (s[i] === "0") radix = 8;
  const digits = s.slice(i);
  if (!DIGITS[radix]!.test(digits)) return "invalid";
  const prefix = radix === 16 ? "0x" : radix === 8 ? "0o" : "";
  const value = BigInt(prefix + digits);
  if (value > ULONG_MAX) return "range";
  // strtoul negates in unsigned arithmetic: "-1" is ULONG_MAX.
  return negative ? (ULONG_MAX + 1n - value) & ULONG_MAX : value;
}

/** Describes why a number field failed, or returns its value. */
function numberField(name: string, field: string): bigint | string {
  const v = getulong(field);
  if (typeof v === "bigint") return v;
  if (v === "range") return `${name} ${quote(field)} is out of range`;
  const crlf = field.endsWith("\r") ? " (crlf line ending?)" : "";
  return `${name} ${quote(field)} is not a number${crlf}`;
}

/** Parses one logical line: a range, a problem text, or null to skip. */
function parseLine(
  bytes: Uint8Array,
): Omit<SubIdRange, "source" | "line"> | string | null {
  const text = new TextDecoder().decode(bytes);
  if (text.trim() === "" || text.startsWith("#")) return null;
  if (bytes.length >= LINE_BYTES) {
    return `line is ${LINE_BYTES} bytes or longer, which shadow skips`;
  }
  if (text[0] === "+" || text[0] === "-") {
    return `nis entry ${quote(text)} is ignored by shadow`;
  }
  const [owner, start, count] = text.split(":");
  if (!owner || !start || !count) {
    return `expected "owner:start:count", got ${quote(text)}`;
  }
  const s = numberField("start", start);
  if (typeof s === "string") return s;
  const c = numberField("count", count);
  if (typeof c === "string") return c;
  const range = { owner, start: Number(s), count: Number(c) };
  return s + c > ULONG_MAX + 1n ? { ...range, wraps: true } : range;
}

/** Shadow's logical lines and, when it cannot read the file, the line why. */
interface LogicalLines {
  /** First line number and bytes of each logical line. */
  lines: Array<[number, Uint8Array]>;
  /** The line whose NUL byte makes the whole file unreadable to shadow. */
  unreadable?: number;
}

/** The bytes of `pieces`, joined. */
function concat(pieces: Uint8Array[]): Uint8Array {
  if (pieces.length === 1) return pieces[0]!;
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Splits a file into shadow's logical lines. As with `fgets()` +
 * `strrchr(buf, '\n')`, a NUL byte ends the C string, so the newline is not
 * seen and the next physical line is appended. When no line follows, the
 * next `fgets()` fails and commonio gives up on the whole file, unless the
 * file ended without a newline (then `feof()` ends the line).
 */
function logicalLines(content: Uint8Array): LogicalLines {
  const lines: Array<[number, Uint8Array]> = [];
  let pending: [number, Uint8Array[]] | undefined;
  let n = 0;
  for (let at = 0; at < content.length; n++) {
    const nl = content.indexOf(NEWLINE, at);
    const raw = content.subarray(at, nl < 0 ? content.length : nl);
    at += raw.length + 1;
    const nul = raw.indexOf(0);
    pending ??= [n + 1, []];
    pending[1].push(nul < 0 ? raw : raw.subarray(0, nul));
    if (nul < 0) {
      lines.push([pending[0], concat(pending[1])]);
      pending = undefined;
    }
  }
  if (pending && content.at(-1) === NEWLINE) return { lines, unreadable: n };
  if (pending) lines.push([pending[0], concat(pending[1])]);
  return { lines };
}

/**
 * Parses the text of a sub-ID file exactly as shadow 4.13 does.
 *
 * @example Usage
 * ```ts
 * import { parseSubIdFile } from "./subid.ts";
 * const f = parseSubIdFile("alice:100000:65536\nbob:1\n", "/etc/subuid");
 * console.assert(f.ranges[0]?.start === 100000);
 * console.assert(f.problems[0]?.line === 2);
 * ```
 *
 * @param content the file's content: its bytes, or text (taken as UTF-8)
 * @param path the file's path, recorded as `source` on each range and problem
 * @returns the ranges shadow accepts and the lines it skips, in file order;
 *   no range at all, and a problem saying why, when shadow cannot read it
 * @throws never: malformed lines become problems
 */
export function parseSubIdFile(
  content: string | Uint8Array,
  path: string,
): SubIdFile {
  const bytes = typeof content === "string"
    ? new TextEncoder().encode(content)
    : content;
  const { lines, unreadable } = logicalLines(bytes);
  const file: SubIdFile = { path, ranges: [], problems: [] };
  for (const [line, body] of lines) {
    const parsed = parseLine(body);
    if (parsed === null) continue;
    if (typeof parsed === "string") {
      file.problems.push({ source: path, line, problem: parsed });
    } else if (unreadable === undefined) {
      file.ranges.push({ ...parsed, source: path, line });
    }
  }
  if (unreadable !== undefined) {
    const problem = "a nul byte hides the newline of the last line: " +
      "shadow cannot read the file at all (getsubids and newuidmap fail)";
    file.problems.push({ source: path, line: unreadable, problem });
  }
  return file;
}

/**
 * Lists a user's ranges as `getsubids` does: in file order, every range whose
 * owner is the user's name or the decimal uid. A range matching both (a user
 * named like its own uid) is returned twice, as shadow does. In `/etc/subgid`
 * the numeric owner is the uid too, as `newgidmap` matches it.
 *
 * @param file a parsed sub-ID file
 * @param user the user's name (optional) and uid
 * @returns the matching ranges, in file order, zero counts included
 * @throws never
 */
export function rangesFor(file: SubIdFile, user: SubIdUser): SubIdRange[] {
  const uid = String(user.uid);
  const out: SubIdRange[] = [];
  for (const range of file.ranges) {
    if (user.name !== undefined && range.owner === user.name) out.push(range);
    if (range.owner === uid) out.push(range);
  }
  return out;
}

/** The result for a failed read: empty when missing, else a SubIdError. */
function readFailure(path: string, e: unknown): SubIdFile {
  if (e instanceof Deno.errors.NotFound) {
    return { path, ranges: [], problems: [] };
  }
  const code = (e as { code?: unknown }).code;
  const errno = typeof code === "string" ? code : undefined;
  const hint = e instanceof Deno.errors.NotCapable
    ? `run with --allow-read=${path}`
    : errno === "EMFILE" || errno === "ENFILE"
    ? "too many open files; raise ulimit -n"
    : "make it readable (shadow installs it with mode 0644) or name another file";
  const why = errno ?? (e as Error).name;
  throw new SubIdError("SUBID_READ", `cannot read ${path}: ${why}`, {
    hint,
    cause: e,
    ...(errno ? { errno } : {}),
  });
}

/**
 * Reads and parses a sub-ID file. A missing file holds no ranges.
 *
 * @param path the file to read, e.g. `/etc/subuid`
 * @returns the parsed file
 * @throws {SubIdError} code `SUBID_READ` when the file exists but cannot be
 *   read (permission, a directory, no `--allow-read`)
 */
export async function readSubIdFile(path: string): Promise<SubIdFile> {
  try {
    return parseSubIdFile(await Deno.readFile(path), path);
  } catch (e) {
    return readFailure(path, e);
  }
}

/**
 * Synchronous {@link readSubIdFile}, for callers that plan maps without
 * awaiting (a `spawn()` shaped like `Deno.Command`'s).
 *
 * @param path the file to read, e.g. `/etc/subuid`
 * @returns the parsed file
 * @throws {SubIdError} code `SUBID_READ` as {@link readSubIdFile}
 */
export function readSubIdFileSync(path: string): SubIdFile {
  try {
    return parseSubIdFile(Deno.readFileSync(path), path);
  } catch (e) {
    return readFailure(path, e);
  }
}

/**
 * Reads a sub-ID file's text as it is, lines shadow skips included. A
 * missing file reads as empty.
 *
 * @param path the file to read, e.g. `/etc/subuid`
 * @returns its text (UTF-8; invalid bytes replaced)
 * @throws {SubIdError} code `SUBID_READ` as {@link readSubIdFile}
 */
export function readSubIdTextSync(path: string): string {
  try {
    return new TextDecoder().decode(Deno.readFileSync(path));
  } catch (e) {
    readFailure(path, e);
    return "";
  }
}

const show = (r: SubIdRange): string => `${r.owner} ${r.start}+${r.count}`;

/** Findings about one range on its own. */
function rangeFindings(r: SubIdRange): string[] {
  const found: string[] = [];
  if (r.owner.trim() !== r.owner) {
    found.push(
      `owner ${
        quote(r.owner)
      } has surrounding whitespace; shadow compares it as written`,
    );
  }
  if (r.count === 0) {
    found.push(
      r.start === 0
        ? `count is 0 (${show(r)}); newuidmap 4.13 then allows every id`
        : `count is 0 (${show(r)})`,
    );
  } else if (r.wraps) {
    found.push(
      `range ${show(r)} wraps past 2^64-1; shadow matches no id in it`,
    );
  } else if (r.start + r.count > MAX_ID) {
    found.push(`range ${show(r)} ends past ${MAX_ID - 1}, the last valid id`);
  }
  return found;
}

/**
 * Validates a whole sub-ID file for `userns subids --check`: malformed lines,
 * owners with surrounding whitespace, zero counts, ranges past 4294967295,
 * and ranges of different owners that overlap (owners are compared as
 * strings: a name and the same user's numeric uid count as different).
 *
 * @param file a parsed sub-ID file
 * @returns one problem per finding, in line order; overlaps are reported on
 *   the later line and name the earlier one
 * @throws never
 */
export function checkSubIdFile(file: SubIdFile): SubIdProblem[] {
  const found: SubIdProblem[] = [...file.problems];
  const at = (r: SubIdRange, problem: string): SubIdProblem => ({
    source: r.source,
    line: r.line,
    problem,
  });
  file.ranges.forEach((r, j) => {
    for (const p of rangeFindings(r)) found.push(at(r, p));
    if (r.count === 0) return;
    for (const o of file.ranges.slice(0, j)) {
      const overlap = o.count > 0 && o.start < r.start + r.count &&
        r.start < o.start + o.count;
      if (overlap && o.owner !== r.owner) {
        found.push(at(r, `${show(r)} overlaps line ${o.line} (${show(o)})`));
      }
    }
  });
  return found.sort((a, b) => a.line - b.line);
}
