// podman and buildah inside `userns run`, as the unprivileged test user
// (nsuser when the suite runs as root): an image built offline and run, the
// ids files get outside, side by side with `podman unshare`, buildah's
// overlay and vfs storage, and nothing left behind. The image is built once
// and shared by the steps; all storage is in the sandbox's temp dir.
import assert from "node:assert/strict";
import { formatIdMap, type IdMapping, parseIdMap } from "../../lib/mod.ts";
import { nsTest } from "./_env.ts";
import { BUILDAH_RUN, buildBusyboxImage, PODMAN_RUN } from "./_image.ts";
import { containerReason } from "./_image.ts";
import { Sandbox } from "./_sandbox.ts";

interface Maps {
  uid: IdMapping[];
  gid: IdMapping[];
}

/** The maps `userns run` sets up for the test user, as the kernel shows. */
async function runMaps(sb: Sandbox): Promise<Maps> {
  const out = await sb.inside([
    "sh",
    "-c",
    "cat /proc/self/uid_map; echo --; cat /proc/self/gid_map",
  ]);
  const [uid = "", gid = ""] = out.split("--\n");
  return { uid: parseIdMap(uid), gid: parseIdMap(gid) };
}

/** The outside id that inside id `id` is under `map`. */
function outside(map: IdMapping[], id: number): number {
  const m = map.find((m) => id >= m.inner && id < m.inner + m.count);
  if (!m) throw new Error(`inside id ${id} is not in ${formatIdMap(map)}`);
  return m.outer + id - m.inner;
}

/** "uid:gid" outside for inside id:id. */
const owner = (maps: Maps, id: number): string =>
  `${outside(maps.uid, id)}:${outside(maps.gid, id)}`;

/** Inside ids to chown to: 0, 1000, and both ends of each subordinate range. */
function sampleIds(maps: Maps): number[] {
  const subs = maps.uid.filter((m) => m.inner > 0);
  assert.ok(
    subs.length >= 2,
    `the test user should have two subordinate ranges; map:\n${
      formatIdMap(maps.uid)
    }`,
  );
  const ids = new Set([0, 1000]);
  for (const m of subs) ids.add(m.inner).add(m.inner + m.count - 1);
  return [...ids].sort((a, b) => a - b);
}

/** "fID uid:gid" for each file fID in dir, as stat shows it outside. */
function owners(dir: string, ids: number[]): string[] {
  return ids.map((id) => {
    const st = Deno.statSync(`${dir}/f${id}`);
    return `f${id} ${st.uid}:${st.gid}`;
  });
}

/** Makes dir $1, then in it a file fID chowned to ID:ID for each ID after. */
const CHOWN = 'mkdir "$1" && cd "$1" && shift && ' +
  'for i; do touch "f$i" && chown "$i:$i" "f$i"; done';

/** What a process sees of its namespaces, then CHOWN. */
const PROBE = `cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups
id
env | sort
grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' /proc/self/status
for n in user mnt pid net uts ipc cgroup; do
  echo "ns $n $(readlink /proc/self/ns/$n)"
done
pwd; umask; ulimit -Sn; ulimit -Hn
${CHOWN}`;

/**
 * PROBE's output without what legitimately differs: namespace inode numbers
 * become "new" or "host", and the two variables by which `podman unshare`
 * tells its command where podman's storage is are left out.
 */
function normalize(out: string): string {
  return out
    .replace(/^CONTAINERS_(GRAPHROOT|RUNROOT)=.*\n/gm, "")
    .replace(/^ns (\w+) (.*)$/gm, (_, n: string, inode: string) => {
      const host = Deno.readLinkSync(`/proc/self/ns/${n}`);
      return `ns ${n} ${inode === host ? "host" : "new"}`;
    });
}

/** buildah's default storage (overlay) from the test image, inside. */
const BUILDAH_OVERLAY = `set -eu
buildah info --format '{{.store.GraphDriverName}} {{.store.GraphRoot}}'; echo
c=$(buildah from "$1")
${BUILDAH_RUN.join(" ")} "$c" -- sh -c 'echo built >/built; id -u'
m=$(buildah mount "$c")
cat "$m/built"
findmnt -no FSTYPE "$m"
buildah umount "$c" >/dev/null
buildah rm "$c" >/dev/null`;

