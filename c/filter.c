/*
 * filter.c - the command's capabilities and seccomp filter, set by the
 * child as the last steps before execve(). Raw system calls only, as in the
 * rest of the child: no libc, no errno.
 *
 * The parent resolves everything: the capabilities to keep as a 64-bit mask
 * (bit N = capability N) and the filter as classic BPF, compiled with
 * libseccomp (lib/sandbox/seccomp.ts), one or more programs back to back.
 */
#include "internal.h"

#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

/* The failure's index names the capability or the program. */
#define STEP_CAPS UNS_STEP_CAPS
#define STEP_SECCOMP UNS_STEP_SECCOMP

static int kept(uint64_t keep, int cap)
{
	return cap < 64 && (keep >> cap & 1);
}

static long capget_(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };

	return sys(SYS_capget, &h, d);
}

/* Sets the permitted, effective and inheritable sets. */
static long capset_(uint64_t prm, uint64_t eff, uint64_t inh)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = {
		{ (uint32_t)eff, (uint32_t)prm, (uint32_t)inh },
		{ (uint32_t)(eff >> 32), (uint32_t)(prm >> 32),
		  (uint32_t)(inh >> 32) },
	};

	return sys(SYS_capset, &h, d);
}

/**
 * set_caps() - keep exactly KEEP in all five capability sets, as bwrap's
 * --cap-drop/--cap-add do.
 * @s: the spawn, for fail_at()
 * @keep: the capabilities to keep; none past the kernel's last
 *
 * The bounding set loses the others first (PR_CAPBSET_DROP needs
 * CAP_SETPCAP in the effective set, raised again in case a switch to a
 * non-root uid under PR_SET_KEEPCAPS emptied it). Then permitted, effective
 * and inheritable become KEEP and KEEP is raised as ambient: a non-root
 * uid keeps its capabilities across execve() only through the ambient set;
 * for uid 0 execve() gives bounding | inheritable, which is KEEP too.
 */
void set_caps(const struct spawn *s, uint64_t keep)
{
	struct __user_cap_data_struct d[2];
	uint64_t prm;

	CHECK(s, capget_(d), STEP_CAPS);
	prm = (uint64_t)d[1].permitted << 32 | d[0].permitted;
	for (int cap = 0; cap < 64; cap++)
		if (kept(keep, cap) && !(prm >> cap & 1))
			fail_at(s, STEP_CAPS, EPERM, cap);
	if (((uint64_t)d[1].effective << 32 | d[0].effective) != prm)
		CHECK(s, capset_(prm, prm, (uint64_t)d[1].inheritable << 32 |
				 d[0].inheritable), STEP_CAPS);
	for (int cap = 0; cap < 64; cap++) {
		long r;

		if (kept(keep, cap))
			continue;
		r = sys(SYS_prctl, PR_CAPBSET_DROP, cap, 0, 0, 0);
		if (r == -EINVAL)
			break; /* past the kernel's last capability */
		if (r < 0)
			fail_at(s, STEP_CAPS, -r, cap);
	}
	CHECK(s, capset_(keep, keep, keep), STEP_CAPS);
	for (int cap = 0; cap < 64; cap++) {
		long r;

		if (!kept(keep, cap))
			continue;
		r = sys(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0,
			0);
		if (r < 0)
			fail_at(s, STEP_CAPS, -r, cap);
	}
}

/**
 * set_filter() - install seccomp filters, in order.
 * @s: the spawn, for fail_at()
 * @prog: the programs' instructions, back to back
 * @lens: how many instructions each program has
 * @n: how many programs
 *
 * The kernel runs every installed filter and the strictest answer wins,
 * so a profile and a denylist stacked give what each denies.
 */
void set_filter(const struct spawn *s, const struct sock_filter *prog,
		const uint32_t *lens, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		struct sock_fprog p = { (unsigned short)lens[i],
					(struct sock_filter *)prog };
		long r;

		if (lens[i] == 0 || lens[i] > BPF_MAXINSNS)
			fail_at(s, STEP_SECCOMP, EINVAL, (int)i);
		r = sys(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &p);
		if (r == -ENOSYS) /* before Linux 3.17 */
			r = sys(SYS_prctl, PR_SET_SECCOMP, SECCOMP_MODE_FILTER,
				&p, 0, 0);
		if (r < 0)
			fail_at(s, STEP_SECCOMP, -r, (int)i);
		prog += lens[i];
	}
}

/**
 * apply_caps_and_filter() - the command's capabilities, then its filter.
 * @s: the spawn, for fail_at()
 * @caps: 0 leaves the capabilities as they are (all, the default)
 * @keep: with @caps, the capabilities to keep (see set_caps())
 * @prog: the filter programs, back to back (see set_filter())
 * @lens: instructions per program
 * @n: programs; 0 for no filter
 *
 * Call it last before execve(), after no_new_privs is set: the filter then
 * needs to allow nothing of the set-up, only execve() and what reports a
 * failure (write, exit_group). Without no_new_privs the kernel takes a
 * filter only from a holder of CAP_SYS_ADMIN, so the filter goes first,
 * while the capabilities are still there (as runc does), and must then
 * allow capget, capset and prctl.
 */
void apply_caps_and_filter(const struct spawn *s, int caps, uint64_t keep,
			   const struct sock_filter *prog,
			   const uint32_t *lens, uint32_t n)
{
	long nnp = n ? sys(SYS_prctl, PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) : 1;

	if (nnp < 0)
		fail_at(s, STEP_SECCOMP, -nnp, -1);
	if (!nnp)
		set_filter(s, prog, lens, n);
	if (caps)
		set_caps(s, keep);
	if (nnp && n)
		set_filter(s, prog, lens, n);
}
