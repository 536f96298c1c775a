/* SPDX-License-Identifier: MIT */
/*
 * Opening files an admin (or anyone who can write under the image root)
 * placed there, without being fooled or blocked by them.
 *
 * - Beneath a root: openat2(RESOLVE_BENEATH) refuses ".." and symlinks
 *   that lead out; before Linux 5.6 every symlink is refused.
 * - Special files are never opened: the first open is O_PATH, the file
 *   type is checked on that descriptor, and only a regular file is opened
 *   for reading (O_NONBLOCK, and checked to be the same inode), so a FIFO
 *   cannot block the caller and a device is never touched.
 * - What the file server serves: a regular file beneath the root that
 *   every user may read (it runs unprivileged).  The TFTP server and the
 *   catalog ask the same question here, so an image is offered only when
 *   its boot file can be fetched.
 *
 * Every function returns -errno: -ENOENT/-ENOTDIR when missing,
 * -EXDEV/-ELOOP when the path leaves the root, -EACCES when the file is
 * not what was asked for (st then describes what was found).
 */
#ifndef BSDPD_BENEATH_H
#define BSDPD_BENEATH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/* openat(rootfd, path, flags) that cannot resolve outside rootfd. */
int beneath_open(int rootfd, const char *path, int flags);

/* The file server's rule for a file it is asked for. */
bool served_file_ok(const struct stat *st);

/* Opens a served file (see served_file_ok) for reading; st describes it. */
int beneath_open_served(int rootfd, const char *path, struct stat *st);

/* The same check without opening the file for reading: 0, or -errno
 * with st describing what was found. */
int beneath_check_served(int rootfd, const char *path, struct stat *st);

/* 0 when path beneath rootfd is a directory. */
int beneath_check_dir(int rootfd, const char *path, struct stat *st);

/* Opens path (relative to dirfd, symlinks followed) for reading only when
 * it is a regular file: -EACCES, with st filled, for anything else. */
int open_regular(int dirfd, const char *path, struct stat *st);

/* "a FIFO", "a character device", "a directory"... for messages. */
const char *file_kind(mode_t mode);

/* Why the file server refuses a path that failed with err, as the end of
 * a sentence: "leaves the image root", "is a FIFO", "is not readable by
 * every user (mode 0600)".  buf holds the text when it needs building. */
const char *served_refusal(int err, const struct stat *st, char *buf, size_t cap);

#endif
