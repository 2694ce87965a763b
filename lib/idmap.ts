/**
 * Planning and validating user namespace ID maps (pure: no I/O).
 *
 * {@link planIdMaps} turns a `--map` mode, explicit lines and the caller's
 * delegated sub-ID ranges into the uid and gid maps to write, how to write
 * them (`/proc` directly or through `newuidmap`/`newgidmap`), the setgroups
 * policy and the inside identity. {@link validateIdMap} applies the kernel's
 * and `newuidmap`'s rules before anything is written.
 *
 * @module
 */

import { HelperError, IdMapError, type UsernsErrorCode } from "./errors.ts";
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

/** The `--map` modes of `userns run`. */
export type MapMode = "auto" | "root" | "current";

/** `first + count` must be <= MAX_ID, inside and outside (kernel rule). */
export const MAX_ID = 4294967295;
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

/** Everything {@link planIdMaps} decides from. */
export interface PlanInput {
  /** The `--map` mode. */
  mode: MapMode;
  /** Explicit uid map; replaces the uid side of `mode`. */
  uidMap?: IdMapping[];
  /** Explicit gid map; replaces the gid side of `mode`. */
  gidMap?: IdMapping[];
  /** The caller's uid side. */
  uid: IdSide;
  /** The caller's gid side. */
  gid: IdSide;
  /** May write any map to /proc directly (running as root). */
  privileged: boolean;
  /** Which helpers are on PATH. */
  helpers: { newuidmap: boolean; newgidmap: boolean };
  /** Fail instead of falling back when `auto` cannot map sub-IDs. */
  strict: boolean;
  /** Inside uid to run as. @default 0, or the own uid with `current` */
  user?: number;
  /** Inside gid to run as. @default 0, or the own gid with `current` */
  group?: number;
  /** `/proc/PID/setgroups` policy. @default as the kernel allows */
  setgroups?: "allow" | "deny";
}

/** The maps to write and how. */
export interface IdMapPlan {
  /** The uid map. */
  uid: IdMapping[];
  /** The gid map. */
  gid: IdMapping[];
  /** How the uid map is written. */
  uidVia: "proc" | "newuidmap";
  /** How the gid map is written. */
  gidVia: "proc" | "newgidmap";
  /** The setgroups policy of the namespace. */
  setgroups: "allow" | "deny";
  /** Inside uid the command runs as. */
  user: number;
  /** Inside gid the command runs as. */
  group: number;
  /** The fallback warning, without the `userns: ` prefix. */
  warning?: string;
}

type Kind = "uid" | "gid";
type Span = [start: number, end: number];
type Helper = "newuidmap" | "newgidmap";

/** Where an admin finds a free range to delegate: never a fixed one. */
const SUGGEST =
  '"userns subids --suggest" prints the usermod line for a free one';
const quote = (s: string): string => JSON.stringify(s);
const text = (m: IdMapping): string => `${m.inner} ${m.outer} ${m.count}`;
const mapText = (map: IdMapping[]) => quote(map.map(text).join(", "));
const label = (kind: Kind, m: IdMapping, i: number) =>
  `${kind} map line ${i + 1} ${quote(text(m))}`;
const fail = (code: UsernsErrorCode, what: string, hint: string) =>
  new IdMapError(code, what, { hint });
const meet = (a: number, an: number, b: number, bn: number) =>
  a < b + bn && b < a + an;
const own = (s: IdSide, inner = 0) => [{ inner, outer: s.ownId, count: 1 }];

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