/** A vfs store of its own, from scratch, inside. */
const BUILDAH_VFS = `set -eu
b="buildah --storage-driver vfs --root $PWD/vfs --runroot $XDG_RUNTIME_DIR/vfs"
$b info --format '{{.store.GraphDriverName}}'; echo
c=$($b from scratch)
m=$($b mount "$c")
mkdir "$m/bin"
cp /bin/busybox "$m/bin/"
ln -s busybox "$m/bin/sh"
ln -s busybox "$m/bin/id"
$b ${BUILDAH_RUN.slice(1).join(" ")} "$c" -- sh -c 'echo vfs >/v; id -u'
cat "$m/v"
$b rm "$c" >/dev/null`;

nsTest("podman and buildah run inside userns run", async (t) => {
  const sb = await Sandbox.create();
  try {
    const share = `${sb.dir}/share`;
    const image = await buildBusyboxImage(sb);
    const maps = await runMaps(sb);
    const ids = sampleIds(maps);

    await t.step("podman run: uid 0 inside, files on mapped ids", async () => {
      const out = await sb.inside([
        "sh",
        "-c",
        'mkdir "$1" && shift && exec "$@"',
        "sh",
        `${share}/run`,
        ...PODMAN_RUN,
        "-v",
        `${share}/run:/out`,
        image,
        "sh",
        "-c",
        "id; echo hello >/out/f0; cat /out/f0; touch /out/f1000; " +
        "chown 1000:1000 /out/f1000; cat /proc/self/uid_map",
      ]);
      const [id, hello, ...uidMap] = out.split("\n");
      assert.equal(id, "uid=0 gid=0");
      assert.equal(hello, "hello");
      assert.deepEqual(parseIdMap(uidMap.join("\n")), maps.uid, "same map");
      assert.deepEqual(owners(`${share}/run`, [0, 1000]), [
        `f0 ${owner(maps, 0)}`,
        `f1000 ${owner(maps, 1000)}`,
      ]);
      const user = await sb.inside([
        ...PODMAN_RUN,
        "--user",
        "1000:1000",
        image,
        "id",
      ]);
      assert.match(user, /^uid=1000 gid=1000\b/);
    });

    await t.step("chown inside: subordinate ids outside", async () => {
      const dir = `${share}/chown`;
      await sb.inside(["sh", "-c", CHOWN, "sh", dir, ...ids.map(String)]);
      const want = ids.map((id) => `f${id} ${owner(maps, id)}`);
      assert.deepEqual(owners(dir, ids), want);
    });

    await t.step("side by side with podman unshare", async () => {
      const args = (
        dir: string,
      ) => ["sh", "-c", PROBE, "sh", dir, ...ids.map(String)];
      const podman = await sb.run(["podman", "unshare", ...args(`${share}/p`)]);
      assert.equal(podman.code, 0, podman.stderr);
      // Its pause process, which close() must stop, is seen as ours.
      assert.notDeepEqual(sb.leftovers(), [], "podman's pause process");
      const userns = await sb.userns(["run", "--", ...args(`${share}/u`)]);
      assert.equal(userns.code, 0, userns.stderr);
      assert.equal(normalize(userns.stdout), normalize(podman.stdout));
      assert.match(userns.stdout, /^_CONTAINERS_USERNS_CONFIGURED=done$/m);
      assert.match(
        normalize(userns.stdout),
        /^ns user new\nns mnt new\nns pid host$/m,
      );
      assert.deepEqual(owners(`${share}/u`, ids), owners(`${share}/p`, ids));
    });

    await t.step("buildah: overlay and vfs storage", async () => {
      const overlay = await sb.inside([
        "sh",
        "-c",
        BUILDAH_OVERLAY,
        "sh",
        image,
      ]);
      assert.equal(
        overlay,
        `overlay ${sb.dir}/data/storage\n0\nbuilt\noverlay\n`,
      );
      const vfs = await sb.inside(["sh", "-c", BUILDAH_VFS]);
      assert.equal(vfs, "vfs\n0\nvfs\n");
    });

    await t.step("nothing is left: storage, processes, dir", async () => {
      assert.deepEqual(await sb.close(), []);
    });
  } finally {
    const problems = await sb.close();
    if (problems.length) console.error(problems.join("\n"));
  }
}, containerReason);
