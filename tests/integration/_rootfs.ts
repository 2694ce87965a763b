// A busybox root filesystem for `--root` tests, built in a temp dir, and
// the peers' commands to run side by side with it. Built by the caller
// (root in the first CI pass, the test user in the second), so that inside
// root owns it either way.
import { text } from "./_env.ts";

/** A root filesystem and what lies outside it. */
export interface Rootfs {
  /** The temp dir: the root is in it, and so is {@link Rootfs.marker}. */
  dir: string;
  /** The root: `bin/` (busybox, a relative link per applet, `escape`),
   * and empty `dev/`, `proc/`, `tmp/`, `.escape/`. */
  root: string;
  /** A file outside the root, which only an escape can read. */
  marker: string;
  /** What {@link Rootfs.marker} holds. */
  markerText: string;
}

/**
 * The chroot escape (a process with CAP_SYS_CHROOT in its namespace, as
 * inside root has): chroot into a subdirectory, which leaves
 * the working directory outside the new root, climb with `chdir("..")`,
 * `chroot(".")` at the top, then open the host path argv[1]. Each step says
 * how it went, so that "could not escape" is known to be a real attempt.
 */
const ESCAPE_C = String.raw`#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char buf[256];
	int fd, n;

	if (argc != 2)
		return 2;
	printf("chroot: %s\n", chroot("/.escape") == 0 ? "ok" : "failed");
	for (int i = 0; i < 100; i++)
		(void)chdir("..");
	(void)chroot(".");
	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		printf("could not escape\n");
		return 1;
	}
	n = (int)read(fd, buf, sizeof buf - 1);
	buf[n > 0 ? n : 0] = '\0';
	printf("escaped: %s", buf);
	return 0;
}
`;

/**
 * Runs a command to the end; throws with its stderr unless it succeeds.
 *
 * @param cmd the program
 * @param args its arguments
 * @param cwd where to run it
 * @returns its stdout
 */
export async function must(
  cmd: string,
  args: string[],
  cwd?: string,
): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd, stdin: "null" })
    .output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${text(out.stderr)}`);
  }
  return text(out.stdout);
}

/**
 * Builds a busybox root filesystem in a new temp dir: the static
 * `/bin/busybox` with a relative link for each applet (an absolute link, as
 * `busybox --install -s` makes, would not resolve once the root changes;
 * `busybox --list` names busybox itself, which is left alone), and the
 * escape program compiled with `gcc -static`. Remove it with
 * {@link removeRootfs}.
 *
 * @returns the rootfs
 * @throws {Error} when busybox is missing or the compiler fails
 */
export async function buildRootfs(): Promise<Rootfs> {
  const dir = await Deno.makeTempDir({ prefix: "userns-rootfs-" });
  const root = `${dir}/root`;
  try {
    for (const d of ["bin", "dev", "proc", "tmp", ".escape"]) {
      await Deno.mkdir(`${root}/${d}`, { recursive: true });
    }
    await Deno.chmod(`${root}/tmp`, 0o1777);
    await Deno.copyFile("/bin/busybox", `${root}/bin/busybox`);
    await Deno.chmod(`${root}/bin/busybox`, 0o755);
    const applets = (await must(`${root}/bin/busybox`, ["--list"])).split("\n")
      .filter((a) => a !== "" && a !== "busybox" && !a.includes("/"));
    for (const a of applets) await Deno.symlink("busybox", `${root}/bin/${a}`);
    await Deno.writeTextFile(`${dir}/escape.c`, ESCAPE_C);
    await must("gcc", [
      "-static",
      "-O2",
      "-o",
      `${root}/bin/escape`,
      `${dir}/escape.c`,
    ]);
    const markerText = "the host side\n";
    await Deno.writeTextFile(`${dir}/marker`, markerText);
    return { dir, root, marker: `${dir}/marker`, markerText };
  } catch (e) {
    await Deno.remove(dir, { recursive: true });
    throw e;
  }
}

/**
 * Removes a rootfs (and anything the tests left in its dir).
 *
 * @param fs the rootfs
 */
export function removeRootfs(fs: Rootfs): void {
  Deno.removeSync(fs.dir, { recursive: true });
}

let shared: Promise<Rootfs> | undefined;

/**
 * The rootfs of this test file: built on first use, removed when the file's
 * tests end. Tests that change it put their changes under `/tmp` or in a
 * rootfs of their own.
 *
 * @returns the rootfs
 */
export function rootfs(): Promise<Rootfs> {
  if (shared) return shared;
  shared = buildRootfs();
  shared.then((fs) =>
    globalThis.addEventListener("unload", () => removeRootfs(fs))
  ).catch(() => {});
  return shared;
}

/**
 * Every path under dir with its type and size, sorted: compare two
 * listings to see what a run created or changed.
 *
 * @param dir the directory
 * @returns `path type size` lines, relative to dir
 */
export function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of Deno.readDirSync(`${dir}${rel}`)) {
      const path = `${rel}/${e.name}`;
      const st = Deno.lstatSync(`${dir}${path}`);
      const type = e.isSymlink ? "link" : e.isDirectory ? "dir" : "file";
      out.push(`${path} ${type} ${e.isFile ? st.size : ""}`.trim());
      if (e.isDirectory) walk(path);
    }
  };
  walk("");
  return out.sort();
}

function onPath(name: string): boolean {
  return (Deno.env.get("PATH") ?? "").split(":").some((d) => {
    try {
      return Deno.statSync(`${d}/${name}`).isFile;
    } catch {
      return false;
    }
  });
}

/** Why bwrap cannot be compared with here, or undefined. */
export const bwrapReason: string | undefined = onPath("bwrap")
  ? undefined
  : "bwrap is not on PATH (apt-get install bubblewrap)";

/** Why the rootfs cannot be built here, or undefined. */
export const rootfsReason: string | undefined = (() => {
  try {
    Deno.statSync("/bin/busybox");
  } catch {
    return "no /bin/busybox (apt-get install busybox-static)";
  }
  return onPath("gcc") ? undefined : "no gcc (apt-get install gcc libc6-dev)";
})();

/** What a peer or the CLI printed, and how it ended. */
export interface Ran {
  /** Exit code. */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/**
 * Runs a command with stdin from /dev/null and its output piped.
 *
 * @param argv the program and its arguments
 * @param env variables to set
 * @returns how it ended and what it printed
 */
export async function exec(
  argv: string[],
  env?: Record<string, string>,
): Promise<Ran> {
  const out = await new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    env,
    stdin: "null",
  }).output();
  return {
    code: out.code,
    stdout: text(out.stdout),
    stderr: text(out.stderr),
  };
}

/**
 * `bwrap` as unprivileged root of a new user namespace (`--unshare-user
 * --uid 0 --gid 0`), with more options.
 *
 * @param options bwrap's options (namespaces, mounts)
 * @param command the command
 * @returns the argv
 */
export function bwrap(options: string[], command: string[]): string[] {
  return [
    "bwrap",
    "--unshare-user",
    "--uid",
    "0",
    "--gid",
    "0",
    ...options,
    "--",
    ...command,
  ];
}
