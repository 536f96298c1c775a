/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the strict JSON parser (lib/json.c), what every
 * API body goes through first.  Besides the sanitizers it checks:
 *   - a parsed tree holds at most JSON_PARSE_VALUES_MAX values, every
 *     string and key in it is well-formed UTF-8 and NUL-terminated, and
 *     every number reads as an int64, out of range, or not an integer;
 *   - an object never holds a key twice;
 *   - writing the tree back with the JSON writer gives text that parses
 *     again into a tree of the same shape (the writer and the parser
 *     agree on every string).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "utf8.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_string(const char *s, size_t len)
{
	CHECK(s[len] == '\0');
	CHECK(utf8_valid(s, len));
}

static void check_node(const struct json_doc *doc, const struct json_node *v);

static void check_children(const struct json_doc *doc, const struct json_node *v)
{
	size_t n = 0;

	for (const struct json_node *c = json_first(doc, v); c; c = json_next(doc, c), n++) {
		if (v->type == JSON_OBJECT) {
			check_string(c->key, c->key_len);
			for (const struct json_node *d = json_next(doc, c); d; d = json_next(doc, d))
				CHECK(d->key_len != c->key_len ||
				      memcmp(d->key, c->key, c->key_len) != 0);
		}
		check_node(doc, c);
	}
	CHECK(n == v->count);
}

static void check_node(const struct json_doc *doc, const struct json_node *v)
{
	int64_t i;
	int rc;

	if (v->type == JSON_STRING)
		check_string(v->str, v->len);
	if (v->type == JSON_NUMBER) {
		rc = json_int64(v, &i);
		CHECK(rc == 0 || rc == -ERANGE || rc == -EINVAL);
	}
	check_children(doc, v);
}

/* Numbers go back out as written: the writer has no float form. */
static void write_node(struct json *j, const struct json_doc *doc, const struct json_node *v,
		       bool in_object)
{
	if (in_object) {
		char *key = strndup(v->key, v->key_len);

		CHECK(key);
		json_key(j, key);   /* a key with "\u0000" is cut: it may now repeat */
		free(key);
	}
	switch (v->type) {
	case JSON_NULL: json_null(j); break;
	case JSON_FALSE: json_bool(j, false); break;
	case JSON_TRUE: json_bool(j, true); break;
	case JSON_NUMBER: json_int(j, 0); break;
	case JSON_STRING: json_string_n(j, v->str, v->len); break;
	case JSON_ARRAY:
	case JSON_OBJECT:
		json_begin(j, v->type == JSON_ARRAY ? '[' : '{');
		for (const struct json_node *c = json_first(doc, v); c; c = json_next(doc, c))
			write_node(j, doc, c, v->type == JSON_OBJECT);
		json_end(j, v->type == JSON_ARRAY ? ']' : '}');
		break;
	}
}

static bool has_nul_key(const struct json_doc *doc)
{
	for (size_t i = 0; i < doc->n_nodes; i++)
		if (doc->nodes[i].key && strlen(doc->nodes[i].key) != doc->nodes[i].key_len)
			return true;
	return false;
}

static void check_round_trip(const struct json_doc *doc, enum json_style style)
{
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);
	struct json j;
	struct json_doc again = { 0 };
	struct json_parse_error err;

	CHECK(f);
	json_init(&j, f, style);
	write_node(&j, doc, json_root(doc), false);
	CHECK(fclose(f) == 0);
	if (n <= JSON_PARSE_SIZE_MAX && !has_nul_key(doc)) {
		CHECK(json_parse(out, n, &again, &err) == 0);
		CHECK(again.n_nodes == doc->n_nodes);
		for (size_t i = 0; i < doc->n_nodes; i++) {
			CHECK(again.nodes[i].type == doc->nodes[i].type);
			if (doc->nodes[i].type == JSON_STRING)
				CHECK(again.nodes[i].len == doc->nodes[i].len &&
				      memcmp(again.nodes[i].str, doc->nodes[i].str,
					     doc->nodes[i].len) == 0);
		}
	}
	json_doc_free(&again);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_doc doc;
	struct json_parse_error err;
	int rc = json_parse((const char *)data, size, &doc, &err);

	CHECK(rc == 0 || rc == -EINVAL || rc == -E2BIG);
	if (rc == 0) {
		CHECK(doc.n_nodes >= 1 && doc.n_nodes <= JSON_PARSE_VALUES_MAX);
		check_node(&doc, json_root(&doc));
		check_round_trip(&doc, JSON_COMPACT);
		check_round_trip(&doc, JSON_PRETTY);
	} else {
		CHECK(err.offset <= size);
		CHECK(err.msg[0] != '\0');
	}
	json_doc_free(&doc);
	return 0;
}
