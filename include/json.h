/* SPDX-License-Identifier: MIT */
/*
 * The project's one JSON writer and its one JSON parser (RFC 8259).
 *
 * The writer streams to a FILE* (stdout for nbi and bsdpc, open_memstream
 * for the API): every string escaped (§7), and each byte that is not part
 * of a well-formed UTF-8 sequence (utf8.h) written as U+FFFD, one per
 * byte, so that the output always parses whatever the strings held.
 *
 * The parser is strict, for bodies an untrusted client sends: RFC 8259's
 * grammar and nothing more (no comments, no trailing commas, no leading
 * '+' or zeros, no NaN, no byte order mark), strict UTF-8 in strings, no
 * lone surrogate in a \u escape, and a duplicate key in an object is
 * refused (§4 leaves it to the implementation; refusing it means a body
 * cannot say two things and have us pick one).  The input is bounded by
 * JSON_PARSE_SIZE_MAX bytes, JSON_PARSE_DEPTH_MAX nested containers and
 * JSON_PARSE_VALUES_MAX values, so a hostile body costs a bounded amount
 * of memory and time.  It is parsed once into a tree of json_node; the
 * accessors below are then all a caller reads it with.
 *
 * Numbers are kept as their text.  json_int64 reads one as an int64_t
 * only when it is written as an integer (no fraction, no exponent) and
 * fits; every other number is valid JSON but refused where an integer is
 * expected, since nothing in bsdpd's records is fractional.
 */
#ifndef BSDPD_JSON_H
#define BSDPD_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- writer ------------------------------------------------------------------ */

#define JSON_MAX_DEPTH 32

enum json_style {
	JSON_PRETTY,   /* two-space indentation, for people (nbi) */
	JSON_COMPACT,  /* one line, for programs (bsdpc, the API) */
};

struct json {
	FILE *f;
	enum json_style style;
	unsigned depth;
	bool first[JSON_MAX_DEPTH];
	bool after_key;
};

void json_init(struct json *j, FILE *f, enum json_style style);
void json_begin(struct json *j, char open);      /* '{' or '[' */
void json_end(struct json *j, char close);       /* '}' or ']' */
void json_key(struct json *j, const char *key);
void json_string(struct json *j, const char *s); /* NULL writes null */
void json_string_n(struct json *j, const void *s, size_t n); /* n bytes, NUL included */
void json_uint(struct json *j, unsigned long long v);
void json_int(struct json *j, long long v);
/* v with the given decimals; null for NaN and infinity, which JSON lacks (§6). */
void json_double(struct json *j, double v, int decimals);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);
void json_finish(struct json *j);                /* final newline */

/* ---- parser ------------------------------------------------------------------ */

#define JSON_PARSE_SIZE_MAX (64 * 1024)
#define JSON_PARSE_DEPTH_MAX 32
#define JSON_PARSE_VALUES_MAX 4096

enum json_type { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY,
		 JSON_OBJECT };

struct json_node {
	enum json_type type;
	/* JSON_STRING: the decoded bytes, NUL-terminated (a "\u0000" in the
	 * text makes len exceed strlen); JSON_NUMBER: the literal as written,
	 * in the parsed text itself, which must outlive the doc. */
	const char *str;
	size_t len;
	const char *key;         /* a member of an object: its decoded name */
	size_t key_len;
	uint32_t count;          /* JSON_ARRAY, JSON_OBJECT: children */
	uint32_t child;          /* index of the first child (with count > 0) */
	uint32_t next;           /* index of the next sibling; 0: the last */
};

struct json_doc {
	struct json_node *nodes; /* nodes[0] is the root */
	size_t n_nodes;
	char *strings;           /* the decoded strings and keys */
};

struct json_parse_error {
	size_t offset;           /* byte offset in the input */
	char msg[80];
};

/* Parses the n bytes of text into doc: 0, or -EINVAL (not JSON, or not
 * strict JSON), -E2BIG (over a limit above), -ENOMEM, with err saying
 * what and where.  doc needs json_doc_free afterwards either way. */
int json_parse(const char *text, size_t n, struct json_doc *doc, struct json_parse_error *err);
/* The same within other bounds than a body's (JSON_PARSE_SIZE_MAX and
 * JSON_PARSE_VALUES_MAX, json_body_limits): bsdpctl reads the server's
 * replies, lists that grow with the lab, with it.  The depth bound holds
 * for every caller. */
struct json_limits {
	size_t size_max;         /* bytes of input */
	size_t values_max;       /* values, containers included; at most UINT32_MAX */
};
extern const struct json_limits json_body_limits;
int json_parse_limited(const char *text, size_t n, const struct json_limits *lim,
		       struct json_doc *doc, struct json_parse_error *err);
void json_doc_free(struct json_doc *doc);
const struct json_node *json_root(const struct json_doc *doc);

/* The accessors take NULL (an absent member) and return "absent" for it. */
const char *json_type_name(enum json_type t);            /* "string", "object" ... */
/* Member key of an object, or NULL (absent, or v not an object). */
const struct json_node *json_get(const struct json_doc *doc, const struct json_node *v,
				 const char *key);
/* Element i of an array, or NULL (out of range, or v not an array). */
const struct json_node *json_at(const struct json_doc *doc, const struct json_node *v, size_t i);
/* The child after c in its container (array element or object member), or NULL. */
const struct json_node *json_next(const struct json_doc *doc, const struct json_node *c);
const struct json_node *json_first(const struct json_doc *doc, const struct json_node *v);
/* 0 and the value, -EINVAL when v is NULL or of another type; json_int64
 * gives -ERANGE for an integer outside int64_t and -EINVAL for a number
 * with a fraction or an exponent. */
int json_string_get(const struct json_node *v, const char **s, size_t *len);
int json_int64(const struct json_node *v, int64_t *out);
int json_bool_get(const struct json_node *v, bool *out);
bool json_is_null(const struct json_node *v);

#endif
