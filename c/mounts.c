/*
 * mounts.c - the child's new root and its mount operations: --root, --bind,
 * --ro-bind, --tmpfs, --dev, --proc and --mount-proc, in the order given.
 *
 * Bind sources are opened first, in the caller's view of the file system:
 * open_tree(OPEN_TREE_CLONE) makes a detached copy of the source's mount
 * tree, and a read-only one is made so with mount_setattr(), which keeps the
 * flags the kernel locked on the source (a remount would have to repeat
 * them, or fail with EPERM). The root is such a copy too, attached onto
 * itself. Every target is then resolved inside the root with openat2()
 * (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), and a missing one is created
 * one component at a time under a parent resolved the same way: no
 * symbolic link, ".." or magic link (/proc/self/fd/N, /proc/PID/root) in
 * the root's file system leads outside it. Mounts are attached by fd
 * (move_mount; file systems through fsopen/fsmount), never by path. Last,
 * the root becomes the root: pivot_root(), the old root detached; the
 * mounts are then locked (lock.c). Raw system calls only, as everywhere in
 * the child.
 */
#include "internal.h"

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#define UNS_MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#define UNS_MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#define UNS_MOUNT_ATTR_RDONLY 0x00000001
#define UNS_RESOLVE_NO_MAGICLINKS 0x02
#define UNS_RESOLVE_IN_ROOT 0x10
#define UNS_FSCONFIG_SET_FLAG 0
#define UNS_FSCONFIG_SET_STRING 1
#define UNS_FSCONFIG_CMD_CREATE 6
#define UNS_PROC_SUPER_MAGIC 0x9fa0

/* The kernel's struct mount_attr. */
struct kmount_attr {
	uint64_t attr_set, attr_clr, propagation, userns_fd;
};

/* The kernel's struct open_how. */
struct kopen_how {
	uint64_t flags, mode, resolve;
};

static char *at(const struct spawn *s, int32_t off)
{
	return off < 0 ? NULL : s->str + off;
}

/* PATH resolved inside ROOT: an O_PATH fd, or -errno. */
static long resolve(long root, const char *path, long flags)
{
	struct kopen_how how = {
		(uint64_t)(flags | O_PATH | O_CLOEXEC), 0,
		UNS_RESOLVE_IN_ROOT | UNS_RESOLVE_NO_MAGICLINKS
	};

	return sys(SYS_openat2, root, path, &how, sizeof how);
}

/* Creates the last component of PATH (cut at its last '/', in place for a
 * moment) in its parent, resolved inside ROOT: a directory, or an empty
 * file. One that exists is left as it is. */
static long make_one(long root, char *path, int dir)
{
	char *slash = path, *name;
	long parent, r;

	for (char *p = path; *p; p++)
		if (*p == '/')
			slash = p;
	name = slash + 1;
	if (*name == '\0')
		return 0; /* "/", or a trailing slash */
	*slash = '\0';
	parent = resolve(root, slash == path ? "/" : path, O_DIRECTORY);
	*slash = '/';
	if (parent < 0)
		return parent;
	if (dir)
		r = sys(SYS_mkdirat, parent, name, 0755);
	else if ((r = sys(SYS_openat, parent, name,
			  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY |
				  O_CLOEXEC,
			  0644)) >= 0)
		r = sys(SYS_close, r);
	(void)sys(SYS_close, parent);
	return r == -EEXIST ? 0 : r;
}

/**
 * target() - the target of a mount operation, resolved inside the root,
 * created first if FLAGS say so and it is missing.
 * @root: an O_PATH fd of the new root
 * @path: the target, absolute (inside the root); cut in place for a moment
 * @flags: UNS_MNT_MKDIR or UNS_MNT_MKFILE to create it
 *
 * Each missing directory on the way is made in its parent, which is itself
 * resolved inside the root, so that creating never follows a link out.
 *
 * Return: an O_PATH fd of the target, or -errno.
 */
static long target(long root, char *path, int32_t flags)
{
	long fd = resolve(root, path, 0), r;

	if (fd != -ENOENT || !(flags & (UNS_MNT_MKDIR | UNS_MNT_MKFILE)))
		return fd;
	for (char *p = path + 1;; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		r = make_one(root, path, c != '\0' || (flags & UNS_MNT_MKDIR));
		*p = c;
		if (r < 0)
			return r;
		if (c == '\0')
			return resolve(root, path, 0);
	}
}

