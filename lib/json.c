/* SPDX-License-Identifier: MIT */
/*
 * The JSON writer and the strict JSON parser; see include/json.h.
 */
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"
#include "utf8.h"

/* ---- writer ------------------------------------------------------------------ */

void json_init(struct json *j, FILE *f, enum json_style style)
{
	*j = (struct json){ .f = f, .style = style };
}

static void indent(struct json *j)
{
	if (j->style == JSON_COMPACT)
		return;
	fputc('\n', j->f);
	for (unsigned i = 0; i < j->depth; i++)
		fputs("  ", j->f);
}

/* Separator and indentation before a value or a key. */
static void before_item(struct json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->depth == 0)
		return;
	if (!j->first[j->depth - 1])
		fputc(',', j->f);
	j->first[j->depth - 1] = false;
	indent(j);
}

void json_begin(struct json *j, char open)
{
	before_item(j);
	fputc(open, j->f);
	if (j->depth < JSON_MAX_DEPTH)
		j->first[j->depth++] = true;
}

void json_end(struct json *j, char close)
{
	bool empty = j->depth && j->first[j->depth - 1];

	if (j->depth)
		j->depth--;
	if (!empty)
		indent(j);
	fputc(close, j->f);
}

/* RFC 8259 §7: the two-character escapes where there is one, \u00XX for
 * the other control bytes and DEL (which a terminal would act on). */
static void put_escaped_ascii(FILE *f, uint8_t c)
{
	static const char short_escape[] = "btnvfr";

	if (c == '"' || c == '\\')
		fprintf(f, "\\%c", c);
	else if (c >= '\b' && c <= '\r' && c != '\v')
		fprintf(f, "\\%c", short_escape[c - '\b']);
	else if (c < 0x20 || c == 0x7f)
		fprintf(f, "\\u%04x", c);
	else
		fputc(c, f);
}

/* Each byte that does not start a well-formed sequence (utf8.h:
 * overlongs, surrogates and code points past U+10FFFF included) becomes
 * one U+FFFD, so the output always parses. */
static void put_escaped(FILE *f, const void *s, size_t rem)
{
	const uint8_t *p = s;

	fputc('"', f);
	while (rem > 0) {
		size_t n = utf8_decode(p, rem, NULL);

		if (n == 0) {
			fputs("\\ufffd", f);
			n = 1;
		} else if (n == 1)
			put_escaped_ascii(f, *p);
		else
			fwrite(p, 1, n, f);
		p += n;
		rem -= n;
	}
	fputc('"', f);
}

void json_key(struct json *j, const char *key)
{
	before_item(j);
	put_escaped(j->f, key, strlen(key));
	fputs(j->style == JSON_COMPACT ? ":" : ": ", j->f);
	j->after_key = true;
}

void json_string(struct json *j, const char *s)
{
	before_item(j);
	if (s)
		put_escaped(j->f, s, strlen(s));
	else
		fputs("null", j->f);
}

void json_string_n(struct json *j, const void *s, size_t n)
{
	before_item(j);
	put_escaped(j->f, s, n);
}

void json_uint(struct json *j, unsigned long long v)
{
	before_item(j);
	fprintf(j->f, "%llu", v);
}

void json_int(struct json *j, long long v)
{
	before_item(j);
	fprintf(j->f, "%lld", v);
}

void json_double(struct json *j, double v, int decimals)
{
	before_item(j);
	if (isfinite(v))
		fprintf(j->f, "%.*f", decimals, v);
	else
		fputs("null", j->f);
}

void json_bool(struct json *j, bool v)
{
	before_item(j);
	fputs(v ? "true" : "false", j->f);
}

void json_null(struct json *j)
{
	before_item(j);
	fputs("null", j->f);
}

void json_finish(struct json *j)
{
	fputc('\n', j->f);
}

/* ---- parser ------------------------------------------------------------------ */

struct parser {
	const char *p;           /* the input */
	size_t n, pos;
	struct json_doc *doc;
	const struct json_limits *lim;
	size_t cap_nodes;
	size_t str_used;         /* bytes of doc->strings in use */
	unsigned depth;
	struct json_parse_error *err;
};

