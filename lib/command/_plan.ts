/**
 * The ID map plan of a spawn, kept while nothing it was made from changed:
 * most programs spawn with the same options again and again, and planning
 * is a tenth of a spawn's own time. Private to `prepare.ts`.
 *
 * @module
 */
import type { Identity } from "../system/identity.ts";
import { cached } from "../system/file_cache.ts";
import type { HelperPaths } from "../idmap/helpers.ts";
import { type IdMapPlan, planIdMaps } from "../idmap/plan.ts";
import {
  rangesFor,
  readSubIdFileSync,
  type SubIdFile,
} from "../idmap/subid.ts";
import type { UsernsCommandOptions } from "./options.ts";

/**
 * What a plan was made from, besides explicit maps (a plan made with those
 * is not kept: the caller may change the arrays between spawns).
 */
type PlanKey = [
  SubIdFile,
  SubIdFile,
  HelperPaths,
  number,
  number,
  string | undefined,
  Identity["passwdError"],
  UsernsCommandOptions["map"],
  boolean | undefined,
  number | undefined,
  number | undefined,
  UsernsCommandOptions["setgroups"],
];

/** The last plan made, and from what. */
let lastPlan: { key: PlanKey; plan: IdMapPlan } | undefined;

function sameKey(a: PlanKey, b: PlanKey): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The ID map plan for these options, from /etc/sub{u,g}id and PATH. The
 * planner is pure: spawns with the same options, files (the cache hands
 * back the same parsed file while it is unchanged), helpers and identity
 * get the same plan, made once and frozen.
 *
 * @param o the options
 * @param id the caller
 * @param helpers where the map helpers are
 * @returns the plan
 * @throws {IdMapError} {SubIdError} {HelperError} as the planner refuses
 */
export function planFor(
  o: UsernsCommandOptions,
  id: Identity,
  helpers: HelperPaths,
): IdMapPlan {
  const subuid = cached<SubIdFile>("/etc/subuid", readSubIdFileSync);
  const subgid = cached<SubIdFile>("/etc/subgid", readSubIdFileSync);
  const explicit = o.uidMap !== undefined || o.gidMap !== undefined;
  const key: PlanKey = [
    subuid,
    subgid,
    helpers,
    id.uid,
    id.gid,
    id.name,
    id.passwdError,
    o.map,
    o.strict,
    o.user,
    o.group,
    o.setgroups,
  ];
  if (!explicit && lastPlan && sameKey(lastPlan.key, key)) {
    return lastPlan.plan;
  }
  const plan = planOf(o, id, helpers, subuid, subgid);
  if (!explicit) {
    Object.freeze(plan.uid);
    Object.freeze(plan.gid);
    lastPlan = { key, plan: Object.freeze(plan) };
  }
  return plan;
}

function planOf(
  o: UsernsCommandOptions,
  id: Identity,
  helpers: HelperPaths,
  subuid: SubIdFile,
  subgid: SubIdFile,
): IdMapPlan {
  const user = { name: id.name, uid: id.uid };
  return planIdMaps({
    mode: o.map ?? "auto",
    uidMap: o.uidMap,
    gidMap: o.gidMap,
    uid: {
      kind: "uid",
      ownId: id.uid,
      delegated: rangesFor(subuid, user),
      file: subuid.path,
    },
    gid: {
      kind: "gid",
      ownId: id.gid,
      delegated: rangesFor(subgid, user),
      file: subgid.path,
    },
    privileged: id.uid === 0,
    helpers: { newuidmap: !!helpers.newuidmap, newgidmap: !!helpers.newgidmap },
    causes: { ...helpers.missing, passwd: id.passwdError },
    strict: o.strict ?? false,
    user: o.user,
    group: o.group,
    setgroups: o.setgroups,
  });
}