/* A detached copy of PATH's mount tree, read-only if asked. */
static long clone_tree(const char *path, int rdonly)
{
	struct kmount_attr ro = { UNS_MOUNT_ATTR_RDONLY, 0, 0, 0 };
	long fd = sys(SYS_open_tree, AT_FDCWD, path,
		      OPEN_TREE_CLONE | O_CLOEXEC | AT_RECURSIVE);
	long r;

	if (fd < 0 || !rdonly)
		return fd;
	r = sys(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &ro,
		sizeof ro);
	if (r < 0) {
		(void)sys(SYS_close, fd);
		return r;
	}
	return fd;
}

/* Attaches the detached mount TREE onto the directory or file fd AT. */
static long attach(long tree, long fd)
{
	return sys(SYS_move_mount, tree, "", fd, "",
		   UNS_MOVE_MOUNT_F_EMPTY_PATH | UNS_MOVE_MOUNT_T_EMPTY_PATH);
}

/**
 * mount_fs() - a new file system of TYPE, configured from DATA
 * ("key=value,flag,..."; cut in place), with the MOUNT_ATTR_* flags ATTR,
 * attached onto the fd AT.
 *
 * Return: 0 or -errno.
 */
static long mount_fs(const char *type, char *data, int32_t attr, long fd)
{
	long fs = sys(SYS_fsopen, type, 1 /* FSOPEN_CLOEXEC */), m, r = 0;

	if (fs < 0)
		return fs;
	for (char *p = data; p && *p && r >= 0;) {
		char *key = p, *value = NULL;

		for (; *p && *p != ','; p++)
			if (*p == '=' && !value)
				*p = '\0', value = p + 1;
		if (*p)
			*p++ = '\0';
		r = sys(SYS_fsconfig, fs,
			value ? UNS_FSCONFIG_SET_STRING : UNS_FSCONFIG_SET_FLAG,
			key, value, 0);
	}
	if (r >= 0)
		r = sys(SYS_fsconfig, fs, UNS_FSCONFIG_CMD_CREATE, NULL, NULL,
			0);
	m = r < 0 ? r : sys(SYS_fsmount, fs, 1 /* FSMOUNT_CLOEXEC */, attr);
	(void)sys(SYS_close, fs);
	if (m < 0)
		return m;
	r = attach(m, fd);
	(void)sys(SYS_close, m);
	return r;
}

/* A symbolic link at PATH (cut in place) inside ROOT, with TEXT. */
static long make_link(long root, char *path, const char *text)
{
	char *slash = path;
	long parent, r;

	for (char *p = path; *p; p++)
		if (*p == '/')
			slash = p;
	*slash = '\0';
	parent = resolve(root, slash == path ? "/" : path, O_DIRECTORY);
	*slash = '/';
	if (parent < 0)
		return parent;
	r = sys(SYS_symlinkat, text, parent, slash + 1);
	(void)sys(SYS_close, parent);
	return r;
}

/* Runs one operation inside ROOT; TREE is its opened source, for a bind. */
static long apply(const struct spawn *s, const int32_t *m, long tree,
		  long root)
{
	char *path = at(s, m[UNS_M_B]);
	long fd, r;

	if (m[UNS_M_KIND] == UNS_MNT_SYMLINK)
		return make_link(root, path, at(s, m[UNS_M_A]));
	if ((fd = target(root, path, m[UNS_M_FLAGS])) < 0)
		return fd;
	if (m[UNS_M_KIND] == UNS_MNT_BIND)
		r = attach(tree, fd);
	else
		r = mount_fs(at(s, m[UNS_M_A]), at(s, m[UNS_M_C]),
			     m[UNS_M_MS], fd);
	(void)sys(SYS_close, fd);
	return r;
}

/* A copy of the caller's root tree (read-only if asked) attached onto
 * itself, so that it is a mount pivot_root() takes: its fd, or -errno. */
