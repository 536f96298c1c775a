/* SPDX-License-Identifier: MIT */
/*
 * A small JSON writer for --json output: indented, every string escaped
 * (RFC 8259 §7), and bytes that are not UTF-8 (a file name can hold any)
 * written as U+FFFD so that the output always parses.
 */
#include "nbi.h"

#include <stdio.h>

void json_init(struct json *j, FILE *f)
{
	*j = (struct json){ .f = f };
}

static void indent(struct json *j)
{
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

/* Length of the UTF-8 sequence at p, or 0 when it is not one. */
static size_t utf8_len(const unsigned char *p)
{
	size_t n = p[0] < 0x80 ? 1 : (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3
		 : (p[0] & 0xf8) == 0xf0 ? 4 : 0;

	if (n == 2 && p[0] < 0xc2)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

static void put_escaped(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	while (*p) {
		size_t n = utf8_len(p);

		if (n == 0) {
			fputs("\\ufffd", f);
			n = 1;
		} else if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fwrite(p, 1, n, f);
		p += n;
	}
	fputc('"', f);
}

void json_key(struct json *j, const char *key)
{
	before_item(j);
	put_escaped(j->f, key);
	fputs(": ", j->f);
	j->after_key = true;
}

void json_string(struct json *j, const char *s)
{
	before_item(j);
	if (s)
		put_escaped(j->f, s);
	else
		fputs("null", j->f);
}

void json_uint(struct json *j, unsigned long long v)
{
	before_item(j);
	fprintf(j->f, "%llu", v);
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
