// The attacker's side of the boundary tests (README, "The boundary"): a small
// static program that tries each way out from inside and says how each try
// ended, by errno name, and the places it attacks (a rootfs, a victim
// directory, a copy of the module), owned by whoever attacks: the caller,
// and, when the suite runs as root, also the test user, so that both
// identities are tried in one run.
import { UsernsPod } from "../../lib/mod.ts";
import { cli, PRIVILEGED, ROOT } from "./_env.ts";
import {
  cliAsUser,
  runAs,
  testUser,
  UNPRIVILEGED_REASON,
  USER,
  USER_UID,
} from "./_user.ts";
import { buildRootfs, exec, must, type Ran, type Rootfs } from "./_rootfs.ts";

/**
 * The attack program. Each subcommand prints `OP: ok` or `OP: ENAME` (the
 * errno's name), so that a test knows a try was really made and how the
 * kernel answered:
 *
 * - `write PATH`: append a line to PATH
 * - `remount PATH`: remount the bind mount at PATH read-write, keeping its
 *   other flags (as `mount -o remount,bind,rw` does)
 * - `setattr PATH`: clear MOUNT_ATTR_RDONLY with mount_setattr(2)
 * - `umount PATH`, `detach PATH`: umount2(PATH, 0 / MNT_DETACH)
 * - `move PATH TO`: MS_MOVE the mount at PATH to TO (made to match)
 * - `bind PATH TO`: a NON-recursive bind of PATH at TO: what lies under the
 *   mounts below PATH shows at TO
 * - `clone PATH TO`: the same through open_tree(OPEN_TREE_CLONE)
 * - `tmpfs DIR`: mount a new tmpfs at DIR and write in it
 * - `pidns FILE`: walk every pid with pidfd_open(2) and setns(2) into each
 *   process's mount namespace; read FILE in the first one that lets in
 */
const ATTACK_C = String.raw`#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

struct attr {
	uint64_t set, clr, propagation, userns_fd;
};

static int say(const char *op, long r)
{
	if (r < 0)
		printf("%s: %s\n", op, strerrorname_np(errno));
	else
		printf("%s: ok\n", op);
	return r < 0;
}

/* Makes TO a file or a directory, as FROM is, unless it exists. */
static void like(const char *from, const char *to)
{
	struct stat st;

	if (stat(to, &st) == 0 || stat(from, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode))
		(void)mkdir(to, 0755);
	else
		(void)close(open(to, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
}

static unsigned long kept_flags(const char *path)
{
	struct statvfs v;
	unsigned long f = 0;

	if (statvfs(path, &v) != 0)
		return 0;
	if (v.f_flag & ST_NOSUID)
		f |= MS_NOSUID;
	if (v.f_flag & ST_NODEV)
		f |= MS_NODEV;
	if (v.f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (v.f_flag & ST_NOATIME)
		f |= MS_NOATIME;
	if (v.f_flag & ST_NODIRATIME)
		f |= MS_NODIRATIME;
	if (v.f_flag & ST_RELATIME)
		f |= MS_RELATIME;
	return f;
}

static int pidns(const char *file)
{
	char buf[256];
	int seen = 0;

	for (long pid = 1; pid <= 4194304; pid++) {
		int fd = (int)syscall(SYS_pidfd_open, pid, 0);

		if (fd < 0)
			continue;
		seen++;
		if (setns(fd, CLONE_NEWNS) == 0) {
			int m = open(file, O_RDONLY | O_CLOEXEC);

			if (m >= 0) {
				long n = read(m, buf, sizeof buf - 1);

				buf[n > 0 ? n : 0] = '\0';
				printf("pidns: escaped through pid %ld: %s", pid, buf);
				return 0;
			}
		}
		(void)close(fd);
	}
	printf("pidns: no way out (%d pids seen)\n", seen);
	return 1;
}

int main(int argc, char **argv)
{
	const char *op = argc > 1 ? argv[1] : "", *a = argc > 2 ? argv[2] : "";
	const char *b = argc > 3 ? argv[3] : "";

	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strcmp(op, "write")) {
		int fd = open(a, O_WRONLY | O_APPEND | O_CLOEXEC);

		if (fd < 0)
			return say(op, -1);
		return say(op, write(fd, "pwned\n", 6));
	}
	if (!strcmp(op, "remount"))
		return say(op, mount(NULL, a, NULL,
				     MS_REMOUNT | MS_BIND | kept_flags(a), NULL));
	if (!strcmp(op, "setattr")) {
		struct attr at = { 0, 1 /* MOUNT_ATTR_RDONLY */, 0, 0 };

		return say(op, syscall(SYS_mount_setattr, AT_FDCWD, a, 0, &at,
				       sizeof at));
	}
	if (!strcmp(op, "umount"))
		return say(op, umount2(a, 0));
	if (!strcmp(op, "detach"))
		return say(op, umount2(a, MNT_DETACH));
	if (!strcmp(op, "move"))
		return like(a, b), say(op, mount(a, b, NULL, MS_MOVE, NULL));
	if (!strcmp(op, "bind"))
		return like(a, b), say(op, mount(a, b, NULL, MS_BIND, NULL));
	if (!strcmp(op, "clone")) {
		long fd = syscall(SYS_open_tree, AT_FDCWD, a, 1 /* CLONE */);

		like(a, b);
		if (fd < 0)
			return say(op, fd);
		return say(op, syscall(SYS_move_mount, fd, "", AT_FDCWD, b,
				       4 /* MOVE_MOUNT_F_EMPTY_PATH */));
	}
	if (!strcmp(op, "tmpfs")) {
		char f[4096];

		(void)mkdir(a, 0755);
		if (say(op, mount("none", a, "tmpfs", 0, NULL)))
			return 1;
		snprintf(f, sizeof f, "%s/f", a);
		return say("tmpfs write",
			   close(open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)));
	}
	if (!strcmp(op, "pidns"))
		return pidns(a);
	fprintf(stderr, "attack: unknown op %s\n", op);
	return 2;
}
`;

