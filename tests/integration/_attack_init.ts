// The scenario of boundary_init_test.ts, in a process of its own so that it
// runs as the test user too: a command in a pid namespace, as inside root
// (which is the caller's own uid outside), tries to make the next command's
// userns-init stay in the caller's memory. The init is executed from a
// sealed memfd copy of the library, which is the caller's file: were its
// mode changeable through /proc/1/exe (chmod 0644), the next init could not
// be executed, and an init that then ran in place would share the memory of
// this Deno program. So the chmod must fail (the copy's exec bits are
// sealed, Linux 6.3 and later), or, before Linux 6.3, the next spawn must
// fail rather than run in place; and in the next command, PID 1 must be the
// sealed program, whose memory holds nothing of this program's (a marker
// kept in its heap is searched for through /proc/1/mem, which the scanner
// is first shown to find in this program's own memory). Where the sealed
// copy cannot be executed at all, a spawn with an init fails (step
// "launch") and nothing runs. Each init runs from a sealed copy of its own,
// so that what a command does to its init's copy (an ACL, which changes the
// mode past the seal) does not stop the next spawn.
//
// `deno run -A _attack_init.ts init` exits 0 and prints `scenario init: ok`
// on stderr, or throws what got through.
import assert from "node:assert/strict";
import { isUsernsError, UsernsCommand } from "../../lib/mod.ts";
import { must } from "./_rootfs.ts";
import { secret } from "./_attack.ts";

/** `scan PID NEEDLE`: the number of times NEEDLE is in PID's readable
 * memory, through /proc/PID/mem; -1 when that cannot be opened. */
const SCAN_C = String.raw`#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char path[64], line[512];
	size_t len;
	long hits = 0;
	FILE *maps;
	int fd;

	if (argc != 3)
		return 2;
	len = strlen(argv[2]);
	snprintf(path, sizeof path, "/proc/%s/maps", argv[1]);
	maps = fopen(path, "re");
	snprintf(path, sizeof path, "/proc/%s/mem", argv[1]);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (!maps || fd < 0) {
		puts("-1");
		return 0;
	}
	while (fgets(line, sizeof line, maps)) {
		unsigned long a, b;
		char perm[5], *buf;
		ssize_t n;

		if (sscanf(line, "%lx-%lx %4s", &a, &b, perm) != 3 ||
		    perm[0] != 'r' || b - a > (1UL << 30))
			continue;
		if (!(buf = malloc(b - a)))
			continue;
		n = pread(fd, buf, b - a, (off_t)a);
		for (ssize_t i = 0; n > 0 && i + (ssize_t)len <= n; i++)
			hits += !memcmp(buf + i, argv[2], len);
		free(buf);
	}
	printf("%ld\n", hits);
	return 0;
}
`;

/** `acl PATH`: sets an access ACL of rw-, r--, r-- on PATH, which sets
 * its mode too (past F_SEAL_EXEC); says `acl: ok` or why not. */
const ACL_C = String.raw`#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>

int main(int argc, char **argv)
{
	struct { uint16_t tag, perm; uint32_t id; } e[3] = {
		{ 0x01, 6, (uint32_t)-1 }, /* ACL_USER_OBJ */
		{ 0x04, 4, (uint32_t)-1 }, /* ACL_GROUP_OBJ */
		{ 0x20, 4, (uint32_t)-1 }, /* ACL_OTHER */
	};
	unsigned char buf[4 + sizeof e];
	uint32_t version = 2;

	if (argc != 2)
		return 2;
	memcpy(buf, &version, 4);
	memcpy(buf + 4, e, sizeof e);
	if (setxattr(argv[1], "system.posix_acl_access", buf, sizeof buf, 0)) {
		perror("acl");
		return 0;
	}
	puts("acl: ok");
	return 0;
}
`;

/** Linux 6.3 and later seal a memfd's exec bits (F_SEAL_EXEC). */
function sealsExec(): boolean {
  const [major = 0, minor = 0] = Deno.osRelease().split(".").map(Number);
  return major > 6 || (major === 6 && minor >= 3);
}

