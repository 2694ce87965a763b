// --map subids in a real namespace: the own id and every delegated range
// onto itself, the command running as the own ids.
import assert from "node:assert/strict";
import { parseIdMap, UsernsCommand } from "../../lib/mod.ts";
import { rangesFor, readSubIdFileSync } from "../../lib/idmap/subid.ts";
import { cli, ID, nsTest, PRIVILEGED, text } from "./_env.ts";

/** The map of one side that `--map subids` makes, for this machine's files:
 * the own id, then each delegated range, onto themselves. */
function expected(kind: "uid" | "gid", own: number) {
  const user = { name: ID.name, uid: ID.uid };
  const all = rangesFor(readSubIdFileSync(`/etc/sub${kind}`), user)
    .filter((r) => r.count > 0);
  // A range listed under the name and the uid is mapped once.
  const ranges = all.filter((r, i) =>
    all.findIndex((o) => o.start === r.start && o.count === r.count) === i
  );
  if (PRIVILEGED && ranges.length === 0) {
    return [{ inner: 0, outer: 0, count: 4294967295 }];
  }
  return [
    { inner: own, outer: own, count: 1 },
    ...ranges.map((r) => ({ inner: r.start, outer: r.start, count: r.count })),
  ];
}

nsTest(
  "--map subids: own id and ranges onto themselves, run as the own ids",
  async () => {
    const out = await new UsernsCommand("sh", {
      args: [
        "-c",
        "id -u; id -g; echo =; cat /proc/self/uid_map; echo =; " +
        "cat /proc/self/gid_map",
      ],
      map: "subids",
      strict: !PRIVILEGED,
    }).output();
    assert.equal(out.code, 0, text(out.stderr));
    const [ids, uidMap, gidMap] = text(out.stdout).split("=\n");
    assert.equal(ids, `${ID.uid}\n${ID.gid}\n`);
    assert.deepEqual(parseIdMap(uidMap!), expected("uid", ID.uid));
    assert.deepEqual(parseIdMap(gidMap!), expected("gid", ID.gid));
  },
);

nsTest(
  "run --map subids: the CLI runs the command as the own uid",
  async () => {
    const out = await cli(["run", "--map", "subids", "--", "id", "-u"], {
      stdout: "piped",
      stderr: "piped",
    });
    assert.deepEqual([out.code, out.stdout, out.stderr], [
      0,
      `${ID.uid}\n`,
      "",
    ]);
  },
);