/**
 * Compiles the attack program, static, so that it runs in a busybox root.
 *
 * @param path where to put it
 */
export async function buildAttack(path: string): Promise<void> {
  const src = `${path}.c`;
  await Deno.writeTextFile(src, ATTACK_C);
  await must("gcc", ["-static", "-O2", "-Wall", "-o", path, src]);
  await Deno.remove(src);
  await Deno.chmod(path, 0o755);
}

/** Who attacks, and how a command is run as them. */
export interface Attacker {
  /** `root`, or the test user's name. */
  name: string;
  /** Its uid. */
  uid: number;
  /**
   * Runs the userns CLI as the attacker (a readable copy of the module).
   *
   * @param args its arguments
   * @param env variables to set
   */
  userns(args: string[], env?: Record<string, string>): Promise<Ran>;
  /**
   * Runs any program as the attacker (bwrap, a CLI of a copy of the module).
   *
   * @param argv the program and its arguments
   * @param env variables to set (PATH and HOME are kept unless given)
   */
  run(argv: string[], env?: Record<string, string>): Promise<Ran>;
}

const callerAttacker: Attacker = {
  name: PRIVILEGED ? "root" : USER,
  uid: Deno.uid() ?? -1,
  async userns(args, env = {}) {
    const out = await cli(args, { env, stdout: "piped", stderr: "piped" });
    return { code: out.code, stdout: out.stdout, stderr: out.stderr };
  },
  run: (argv, env) => exec(argv, env),
};

const userAttacker: Attacker = {
  name: USER,
  uid: USER_UID,
  userns: (args, env) => cliAsUser(args, env),
  run(argv, env = {}) {
    const user = testUser!;
    return runAs(user, argv, {
      PATH: Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin",
      HOME: user.home,
      NO_COLOR: "1",
      DENO_NO_UPDATE_CHECK: "1",
      ...env,
    }, "/");
  },
};

/** Why the attacks cannot run as the test user here, or undefined. */
export const attackReason: string | undefined = UNPRIVILEGED_REASON ??
  (PRIVILEGED && !testUser ? `no user ${USER}` : undefined);

/**
 * Who attacks: the caller; as root, also the test user.
 *
 * @param only `user` for the attacks that the issue reproduced only
 *   unprivileged: the test user alone (the caller when unprivileged)
 * @returns the attackers
 */
export function attackers(only?: "user"): Attacker[] {
  if (!PRIVILEGED) return [callerAttacker];
  return only === "user" ? [userAttacker] : [callerAttacker, userAttacker];
}

/**
 * Gives PATH, and everything in it, to the attacker (a no-op unless root
 * attacks as the test user).
 *
 * @param path the file or directory
 * @param who the attacker
 */
export async function giveTo(path: string, who: Attacker): Promise<void> {
  if (who.uid === Deno.uid()) return;
  await must("chown", ["-R", `${who.uid}:${testUser!.gid}`, path]);
}

/**
 * A temp dir in /tmp that the attacker owns and others may enter (mode
 * 755): the test user must reach it through it when root made it.
 *
 * @param who the attacker
 * @param prefix its name's start
 * @returns its path
 */
export async function placeFor(who: Attacker, prefix: string): Promise<string> {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix });
  await Deno.chmod(dir, 0o755);
  await giveTo(dir, who);
  return dir;
}

/**
 * A busybox rootfs (see _rootfs.ts) with the attack program in `/bin`,
 * owned by the attacker, so that its inside root may create what userns
 * creates in it. Remove it with removeRootfs().
 *
 * @param who the attacker
 * @returns the rootfs; its `dir` also holds `attack`, the program for runs
 *   without a root
 */
