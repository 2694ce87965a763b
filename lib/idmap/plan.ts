/**
 * Planning and validating user namespace ID maps (pure: no I/O).
 *
 * {@link planIdMaps} turns a `--map` mode, explicit lines and the caller's
 * delegated sub-ID ranges into the uid and gid maps to write, how to write
 * them (`/proc` directly or through `newuidmap`/`newgidmap`), the setgroups
 * policy and the inside identity. {@link validateIdMap} (from
 * `rules.ts`) applies the kernel's and `newuidmap`'s rules before
 * anything is written.
 *
 * @module
 */

import { type Cause, HelperError } from "../errors/errors.ts";
import {
  fail,
  type IdMapping,
  type IdSide,
  type Kind,
  mapText,
  type Span,
  SUGGEST,
  usableSpans,
  validateIdMap,
} from "./rules.ts";
import { MAX_ID } from "./id_space.ts";

/** How `map` (`--map`) maps IDs when no explicit lines say. */
export const MAP_MODES = ["auto", "root", "current", "subids"] as const;

/** One of {@link MAP_MODES}. */
export type MapMode = typeof MAP_MODES[number];

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
  /** Fail instead of falling back when `auto` or `subids` cannot map sub-IDs. */
  strict: boolean;
  /**
   * What the caller found out about a helper not on PATH, or about an
   * /etc/passwd it could not read (the ranges listed under the name are
   * then unknown): fallback warnings and errors say it instead of guessing.
   */
  causes?: { newuidmap?: Cause; newgidmap?: Cause; passwd?: Cause };
  /** Inside uid to run as. @default 0, or the own uid with `current` and `subids` */
  user?: number;
  /** Inside gid to run as. @default 0, or the own gid with `current` and `subids` */
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

type Helper = "newuidmap" | "newgidmap";

const own = (s: IdSide, inner = 0) => [{ inner, outer: s.ownId, count: 1 }];

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
 * The delegated ranges in file order, each id once: what earlier ranges and
 * the own id cover (duplicates, overlaps) is left out, so a range holding
 * the own id splits in two.
 */
function delegatedPieces(side: IdSide): Span[] {
  const covered: Span[] = [[side.ownId, side.ownId + 1]];
  const pieces: Span[] = [];
  for (const span of usableSpans(side.delegated)) {
    pieces.push(...subtract(span, covered));
    covered.push(span);
  }
  return pieces;
}

/** `auto`: `0 ownId 1`, then the delegated ranges stacked from inside 1. */
function stackDelegated(side: IdSide): IdMapping[] {
  const map = own(side);
  let inner = 1;
  for (const [a, b] of delegatedPieces(side)) {
    const count = Math.min(b - a, MAX_ID - inner);
    if (count < 1) break;
    map.push({ inner, outer: a, count });
    inner += count;
  }
  return map;
}

/** `subids`: `ownId ownId 1`, then each delegated range onto itself. */
function identityDelegated(side: IdSide): IdMapping[] {
  return [
    ...own(side, side.ownId),
    ...delegatedPieces(side).map(([a, b]) => ({
      inner: a,
      outer: a,
      count: b - a,
    })),
  ];
}

/** A helper's cause: what the caller found, or that it is not on PATH. */
function helperCause(input: PlanInput, helper: Helper): Cause {
  return input.causes?.[helper] ?? {
    what: `${helper} not found on PATH`,
    hint: "install the uidmap package",
  };
}

/**
 * Why unprivileged `auto` or `subids` falls back to the own ids: the
 * warning, and the strict error.
 */
