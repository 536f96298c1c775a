/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for bsdpctl's reader of the server's replies
 * (tools/bsdpctl_json.c): what a hostile or broken server sends must
 * never crash the admin's tool.  Besides the sanitizers: a parsed tree's
 * strings are NUL-terminated where their bytes end, a table cell never
 * exceeds its buffer, and the same input parses the same way twice.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bsdpctl_json.h"
#include "fuzz.h"

static void walk(const struct jv *v, unsigned depth)
{
	char cell[64];

	CHECK(depth <= CTL_JSON_DEPTH);
	jv_text(v, cell, sizeof(cell));
	CHECK(strlen(cell) < sizeof(cell));
	if (v->type == JV_STRING || v->type == JV_NUMBER)
		CHECK(v->s != NULL);
	for (size_t i = 0; i < v->n; i++) {
		if (v->type == JV_OBJECT)
			CHECK(v->k[i] != NULL && jv_get(v, v->k[i]) != NULL);
		walk(&v->v[i], depth + 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct jv a, b;
	int ra, rb;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0'; /* as bsdpctl_http.c delivers a body */
	ra = jv_parse(text, size, &a);
	rb = jv_parse(text, size, &b);
	CHECK(ra == rb);
	if (ra == 0) {
		walk(&a, 0);
		CHECK(a.type == b.type && a.n == b.n);
		jv_free(&a);
		jv_free(&b);
	}
	free(text);
	return 0;
}
