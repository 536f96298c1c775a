/* SPDX-License-Identifier: MIT */
/*
 * Reading the server's JSON replies into a tree, for bsdpctl's tables:
 * RFC 8259, depth at most CTL_JSON_DEPTH, strings decoded to UTF-8.
 * Writing request bodies uses the project's writer (include/nbi.h).
 */
#ifndef BSDPCTL_JSON_H
#define BSDPCTL_JSON_H

#include <stdbool.h>
#include <stddef.h>

#define CTL_JSON_DEPTH 32

enum jv_type { JV_NULL, JV_BOOL, JV_NUMBER, JV_STRING, JV_ARRAY, JV_OBJECT };

struct jv {
	enum jv_type type;
	bool b;
	char *s;                 /* JV_STRING: decoded; JV_NUMBER: as written */
	size_t n;                /* JV_ARRAY, JV_OBJECT: members */
	struct jv *v;            /* the values */
	char **k;                /* JV_OBJECT: the keys, decoded */
};

/* 0, or -1 for text that is not one JSON value (whitespace around it). */
int jv_parse(const char *text, size_t len, struct jv *out);
void jv_free(struct jv *v);
/* The member named key of an object, or NULL (also for a non-object). */
const struct jv *jv_get(const struct jv *obj, const char *key);
/* A value as one table cell: strings as they are, null and absent as
 * "-", arrays joined with ",", objects as k=v joined with ",".  Not yet
 * escaped for the terminal.  Truncated to cap. */
void jv_text(const struct jv *v, char *buf, size_t cap);

#endif