function fallback(input: PlanInput, uid: IdMapping[], gid: IdMapping[]) {
  const sides = ([
    [input.uid, uid, input.uidMap, "newuidmap"],
    [input.gid, gid, input.gidMap, "newgidmap"],
  ] as const).filter((s) => s[2] === undefined);
  const tail = "mapping only your own uid and gid";
  const bare = sides.find((s) => s[1].length < 2)?.[0];
  if (bare) {
    const passwd = input.causes?.passwd;
    const what = `no subordinate ${bare.kind}s for uid ${input.uid.ownId} ` +
      `in ${bare.file}` + (passwd
        ? `: ${passwd.what}, so ranges listed under your name are not seen`
        : "");
    const hint = passwd?.hint ??
      `ask an admin to delegate a range (${SUGGEST})`;
    const warning = passwd
      ? `${what}: ${tail}; ${hint}`
      : `${what}: ${tail} (run "userns doctor")`;
    return { warning, error: fail("MAP_NOT_DELEGATED", what, hint) };
  }
  const helper = sides.find((s) => !input.helpers[s[3]])?.[3];
  if (!helper) return undefined;
  const { what, hint } = helperCause(input, helper);
  return {
    warning: `${what}: ${tail}; ${hint}`,
    error: new HelperError(
      "HELPER_MISSING",
      `${what}: it maps the subordinate ids`,
      { hint },
    ),
  };
}

/** The maps of `mode`, before explicit lines replace a side. */
function modeMaps(input: PlanInput) {
  const { uid, gid, privileged, mode } = input;
  const current = { uid: own(uid, uid.ownId), gid: own(gid, gid.ownId) };
  if (mode === "root") return { uid: own(uid), gid: own(gid) };
  if (mode === "current") return current;
  const build = mode === "subids" ? identityDelegated : stackDelegated;
  const full = { uid: build(uid), gid: build(gid) };
  if (privileged) {
    const whole = [{ inner: 0, outer: 0, count: MAX_ID }];
    const pick = (m: IdMapping[]) => (m.length > 1 ? m : whole);
    return { uid: pick(full.uid), gid: pick(full.gid) };
  }
  const why = fallback(input, full.uid, full.gid);
  if (!why) return full;
  if (input.strict) throw why.error;
  const ownIds = mode === "subids" ? current : { uid: own(uid), gid: own(gid) };
  return { ...ownIds, warning: why.warning };
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
  const { what, hint } = helperCause(input, helper);
  const needs = `${what}: it must write the ${side.kind} map ${mapText(map)}`;
  throw new HelperError("HELPER_MISSING", needs, { hint });
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
 * Plans the uid and gid maps of a new user namespace, as the README's
 * `run` table gives each `--map` mode.
 *
 * @example Usage
 * ```ts
 * import { planIdMaps } from "./plan.ts";
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
 *   and the warning when `auto` fell back to `root` (`subids` to `current`)
 * @throws {IdMapError} any {@link validateIdMap} error; `MAP_NOT_DELEGATED`
 *   for strict `auto`/`subids` without sub-IDs; `MAP_UNMAPPED_ID` when the
 *   inside user or group is not mapped; `MAP_SETGROUPS` for "allow" on a
 *   direct map
 * @throws {HelperError} `HELPER_MISSING` when a map needs a helper that is
 *   not on PATH (strict `auto`/`subids`, or an explicit map)
 */
export function planIdMaps(input: PlanInput): IdMapPlan {
  const base: { uid: IdMapping[]; gid: IdMapping[]; warning?: string } =
    modeMaps(input);
  const uid = input.uidMap ?? base.uid;
  const gid = input.gidMap ?? base.gid;
  validateIdMap(uid, input.uid, input.privileged);
  validateIdMap(gid, input.gid, input.privileged);
  const asOwn = input.mode === "current" || input.mode === "subids";
  const user = input.user ?? (asOwn ? input.uid.ownId : 0);
  const group = input.group ?? (asOwn ? input.gid.ownId : 0);
  requireMapped(user, uid, "uid");
  requireMapped(group, gid, "gid");
  const uidVia = writer(uid, input.uid, input, "newuidmap");
  const gidVia = writer(gid, input.gid, input, "newgidmap");
  const setgroups = setgroupsPolicy(input, gidVia, gid);
  const plan: IdMapPlan = { uid, gid, uidVia, gidVia, setgroups, user, group };
  if (base.warning !== undefined) plan.warning = base.warning;
  return plan;
}
