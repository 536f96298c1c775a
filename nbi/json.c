/* SPDX-License-Identifier: MIT */
/*
 * A small JSON writer for --json output: indented, every string escaped
 * (RFC 8259 §7), and bytes that are not strict UTF-8 (a file name or a
 * binary plist string can hold any) written as U+FFFD, one per byte, so
 * that the output always parses.
 */
#include "nbi.h"

#include <stdio.h>
#include <string.h>

#include "utf8.h"

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

/* RFC 8259 §7.  Each byte that does not start a well-formed sequence
 * (utf8.h: overlongs, surrogates and code points past U+10FFFF included)
 * becomes one U+FFFD, as bsdpc writes it, so the output always parses. */
static void put_escaped(FILE *f, const char *s)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t rem = strlen(s);

	fputc('"', f);
	while (rem > 0) {
		size_t n = utf8_decode(p, rem, NULL);

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
		rem -= n;
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
