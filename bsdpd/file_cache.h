/* SPDX-License-Identifier: MIT */
/*
 * Served files, shared: one open file per version of a file (same device,
 * inode, size and modification time), whoever is sending it.  A small file
 * is also read into memory once, so that a boot storm of it costs no read
 * syscall per block and every transfer sees one consistent copy; a file
 * replaced or deleted on disk keeps serving the version a transfer began
 * with until its last reference goes.  Owned by one thread (the loop's).
 * Files come opened by the confined opener (lib/beneath.c).  The daemon
 * has one, which TFTP and HTTP share (main.c).
 */
#ifndef BSDPD_FILE_CACHE_H
#define BSDPD_FILE_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#define FILE_CACHE_BUCKETS 256
#define FILE_CACHE_FILE_MAX (4u << 20)   /* files up to 4 MiB are held in memory */
#define FILE_CACHE_TOTAL_MAX (64u << 20) /* and at most 64 MiB of them at once */

struct served_file {
	struct served_file *next;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	int fd;
	unsigned refs;
	uint8_t *data;               /* the whole file, or NULL: pread(2) */
	struct file_cache *owner;    /* for file_cache_put from a callback */
};

struct file_cache {
	struct served_file *buckets[FILE_CACHE_BUCKETS];
	size_t cached;               /* bytes of files held in memory */
};

/* Takes over fd (st describes it): the shared entry for this version of
 * the file, with one more reference, or NULL when out of memory. */
struct served_file *file_cache_get(struct file_cache *fc, int fd, const struct stat *st);
/* Drops a reference; the last one closes the file and frees its copy. */
void file_cache_put(struct file_cache *fc, struct served_file *f);
/* Reads n bytes at off from the copy in memory or the file; ctx is the
 * struct served_file.  Bytes read, 0 at the end, or -errno. */
ssize_t served_file_pread(void *ctx, void *buf, size_t n, uint64_t off);

#endif
