/**
 * ID map lines, their text forms, and the rules a map must keep before it
 * is written (pure: no I/O): the kernel's limits and, unprivileged, what
 * `newuidmap`/`newgidmap` allow. The planner in `plan.ts` builds on it.
 *
 * @module
 */

import { IdMapError, type UsernsErrorCode } from "../errors/errors.ts";
import { MAX_ID } from "./id_space.ts";
import type { SubIdRange } from "./subid.ts";

/** One map line: `count` ids from `inner` (inside) onto `outer` (outside). */
export interface IdMapping {
  /** First id inside the namespace. */
  inner: number;
  /** First id outside (in the parent namespace). */
  outer: number;
  /** Number of ids, at least 1. */
  count: number;
}

const MAX_LINES = 340;
const MAX_BYTES = 4096;

/** One side (uid or gid) of what the caller may map. */
export interface IdSide {
  /** Which side. */
  kind: "uid" | "gid";
  /** The caller's own uid or gid. */
  ownId: number;
  /** The caller's ranges from the sub-ID file, in file order. */
  delegated: SubIdRange[];
  /** The file that delegates them: `/etc/subuid` or `/etc/subgid`. */
  file: string;
}

/** Which side of the maps. */
export type Kind = "uid" | "gid";
/** Ids as `[start, end)`. */
export type Span = [start: number, end: number];

/** Where an admin finds a free range to delegate: never a fixed one. */
export const SUGGEST =
  '"userns subids --suggest" prints the usermod line for a free one';
const quote = (s: string): string => JSON.stringify(s);
const text = (m: IdMapping): string => `${m.inner} ${m.outer} ${m.count}`;
const label = (kind: Kind, m: IdMapping, i: number) =>
  `${kind} map line ${i + 1} ${quote(text(m))}`;
const meet = (a: number, an: number, b: number, bn: number) =>
  a < b + bn && b < a + an;

/**
 * A map as one quoted string for messages: `"0 1001 1, 1 200000 65536"`.
 *
 * @param map the lines
 * @returns the quoted text
 */
export const mapText = (map: IdMapping[]): string =>
  quote(map.map(text).join(", "));

/**
 * An {@link IdMapError} with a hint.
 *
 * @param code the reason
 * @param what what is wrong
 * @param hint what to do
 * @returns the error
 */
export const fail = (
  code: UsernsErrorCode,
  what: string,
  hint: string,
): IdMapError => new IdMapError(code, what, { hint });

/**
 * Parses one `--uid-map`/`--gid-map` value, `INNER:OUTER:COUNT` in decimal.
 *
 * @param spec the option value
 * @returns the map line
 * @throws {IdMapError} `MAP_SYNTAX` unless it is three decimal numbers joined
 *   by `:`; `MAP_RANGE` when a number is past 4294967295
 */
export function parseIdMapSpec(spec: string): IdMapping {
  const m = /^(\d+):(\d+):(\d+)$/.exec(spec);
  const hint = 'write INNER:OUTER:COUNT in decimal, e.g. "0:100000:65536"';
  if (!m) throw fail("MAP_SYNTAX", `invalid id map ${quote(spec)}`, hint);
  const [inner, outer, count] = m.slice(1).map(Number) as number[];
  if (Math.max(inner!, outer!, count!) > MAX_ID) {
    throw fail("MAP_RANGE", `id map ${quote(spec)} is past ${MAX_ID}`, hint);
  }
  return { inner: inner!, outer: outer!, count: count! };
}

/**
 * Formats a map as the kernel takes it in `/proc/PID/uid_map`.
 *
 * @param map the lines
 * @returns `"inner outer count\n"` per line: the bytes of the one write
 * @throws never
 */
export function formatIdMap(map: IdMapping[]): string {
  return map.map((m) => text(m) + "\n").join("");
}

/**
 * Parses the content of `/proc/PID/uid_map` or `gid_map`.
 *
 * @param content the file content (right-aligned columns, runs of spaces)
 * @returns the lines
 * @throws {IdMapError} `MAP_SYNTAX` on a line that is not three numbers
 */
export function parseIdMap(content: string): IdMapping[] {
  const map: IdMapping[] = [];
  content.split("\n").forEach((raw, i) => {
    const f = raw.trim().split(/[ \t]+/);
    if (f[0] === "") return;
    if (f.length !== 3 || !f.every((x) => /^\d+$/.test(x))) {
      const what = `invalid id map line ${i + 1} ${quote(raw)}`;
      throw fail("MAP_SYNTAX", what, 'expected "inner outer count"');
    }
    const [inner, outer, count] = f.map(Number) as [number, number, number];
    map.push({ inner, outer, count });
  });
  return map;
}