static long new_root(const struct spawn *s)
{
	long tree = clone_tree(s->root, s->opt[UNS_OPT_ROOT_RDONLY]), r;

	if (tree < 0)
		return tree;
	r = sys(SYS_move_mount, tree, "", AT_FDCWD, s->root,
		UNS_MOVE_MOUNT_F_EMPTY_PATH);
	if (r < 0) {
		(void)sys(SYS_close, tree);
		return r;
	}
	return tree;
}

/* From the new root's fd: pivot_root(".", "."), which stacks the old root
 * on top of it, detached at once. No fd to the old root is left. */
static long pivot(long root)
{
	long r;

	if ((r = sys(SYS_fchdir, root)) >= 0 &&
	    (r = sys(SYS_pivot_root, ".", ".")) >= 0 &&
	    (r = sys(SYS_umount2, ".", MNT_DETACH)) >= 0)
		r = sys(SYS_chdir, "/");
	(void)sys(SYS_close, root);
	return r;
}

/* This process's directory in the caller's /proc, for lock_mounts(); opened
 * once every target is resolved, and checked to be proc's. */
static long proc_self(void)
{
	unsigned long st[32]; /* any arch's struct statfs; f_type first */
	long fd = sys(SYS_openat, AT_FDCWD, "/proc/self",
		      O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0 && sys(SYS_fstatfs, fd, st) == 0 &&
	    st[0] == UNS_PROC_SUPER_MAGIC)
		return fd;
	if (fd >= 0)
		(void)sys(SYS_close, fd);
	return fd < 0 ? fd : -ENOENT;
}

/* Runs the operations inside ROOT: those marked UNS_MNT_LATE where the
 * mounts are locked only when LATE, the others only when not. */
static void apply_all(const struct spawn *s, long *tree, long root, int late)
{
	for (uint32_t i = 0; i < (uint32_t)s->opt[UNS_OPT_NMOUNT]; i++) {
		const int32_t *m = s->mounts + i * UNS_MOUNT_SLOTS;
		int is_late = (m[UNS_M_FLAGS] & UNS_MNT_LATE) && s->lock_uid_map;
		long r;

		if (is_late != late)
			continue;
		if ((r = apply(s, m, tree[i], root)) < 0)
			fail_at(s, UNS_STEP_MOUNT, -r, (int)i);
		if (tree[i] >= 0)
			(void)sys(SYS_close, tree[i]);
		tree[i] = -1;
	}
}

/**
 * set_up_mounts() - open the bind sources, make the root, run the
 * operations inside it, make it the root, lock the result.
 * @s: the spawn: its root, mount operations, strings and lock maps
 *
 * A failure ends the child, reporting the step (a source, the root, an
 * operation), the errno and the operation's index.
 */
void set_up_mounts(const struct spawn *s)
{
	uint32_t n = (uint32_t)s->opt[UNS_OPT_NMOUNT];
	long tree[UNS_MAX_MOUNTS], root, self = -1;

	for (uint32_t i = 0; i < n; i++) {
		const int32_t *m = s->mounts + i * UNS_MOUNT_SLOTS;

		tree[i] = -1;
		if (m[UNS_M_KIND] == UNS_MNT_BIND &&
		    (tree[i] = clone_tree(at(s, m[UNS_M_A]),
					  m[UNS_M_FLAGS] & UNS_MNT_RDONLY)) < 0)
			fail_at(s, UNS_STEP_MOUNT_SOURCE, -tree[i], (int)i);
	}
	root = s->root ? new_root(s)
		       : sys(SYS_openat, AT_FDCWD, "/",
			     O_PATH | O_DIRECTORY | O_CLOEXEC);
	CHECK(s, root, UNS_STEP_ROOT);
	apply_all(s, tree, root, 0);
	if (s->lock_uid_map)
		CHECK(s, self = proc_self(), UNS_STEP_LOCK);
	if (s->root)
		CHECK(s, pivot(root), UNS_STEP_ROOT);
	else
		(void)sys(SYS_close, root);
	if (!s->lock_uid_map)
		return;
	lock_mounts(s, self);
	root = sys(SYS_openat, AT_FDCWD, "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	CHECK(s, root, UNS_STEP_ROOT);
	apply_all(s, tree, root, 1);
	(void)sys(SYS_close, root);
}
