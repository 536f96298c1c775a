/* SPDX-License-Identifier: MIT */
/* See file_cache.h. */
#include "file_cache.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool same_version(const struct served_file *f, const struct stat *st)
{
	return f->dev == st->st_dev && f->ino == st->st_ino && f->size == st->st_size &&
	       f->mtime.tv_sec == st->st_mtim.tv_sec && f->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

static struct served_file **file_bucket(struct file_cache *fc, dev_t dev, ino_t ino)
{
	return &fc->buckets[(ino ^ dev) % FILE_CACHE_BUCKETS];
}

/* Where the entry for this version of the file is, or would go. */
static struct served_file **file_find(struct file_cache *fc, const struct stat *st)
{
	struct served_file **pp = file_bucket(fc, st->st_dev, st->st_ino);

	while (*pp && !same_version(*pp, st))
		pp = &(*pp)->next;
	return pp;
}

static void file_unlink(struct file_cache *fc, const struct served_file *f)
{
	struct served_file **pp = file_bucket(fc, f->dev, f->ino);

	while (*pp && *pp != f)
		pp = &(*pp)->next;
	if (*pp)
		*pp = f->next;
}

/* Reads a small file into memory, within the cache budget; a failure
 * only means blocks come from pread(2). */
static void hold_in_memory(struct file_cache *fc, struct served_file *f)
{
	size_t n = (size_t)f->size, got = 0;
	uint8_t *data;

	if (n == 0 || n > FILE_CACHE_FILE_MAX || n > FILE_CACHE_TOTAL_MAX - fc->cached)
		return;
	data = malloc(n);
	if (!data)
		return;
	while (got < n) {
		ssize_t r = pread(f->fd, data + got, n - got, (off_t)got);

		if (r <= 0) {
			free(data);
			return;
		}
		got += (size_t)r;
	}
	f->data = data;
	fc->cached += n;
}

/* Takes over fd: shares an open file of the same version if there is one. */
struct served_file *file_cache_get(struct file_cache *fc, int fd, const struct stat *st)
{
	struct served_file **pp = file_find(fc, st);

	if (*pp) {
		close(fd);
		(*pp)->refs++;
		return *pp;
	}
	*pp = calloc(1, sizeof(**pp));
	if (!*pp) {
		close(fd);
		return NULL;
	}
	**pp = (struct served_file){ .dev = st->st_dev, .ino = st->st_ino, .size = st->st_size,
				   .mtime = st->st_mtim, .fd = fd, .refs = 1, .owner = fc };
	hold_in_memory(fc, *pp);
	return *pp;
}

void file_cache_put(struct file_cache *fc, struct served_file *f)
{
	if (--f->refs > 0)
		return;
	file_unlink(fc, f);
	if (f->data)
		fc->cached -= (size_t)f->size;
	free(f->data);
	close(f->fd);
	free(f);
}

ssize_t served_file_pread(void *ctx, void *buf, size_t n, uint64_t off)
{
	const struct served_file *f = ctx;
	ssize_t r;

	if (f->data) {
		if (off >= (uint64_t)f->size)
			return 0;
		if (n > (uint64_t)f->size - off)
			n = (size_t)((uint64_t)f->size - off);
		memcpy(buf, f->data + off, n);
		return (ssize_t)n;
	}
	r = pread(f->fd, buf, n, (off_t)off);
	return r < 0 ? -errno : r;
}