static int fail(struct parser *ps, int rc, const char *msg)
{
	ps->err->offset = ps->pos;
	snprintf(ps->err->msg, sizeof(ps->err->msg), "%s", msg);
	return rc;
}

static int peek(const struct parser *ps)
{
	return ps->pos < ps->n ? (unsigned char)ps->p[ps->pos] : -1;
}

/* RFC 8259 §2: the four insignificant whitespace bytes, nothing else. */
static void skip_ws(struct parser *ps)
{
	for (int c = peek(ps); c == ' ' || c == '\t' || c == '\n' || c == '\r'; c = peek(ps))
		ps->pos++;
}


static int new_node(struct parser *ps, enum json_type t, uint32_t *idx)
{
	if (ps->doc->n_nodes >= ps->lim->values_max)
		return fail(ps, -E2BIG, "too many values");
	if (ps->doc->n_nodes == ps->cap_nodes) {
		size_t cap = ps->cap_nodes ? 2 * ps->cap_nodes : 16;
		struct json_node *v = realloc(ps->doc->nodes, cap * sizeof(*v));

		if (!v)
			return fail(ps, -ENOMEM, "out of memory");
		ps->doc->nodes = v;
		ps->cap_nodes = cap;
	}
	*idx = (uint32_t)ps->doc->n_nodes++;
	ps->doc->nodes[*idx] = (struct json_node){ .type = t };
	return 0;
}

static int literal(struct parser *ps, const char *word, enum json_type t, uint32_t *idx)
{
	size_t len = strlen(word);

	if (len > ps->n - ps->pos || memcmp(ps->p + ps->pos, word, len) != 0)
		return fail(ps, -EINVAL, "not a JSON value");
	ps->pos += len;
	return new_node(ps, t, idx);
}

static size_t digits(struct parser *ps)
{
	size_t start = ps->pos;

	while (peek(ps) >= '0' && peek(ps) <= '9')
		ps->pos++;
	return ps->pos - start;
}

/* RFC 8259 §6: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int number(struct parser *ps, uint32_t *idx)
{
	size_t start = ps->pos;
	int rc;

	if (peek(ps) == '-')
		ps->pos++;
	if (peek(ps) == '0')
		ps->pos++;
	else if (digits(ps) == 0)
		return fail(ps, -EINVAL, "not a JSON value");
	if (peek(ps) == '.') {
		ps->pos++;
		if (digits(ps) == 0)
			return fail(ps, -EINVAL, "a digit must follow the decimal point");
	}
	if (peek(ps) == 'e' || peek(ps) == 'E') {
		ps->pos++;
		if (peek(ps) == '+' || peek(ps) == '-')
			ps->pos++;
		if (digits(ps) == 0)
			return fail(ps, -EINVAL, "a digit must follow the exponent");
	}
	if (peek(ps) >= '0' && peek(ps) <= '9')
		return fail(ps, -EINVAL, "a number has a leading zero");
	rc = new_node(ps, JSON_NUMBER, idx);
	if (rc == 0) {
		ps->doc->nodes[*idx].str = ps->p + start;
		ps->doc->nodes[*idx].len = ps->pos - start;
	}
	return rc;
}

static int hex4(struct parser *ps, uint32_t *out)
{
	*out = 0;
	if (4 > ps->n - ps->pos)
		return fail(ps, -EINVAL, "a \\u escape needs four hex digits");
	for (int i = 0; i < 4; i++) {
		int d = hex_digit(ps->p[ps->pos++]);

		if (d < 0)
			return fail(ps, -EINVAL, "a \\u escape needs four hex digits");
		*out = *out << 4 | (uint32_t)d;
	}
	return 0;
}

/* \uXXXX, or a UTF-16 surrogate pair \uD8XX\uDCXX (§7); a lone surrogate
 * has no UTF-8 form (RFC 3629 §3), so it is refused. */
