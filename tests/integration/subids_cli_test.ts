// `userns subids` as a user runs it: a separate process, fixture files.
import assert from "node:assert/strict";
import { skippableTest } from "../_skip.ts";
import {
  currentIdentity,
  findPasswdEntry,
  readPasswd,
} from "../../lib/system/identity.ts";
import { rangesFor, readSubIdFileSync } from "../../lib/idmap/subid.ts";
import { subIdSpans } from "../../lib/idmap/suggest.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const FIXTURES = new URL("../fixtures/", import.meta.url).pathname;
const SUBUID = `${FIXTURES}subids_subuid`;
const SUBGID = `${FIXTURES}subids_subgid`;
const CHECK = `${FIXTURES}subids_check`;
const FILES = ["--subuid", SUBUID, "--subgid", SUBGID];

/** The fixtures name nsuser as uid 1001 and 4242 as a uid without a name. */
const passwd = readPasswd();
const fixtureUsers = findPasswdEntry(passwd, "nsuser")?.uid === 1001 &&
  findPasswdEntry(passwd, 4242) === undefined;
/** What the fixture tests need: tests/setup_user.sh makes nsuser uid 1001. */
const needs = fixtureUsers
  ? undefined
  : "nsuser with uid 1001, and no user with uid 4242 (bash tests/setup_user.sh)";

/** Runs `userns subids ARGS`. */
async function subids(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "subids", ...args],
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}

const at = (path: string, line: number) => ({ source: path, line });
const NSUSER = {
  user: "nsuser",
  uid: 1001,
  subuid: [
    { start: 200000, count: 65536, ...at(SUBUID, 2) },
    { start: 300000, count: 1000, ...at(SUBUID, 5) },
    { start: 0x70000, count: 16, ...at(SUBUID, 9) },
  ],
  subgid: [{ start: 700000, count: 65536, ...at(SUBGID, 1) }],
};

skippableTest(
  "subids --json: by name and by uid, matched both ways",
  { needs },
  async () => {
    for (const user of ["nsuser", "1001"]) {
      const out = await subids(user, "--json", ...FILES);
      assert.equal(out.code, 0, out.stderr);
      assert.equal(out.stderr, "");
      assert.deepStrictEqual(JSON.parse(out.stdout), NSUSER);
    }
  },
);

skippableTest(
  "subids: a uid without passwd entry is matched numerically",
  { needs },
  async () => {
    const out = await subids("4242", "--json", ...FILES);
    assert.equal(out.code, 0, out.stderr);
    assert.deepStrictEqual(JSON.parse(out.stdout), {
      user: null,
      uid: 4242,
      subuid: [{ start: 500000, count: 10, ...at(SUBUID, 7) }],
      subgid: [{ start: 800000, count: 20, ...at(SUBGID, 2) }],
    });
  },
);

skippableTest(
  "subids: human table with start, count, end and source:line",
  { needs },
  async () => {
    const out = await subids("nsuser", ...FILES);
    assert.equal(out.code, 0, out.stderr);
    const lines = out.stdout.trimEnd().split("\n");
    assert.equal(lines[0], "user nsuser (uid 1001)");
    assert.match(lines[1]!, /^ids\s+start\s+count\s+end\s+source$/);
    assert.deepStrictEqual(
      lines.slice(2).map((l) => l.trim().split(/\s+/)),
      [
        ["subuid", "200000", "65536", "265535", `${SUBUID}:2`],
        ["subuid", "300000", "1000", "300999", `${SUBUID}:5`],
        ["subuid", "458752", "16", "458767", `${SUBUID}:9`],
        ["subgid", "700000", "65536", "765535", `${SUBGID}:1`],
      ],
    );
  },
);

/** The fixtures' ids: a suggested range must avoid every one. */
const FIXTURE_SPANS = [SUBUID, SUBGID].flatMap((f) =>
  subIdSpans(Deno.readTextFileSync(f))
);

/** Asserts `first-last` is 65536 free ids (they depend on the live system). */
function freeRange(first: string, last: string, count = 65536): void {
  const [a, b] = [Number(first), Number(last) + 1];
  assert.equal(b - a, count, `${first}-${last}`);
  assert.ok(a >= 100000, `${first} is below SUB_UID_MIN`);
  for (const [x, y] of FIXTURE_SPANS) {
    assert.ok(b <= x || y <= a, `${first}-${last} overlaps ${x}-${y - 1}`);
  }
}

skippableTest(
  "subids: no range on a side is exit 0, one warning with a free range",
  { needs },
  async () => {
    const out = await subids("root", "--json", ...FILES);
    assert.deepStrictEqual([out.code, out.stderr], [0, ""]);
    assert.deepStrictEqual(JSON.parse(out.stdout), {
      user: "root",
      uid: 0,
      subuid: [{ start: 100000, count: 65536, ...at(SUBUID, 3) }],
      subgid: [],
    });
    const one = await subids("root", ...FILES);
    assert.equal(one.code, 0);
    const m = new RegExp(
      `^userns: warning: no subordinate gids for "root" in ${SUBGID}; an ` +
        "admin can delegate a free range: usermod --add-subgids (\\d+)-(\\d+) " +
        "root\n$",
    ).exec(one.stderr);
    assert.ok(m, one.stderr);
    freeRange(m[1]!, m[2]!);
    const none = await subids("daemon", ...FILES);
    assert.equal(none.code, 0);
    assert.match(none.stdout, /^subuid\s+\(none\)$/m);
    assert.match(none.stdout, /^subgid\s+\(none\)$/m);
    const both = new RegExp(
      `^userns: warning: no subordinate uids or gids for "daemon" in ${SUBUID} ` +
        `and ${SUBGID}; an admin can delegate a free range: usermod ` +
        "--add-subuids (\\d+)-(\\d+) --add-subgids \\1-\\2 daemon\n$",
    ).exec(none.stderr);
    assert.ok(both, none.stderr);
    freeRange(both[1]!, both[2]!);
  },
);

