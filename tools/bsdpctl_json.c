// SPDX-License-Identifier: MIT
/*
 * A recursive-descent reader for RFC 8259 (bsdpctl_json.h).  Every
 * failure is -1: bsdpctl then says the reply was not JSON and shows the
 * status, which is all an admin can act on.
 */
#include "bsdpctl_json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct in {
	const char *p;
	size_t rem;
	unsigned depth;
};

static int value(struct in *in, struct jv *out);

static void skip_ws(struct in *in)
{
	while (in->rem > 0 && strchr(" \t\r\n", *in->p) && *in->p) {
		in->p++;
		in->rem--;
	}
}

static bool eat(struct in *in, char c)
{
	skip_ws(in);
	if (in->rem == 0 || *in->p != c)
		return false;
	in->p++;
	in->rem--;
	return true;
}

static bool literal(struct in *in, const char *word)
{
	size_t n = strlen(word);

	if (n > in->rem || memcmp(in->p, word, n) != 0)
		return false;
	in->p += n;
	in->rem -= n;
	return true;
}

static int hex4(struct in *in, unsigned *cp)
{
	*cp = 0;
	if (4 > in->rem)
		return -1;
	for (int i = 0; i < 4; i++) {
		char c = in->p[i];
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
			   : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
			   : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16;
		if (d == 16)
			return -1;
		*cp = *cp << 4 | d;
	}
	in->p += 4;
	in->rem -= 4;
	return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* \uXXXX, with a surrogate pair taken whole; a lone surrogate is U+FFFD. */
static int unicode_escape(struct in *in, unsigned *cp)
{
	unsigned lo;

	if (hex4(in, cp) < 0)
		return -1;
	if (*cp < 0xd800 || *cp > 0xdfff)
		return 0;
	if (*cp > 0xdbff || 6 > in->rem || in->p[0] != '\\' || in->p[1] != 'u') {
		*cp = 0xfffd;
		return 0;
	}
	in->p += 2;
	in->rem -= 2;
	if (hex4(in, &lo) < 0)
		return -1;
	*cp = lo >= 0xdc00 && lo <= 0xdfff ? 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00)
					    : 0xfffd;
	return 0;
}

static int escape(struct in *in, char *o, size_t *len)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *e;
	unsigned cp;

	if (in->rem == 0)
		return -1;
	e = strchr(from, *in->p);
	in->p++;
	in->rem--;
	if (e && *e) {
		o[(*len)++] = to[e - from];
		return 0;
	}
	if (in->p[-1] != 'u' || unicode_escape(in, &cp) < 0)
		return -1;
	*len += put_utf8(o + *len, cp);
	return 0;
}

/* Decoded, never longer than as written (an escape of 6 bytes or 12
 * for a pair gives at most 4). */
static int string(struct in *in, char **out)
{
	char *o;
	size_t len = 0;

	if (!eat(in, '"') || !(o = malloc(in->rem + 1)))
		return -1;
	while (in->rem > 0 && *in->p != '"') {
		char c = *in->p++;

		in->rem--;
		if ((unsigned char)c < 0x20 || (c == '\\' && escape(in, o, &len) < 0)) {
			free(o);
			return -1;
		}
		if (c != '\\')
			o[len++] = c;
	}
	if (!eat(in, '"')) {
		free(o);
		return -1;
	}
	o[len] = '\0';
	*out = o;
	return 0;
}

static int number(struct in *in, struct jv *out)
{
	size_t n = 0;

	while (n < in->rem && strchr("-+0123456789.eE", in->p[n]) && in->p[n])
		n++;
	if (n == 0 || !(out->s = strndup(in->p, n)))
		return -1;
	out->type = JV_NUMBER;
	in->p += n;
	in->rem -= n;
	return 0;
}

static int grow(struct jv *out, bool keys)
{
	struct jv *v = realloc(out->v, (out->n + 1) * sizeof(*v));
	char **k;

	if (!v)
		return -1;
	out->v = v;
	v[out->n] = (struct jv){ 0 };
	if (!keys)
		return 0;
	if (!(k = realloc(out->k, (out->n + 1) * sizeof(*k))))
		return -1;
	out->k = k;
	k[out->n] = NULL;
	return 0;
}

