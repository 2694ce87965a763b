// Differential test against shadow: lib/subid.ts must read generated
// /etc/subuid files as `getsubids` does, and validateIdMap must accept
// exactly the maps real `newuidmap` gets written. Root only: each file is
// bind-mounted over /etc/subuid in a private mount namespace (the host file is
// never written; it is backed up and checked byte-exact at the end anyway).
// Repeat a run with USERNS_DIFF_SEED=<seed printed>.
import assert from "node:assert/strict";
import { findPasswdEntry, readPasswd } from "../../lib/identity.ts";
import {
  type IdMapping,
  type IdSide,
  parseIdMap,
  validateIdMap,
} from "../../lib/idmap.ts";
import { IdMapError } from "../../lib/errors.ts";
import {
  rangesFor,
  readSubIdFileSync,
  type SubIdRange,
} from "../../lib/subid.ts";

const SEED = Number(Deno.env.get("USERNS_DIFF_SEED") ?? Date.now() % 1e9);
const FILES = 400;
const MAP_CASES = 150;
const PARALLEL = 4;
const NS = findPasswdEntry(readPasswd(), "nsuser");
const BIND = 'mount --bind "$1" /etc/subuid && shift && exec "$@"';
const dec = new TextDecoder();

/** mulberry32: a small seeded PRNG, so that a failing seed repeats. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return {
    int,
    chance: (p: number) => next() < p,
    pick: <T>(xs: readonly T[]): T => xs[int(xs.length)]!,
  };
}
type Rand = ReturnType<typeof prng>;

const U64 = 1n << 64n;
const HUGE = [0n, 4294967295n, 4294967296n, 99999999999n, U64 - 1n, U64];

/** A number field as written: decimal, hex, octal, signs, odd whitespace. */
function field(r: Rand, v: bigint): string {
  switch (r.int(20)) {
    case 0:
      return `0x${v.toString(16)}`;
    case 1:
      return `0X${v.toString(16).toUpperCase()}`;
    case 2:
      return `0${v.toString(8)}`;
    case 3:
      return r.pick([" ", "\t", "\v", "  "]) + v;
    case 4:
      return r.pick(["+", "-"]) + (v === 0n ? v : U64 - v);
    case 5:
      return r.pick([`${v} `, `${v}\r`, `0${v}`, `${v}x`, "", "0x", "09"]);
    default:
      return `${v}`;
  }
}

/** A start id: mostly near nsuser's own ranges, sometimes extreme. */
function start(r: Rand): bigint {
  if (r.chance(0.1)) return r.pick(HUGE);
  return BigInt(100000 * (1 + r.int(6)) + r.pick([0, r.int(70000)]));
}

/** A count, including 0, 1, the 32-bit and 64-bit edges. */
function count(r: Rand, s: bigint): bigint {
  if (r.chance(0.12)) return r.pick([0n, U64 - 1n, U64 - s, U64 - s + 1n]);
  if (r.chance(0.05)) return r.pick(HUGE);
  return BigInt(r.pick([1, 1000, 65536, 1 + r.int(100000)]));
}

/** One owner:start:count line, maybe with extra fields, as latin1 bytes. */
function rangeLine(r: Rand, owner: string, s: bigint, c: bigint): string {
  const base = `${owner}:${field(r, s)}:${field(r, c)}`;
  if (r.chance(0.8)) return base;
  return base + r.pick([":", ":x", ":1:2", ":\xc3\xa9t\xc3\xa9", ":\xff\xfe"]);
}

/** One line of a generated file, as latin1 "bytes" (maybe malformed). */
function line(r: Rand, uid: number, last: { end?: bigint }): string {
  const owner = r.pick([
    "nsuser",
    "nsuser",
    "nsuser",
    `${uid}`,
    `${uid}`,
    "root",
    "daemon",
    "0",
    "1000",
    "nosuchuser",
    "nsuser2",
    " nsuser",
    "nsuser ",
    "NSUSER",
    `0${uid}`,
  ]);
  const s = last.end !== undefined && r.chance(0.3) ? last.end : start(r);
  const c = count(r, s);
  last.end = s + c;
  const k = r.int(100);
  if (k < 60) return rangeLine(r, owner, s, c);
  if (k < 65) return r.pick(["#", "# comment", `#${owner}:${s}:${c}`]);
  if (k < 70) return r.pick(["", " ", "\t", " \r"]);
  if (k < 74) return r.pick(["+", "-"]) + `${owner}:${s}:${c}`;
  if (k < 80) return r.pick([`${owner}:${s}`, `${owner}::${c}`, `:${s}:${c}`]);
  if (k < 86) {
    const pad = 1000 + r.int(48) - `${owner}:${s}:${c}:`.length;
    return `${owner}:${s}:${c}:` +
      r.pick(["x", "\xc3\xa9", "\xff"]).repeat(pad);
  }
  if (k < 92) return `${owner}:${s}:${"0".repeat(1000 + r.int(40))}${c}`;
  if (k < 96) return `${owner}:${s}\0:${c}`;
  return `${owner}:${s}:${c}\0junk`;
}

