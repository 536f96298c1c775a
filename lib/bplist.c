/* SPDX-License-Identifier: MIT */
/*
 * Walks the object references of a binary plist without recursion; see
 * include/bplist.h.  The layout (CFBinaryPList.c): "bplist00", the
 * objects, an offset table of num_objects big-endian integers of
 * offset_size bytes, and a 32-byte trailer: 6 unused bytes, offset_size,
 * ref_size, then num_objects, top_object and offset_table_offset as
 * 64-bit big-endian.  An object starts with a marker byte, type in the high
 * nibble; arrays (0xA), sets (0xC) and dicts (0xD) hold a count in the low
 * nibble, or 0xF and an integer object (0x1n, 2^n bytes) after it, then
 * count references (dicts: count keys, then count values) of ref_size
 * bytes, each an index into the offset table.
 */
#include "bplist.h"

#include <errno.h>
#include <stdbool.h>

#define HEADER_LEN 8
#define TRAILER_LEN 32

struct layout {
	const uint8_t *data;
	uint64_t table;        /* offset of the offset table; objects end there */
	uint64_t n_objects;
	unsigned offset_size, ref_size;
};

/* A container being walked: its next reference and how many are left. */
struct frame {
	const uint8_t *ref;
	uint64_t left;
};

static uint64_t be_get(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static const char *read_trailer(const uint8_t *data, size_t len, struct layout *l,
				uint64_t *top)
{
	const uint8_t *t;

	if (len < HEADER_LEN + TRAILER_LEN)
		return "shorter than its header and trailer";
	t = data + len - TRAILER_LEN;
	l->data = data;
	l->offset_size = t[6];
	l->ref_size = t[7];
	l->n_objects = be_get(t + 8, 8);
	*top = be_get(t + 16, 8);
	l->table = be_get(t + 24, 8);
	if (l->offset_size < 1 || l->offset_size > 8 || l->ref_size < 1 || l->ref_size > 8)
		return "offset or reference size is not 1-8 bytes";
	if (l->table < HEADER_LEN || l->table > len - TRAILER_LEN)
		return "the offset table lies outside the file";
	if (l->n_objects == 0 || l->n_objects > (len - TRAILER_LEN - l->table) / l->offset_size)
		return "the offset table does not fit the file";
	if (*top >= l->n_objects)
		return "the top object is not in the offset table";
	return NULL;
}

/* Where object i starts, or 0 when that is not between header and table. */
static uint64_t object_at(const struct layout *l, uint64_t i)
{
	uint64_t off = be_get(l->data + l->table + i * l->offset_size, l->offset_size);

	return off >= HEADER_LEN && off < l->table ? off : 0;
}

/* For a container at off: its first reference and their number (0 refs
 * for any other object).  NULL when the object does not fit. */
static const char *container_refs(const struct layout *l, uint64_t off, struct frame *f)
{
	const uint8_t *p = l->data + off;
	uint64_t rem = l->table - off - 1, count = p[0] & 0x0f;
	unsigned type = p[0] >> 4;

	f->left = 0;
	if (type != 0xa && type != 0xc && type != 0xd)
		return NULL;
	p++;
	if (count == 0x0f) {
		unsigned n;

		if (rem < 1 || (p[0] >> 4) != 0x1 || (p[0] & 0x0f) > 3)
			return "a container count is not an integer of 1-8 bytes";
		n = 1u << (p[0] & 0x0f);
		if (n > rem - 1)
			return "a container count runs past the objects";
		count = be_get(p + 1, n);
		p += 1 + n;
		rem -= 1 + n;
	}
	if (type == 0xd && count > UINT64_MAX / 2)
		return "a dict count is too large";
	count *= type == 0xd ? 2 : 1;
	if (count > rem / l->ref_size)
		return "a container's references run past the objects";
	f->ref = p;
	f->left = count;
	return NULL;
}

/* Enters object i, one level below the *depth containers on the stack:
 * counts it, and pushes it when it is a container with references. */
static int visit(const struct layout *l, uint64_t i, struct frame *stack, unsigned *depth,
		 unsigned max_depth, size_t max_visits, struct bplist_shape *s)
{
	uint64_t off;
	struct frame f;

	if (i >= l->n_objects || !(off = object_at(l, i))) {
		s->why = "a reference names no object";
		return -EBADMSG;
	}
	if (*depth == max_depth)
		return -ELOOP;
	if (s->visits == max_visits)
		return -E2BIG;
	s->visits++;
	if (*depth + 1 > s->depth)
		s->depth = *depth + 1;
	if ((s->why = container_refs(l, off, &f)))
		return -EBADMSG;
	if (f.left > 0)
		stack[(*depth)++] = f;
	return 0;
}

int bplist_scan(const uint8_t *data, size_t len, unsigned max_depth, size_t max_visits,
		struct bplist_shape *shape)
{
	struct frame stack[BPLIST_DEPTH_CAP];
	struct layout l;
	unsigned depth = 0;
	uint64_t top;
	int r;

	*shape = (struct bplist_shape){ 0 };
	if (max_depth > BPLIST_DEPTH_CAP)
		max_depth = BPLIST_DEPTH_CAP;
	if ((shape->why = read_trailer(data, len, &l, &top)))
		return -EBADMSG;
	r = visit(&l, top, stack, &depth, max_depth, max_visits, shape);
	while (r == 0 && depth > 0) {
		struct frame *f = &stack[depth - 1];

		if (f->left == 0) {
			depth--;
			continue;
		}
		f->left--;
		f->ref += l.ref_size;
		r = visit(&l, be_get(f->ref - l.ref_size, l.ref_size), stack, &depth, max_depth,
			  max_visits, shape);
	}
	return r;
}