/** The usable spans of ranges, in their order. */
function usableSpans(ranges: SubIdRange[]): Span[] {
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

/** Parts of `[a, b)` outside every span of `covered`, ascending. */
function subtract([a, b]: Span, covered: Span[]): Span[] {
  const out: Span[] = [];
  let cur = a;
  for (const [c, d] of [...covered].sort((x, y) => x[0] - y[0])) {
    if (d <= cur) continue;
    if (c >= b) break;
    if (c > cur) out.push([cur, c]);
    cur = d;
  }
  if (cur < b) out.push([cur, b]);
  return out;
}

/**
 * `0 ownId 1`, then the delegated ranges stacked from inside id 1, each id
 * once: what earlier lines cover (duplicates, overlaps, the own id) is left
 * out, so a range holding the own id splits in two.
 */
function stackDelegated(side: IdSide): IdMapping[] {
  const map = own(side);
  const covered: Span[] = [[side.ownId, side.ownId + 1]];
  let inner = 1;
  for (const span of usableSpans(side.delegated)) {
    for (const [a, b] of subtract(span, covered)) {
      const count = Math.min(b - a, MAX_ID - inner);
      if (count < 1) break;
      map.push({ inner, outer: a, count });
      inner += count;
    }
    covered.push(span);
  }
  return map;
}

/** Why unprivileged `auto` falls back: a warning, and the strict error. */
function fallback(input: PlanInput, uid: IdMapping[], gid: IdMapping[]) {
  const sides = ([
    [input.uid, uid, input.uidMap, "newuidmap"],
    [input.gid, gid, input.gidMap, "newgidmap"],
  ] as const).filter((s) => s[2] === undefined);
  const tail = "mapping only your own uid and gid";
  const bare = sides.find((s) => s[1].length < 2)?.[0];
  if (bare) {
    const what = `no subordinate ${bare.kind}s for uid ${input.uid.ownId} ` +
      `in ${bare.file}`;
    const hint = `ask an admin to delegate a range (${SUGGEST})`;
    const warning = `${what}: ${tail} (run "userns doctor")`;
    return { warning, error: fail("MAP_NOT_DELEGATED", what, hint) };
  }
  const helper = sides.find((s) => !input.helpers[s[3]])?.[3];
  if (!helper) return undefined;
  const hint = "install the uidmap package";
  return {
    warning: `${helper} not found: ${tail}; ${hint}`,
    error: new HelperError(
      "HELPER_MISSING",
      `${helper} not found on PATH: it maps the subordinate ids`,
      { hint },
    ),
  };
}

/** The maps of `mode`, before explicit lines replace a side. */
function modeMaps(input: PlanInput) {
  const { uid, gid, privileged } = input;
  if (input.mode === "root") return { uid: own(uid), gid: own(gid) };
  if (input.mode === "current") {
    return { uid: own(uid, uid.ownId), gid: own(gid, gid.ownId) };
  }
  const stacked = { uid: stackDelegated(uid), gid: stackDelegated(gid) };
  if (privileged) {
    const whole = [{ inner: 0, outer: 0, count: MAX_ID }];
    const pick = (m: IdMapping[]) => (m.length > 1 ? m : whole);
    return { uid: pick(stacked.uid), gid: pick(stacked.gid) };
  }
  const why = fallback(input, stacked.uid, stacked.gid);
  if (!why) return stacked;
  if (input.strict) throw why.error;
  return { uid: own(uid), gid: own(gid), warning: why.warning };
}

/** How a map is written: to /proc when the kernel lets us, else by helper. */
function writer<H extends Helper>(
  map: IdMapping[],
  side: IdSide,
  input: PlanInput,
  helper: H,
): "proc" | H {
  const [first, ...rest] = map;
  const self = !rest.length && first?.outer === side.ownId &&
    first.count === 1;
  if (input.privileged || self) return "proc";
  if (input.helpers[helper]) return helper;
  const what =
    `${helper} not found on PATH: it must write the ${side.kind} map ` +
    mapText(map);
  const hint = "install the uidmap package";
  throw new HelperError("HELPER_MISSING", what, { hint });
}

/** Throws unless `id` lies inside some line of `map`. */
function requireMapped(id: number, map: IdMapping[], kind: Kind): void {
  if (map.some((m) => m.inner <= id && id < m.inner + m.count)) return;
  const what = `${kind} ${id} is not mapped: the ${kind} map is ${
    mapText(map)
  }`;
  const hint = `pick a ${kind} inside the map or add a --${kind}-map line`;
  throw fail("MAP_UNMAPPED_ID", what, hint);
}

/** The setgroups policy; an unprivileged direct gid map forces "deny". */
function setgroupsPolicy(input: PlanInput, gidVia: string, gid: IdMapping[]) {
  const forced = !input.privileged && gidVia === "proc";
  if (input.setgroups === "allow" && forced) {
    const what = `setgroups "allow" needs a gid map written by newgidmap, ` +
      `but ${mapText(gid)} is written directly and the kernel requires "deny"`;
    const hint = `get a subordinate gid range (${SUGGEST}) ` +
      "or use --setgroups deny";
    throw fail("MAP_SETGROUPS", what, hint);
  }
  return input.setgroups ?? (forced ? "deny" : "allow");
}

/**
 * Plans the uid and gid maps of a new user namespace (SPEC `run`).
 *
 * @example Usage
 * ```ts
 * import { planIdMaps } from "./idmap.ts";
 * const d = [{ owner: "al", start: 1e5, count: 65536, source: "", line: 1 }];
 * const plan = planIdMaps({ mode: "auto", privileged: false, strict: false,
 *   uid: { kind: "uid", ownId: 1001, delegated: d, file: "/etc/subuid" },
 *   gid: { kind: "gid", ownId: 1001, delegated: d, file: "/etc/subgid" },
 *   helpers: { newuidmap: true, newgidmap: true } });
 * console.assert(plan.uid[1]?.outer === 100000 && plan.uidVia === "newuidmap");
 * ```
 *
 * @param input the mode, explicit maps, the caller's sides and environment
 * @returns the maps, how each is written, setgroups, the inside identity,
 *   and the warning when `auto` fell back to `root`
 * @throws {IdMapError} any {@link validateIdMap} error; `MAP_NOT_DELEGATED`
 *   for strict `auto` without sub-IDs; `MAP_UNMAPPED_ID` when the inside
 *   user or group is not mapped; `MAP_SETGROUPS` for "allow" on a direct map
 * @throws {HelperError} `HELPER_MISSING` when a map needs a helper that is
 *   not on PATH (strict `auto`, or an explicit map)
 */
export function planIdMaps(input: PlanInput): IdMapPlan {
  const base: { uid: IdMapping[]; gid: IdMapping[]; warning?: string } =
    modeMaps(input);
  const uid = input.uidMap ?? base.uid;
  const gid = input.gidMap ?? base.gid;
  validateIdMap(uid, input.uid, input.privileged);
  validateIdMap(gid, input.gid, input.privileged);
  const current = input.mode === "current";
  const user = input.user ?? (current ? input.uid.ownId : 0);
  const group = input.group ?? (current ? input.gid.ownId : 0);
  requireMapped(user, uid, "uid");
  requireMapped(group, gid, "gid");
  const uidVia = writer(uid, input.uid, input, "newuidmap");
  const gidVia = writer(gid, input.gid, input, "newgidmap");
  const setgroups = setgroupsPolicy(input, gidVia, gid);
  const plan: IdMapPlan = { uid, gid, uidVia, gidVia, setgroups, user, group };
  if (base.warning !== undefined) plan.warning = base.warning;
  return plan;
}