static int unicode_escape(struct parser *ps, uint32_t *cp)
{
	uint32_t lo;
	int rc = hex4(ps, cp);

	if (rc < 0 || *cp < 0xd800 || *cp > 0xdfff)
		return rc;
	if (*cp > 0xdbff || 2 > ps->n - ps->pos || ps->p[ps->pos] != '\\' ||
	    ps->p[ps->pos + 1] != 'u')
		return fail(ps, -EINVAL, "a lone UTF-16 surrogate");
	ps->pos += 2;
	rc = hex4(ps, &lo);
	if (rc < 0)
		return rc;
	if (lo < 0xdc00 || lo > 0xdfff)
		return fail(ps, -EINVAL, "a lone UTF-16 surrogate");
	*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
	return 0;
}

static void put_utf8(struct parser *ps, uint32_t cp)
{
	char *o = ps->doc->strings + ps->str_used;

	if (cp < 0x80) {
		o[0] = (char)cp;
		ps->str_used += 1;
	} else if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		ps->str_used += 2;
	} else if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		ps->str_used += 3;
	} else {
		o[0] = (char)(0xf0 | cp >> 18);
		o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[3] = (char)(0x80 | (cp & 0x3f));
		ps->str_used += 4;
	}
}

static int escape(struct parser *ps)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *e;
	uint32_t cp;
	int rc;

	if (ps->pos >= ps->n)
		return fail(ps, -EINVAL, "an unterminated string");
	if (ps->p[ps->pos] == 'u') {
		ps->pos++;
		rc = unicode_escape(ps, &cp);
		if (rc == 0)
			put_utf8(ps, cp);
		return rc;
	}
	e = ps->p[ps->pos] ? strchr(from, ps->p[ps->pos]) : NULL;
	if (!e)
		return fail(ps, -EINVAL, "an invalid escape in a string");
	ps->doc->strings[ps->str_used++] = to[e - from];
	ps->pos++;
	return 0;
}

/* One UTF-8 sequence of the input, copied; a raw control byte is refused (§7). */
static int string_byte(struct parser *ps)
{
	const uint8_t *u = (const uint8_t *)ps->p + ps->pos;
	size_t len = utf8_decode(u, ps->n - ps->pos, NULL);

	if (len == 0)
		return fail(ps, -EINVAL, "a string is not valid UTF-8");
	if (u[0] < 0x20)
		return fail(ps, -EINVAL, "a control character in a string");
	memcpy(ps->doc->strings + ps->str_used, u, len);
	ps->str_used += len;
	ps->pos += len;
	return 0;
}

/* A decoded string never outgrows its text: each escape is at least as
 * long as what it stands for, and the closing quote pays for the NUL,
 * so doc->strings (n + 1 bytes) always has room. */
static int string(struct parser *ps, const char **s, size_t *len)
{
	size_t start = ps->str_used;
	int rc = 0;

	ps->pos++;                                   /* the opening quote */
	while (rc == 0) {
		if (ps->pos >= ps->n)
			return fail(ps, -EINVAL, "an unterminated string");
		if (ps->p[ps->pos] == '"')
			break;
		if (ps->p[ps->pos] == '\\') {
			ps->pos++;
			rc = escape(ps);
		} else {
			rc = string_byte(ps);
		}
	}
	if (rc < 0)
		return rc;
	ps->pos++;
	*s = ps->doc->strings + start;
	*len = ps->str_used - start;
	ps->doc->strings[ps->str_used++] = '\0';
	return 0;
}

static int value(struct parser *ps, uint32_t *idx);

/* Links child after prev (the container's last child so far). */
static void append_child(struct parser *ps, uint32_t parent, uint32_t *prev, uint32_t child)
{
	struct json_node *nodes = ps->doc->nodes;

	if (nodes[parent].count++ == 0)
		nodes[parent].child = child;
	else
		nodes[*prev].next = child;
	*prev = child;
}

static bool has_key(const struct parser *ps, uint32_t obj, const char *key, size_t len)
{
	const struct json_node *nodes = ps->doc->nodes;
	uint32_t i = nodes[obj].child;

	for (uint32_t k = 0; k < nodes[obj].count; k++, i = nodes[i].next)
		if (nodes[i].key_len == len && memcmp(nodes[i].key, key, len) == 0)
			return true;
	return false;
}

