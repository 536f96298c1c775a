/* SPDX-License-Identifier: MIT */
/*
 * A bounded pre-scan of a binary property list ("bplist00", Apple's
 * CFBinaryPList.c), run before libplist sees the file.  libplist 2.2
 * decodes a binary plist by recursion, one C frame per nesting level and a
 * fresh copy of every object each time a reference reaches it: 100 000
 * nested arrays overflow the stack, and a few objects that reference each
 * other twice per level (a DAG) or themselves (a cycle) make it work for
 * ever.  This walk follows the same references with a fixed stack of at
 * most max_depth frames and counts every object it reaches, so it finishes
 * in time bounded by max_visits whatever the file holds.
 */
#ifndef BSDPD_BPLIST_H
#define BSDPD_BPLIST_H

#include <stddef.h>
#include <stdint.h>

#define BPLIST_DEPTH_CAP 64   /* the most max_depth may be */

struct bplist_shape {
	unsigned depth;       /* deepest nesting reached; the top object is 1 */
	size_t visits;        /* objects reached, counting each reference */
	const char *why;      /* for -EBADMSG: what is corrupt */
};

/* Returns 0; -EBADMSG when the trailer, offset table or a container's
 * references do not fit the file (shape->why says which); -ELOOP when an
 * object lies deeper than max_depth (a reference cycle does too); -E2BIG
 * after more than max_visits objects. */
int bplist_scan(const uint8_t *data, size_t len, unsigned max_depth, size_t max_visits,
		struct bplist_shape *shape);

#endif
