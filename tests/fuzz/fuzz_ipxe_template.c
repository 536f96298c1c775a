/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the /boot.ipxe template engine: parse, then render
 * with hostile values.  The input is the template, a NUL, then the values
 * in enum ipxe_var order, NUL-separated (missing ones are absent).  Besides
 * the sanitizers it checks:
 *   - a parse error has a position inside the text;
 *   - the rendering fits ipxe_template_render_max and fails cleanly with
 *     one byte less room than it needs;
 *   - values add no byte that iPXE's parser gives a meaning to: the output
 *     holds exactly as many newlines, blanks, '$', '{', '}', '|', '&', ';',
 *     '#', quotes and backslashes as the rendering with every value absent.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipxe_template.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t specials(const char *s, size_t n)
{
	size_t count = 0;

	for (size_t i = 0; i < n; i++)
		count += s[i] && strchr("\n\r\t $\{}|&;#\"'\\", s[i]) != NULL;
	return count;
}

/* Splits the bytes after the template into NUL-terminated values. */
static void split_values(char *v, const char *end, struct ipxe_values *vals)
{
	for (int i = 0; i < IPXE_VAR_COUNT && v < end; i++) {
		vals->v[i] = v;
		v += strlen(v) + 1;
	}
}

static void check_render(const struct ipxe_template *t, const struct ipxe_values *vals)
{
	size_t cap = ipxe_template_render_max(t);
	char *out = malloc(cap), *bare = malloc(cap);
	struct ipxe_values none = { 0 };
	ssize_t n, m;

	CHECK(out && bare);
	n = ipxe_template_render(t, vals, out, cap);
	m = ipxe_template_render(t, &none, bare, cap);
	CHECK(n >= 0 && m >= 0 && (size_t)n < cap);
	CHECK(specials(out, (size_t)n) == specials(bare, (size_t)m));
	CHECK(ipxe_template_render(t, vals, out, (size_t)n) == -ENOSPC);
	free(out);
	free(bare);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 2);
	struct ipxe_values vals = { 0 };
	struct ipxe_template_error err;
	struct ipxe_template *t = NULL;
	size_t tlen;
	int r;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = buf[size + 1] = '\0';
	tlen = strlen(buf);
	split_values(buf + tlen + 1, buf + size + 1, &vals);
	r = ipxe_template_parse(buf, tlen, &t, &err);
	if (r == -EINVAL) {
		CHECK(err.line >= 1 && err.column >= 1 && err.msg[0]);
	} else {
		CHECK(r == 0);
		check_render(t, &vals);
	}
	ipxe_template_free(t);
	free(buf);
	return 0;
}
