/* SPDX-License-Identifier: MIT */
/* Opening beneath a root and never opening a special file; see include/beneath.h. */
#include "beneath.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* openat2(RESOLVE_BENEATH) refuses any path, ".." or symlink (absolute or
 * relative) that would resolve outside rootfd, and magic /proc links.  It
 * takes no flag beside O_PATH but O_CLOEXEC (EINVAL otherwise). */
static int openat2_beneath(int rootfd, const char *path, int flags)
{
	int extra = (flags & O_PATH) ? O_CLOEXEC : O_CLOEXEC | O_NOCTTY;
	struct open_how how = { .flags = (uint64_t)(flags | extra),
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
	long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

/* Without openat2 (Linux < 5.6): walk the path with O_NOFOLLOW, which
 * refuses every symlink, inside the root or not, and refuse "..". */
static int open_walk(int rootfd, const char *path, int flags)
{
	char comp[NAME_MAX + 1];
	int dir = rootfd, fd;

	for (;;) {
		const char *slash = strchr(path, '/');
		size_t n = slash ? (size_t)(slash - path) : strlen(path);

		if (n >= sizeof(comp) || (n == 2 && path[0] == '.' && path[1] == '.'))
			fd = n >= sizeof(comp) ? -ENAMETOOLONG : -EXDEV;
		else {
			memcpy(comp, path, n);
			comp[n] = '\0';
			fd = openat(dir, comp, slash ? O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
				  : flags | O_NOFOLLOW | O_CLOEXEC);
			fd = fd < 0 ? -errno : fd;
		}
		if (dir != rootfd)
			close(dir);
		if (fd < 0 || !slash)
			return fd;
		dir = fd;
		path = slash + 1;
	}
}

int beneath_open(int rootfd, const char *path, int flags)
{
	static bool no_openat2;
	int fd;

	if (!no_openat2) {
		fd = openat2_beneath(rootfd, path, flags);
		if (fd != -ENOSYS)
			return fd;
		no_openat2 = true;
	}
	return open_walk(rootfd, path, flags);
}

/* The server drops root before it serves, so it reads what "other" may. */
bool served_file_ok(const struct stat *st)
{
	return S_ISREG(st->st_mode) && (st->st_mode & S_IROTH);
}

/* An O_PATH descriptor of path beneath rootfd and what it is. */
static int beneath_stat(int rootfd, const char *path, struct stat *st)
{
	int pfd = beneath_open(rootfd, path, O_PATH);

	if (pfd < 0)
		return pfd;
	if (fstat(pfd, st) < 0) {
		int err = -errno;

		close(pfd);
		return err;
	}
	return pfd;
}

int beneath_check_served(int rootfd, const char *path, struct stat *st)
{
	int pfd = beneath_stat(rootfd, path, st);

	if (pfd < 0)
		return pfd;
	close(pfd);
	return served_file_ok(st) ? 0 : -EACCES;
}

int beneath_check_dir(int rootfd, const char *path, struct stat *st)
{
	int pfd = beneath_stat(rootfd, path, st);

	if (pfd < 0)
		return pfd;
	close(pfd);
	return S_ISDIR(st->st_mode) ? 0 : -EACCES;
}

/* The second open, for reading, must find the inode the first one checked. */
static int reopen_same(int fd, const struct stat *st, struct stat *again)
{
	if (fd < 0)
		return fd;
	if (fstat(fd, again) < 0 || again->st_dev != st->st_dev || again->st_ino != st->st_ino) {
		close(fd);
		return -EACCES; /* replaced between the two opens */
	}
	return fd;
}

int beneath_open_served(int rootfd, const char *path, struct stat *st)
{
	struct stat again;
	int r = beneath_check_served(rootfd, path, st), fd;

	if (r < 0)
		return r;
	fd = reopen_same(beneath_open(rootfd, path, O_RDONLY | O_NONBLOCK), st, &again);
	if (fd >= 0)
		*st = again;
	return fd;
}

int open_regular(int dirfd, const char *path, struct stat *st)
{
	int pfd = openat(dirfd, path, O_PATH | O_CLOEXEC), fd;
	struct stat again;

	if (pfd < 0)
		return -errno;
	fd = fstat(pfd, st) < 0 ? -errno : S_ISREG(st->st_mode) ? 0 : -EACCES;
	close(pfd);
	if (fd < 0)
		return fd;
	fd = openat(dirfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	fd = reopen_same(fd < 0 ? -errno : fd, st, &again);
	if (fd >= 0)
		*st = again;
	return fd;
}

const char *file_kind(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return "a regular file";
	case S_IFDIR: return "a directory";
	case S_IFIFO: return "a FIFO";
	case S_IFCHR: return "a character device";
	case S_IFBLK: return "a block device";
	case S_IFSOCK: return "a socket";
	case S_IFLNK: return "a symbolic link";
	}
	return "of an unknown type";
}

const char *served_refusal(int err, const struct stat *st, char *buf, size_t cap)
{
	if (err == -ENOENT || err == -ENOTDIR)
		return "does not exist";
	if (err == -EXDEV || err == -ELOOP)
		return "leaves the image root (a symbolic link or \"..\" out of it), which the "
		       "TFTP server refuses";
	if (err != -EACCES)
		return strerror(-err);
	if (!S_ISREG(st->st_mode))
		snprintf(buf, cap, "is %s, not a regular file", file_kind(st->st_mode));
	else
		snprintf(buf, cap, "is not readable by every user (mode %04o); the TFTP server "
			 "runs unprivileged and refuses it", (unsigned)(st->st_mode & 07777));
	return buf;
}
