// userns ps: a namespace started here shows up with its real map; overlap
// warnings on constructed lists; the scanner on a constructed /proc.
import assert from "node:assert/strict";
import { skippableTest } from "../_skip.ts";
import {
  type IdMapping,
  listUserNamespaces,
  type NamespaceInfo,
  overlapWarnings,
  parseIdMap,
  UsernsCommand,
} from "../../lib/mod.ts";
import { cli, nsTest } from "./_env.ts";
import { cliAsUser, UNPRIVILEGED_REASON, USER_UID } from "./_user.ts";

const INIT = 4026531837;

/** Runs `fn` with a `sleep 30` in a new namespace, then kills it. */
async function withSleeper(
  fn: (pid: number, id: number, uidMap: IdMapping[]) => Promise<void> | void,
): Promise<void> {
  const child = new UsernsCommand("sleep", { args: ["30"] }).spawn();
  try {
    await child.ready;
    const link = Deno.readLinkSync(`/proc/${child.pid}/ns/user`);
    const id = Number(/^user:\[(\d+)\]$/.exec(link)?.[1]);
    const map = parseIdMap(Deno.readTextFileSync(`/proc/${child.pid}/uid_map`));
    await fn(child.pid, id, map);
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
}

function expectSleeper(
  list: NamespaceInfo[],
  pid: number,
  id: number,
  uidMap: IdMapping[],
) {
  const ns = list.find((n) => n.id === id);
  assert.ok(
    ns,
    `namespace ${id} of pid ${pid} not listed: ${JSON.stringify(list)}`,
  );
  assert.deepEqual(ns, {
    id,
    owner: Deno.uid(),
    pid,
    processes: 1,
    uidMap,
    initial: false,
  });
}

nsTest(
  "ps: a spawned namespace is listed with its pid, owner and map",
  async () => {
    await withSleeper((pid, id, uidMap) => {
      const list = listUserNamespaces();
      expectSleeper(list, pid, id, uidMap);
      assert.deepEqual(
        list.map((n) => n.id),
        list.map((n) => n.id).sort((a, b) => a - b),
      );
      const own = Number(
        /\[(\d+)\]/.exec(Deno.readLinkSync("/proc/self/ns/user"))?.[1],
      );
      assert.ok(
        list.some((n) => n.id === own && n.processes >= 1),
        "own namespace missing",
      );
    });
  },
);

nsTest(
  "ps CLI: --json and the table show it; exit 1 only with warnings",
  async () => {
    await withSleeper(async (pid, id, uidMap) => {
      const json = await cli(["ps", "--json"]);
      expectSleeper(JSON.parse(json.stdout), pid, id, uidMap);
      assert.equal(
        json.code,
        // Overlaps are problems found; unreadable processes are not.
        / both map outside uids /.test(json.stderr) ? 1 : 0,
        json.stderr,
      );
      const table = await cli(["ps"]);
      const [header, ...rows] = table.stdout.trimEnd().split("\n");
      assert.match(header!, /^NS +OWNER +PID +PROCS +UID MAP$/);
      const row = rows.find((r) => r.startsWith(`${id} `))?.split(/ +/);
      const compact = uidMap.map((m) => `${m.inner}:${m.outer}:${m.count}`)
        .join(",");
      assert.deepEqual(row, [
        String(id),
        String(Deno.uid()),
        String(pid),
        "1",
        compact,
      ]);
    });
  },
);

Deno.test("ps CLI: an operand is a usage error", async () => {
  const out = await cli(["ps", "1"]);
  assert.equal(out.code, 2);
  assert.match(
    out.stderr,
    /^userns: ps: unexpected argument "1"; see userns ps --help\n$/,
  );
});

const ns = (
  id: number,
  owner: number,
  uidMap: IdMapping[],
  initial = false,
): NamespaceInfo => ({
  id,
  owner,
  pid: id - 100,
  processes: 1,
  uidMap,
  initial,
});
const line = (inner: number, outer: number, count: number) => ({
  inner,
  outer,
  count,
});

Deno.test("overlapWarnings: different owners sharing outside uids warn once", () => {
  const a = ns(1000, 1001, [line(0, 1001, 1), line(1, 200000, 65536)]);
  const b = ns(2000, 1002, [line(0, 1002, 1), line(1, 250000, 65536)]);
  assert.deepEqual(overlapWarnings([a, b]), [
    "user namespaces 1000 (owner 1001, pid 900) and 2000 (owner 1002, pid 1900) " +
    "both map outside uids 250000-265535",
  ]);
});

Deno.test("overlapWarnings: same owner, the initial namespace and identity lines are fine", () => {
  const a = ns(1000, 1001, [line(0, 1001, 1), line(1, 200000, 65536)]);
  const same = ns(2000, 1001, [line(0, 1001, 1), line(1, 200000, 65536)]);
  const init = ns(INIT, 0, [line(0, 0, 4294967295)], true);
  const whole = ns(3000, 0, [line(0, 0, 4294967295)]);
  const apart = ns(4000, 1002, [line(0, 1002, 1), line(1, 265536, 65536)]);
  assert.deepEqual(overlapWarnings([a, same, init, whole, apart]), []);
});

Deno.test("listUserNamespaces: groups a constructed /proc by namespace", () => {
  const proc = Deno.makeTempDirSync({ prefix: "userns-ps-" });
  const add = (
    pid: number,
    link: string,
    uid?: string,
    map = "0 0 4294967295\n",
  ) => {
    Deno.mkdirSync(`${proc}/${pid}/ns`, { recursive: true });
    Deno.symlinkSync(link, `${proc}/${pid}/ns/user`);
    if (uid) {
      Deno.writeTextFileSync(
        `${proc}/${pid}/status`,
        `Name:\tx\nUid:\t${uid}\n`,
      );
    }
    Deno.writeTextFileSync(`${proc}/${pid}/uid_map`, map);
  };
  try {
    add(10, `user:[${INIT}]`, "0\t0\t0\t0");
    add(3, `user:[${INIT}]`, "5\t7\t7\t7");
    // Owner: the effective uid (second field) of the lowest readable pid.
    add(
      8,
      "user:[4026532000]",
      "1000\t1001\t1001\t1001",
      "0 1001 1\n1 200000 65536\n",
    );
    add(7, "user:[4026532000]"); // vanished: no status
    add(9, "net:[4026532001]", "0\t0\t0\t0"); // not a user namespace link
    Deno.mkdirSync(`${proc}/self`);
    assert.deepEqual(listUserNamespaces(proc), [
      { ...ns(INIT, 0, [line(0, 0, 4294967295)], true), pid: 3, processes: 2 },
      {
        ...ns(4026532000, 1001, [line(0, 1001, 1), line(1, 200000, 65536)]),
        pid: 8,
        processes: 2,
      },
    ]);
  } finally {
    Deno.removeSync(proc, { recursive: true });
  }
});

/** Pids of processes not owned by `uid`. */
function othersProcesses(uid: number): number[] {
  return [...Deno.readDirSync("/proc")].flatMap((e) => {
    try {
      const status = Deno.readTextFileSync(`/proc/${e.name}/status`);
      const owner = /^Uid:\t(\d+)/m.exec(status)?.[1];
      return owner !== undefined && owner !== String(uid)
        ? [Number(e.name)]
        : [];
    } catch {
      return [];
    }
  });
}

skippableTest(
  "ps CLI: unreadable processes are counted in one warning line",
  { needs: UNPRIVILEGED_REASON },
  async () => {
    assert.ok(othersProcesses(USER_UID).length > 0, "no other user's process");
    for (const json of [false, true]) {
      const out = await cliAsUser(json ? ["ps", "--json"] : ["ps"]);
      const lines = out.stderr.split("\n").filter((l) =>
        / not readable here: /.test(l)
      );
      assert.equal(lines.length, 1, out.stderr);
      assert.match(
        lines[0]!,
        /^userns: warning: (1 process is|[1-9]\d* processes are) not readable here: (its user namespace|their user namespaces) may be missing from the list$/,
      );
      if (json) {
        assert.ok(Array.isArray(JSON.parse(out.stdout)), "an array");
      }
    }
  },
);
