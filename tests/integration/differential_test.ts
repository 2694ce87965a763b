// Differential test against shadow: lib/idmap/subid.ts must read generated
// /etc/subuid files as `getsubids` does, and validateIdMap must accept
// exactly the maps real `newuidmap` gets written. Root only: each file is
// bind-mounted over /etc/subuid in a private mount namespace (the host file is
// never written; it is backed up and checked byte-exact at the end anyway).
// Repeat a run with USERNS_DIFF_SEED=<seed printed>.
import assert from "node:assert/strict";
import { skippableTest } from "../_skip.ts";
import { findPasswdEntry, readPasswd } from "../../lib/system/identity.ts";
import {
  type IdMapping,
  type IdSide,
  parseIdMap,
  validateIdMap,
} from "../../lib/idmap/rules.ts";
import { IdMapError } from "../../lib/errors/mod.ts";
import { rangesFor, readSubIdFileSync } from "../../lib/idmap/subid.ts";
import { file, prng, type Rand, request } from "../fixtures/subuid_gen.ts";

const SEED = Number(Deno.env.get("USERNS_DIFF_SEED") ?? 20261123);
const FILES = 400;
const MAP_CASES = 150;
const PARALLEL = 4;
const NS = findPasswdEntry(readPasswd(), "nsuser");
const BIND = 'mount --bind "$1" /etc/subuid && shift && exec "$@"';
const dec = new TextDecoder();

/**
 * Runs argv with `path` bind-mounted over /etc/subuid, in its own mount ns.
 * The mount is retried: while /etc/subuid is being replaced (`sed -i` in
 * tests/setup_user.sh), mount(2) answers ENOENT.
 */