export async function attackRootfs(who: Attacker): Promise<Rootfs> {
  const fs = await buildRootfs();
  await buildAttack(`${fs.root}/bin/attack`);
  await Deno.copyFile(`${fs.root}/bin/attack`, `${fs.dir}/attack`);
  await Deno.chmod(`${fs.dir}/attack`, 0o755);
  await Deno.chmod(fs.dir, 0o755);
  await Deno.chmod(fs.marker, 0o644);
  await giveTo(fs.dir, who);
  return fs;
}

/** The mount points of this process's mount namespace (the caller's). */
export function hostMounts(): string[] {
  return Deno.readTextFileSync("/proc/self/mountinfo").split("\n")
    .filter(Boolean).map((l) => l.split(" ")[4]!).sort();
}

/**
 * A copy of the module for the attacker: its own checkout (owned by it),
 * with the prebuilt library or, without it, one that builds its library
 * into the cache.
 *
 * @param who the attacker
 * @param prebuilt copy build/ too
 * @returns the copy's directory (its `main.ts` is the CLI)
 */
export async function moduleCopy(
  who: Attacker,
  prebuilt: boolean,
): Promise<string> {
  const dir = await placeFor(who, "uns-module-");
  const parts = ["deno.json", "main.ts", "lib", "ffi", "c"];
  if (prebuilt) parts.push("build");
  await must("cp", ["-r", ...parts.map((p) => ROOT + p), dir]);
  await giveTo(dir, who);
  return dir;
}

/**
 * The SHA-256 of a file, hex.
 *
 * @param path the file
 * @returns its hash
 */
export async function sha256(path: string): Promise<string> {
  const bytes = await Deno.readFile(path);
  const h = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(h)].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/**
 * Checks the refusal that holds the boundary: exit 125, nothing on stdout, one
 * line on stderr starting with `userns: ` that names `what`.
 *
 * @param out what the CLI did
 * @param what the text the line must contain (the destination)
 * @returns what is wrong with it, or undefined when it is that refusal
 */
export function notRefused(out: Ran, what: string): string | undefined {
  const said = `exit ${out.code}, stdout ${JSON.stringify(out.stdout)}, ` +
    `stderr ${JSON.stringify(out.stderr)}`;
  if (out.code !== 125 || out.stdout !== "") return `not refused: ${said}`;
  if (!/^userns: [^\n]*\n$/.test(out.stderr)) return `not one line: ${said}`;
  if (!out.stderr.includes(what)) return `does not name ${what}: ${said}`;
  return undefined;
}

/**
 * What a command run in a pod under `--root` looks at: its /proc (a fresh
 * proc of a new pid namespace), its pid namespace, the pids it sees
 * and their programs, and, for each, whether `MARKER` (a file outside the
 * root) can be read through its `/proc/PID/root` or `/proc/PID/cwd` (the
 * holder's lead to the host's root). Ends with `done`.
 *
 * @param marker the host-only file
 * @returns the shell script
 */
export function podProbe(marker: string): string {
  return `M=${marker}
echo "proc: $(stat -f -c %T /proc 2>/dev/null || echo missing)"
echo "namespace: $(readlink /proc/self/ns/pid 2>/dev/null || echo unknown)"
echo "pids: $(cd /proc 2>/dev/null && ls -d [0-9]* 2>/dev/null | tr '\\n' ' ')"
echo "programs: $(cat /proc/[0-9]*/comm 2>/dev/null | tr '\\n' ' ')"
for p in /proc/[0-9]*; do
  for via in root cwd; do
    cat "$p/$via$M" >/dev/null 2>&1 && echo "read $M through $p/$via"
  done
done
echo done`;
}

// `deno run -A _attack_fs.ts pod-root RUNTIME ROOT MARKER pid|nopid NAME`, as
// _scenario.ts runs it: the same attack through the library, a pod started
// with UsernsPod.start() and commands from pod.command(cmd, { root }).
// Prints the probe's and the attack's output, then the holder's pid and pid
// namespace as the host sees them.
if (import.meta.main) {
  const [scenario, runtime, root, marker, pid, name] = Deno.args;
  Deno.env.set("XDG_RUNTIME_DIR", runtime!);
  const pod = await UsernsPod.start({
    name,
    namespaces: pid === "pid" ? ["pid"] : [],
  });
  try {
    const runs: [string, string[]][] = [
      ["sh", ["-c", podProbe(marker!)]],
      ["/bin/attack", ["pidns", marker!]],
    ];
    for (const [cmd, args] of runs) {
      const out = await pod.command(cmd, { args, root, stdout: "piped" })
        .output();
      await Deno.stdout.write(out.stdout);
    }
    console.log(
      `holder ${pod.pid} ${Deno.readLinkSync(`/proc/${pod.pid}/ns/pid`)}`,
    );
  } finally {
    await pod.stop();
  }
  console.error(`scenario ${scenario}: ok`);
}
