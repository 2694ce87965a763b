// The container image the tests run: static busybox alone, built offline
// inside `userns run` with buildah, in a Sandbox's private storage.
import { PRIVILEGED } from "./_env.ts";
import type { Sandbox } from "./_sandbox.ts";
import { testUser, USER } from "./_user.ts";

function onPath(name: string): boolean {
  return (Deno.env.get("PATH") ?? "").split(":").some((d) => {
    try {
      return ((Deno.statSync(`${d}/${name}`).mode ?? 0) & 0o111) !== 0;
    } catch {
      return false;
    }
  });
}

function probe(): string | undefined {
  for (const tool of ["podman", "buildah", "runc"]) {
    if (!onPath(tool)) {
      return `${tool} is not on PATH (apt-get install podman buildah runc)`;
    }
  }
  if (!onPath("busybox")) return "no busybox (apt-get install busybox-static)";
  if (!testUser) {
    return PRIVILEGED
      ? `no user ${USER} (bash tests/setup_user.sh)`
      : "the caller has no /etc/passwd entry";
  }
  return undefined;
}

/** Why podman and buildah cannot be tested here, or undefined. They run as
 * the test user (`_user.ts`): rootless, in both runs of the suite. */
export const containerReason: string | undefined = probe();
if (containerReason) console.error(`container tests: ${containerReason}`);

/** The name the test image is committed as. */
export const BUSYBOX_IMAGE = "localhost/userns-busybox:test";

/**
 * `podman run` as it works on these machines: crun, podman's default
 * runtime, fails ("cgroups in hybrid mode not supported"), and there is no
 * /dev/net/tun for a network. Add options, then the image and the command.
 */
export const PODMAN_RUN: readonly string[] = [
  "podman",
  "--runtime",
  "runc",
  "run",
  "--rm",
  "--network",
  "none",
];

/** `buildah run` with the same runtime and network as {@link PODMAN_RUN}. */
export const BUILDAH_RUN: readonly string[] = [
  "buildah",
  "run",
  "--runtime",
  "runc",
  "--network",
  "none",
];

// `buildah mount` needs the user and the mount namespace of `userns run`.
// The links are relative: the absolute ones of `busybox --install -s` would
// point into the mount point, which is gone once the root changes.
const BUILD = `set -eu
c=$(buildah from scratch)
m=$(buildah mount "$c")
mkdir -p "$m/bin" "$m/tmp"
chmod 1777 "$m/tmp"
cp /bin/busybox "$m/bin/busybox"
cd "$m/bin"
for a in $(./busybox --list); do [ "$a" = busybox ] || ln -s busybox "$a"; done
cd /
buildah umount "$c" >/dev/null
buildah config --cmd /bin/sh --env PATH=/bin "$c"
buildah commit --quiet --rm "$c" "$1"`;

/**
 * Builds the busybox image in the sandbox's storage: `buildah from scratch`,
 * static `/bin/busybox` with a link for each applet (`sh`, `id`, `sleep`,
 * ...), `PATH=/bin`, command `/bin/sh`. Build it once per test file and
 * share it; {@link Sandbox.close} removes it.
 *
 * @example
 * ```ts
 * const sb = await Sandbox.create();
 * try {
 *   const image = await buildBusyboxImage(sb);
 *   await sb.inside([...PODMAN_RUN, image, "sh", "-c", "id"]); // "uid=0 gid=0\n"
 * } finally {
 *   await sb.close();
 * }
 * ```
 *
 * @param sb the sandbox whose storage gets the image
 * @param name the name to commit it as
 * @returns the image id
 * @throws {Error} when the build fails, with buildah's stderr
 */
export async function buildBusyboxImage(
  sb: Sandbox,
  name: string = BUSYBOX_IMAGE,
): Promise<string> {
  return (await sb.inside(["sh", "-c", BUILD, "sh", name])).trim();
}