async function withSubuid(path: string, argv: string[]) {
  for (let attempt = 1;; attempt++) {
    const out = await new Deno.Command("unshare", {
      args: ["--mount", "--", "sh", "-c", BIND, "sh", path, ...argv],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const raced = dec.decode(out.stderr).startsWith("mount: /etc/subuid:");
    if (!raced || attempt === 5) return out;
    await new Promise((ok) => setTimeout(ok, 50));
  }
}

/** `getsubids nsuser` on the file: its [start, count] list. */
async function getsubids(path: string): Promise<number[][]> {
  const out = await withSubuid(path, ["getsubids", "nsuser"]);
  const err = dec.decode(out.stderr);
  if (!out.success) {
    assert.equal(err, "Error fetching ranges\n", `getsubids on ${path}`);
    return [];
  }
  return dec.decode(out.stdout).trimEnd().split("\n").map((l, i) => {
    const m = l.match(/^(\d+): nsuser (\d+) (\d+)$/);
    assert(m && Number(m[1]) === i, `getsubids printed ${JSON.stringify(l)}`);
    return [Number(m[2]), Number(m[3])];
  });
}

/** validateIdMap's verdict: undefined (accepted) or the error code. */
function ours(map: IdMapping[], side: IdSide): string | undefined {
  try {
    validateIdMap(map, side, false);
    return undefined;
  } catch (e) {
    if (e instanceof IdMapError) return e.code;
    throw e;
  }
}

/** Waits until `pid` has left our user namespace (its unshare ran). */
async function unshared(pid: number): Promise<void> {
  const own = Deno.readLinkSync("/proc/self/ns/user");
  for (let i = 0; i < 2500; i++) {
    if (Deno.readLinkSync(`/proc/${pid}/ns/user`) !== own) return;
    await new Promise((ok) => setTimeout(ok, 2));
  }
  throw new Error(`target ${pid} did not unshare its user namespace`);
}

/** Real newuidmap, run as nsuser on a fresh target: "ok", "write" or "refused". */
async function newuidmap(path: string, map: IdMapping[]) {
  const target = new Deno.Command("setpriv", {
    args: [
      `--reuid=${NS!.uid}`,
      `--regid=${NS!.gid}`,
      "--init-groups",
      "unshare",
      "--user",
      "sleep",
      "30",
    ],
    stdin: "null",
  }).spawn();
  try {
    await unshared(target.pid);
    const args = map.flatMap((m) => [m.inner, m.outer, m.count].map(String));
    const out = await withSubuid(path, [
      "runuser",
      "-u",
      "nsuser",
      "--",
      "newuidmap",
      String(target.pid),
      ...args,
    ]);
    const stderr = dec.decode(out.stderr).trim();
    const written = parseIdMap(
      Deno.readTextFileSync(`/proc/${target.pid}/uid_map`),
    );
    if (out.success) assert.deepStrictEqual(written, map, "written map");
    const verdict = out.success
      ? "ok"
      : /write to uid_map failed/.test(stderr)
      ? "write"
      : "refused";
    return { verdict, stderr };
  } finally {
    target.kill("SIGKILL");
    await target.status;
  }
}

/** Runs `fn` on every item, `PARALLEL` at a time. */
async function pool<T>(items: T[], fn: (item: T) => Promise<void>) {
  const queue = [...items];
  const worker = async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
}

const tools = ["unshare", "setpriv", "runuser", "getsubids", "newuidmap"];
const missing = tools.filter((t) =>
  !(Deno.env.get("PATH") ?? "").split(":").some((d) => {
    try {
      return Deno.statSync(`${d}/${t}`).isFile;
    } catch {
      return false;
    }
  })
);
// Root only: private mount namespaces, and newuidmap run as nsuser.
const needs = !NS
  ? "needs the user nsuser (tests/setup_user.sh)"
  : missing.length
  ? `needs ${missing.join(", ")} (apt-get install uidmap util-linux)`
  : undefined;

type Generated = {
  path: string;
  ranges: ReturnType<typeof rangesFor>;
  /** The last line holds a NUL and a newline ends it: shadow cannot read it. */
  unreadable: boolean;
};

/** Writes FILES generated files; each must read as getsubids reads it. */
async function compareReads(r: Rand, dir: string, failures: string[]) {
  const files: Generated[] = Array.from({ length: FILES }, (_, i) => {
    const path = `${dir}/subuid.${i}`;
    const bytes = file(r, NS!.uid);
    Deno.writeFileSync(path, bytes, { mode: 0o644 });
    const last = bytes.subarray(bytes.lastIndexOf(10, bytes.length - 2) + 1);
    return {
      path,
      ranges: rangesFor(readSubIdFileSync(path), {
        name: "nsuser",
        uid: NS!.uid,
      }),
      unreadable: bytes.at(-1) === 10 && last.includes(0),
    };
  });
  await pool(files, async ({ path, ranges }) => {
    const got = JSON.stringify(ranges.map((x) => [x.start, x.count]));
    const want = JSON.stringify(await getsubids(path));
    if (got !== want) {
      failures.push(`${path}: rangesFor ${got}, getsubids ${want}`);
    }
  });
  return files;
}

/**
 * What newuidmap must do with `map` if validateIdMap is right: "ok" when it
 * accepts; else "write" when newuidmap passes every line (it checks lines
 * one by one) and the kernel refuses the whole (overlaps), else "refused".
 * Where shadow cannot read the file, newuidmap refuses everything; userns
 * writes a map of the own id alone to /proc itself, without newuidmap.
 */
function predict(map: IdMapping[], side: IdSide, unreadable: boolean) {
  const mine = ours(map, side);
  const [first] = map;
  const direct = map.length === 1 && first!.outer === side.ownId &&
    first!.count === 1;
  if (unreadable && (mine !== undefined || direct)) {
    return { mine, expect: "refused" };
  }
  if (mine === undefined) return { mine, expect: "ok" };
  const passedOn = map.every((m) => ours([m], side) === undefined);
  return { mine, expect: passedOn ? "write" : "refused" };
}

/** For MAP_CASES of the files, a random map: validateIdMap against newuidmap. */
async function compareMaps(r: Rand, files: Generated[], failures: string[]) {
  const step = Math.floor(FILES / MAP_CASES);
  const cases = files.filter((_, i) => i % step === 0).slice(0, MAP_CASES)
    .map(({ path, ranges, unreadable }) => {
      const side: IdSide = {
        kind: "uid",
        ownId: NS!.uid,
        delegated: ranges,
        file: path,
      };
      return { path, side, unreadable, map: request(r, side) };
    });
  const seen: Record<string, number> = { ok: 0, write: 0, refused: 0 };
  await pool(cases, async ({ path, side, unreadable, map }) => {
    const { mine, expect } = predict(map, side, unreadable);
    const real = await newuidmap(path, map);
    seen[real.verdict]!++;
    if (real.verdict === expect) return;
    failures.push(
      `${path}: map ${JSON.stringify(map)}: validateIdMap ` +
        `${
          mine ?? "accepts"
        } (so ${expect}), newuidmap ${real.verdict}: ${real.stderr}`,
    );
  });
  const unreadable = cases.filter((c) => c.unreadable).length;
  return `${cases.length} maps against newuidmap (${JSON.stringify(seen)}, ` +
    `${unreadable} on files shadow cannot read)`;
}

const ETC = ["/etc/subuid", "/etc/subgid"];
const same = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** Runs fn, then restores ETC byte-exactly (from copies made first) if changed. */
async function guarded(dir: string, fn: () => Promise<void>) {
  const saved = ETC.map((f, i) => {
    Deno.copyFileSync(f, `${dir}/backup.${i}`);
    return Deno.readFileSync(`${dir}/backup.${i}`);
  });
  const changed: string[] = [];
  try {
    await fn();
  } finally {
    ETC.forEach((f, i) => {
      if (same(Deno.readFileSync(f), saved[i]!)) return;
      Deno.writeFileSync(f, saved[i]!);
      changed.push(f);
    });
  }
  assert.deepStrictEqual(changed, [], "changed during the test (now restored)");
  ETC.forEach((f, i) => assert.deepStrictEqual(Deno.readFileSync(f), saved[i]));
}

skippableTest(
  "differential: subid.ts and validateIdMap agree with getsubids and newuidmap",
  { onlyAs: "root", needs },
  async () => {
    console.log(`differential seed ${SEED} (repeat: USERNS_DIFF_SEED=${SEED})`);
    const r = prng(SEED);
    const dir = Deno.makeTempDirSync({ prefix: "userns-diff-" });
    const failures: string[] = [];
    await guarded(dir, async () => {
      const files = await compareReads(r, dir, failures);
      const maps = await compareMaps(r, files, failures);
      console.log(`${files.length} files against getsubids, ${maps}`);
    });
    assert.deepStrictEqual(failures, [], `seed ${SEED}; files kept in ${dir}`);
    Deno.removeSync(dir, { recursive: true });
  },
);