skippableTest(
  "subids --suggest: the usermod line for a free range, or JSON",
  { needs },
  async () => {
    const json = await subids("nsuser", "--suggest", "--json", ...FILES);
    assert.deepStrictEqual([json.code, json.stderr], [0, ""]);
    const got = JSON.parse(json.stdout);
    assert.deepStrictEqual(Object.keys(got), ["start", "count", "command"]);
    const last = got.start + 65535;
    freeRange(String(got.start), String(last));
    assert.equal(
      got.command,
      `usermod --add-subuids ${got.start}-${last} --add-subgids ` +
        `${got.start}-${last} nsuser`,
    );
    const small = await subids("--suggest", "10", "4242", ...FILES);
    assert.equal(small.code, 0, small.stderr);
    const m = /^echo 4242:(\d+):10 \| tee -a (\S+) (\S+)\n$/.exec(
      small.stdout,
    );
    assert.ok(m, small.stdout);
    assert.deepStrictEqual(m.slice(2), [SUBUID, SUBGID]);
    freeRange(m[1]!, String(Number(m[1]) + 9), 10);
  },
);

Deno.test("subids: an unknown user or a missing named file exits 1", async () => {
  const unknown = await subids("no-such-user-userns", ...FILES);
  assert.equal(unknown.code, 1);
  assert.equal(unknown.stdout, "");
  assert.equal(
    unknown.stderr,
    'userns: unknown user "no-such-user-userns": no such name in /etc/passwd;' +
      " give a login name or a numeric uid\n",
  );
  const missing = await subids("--subuid", `${FIXTURES}no-such-file`);
  assert.equal(missing.code, 1);
  assert.equal(
    missing.stderr,
    `userns: cannot read ${FIXTURES}no-such-file: no such file; ` +
      "check the --subuid path\n",
  );
});

Deno.test("subids --check: one PATH:LINE: problem per finding", async () => {
  const expected = [
    {
      ...at(CHECK, 2),
      problem: "bob 150000+65536 overlaps line 1 (alice 100000+65536)",
    },
    { ...at(CHECK, 5), problem: "count is 0 (carol 300000+0)" },
    {
      ...at(CHECK, 6),
      problem: 'count "10\\r" is not a number (crlf line ending?)',
    },
  ];
  const out = await subids("--check", "--subuid", CHECK, "--subgid", SUBGID);
  assert.equal(out.code, 1, out.stderr);
  assert.equal(
    out.stdout,
    expected.map((p) => `${p.source}:${p.line}: ${p.problem}\n`).join(""),
  );
  const json = await subids(
    "--check",
    "--json",
    "--subgid",
    CHECK,
    "--subuid",
    SUBGID,
  );
  assert.equal(json.code, 1);
  assert.deepStrictEqual(JSON.parse(json.stdout), expected);
  const clean = await subids("--check", "--subuid", SUBGID, "--subgid", SUBGID);
  assert.deepStrictEqual([clean.code, clean.stdout, clean.stderr], [0, "", ""]);
  const cleanJson = await subids(
    "--check",
    "--json",
    "--subuid",
    SUBGID,
    "--subgid",
    SUBGID,
  );
  assert.deepStrictEqual([cleanJson.code, cleanJson.stdout], [0, "[]\n"]);
});

Deno.test("subids: usage errors exit 2 with one line", async () => {
  for (
    const args of [
      ["--bogus"],
      ["nsuser", "root"],
      ["--check", "nsuser"],
      ["--subuid"],
      ["99999999999999999999"],
    ]
  ) {
    const out = await subids(...args);
    assert.equal(out.code, 2, `${args}: ${out.stderr}`);
    assert.equal(out.stdout, "");
    assert.match(out.stderr, /^userns: [^\n]+; [^\n]+\n$/, `${args}`);
  }
});

Deno.test("subids --help lists every option", async () => {
  const out = await subids("--help");
  assert.equal(out.code, 0);
  for (
    const opt of [
      "--check",
      "--suggest \\[COUNT\\]",
      "--subuid FILE",
      "--subgid FILE",
      "--json",
      "-h, --help",
    ]
  ) {
    assert.match(out.stdout, new RegExp(`^  ${opt}\\s+\\S`, "m"), opt);
  }
});

Deno.test("subids --json: the caller's own ranges in /etc/subuid and /etc/subgid", async () => {
  const me = currentIdentity();
  const user = { name: me.name, uid: me.uid };
  const plain = (path: string) =>
    rangesFor(readSubIdFileSync(path), user).map((r) => ({
      start: r.start,
      count: r.count,
      source: path,
      line: r.line,
    }));
  const expected = {
    user: me.name ?? null,
    uid: me.uid,
    subuid: plain("/etc/subuid"),
    subgid: plain("/etc/subgid"),
  };
  const out = await subids("--json");
  assert.deepStrictEqual(JSON.parse(out.stdout), expected);
  assert.deepStrictEqual([out.code, out.stderr], [0, ""]);
});