static int member(struct parser *ps, uint32_t obj, uint32_t *prev)
{
	const char *key;
	size_t key_len, at;
	uint32_t child;
	int rc;

	skip_ws(ps);
	if (peek(ps) != '"')
		return fail(ps, -EINVAL, "an object key must be a string");
	at = ps->pos;
	rc = string(ps, &key, &key_len);
	if (rc < 0)
		return rc;
	if (has_key(ps, obj, key, key_len)) {
		ps->pos = at;
		return fail(ps, -EINVAL, "a duplicate key in an object");
	}
	skip_ws(ps);
	if (peek(ps) != ':')
		return fail(ps, -EINVAL, "a ':' must follow an object key");
	ps->pos++;
	rc = value(ps, &child);
	if (rc < 0)
		return rc;
	ps->doc->nodes[child].key = key;
	ps->doc->nodes[child].key_len = key_len;
	append_child(ps, obj, prev, child);
	return 0;
}

static int element(struct parser *ps, uint32_t arr, uint32_t *prev)
{
	uint32_t child;
	int rc = value(ps, &child);

	if (rc == 0)
		append_child(ps, arr, prev, child);
	return rc;
}

static int items(struct parser *ps, enum json_type t, uint32_t idx)
{
	char close = t == JSON_ARRAY ? ']' : '}';
	uint32_t prev = 0;

	for (;;) {
		int rc = t == JSON_ARRAY ? element(ps, idx, &prev) : member(ps, idx, &prev);

		if (rc < 0)
			return rc;
		skip_ws(ps);
		if (peek(ps) == close)
			return 0;
		if (peek(ps) != ',')
			return fail(ps, -EINVAL, t == JSON_ARRAY ? "expected ',' or ']'"
							       : "expected ',' or '}'");
		ps->pos++;
	}
}

/* An array or an object: its items separated by ',' up to the close. */
static int container(struct parser *ps, enum json_type t, uint32_t *idx)
{
	char close = t == JSON_ARRAY ? ']' : '}';
	int rc;

	if (ps->depth >= JSON_PARSE_DEPTH_MAX)
		return fail(ps, -E2BIG, "nested deeper than 32");
	rc = new_node(ps, t, idx);
	if (rc < 0)
		return rc;
	ps->pos++;
	skip_ws(ps);
	if (peek(ps) != close) {
		ps->depth++;
		rc = items(ps, t, *idx);
		ps->depth--;
	}
	if (rc == 0)
		ps->pos++;
	return rc;
}

static int value(struct parser *ps, uint32_t *idx)
{
	int c, rc;

	skip_ws(ps);
	c = peek(ps);
	if (c == '{' || c == '[')
		return container(ps, c == '{' ? JSON_OBJECT : JSON_ARRAY, idx);
	if (c == '"') {
		rc = new_node(ps, JSON_STRING, idx);
		return rc < 0 ? rc : string(ps, &ps->doc->nodes[*idx].str,
					    &ps->doc->nodes[*idx].len);
	}
	if (c == 't')
		return literal(ps, "true", JSON_TRUE, idx);
	if (c == 'f')
		return literal(ps, "false", JSON_FALSE, idx);
	if (c == 'n')
		return literal(ps, "null", JSON_NULL, idx);
	if (c == '-' || (c >= '0' && c <= '9'))
		return number(ps, idx);
	return fail(ps, -EINVAL, c < 0 ? "unexpected end of input" : "not a JSON value");
}

const struct json_limits json_body_limits = {
	.size_max = JSON_PARSE_SIZE_MAX, .values_max = JSON_PARSE_VALUES_MAX,
};

int json_parse(const char *text, size_t n, struct json_doc *doc, struct json_parse_error *err)
{
	return json_parse_limited(text, n, &json_body_limits, doc, err);
}