/** A whole generated file, as bytes; most start with a clean range of nsuser. */
function file(r: Rand, uid: number): Uint8Array {
  const s = BigInt(100000 * (1 + r.int(6))), c = r.pick([1000n, 65536n]);
  const last = { end: s + c };
  const lines = Array.from({ length: 1 + r.int(12) }, () => line(r, uid, last));
  if (r.chance(0.7)) lines.unshift(`${r.pick(["nsuser", uid])}:${s}:${c}`);
  const eol = r.chance(0.05) ? "\r\n" : "\n";
  const text = lines.join(eol) + (r.chance(0.9) ? eol : "");
  return Uint8Array.from(text, (ch) => ch.charCodeAt(0));
}

/** Runs argv with `path` bind-mounted over /etc/subuid, in its own mount ns. */
function withSubuid(path: string, argv: string[]) {
  return new Deno.Command("unshare", {
    args: ["--mount", "--", "sh", "-c", BIND, "sh", path, ...argv],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
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

/** One outside range: own id, inside a delegated range, across its ends, elsewhere. */
function outside(r: Rand, side: IdSide, spans: SubIdRange[]): number[] {
  const d = spans.length ? r.pick(spans) : undefined;
  const k = d ? r.int(12) : r.pick([0, 9, 10]);
  const end = d ? Math.min(d.start + d.count, 2 ** 32) : 0;
  if (k === 0) return [side.ownId, r.chance(0.8) ? 1 : 2 + r.int(3)];
  if (k <= 6) {
    const outer = d!.start + r.int(end - d!.start);
    return [outer, 1 + r.int(r.chance(0.5) ? 100 : end - outer)];
  }
  if (k <= 8) {
    const outer = k === 7 ? d!.start : d!.start - 1;
    return [outer, end - d!.start + r.pick([0, 1, 1000, 65536])];
  }
  if (k === 9) return [100000 + r.int(800000), 1 + r.int(70000)];
  return [4294967295 - r.int(100), 1 + r.int(200)];
}

/** A map request for nsuser of 1 to 4 lines, sometimes overlapping. */
function request(r: Rand, side: IdSide): IdMapping[] {
  const spans = side.delegated.filter((d) => d.count > 0 && d.start < 2 ** 32);
  const map: IdMapping[] = [];
  let next = 0;
  for (let n = 1 + r.int(4); n > 0; n--) {
    let [outer, count] = outside(r, side, spans) as [number, number];
    const prev = map.at(-1);
    if (prev && r.chance(0.1)) outer = prev.outer + r.int(prev.count);
    const inner = prev && r.chance(0.1) ? prev.inner + r.int(prev.count) : next;
    map.push({ inner, outer, count });
    next = inner + count;
  }
  return map;
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
const why = Deno.uid() !== 0
  ? "needs root (private mount namespaces, newuidmap run as nsuser)"
  : !NS
  ? "needs the user nsuser (tests/setup_user.sh)"
  : missing.length
  ? `needs ${missing.join(", ")} (apt-get install uidmap util-linux)`
  : undefined;
if (why) console.error(`differential test ignored: ${why}`);

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
      if (dec.decode(Deno.readFileSync(f)) === dec.decode(saved[i])) return;
      Deno.writeFileSync(f, saved[i]!);
      changed.push(f);
    });
  }
  assert.deepStrictEqual(changed, [], "changed during the test (now restored)");
  ETC.forEach((f, i) => assert.deepStrictEqual(Deno.readFileSync(f), saved[i]));
}

Deno.test({
  name:
    "differential: subid.ts and validateIdMap agree with getsubids and newuidmap",
  ignore: why !== undefined,
  fn: async () => {
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
});