static int members(struct in *in, struct jv *out, bool object)
{
	char close = object ? '}' : ']';

	out->type = object ? JV_OBJECT : JV_ARRAY;
	if (eat(in, close))
		return 0;
	do {
		if (grow(out, object) < 0)
			return -1;
		out->n++;
		if (object && (string(in, &out->k[out->n - 1]) < 0 || !eat(in, ':')))
			return -1;
		if (value(in, &out->v[out->n - 1]) < 0)
			return -1;
	} while (eat(in, ','));
	return eat(in, close) ? 0 : -1;
}

static int value(struct in *in, struct jv *out)
{
	int r;

	*out = (struct jv){ .type = JV_NULL };
	skip_ws(in);
	if (in->rem == 0 || in->depth >= CTL_JSON_DEPTH)
		return -1;
	if (*in->p == '{' || *in->p == '[') {
		bool object = *in->p == '{';

		in->p++;
		in->rem--;
		in->depth++;
		r = members(in, out, object);
		in->depth--;
		return r;
	}
	if (*in->p == '"') {
		out->type = JV_STRING;
		return string(in, &out->s);
	}
	if (literal(in, "true") || literal(in, "false")) {
		out->type = JV_BOOL;
		out->b = in->p[-1] == 'e' && in->p[-2] == 'u';
		return 0;
	}
	return literal(in, "null") ? 0 : number(in, out);
}

int jv_parse(const char *text, size_t len, struct jv *out)
{
	struct in in = { .p = text, .rem = len };

	if (value(&in, out) < 0) {
		jv_free(out);
		return -1;
	}
	skip_ws(&in);
	if (in.rem == 0)
		return 0;
	jv_free(out);
	return -1;
}

void jv_free(struct jv *v)
{
	for (size_t i = 0; i < v->n; i++) {
		jv_free(&v->v[i]);
		if (v->k)
			free(v->k[i]);
	}
	free(v->v);
	free(v->k);
	free(v->s);
	*v = (struct jv){ 0 };
}

const struct jv *jv_get(const struct jv *obj, const char *key)
{
	if (!obj || obj->type != JV_OBJECT)
		return NULL;
	for (size_t i = 0; i < obj->n; i++)
		if (obj->k[i] && strcmp(obj->k[i], key) == 0)
			return &obj->v[i];
	return NULL;
}

static void append(char *buf, size_t cap, size_t *len, const char *s)
{
	size_t n = strlen(s);

	if (*len >= cap - 1)
		return;
	if (n > cap - 1 - *len)
		n = cap - 1 - *len;
	memcpy(buf + *len, s, n);
	*len += n;
	buf[*len] = '\0';
}

void jv_text(const struct jv *v, char *buf, size_t cap)
{
	char part[256];
	size_t len = 0;

	if (cap == 0)
		return;
	buf[0] = '\0';
	if (!v || v->type == JV_NULL || (v->type == JV_STRING && !v->s[0]))
		append(buf, cap, &len, "-");
	else if (v->type == JV_BOOL)
		append(buf, cap, &len, v->b ? "yes" : "no");
	else if (v->type == JV_STRING || v->type == JV_NUMBER)
		append(buf, cap, &len, v->s);
	for (size_t i = 0; (v && (v->type == JV_ARRAY || v->type == JV_OBJECT)) && i < v->n; i++) {
		if (i > 0)
			append(buf, cap, &len, ",");
		if (v->type == JV_OBJECT) {
			append(buf, cap, &len, v->k[i]);
			append(buf, cap, &len, "=");
		}
		jv_text(&v->v[i], part, sizeof(part));
		append(buf, cap, &len, part);
	}
	if (v && (v->type == JV_ARRAY || v->type == JV_OBJECT) && v->n == 0)
		append(buf, cap, &len, "-");
}