async function run(args: string[]) {
  const out = await new UsernsCommand(args[0]!, {
    args: args.slice(1),
    namespaces: ["pid"],
    mountProc: true,
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

async function init(): Promise<void> {
  const dir = Deno.makeTempDirSync({ prefix: "userns-init-attack-" });
  Deno.chmodSync(dir, 0o755);
  try {
    const scan = `${dir}/scan`, acl = `${dir}/acl`;
    for (const [exe, source] of [[scan, SCAN_C], [acl, ACL_C]]) {
      Deno.writeTextFileSync(`${exe}.c`, source!);
      await must("cc", ["-static", "-O2", "-o", exe!, `${exe}.c`]);
    }
    // Only in this program's heap: the needle on the scanner's command
    // line is another string (the same bytes, minus its first).
    const marker = `Xuserns-marker-${secret()}`;
    const kept = new TextEncoder().encode(marker);
    const needle = marker.slice(1);
    const self = await new Deno.Command(scan, { args: [`${Deno.pid}`, needle] })
      .output();
    assert.ok(
      Number(new TextDecoder().decode(self.stdout)) > 0,
      "the scanner finds the marker in this program's memory",
    );

    const chmod = await run([
      "sh",
      "-c",
      "chmod 0644 /proc/1/exe && echo changed || echo refused",
    ]);
    assert.equal(chmod.code, 0, chmod.stderr);
    if (sealsExec()) assert.equal(chmod.stdout, "refused\n", chmod.stderr);
    // An ACL sets the mode past the seal; and a write fd kept would make
    // the copy ETXTBSY: either spoils only this init's own copy.
    const spoil = await run(["sh", "-c", `${acl} /proc/1/exe`]);
    assert.equal(spoil.code, 0, spoil.stderr);

    let next;
    try {
      next = await run([
        "sh",
        "-c",
        `readlink /proc/1/exe; cat /proc/1/comm; ${scan} 1 ${needle}`,
      ]);
    } catch (e) {
      // Only where the mode could be changed: the spawn fails closed.
      assert.ok(!sealsExec() && isUsernsError(e), String(e));
      assert.equal((e as { step?: string }).step, "launch", String(e));
      return;
    }
    assert.equal(next.code, 0, next.stderr);
    assert.equal(
      next.stdout,
      `/memfd:userns (deleted)\nuserns-init\n0\n`,
      "PID 1 is the sealed program, and nothing of this program's memory",
    );
    assert.equal(kept.length, marker.length); // kept alive until here
    await refused();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/**
 * Where the sealed copy cannot be executed although it exists (here: a
 * seccomp filter refuses execveat() to a program that uses the library),
 * a spawn with an init fails with step "launch", and its command never
 * runs: the init never runs in place of the sealed program.
 */
async function refused(): Promise<void> {
  const out = await new UsernsCommand(Deno.execPath(), {
    args: ["run", "-A", import.meta.filename!, "inner"],
    seccomp: {
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{
        names: ["execveat"],
        action: "SCMP_ACT_ERRNO",
        errnoRet: 1,
      }],
    },
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  assert.equal(out.code, 0, text(out.stderr));
  assert.equal(text(out.stdout), "SpawnError launch EPERM\n", text(out.stderr));
}

/** The program inside refused(): a spawn with an init. */
async function inner(): Promise<void> {
  try {
    const out = await new UsernsCommand("sh", {
      args: ["-c", "echo ran"],
      namespaces: ["pid"],
      map: "root", // nested, unprivileged: its own id only needs no helper
    }).output();
    console.log(`ran: ${new TextDecoder().decode(out.stdout).trim()}`);
  } catch (e) {
    const f = e as { name: string; step?: string; errno?: string };
    console.log(f.name, f.step, f.errno);
  }
}

if (import.meta.main) {
  const [name] = Deno.args;
  if (name === "inner") {
    await inner();
  } else {
    if (name !== "init") throw new Error(`no scenario "${name}"`);
    await init();
    console.error("scenario init: ok");
  }
}
