/* SPDX-License-Identifier: MIT */
/*
 * The /boot.ipxe template engine (see ipxe_template.h): parse once into
 * parts, render by copying literals and sanitized values.
 */
#include "ipxe_template.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VAR_LITERAL (-1)

/* A literal run of text (off, len) or a placeholder (var). */
struct part {
	size_t off, len;
	int var;
};

struct ipxe_template {
	char *text;
	struct part *parts;
	size_t n_parts;
	size_t literal_bytes;
	size_t n_values;
};

static const char *const var_names[IPXE_VAR_COUNT] = {
	[IPXE_VAR_MAC] = "mac",           [IPXE_VAR_IP] = "ip",
	[IPXE_VAR_UUID] = "uuid",         [IPXE_VAR_ARCH] = "arch",
	[IPXE_VAR_PLATFORM] = "platform", [IPXE_VAR_HOSTNAME] = "hostname",
	[IPXE_VAR_SERVER] = "server",     [IPXE_VAR_HTTP] = "http",
	[IPXE_VAR_MODEL] = "model",       [IPXE_VAR_IMAGE] = "image",
};

const char *ipxe_var_name(enum ipxe_var v)
{
	return (unsigned)v < IPXE_VAR_COUNT ? var_names[v] : "?";
}

static int var_lookup(const char *s, size_t n)
{
	for (int v = 0; v < IPXE_VAR_COUNT; v++)
		if (strlen(var_names[v]) == n && memcmp(var_names[v], s, n) == 0)
			return v;
	return -1;
}

/* ---- parsing --------------------------------------------------------------- */

/* Fills err with the 1-based line and column of text[at]. */
static int fail_at(const char *text, size_t at, struct ipxe_template_error *err,
		   const char *msg)
{
	unsigned line = 1, col = 1;

	for (size_t i = 0; i < at; i++) {
		col++;
		if (text[i] == '\n') {
			line++;
			col = 1;
		}
	}
	err->line = line;
	err->column = col;
	snprintf(err->msg, sizeof(err->msg), "%s", msg);
	return -EINVAL;
}

static void add_part(struct ipxe_template *t, size_t off, size_t len, int var)
{
	if (var == VAR_LITERAL && len == 0)
		return;
	t->parts[t->n_parts++] = (struct part){ off, len, var };
	if (var == VAR_LITERAL)
		t->literal_bytes += len;
	else
		t->n_values++;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Parses the placeholder whose "{{" is at text[at]; sets *end past "}}". */
static int parse_placeholder(struct ipxe_template *t, size_t at, size_t n, size_t *end,
			     struct ipxe_template_error *err)
{
	const char *s = t->text;
	size_t i = at + 2, name, name_len;
	char shown[64];
	int var;

	while (i < n && is_blank(s[i]))
		i++;
	for (name = i; i < n && s[i] != '}' && s[i] != '\n' && !is_blank(s[i]); i++)
		;
	name_len = i - name;
	while (i < n && is_blank(s[i]))
		i++;
	if (n - i < 2 || s[i] != '}' || s[i + 1] != '}')
		return fail_at(s, at, err, "\"{{\" without a closing \"}}\" on its line");
	var = var_lookup(s + name, name_len);
	if (var < 0) {
		snprintf(shown, sizeof(shown), "unknown placeholder {{%.*s}}",
			 (int)(name_len < 32 ? name_len : 32), s + name);
		return fail_at(s, name, err, shown);
	}
	add_part(t, 0, 0, var);
	*end = i + 2;
	return 0;
}

/* X5: iPXE runs a script only if it starts with "#!ipxe" and a blank. */
static bool has_magic(const char *s, size_t n)
{
	return n > 6 && memcmp(s, "#!ipxe", 6) == 0 &&
	       (s[6] == ' ' || s[6] == '\t' || s[6] == '\n' || s[6] == '\r');
}

static int parse_text(struct ipxe_template *t, size_t n, struct ipxe_template_error *err)
{
	const char *s = t->text;
	size_t lit = 0, i = 0;
	int r;

	if (!has_magic(s, n))
		return fail_at(s, 0, err, "a script must begin with \"#!ipxe\"");
	while (i < n) {
		if (s[i] == '\0')
			return fail_at(s, i, err, "NUL byte in the template");
		if (s[i] != '{' || n - i < 2 || s[i + 1] != '{') {
			i++;
			continue;
		}
		add_part(t, lit, i - lit, VAR_LITERAL);
		if ((r = parse_placeholder(t, i, n, &i, err)) < 0)
			return r;
		lit = i;
	}
	add_part(t, lit, n - lit, VAR_LITERAL);
	return 0;
}

int ipxe_template_parse(const char *text, size_t n, struct ipxe_template **out,
			struct ipxe_template_error *err)
{
	struct ipxe_template *t;
	int r;

	*err = (struct ipxe_template_error){ 0 };
	if (n > IPXE_TEMPLATE_MAX)
		return -EFBIG;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	/* Each "{{" ends one literal and adds one placeholder: n + 1 parts
	 * is a bound no template can exceed. */
	t->text = malloc(n + 1);
	t->parts = calloc(n + 1, sizeof(*t->parts));
	if (!t->text || !t->parts) {
		ipxe_template_free(t);
		return -ENOMEM;
	}
	memcpy(t->text, text, n);
	t->text[n] = '\0';
	r = parse_text(t, n, err);
	if (r < 0) {
		ipxe_template_free(t);
		return r;
	}
	*out = t;
	return 0;
}

void ipxe_template_free(struct ipxe_template *t)
{
	if (!t)
		return;
	free(t->text);
	free(t->parts);
	free(t);
}

/* ---- rendering ------------------------------------------------------------- */

static bool value_byte_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("._:,+@/-", c));
}

size_t ipxe_value_sanitize(const char *in, char *out, size_t cap)
{
	size_t o = 0, max = cap ? cap - 1 : 0;

	if (cap == 0)
		return 0;
	if (max > IPXE_VALUE_MAX)
		max = IPXE_VALUE_MAX;
	for (; in && in[o] && o < max; o++) {
		unsigned char c = (unsigned char)in[o];

		out[o] = value_byte_ok(c) && !(o == 0 && c == '-') ? (char)c : '_';
	}
	out[o] = '\0';
	return o;
}

size_t ipxe_template_render_max(const struct ipxe_template *t)
{
	return t->literal_bytes + t->n_values * IPXE_VALUE_MAX + 1;
}

ssize_t ipxe_template_render(const struct ipxe_template *t, const struct ipxe_values *vals,
			     char *out, size_t cap)
{
	char value[IPXE_VALUE_MAX + 1];
	size_t o = 0;

	for (size_t i = 0; i < t->n_parts; i++) {
		const struct part *p = &t->parts[i];
		const char *src = t->text + p->off;
		size_t len = p->len;

		if (p->var != VAR_LITERAL) {
			len = ipxe_value_sanitize(vals->v[p->var], value, sizeof(value));
			src = value;
		}
		if (len >= cap - o)
			return -ENOSPC;
		memcpy(out + o, src, len);
		o += len;
	}
	if (o >= cap)
		return -ENOSPC;
	out[o] = '\0';
	return (ssize_t)o;
}