int json_parse_limited(const char *text, size_t n, const struct json_limits *lim,
		       struct json_doc *doc, struct json_parse_error *err)
{
	struct parser ps = { .p = text, .n = n, .doc = doc, .lim = lim, .err = err };
	uint32_t root;
	int rc;

	*doc = (struct json_doc){ 0 };
	*err = (struct json_parse_error){ 0 };
	if (n > lim->size_max) {
		snprintf(err->msg, sizeof(err->msg), "larger than %zu bytes", lim->size_max);
		return -E2BIG;
	}
	doc->strings = malloc(n + 1);
	if (!doc->strings)
		return fail(&ps, -ENOMEM, "out of memory");
	rc = value(&ps, &root);
	if (rc < 0)
		return rc;
	skip_ws(&ps);
	if (ps.pos < n)
		return fail(&ps, -EINVAL, "trailing bytes after the value");
	return 0;
}

void json_doc_free(struct json_doc *doc)
{
	free(doc->nodes);
	free(doc->strings);
	*doc = (struct json_doc){ 0 };
}

const struct json_node *json_root(const struct json_doc *doc)
{
	return doc->n_nodes ? &doc->nodes[0] : NULL;
}

const char *json_type_name(enum json_type t)
{
	static const char *const names[] = {
		[JSON_NULL] = "null", [JSON_FALSE] = "boolean", [JSON_TRUE] = "boolean",
		[JSON_NUMBER] = "number", [JSON_STRING] = "string", [JSON_ARRAY] = "array",
		[JSON_OBJECT] = "object",
	};

	return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

const struct json_node *json_first(const struct json_doc *doc, const struct json_node *v)
{
	if (!v || (v->type != JSON_ARRAY && v->type != JSON_OBJECT) || v->count == 0)
		return NULL;
	return &doc->nodes[v->child];
}

const struct json_node *json_next(const struct json_doc *doc, const struct json_node *c)
{
	return c && c->next ? &doc->nodes[c->next] : NULL;
}

const struct json_node *json_get(const struct json_doc *doc, const struct json_node *v,
				 const char *key)
{
	size_t len = strlen(key);

	if (!v || v->type != JSON_OBJECT)
		return NULL;
	for (const struct json_node *c = json_first(doc, v); c; c = json_next(doc, c))
		if (c->key_len == len && memcmp(c->key, key, len) == 0)
			return c;
	return NULL;
}

const struct json_node *json_at(const struct json_doc *doc, const struct json_node *v, size_t i)
{
	const struct json_node *c;

	if (!v || v->type != JSON_ARRAY || i >= v->count)
		return NULL;
	for (c = json_first(doc, v); i > 0; i--)
		c = json_next(doc, c);
	return c;
}

int json_string_get(const struct json_node *v, const char **s, size_t *len)
{
	if (!v || v->type != JSON_STRING)
		return -EINVAL;
	*s = v->str;
	if (len)
		*len = v->len;
	return 0;
}

/* Only the integer form of §6 (no fraction or exponent), and only what
 * fits: accumulated negatively so that INT64_MIN fits too. */
int json_int64(const struct json_node *v, int64_t *out)
{
	bool neg;
	int64_t acc = 0;
	size_t i;

	if (!v || v->type != JSON_NUMBER || memchr(v->str, '.', v->len) ||
	    memchr(v->str, 'e', v->len) || memchr(v->str, 'E', v->len))
		return -EINVAL;
	neg = v->str[0] == '-';
	for (i = neg; i < v->len; i++) {
		int d = v->str[i] - '0';

		if (acc < (INT64_MIN + d) / 10)
			return -ERANGE;
		acc = acc * 10 - d;
	}
	if (!neg && acc == INT64_MIN)
		return -ERANGE;
	*out = neg ? acc : -acc;
	return 0;
}

int json_bool_get(const struct json_node *v, bool *out)
{
	if (!v || (v->type != JSON_TRUE && v->type != JSON_FALSE))
		return -EINVAL;
	*out = v->type == JSON_TRUE;
	return 0;
}

bool json_is_null(const struct json_node *v)
{
	return v && v->type == JSON_NULL;
}
