/* SPDX-License-Identifier: MIT */
/*
 * Bounded cursors for reading and writing wire bytes.
 *
 * Every read of untrusted bytes goes through struct rd: each accessor
 * checks the remaining count before it touches memory and fails instead of
 * overrunning.  Bounds are compared in subtraction form (n > rem), never by
 * adding to a pointer or offset, so a hostile length cannot wrap the check.
 * Multi-byte values are big-endian on the wire and are assembled with
 * shifts, so no unaligned access into a packet ever happens.
 *
 * struct wr is the mirror image for builders: it owns no memory, carries an
 * explicit capacity, and every put fails with -ENOSPC instead of writing
 * past it.
 */
#ifndef BSDPD_WIRE_H
#define BSDPD_WIRE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct rd {
	const uint8_t *p;
	size_t rem;
};

static inline struct rd rd_init(const void *p, size_t n)
{
	return (struct rd){ .p = p, .rem = n };
}

static inline bool rd_bytes(struct rd *r, size_t n, const uint8_t **out)
{
	if (n > r->rem)
		return false;
	*out = r->p;
	r->p += n;
	r->rem -= n;
	return true;
}

static inline bool rd_u8(struct rd *r, uint8_t *v)
{
	const uint8_t *b;

	if (!rd_bytes(r, 1, &b))
		return false;
	*v = b[0];
	return true;
}

static inline uint16_t be16_get(const uint8_t *b)
{
	return (uint16_t)((unsigned)b[0] << 8 | b[1]);
}

static inline uint32_t be32_get(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | b[3];
}

static inline void be16_put(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static inline void be32_put(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

static inline bool rd_be16(struct rd *r, uint16_t *v)
{
	const uint8_t *b;

	if (!rd_bytes(r, 2, &b))
		return false;
	*v = be16_get(b);
	return true;
}

static inline bool rd_be32(struct rd *r, uint32_t *v)
{
	const uint8_t *b;

	if (!rd_bytes(r, 4, &b))
		return false;
	*v = be32_get(b);
	return true;
}

struct wr {
	uint8_t *p;
	size_t len;
	size_t cap;
};

static inline struct wr wr_init(void *p, size_t cap)
{
	return (struct wr){ .p = p, .len = 0, .cap = cap };
}

static inline size_t wr_room(const struct wr *w)
{
	return w->cap - w->len;
}

static inline int wr_bytes(struct wr *w, const void *data, size_t n)
{
	if (n > wr_room(w))
		return -ENOSPC;
	if (n)
		memcpy(w->p + w->len, data, n);
	w->len += n;
	return 0;
}

static inline int wr_u8(struct wr *w, uint8_t v)
{
	return wr_bytes(w, &v, 1);
}

static inline int wr_be16(struct wr *w, uint16_t v)
{
	uint8_t b[2];

	be16_put(b, v);
	return wr_bytes(w, b, sizeof(b));
}

static inline int wr_be32(struct wr *w, uint32_t v)
{
	uint8_t b[4];

	be32_put(b, v);
	return wr_bytes(w, b, sizeof(b));
}

#endif
