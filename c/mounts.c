/*
 * mounts.c - the child's new root and its mount operations: --root, --bind,
 * --ro-bind, --tmpfs, --dev, --proc and --mount-proc, in the order given.
 *
 * Bind sources are opened first, in the caller's view of the file system:
 * open_tree(OPEN_TREE_CLONE) makes a detached copy of the source's mount
 * tree, and a read-only one is made so with mount_setattr(), which keeps the
 * flags the kernel locked on the source (a remount would have to repeat
 * them, or fail with EPERM). With a new root, it is bound onto itself and
 * entered with chroot() while the caller's mounts are still there (the
 * kernel mounts a new proc only while another proc is fully visible in the
 * namespace); every operation then runs with its target resolved inside
 * the root, so that a symbolic link in the root filesystem points inside
 * it. Last, back through a saved fd to the caller's root, the root becomes
 * the root for good: pivot_root(), the old root detached, the saved fd
 * closed, so that, unlike a chroot, nothing leads back. Raw system calls
 * only, as everywhere in the child.
 */
#include "internal.h"

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#define UNS_MOUNT_ATTR_RDONLY 0x00000001

/* The kernel's struct mount_attr. */
struct kmount_attr {
	uint64_t attr_set, attr_clr, propagation, userns_fd;
};

static char *at(const struct spawn *s, int32_t off)
{
	return off < 0 ? NULL : s->str + off;
}

/* mkdir -p PATH, cutting it at each '/' in place for a moment. */
static long make_dirs(char *path)
{
	for (char *p = path + 1;; p++) {
		char c = *p;
		long r;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		r = sys(SYS_mkdirat, AT_FDCWD, path, 0755);
		*p = c;
		if (r < 0 && r != -EEXIST)
			return r;
		if (c == '\0')
			return 0;
	}
}

/* Creates a missing target as FLAGS say: a directory, or an empty file in
 * a directory made as needed. An existing target is left as it is. */
static long make_target(char *path, int32_t flags)
{
	unsigned long st[32]; /* any arch's struct stat */
	char *slash = NULL;
	long r, fd;

	if (!(flags & (UNS_MNT_MKDIR | UNS_MNT_MKFILE)) ||
	    sys(SYS_newfstatat, AT_FDCWD, path, st, 0) == 0)
		return 0;
	if (flags & UNS_MNT_MKDIR)
		return make_dirs(path);
	for (char *p = path; *p; p++)
		if (*p == '/')
			slash = p;
	if (slash && slash != path) {
		*slash = '\0';
		r = make_dirs(path);
		*slash = '/';
		if (r < 0)
			return r;
	}
	fd = sys(SYS_openat, AT_FDCWD, path,
		 O_WRONLY | O_CREAT | O_NOCTTY | O_CLOEXEC, 0644);
	return fd < 0 ? fd : sys(SYS_close, fd);
}

/* A detached copy of a bind source's mount tree, read-only if asked. */
static long open_source(const struct spawn *s, const int32_t *m)
{
	struct kmount_attr ro = { UNS_MOUNT_ATTR_RDONLY, 0, 0, 0 };
	long fd = sys(SYS_open_tree, AT_FDCWD, at(s, m[UNS_M_A]),
		      OPEN_TREE_CLONE | O_CLOEXEC | AT_RECURSIVE);
	long r;

	if (fd < 0 || !(m[UNS_M_FLAGS] & UNS_MNT_RDONLY))
		return fd;
	r = sys(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &ro,
		sizeof ro);
	if (r < 0) {
		(void)sys(SYS_close, fd);
		return r;
	}
	return fd;
}

/* Binds ROOT onto itself (a mount point, for pivot_root) and enters it
 * with chroot(); *HOST keeps the caller's root for leave(). */
static long enter(const char *root, long *host)
{
	long r;

	if ((r = sys(SYS_mount, root, root, NULL, MS_BIND | MS_REC, NULL)) < 0)
		return r;
	*host = sys(SYS_openat, AT_FDCWD, "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*host < 0)
		return *host;
	if ((r = sys(SYS_chdir, root)) < 0 || (r = sys(SYS_chroot, ".")) < 0)
		return r;
	return sys(SYS_chdir, "/");
}

/* From inside the root entered by enter(): back to the caller's root, then
 * pivot_root(".", ".") into the root's mount, which stacks the old root on
 * top of it, detached at once. No fd to the old root is left. */
static long leave(long host)
{
	long here = sys(SYS_openat, AT_FDCWD, "/", O_PATH | O_DIRECTORY |
			O_CLOEXEC);
	long r = here;

	if (r >= 0 && (r = sys(SYS_fchdir, host)) >= 0 &&
	    (r = sys(SYS_chroot, ".")) >= 0 && (r = sys(SYS_fchdir, here)) >= 0 &&
	    (r = sys(SYS_pivot_root, ".", ".")) >= 0 &&
	    (r = sys(SYS_umount2, ".", MNT_DETACH)) >= 0)
		r = sys(SYS_chdir, "/");
	if (here >= 0)
		(void)sys(SYS_close, here);
	(void)sys(SYS_close, host);
	return r;
}

/* Runs one operation; TREE is its opened source, for a bind. */
static long apply(const struct spawn *s, const int32_t *m, long tree)
{
	char *target = at(s, m[UNS_M_B]);
	long r = make_target(target, m[UNS_M_FLAGS]);

	if (r < 0)
		return r;
	if (m[UNS_M_KIND] == UNS_MNT_BIND)
		return sys(SYS_move_mount, tree, "", AT_FDCWD, target,
			   MOVE_MOUNT_F_EMPTY_PATH);
	if (m[UNS_M_KIND] == UNS_MNT_FS)
		return sys(SYS_mount, at(s, m[UNS_M_A]), target,
			   at(s, m[UNS_M_A]), (unsigned long)m[UNS_M_MS],
			   at(s, m[UNS_M_C]));
	return sys(SYS_symlinkat, at(s, m[UNS_M_A]), AT_FDCWD, target);
}

/**
 * set_up_mounts() - open the bind sources, enter the root, run the
 * operations, make the root the root.
 * @s: the spawn: its root, mount operations and strings
 *
 * A failure ends the child, reporting the step (a source, the root, an
 * operation), the errno and the operation's index; the fd to the caller's
 * root is close-on-exec, and the child exits anyway.
 */
void set_up_mounts(const struct spawn *s)
{
	uint32_t n = (uint32_t)s->opt[UNS_OPT_NMOUNT];
	long tree[UNS_MAX_MOUNTS], host = -1;

	for (uint32_t i = 0; i < n; i++) {
		const int32_t *m = s->mounts + i * UNS_MOUNT_SLOTS;

		tree[i] = -1;
		if (m[UNS_M_KIND] == UNS_MNT_BIND &&
		    (tree[i] = open_source(s, m)) < 0)
			fail_at(s, UNS_STEP_MOUNT_SOURCE, -tree[i], (int)i);
	}
	if (s->root)
		CHECK(s, enter(s->root, &host), UNS_STEP_ROOT);
	for (uint32_t i = 0; i < n; i++) {
		long r = apply(s, s->mounts + i * UNS_MOUNT_SLOTS, tree[i]);

		if (r < 0)
			fail_at(s, UNS_STEP_MOUNT, -r, (int)i);
		if (tree[i] >= 0)
			(void)sys(SYS_close, tree[i]);
	}
	if (s->root)
		CHECK(s, leave(host), UNS_STEP_ROOT);
}