/** The ids of a sub-ID range the kernel can map, as `[start, end)`. */
function usableSpan(r: SubIdRange): Span | undefined {
  if (r.wraps || !(r.count >= 1 && r.start >= 0)) return undefined;
  const end = Math.min(r.start + r.count, MAX_ID);
  return r.start < end ? [r.start, end] : undefined;
}

/**
 * The usable spans of delegated ranges, in their order: what a range of
 * shadow's can map (not wrapping, at least one id, clamped at MAX_ID).
 *
 * @param ranges the ranges
 * @returns their spans
 */
export function usableSpans(ranges: SubIdRange[]): Span[] {
  return ranges.map(usableSpan).filter((s): s is Span => s !== undefined);
}

/**
 * Delegated ranges merged where they overlap or touch (newuidmap spans them).
 * A count of 0 at start 0 ends at 2^64-1 in shadow's arithmetic, so
 * newuidmap then allows every id.
 */
function delegatedSpans(ranges: SubIdRange[]): Span[] {
  if (ranges.some((r) => r.start === 0 && r.count === 0)) return [[0, MAX_ID]];
  const spans = usableSpans(ranges);
  const out: Span[] = [];
  for (const [a, b] of spans.sort((x, y) => x[0] - y[0])) {
    const last = out.at(-1);
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** Checks one line's numbers against the kernel's rules. */
function checkLine(kind: Kind, m: IdMapping, i: number): void {
  const at = label(kind, m, i);
  const whole = [m.inner, m.outer, m.count].every((n) =>
    Number.isSafeInteger(n) && n >= 0
  );
  if (!whole) throw fail("MAP_RANGE", `${at}: not whole numbers`, "fix it");
  if (m.count < 1) {
    throw fail("MAP_RANGE", `${at}: count is 0`, "give a count of 1 or more");
  }
  if (m.inner + m.count > MAX_ID || m.outer + m.count > MAX_ID) {
    const what = `${at}: ends past ${MAX_ID - 1}, the last valid id`;
    throw fail("MAP_RANGE", what, `keep first + count <= ${MAX_ID}`);
  }
}

/** Throws on the first line sharing inside or outside ids with an earlier one. */
function checkOverlaps(kind: Kind, map: IdMapping[]): void {
  map.forEach((b, j) =>
    map.slice(0, j).forEach((a, i) => {
      const where = meet(a.inner, a.count, b.inner, b.count)
        ? "inside"
        : meet(a.outer, a.count, b.outer, b.count)
        ? "outside"
        : undefined;
      if (!where) return;
      const what = `${label(kind, b, j)} overlaps line ${i + 1} ` +
        `${quote(text(a))} on the ${where} ids`;
      throw fail("MAP_OVERLAP", what, "map each id once on each side");
    })
  );
}

/** Unprivileged: each outside range must be the own id alone or delegated. */
function checkDelegated(map: IdMapping[], side: IdSide): void {
  const spans = delegatedSpans(side.delegated);
  map.forEach((m, i) => {
    if (m.count === 1 && m.outer === side.ownId) return;
    const end = m.outer + m.count;
    if (spans.some(([a, b]) => a <= m.outer && end <= b)) return;
    const ids = `${m.outer}-${end - 1}`;
    const what = `${label(side.kind, m, i)}: outside ${side.kind}s ${ids} ` +
      `are not delegated to you in ${side.file}`;
    const hint = `map only ids delegated to you (userns subids), or ask an ` +
      `admin for more (${SUGGEST})`;
    throw fail("MAP_NOT_DELEGATED", what, hint);
  });
}

/**
 * Checks a map against the kernel's limits and, unprivileged, against what
 * `newuidmap`/`newgidmap` would allow.
 *
 * @param map the lines to write
 * @param side the caller's own id and delegated ranges on this side
 * @param privileged true when written as root (no delegation check)
 * @throws {IdMapError} `MAP_LIMIT` (no line, over 340 lines, 4096 bytes or
 *   more as written), `MAP_RANGE` (count 0, past 4294967295), `MAP_OVERLAP`
 *   (two lines share inside or outside ids), `MAP_NOT_DELEGATED`
 *   (unprivileged outside ids neither the own id alone nor delegated)
 */
export function validateIdMap(
  map: IdMapping[],
  side: IdSide,
  privileged: boolean,
): void {
  const kind = side.kind;
  if (map.length === 0 || map.length > MAX_LINES) {
    const what = `${kind} map has ${map.length} lines`;
    throw fail("MAP_LIMIT", what, `the kernel takes 1 to ${MAX_LINES}`);
  }
  map.forEach((m, i) => checkLine(kind, m, i));
  const bytes = formatIdMap(map).length;
  if (bytes >= MAX_BYTES) {
    const what = `${kind} map is ${bytes} bytes as written`;
    throw fail("MAP_LIMIT", what, `the kernel takes under ${MAX_BYTES} bytes`);
  }
  checkOverlaps(kind, map);
  if (!privileged) checkDelegated(map, side);
}
