/* SPDX-License-Identifier: MIT */
/*
 * The boot-policy model (see policy.h and docs/policy.md): validation of
 * the admin's records, group matching and specificity, resolution, and
 * rendering a profile into an iPXE script.  Pure: no I/O, no database.
 *
 * Everything an admin writes that lands in a script (paths, URLs, the
 * kernel command line, descriptions) is refused at save time if it holds
 * a byte iPXE's command parser gives a meaning to (core/exec.c
 * split_command and command_terminator, core/settings.c expand_settings):
 * so a saved profile renders to exactly the commands it says.  What
 * comes from the wire reaches a script only through ipxe_value_sanitize.
 */
#include "policy.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_routes.h"

/* ---- names of enums --------------------------------------------------------- */

static const char *const kind_names[PROFILE_KIND_COUNT] = {
	[PROFILE_LOCAL] = "local", [PROFILE_LINUX] = "linux", [PROFILE_CHAIN] = "chain",
	[PROFILE_MENU] = "menu",   [PROFILE_SHELL] = "shell", [PROFILE_SCRIPT] = "script",
};

static const char *const method_names[LOCAL_METHOD_COUNT] = {
	[LOCAL_AUTO] = "auto",     [LOCAL_EXIT] = "exit",     [LOCAL_SANBOOT] = "sanboot",
	[LOCAL_REFUSE] = "refuse", [LOCAL_REBOOT] = "reboot",
};

static const char *const rule_names[] = {
	[RULE_NEXT_BOOT] = "next-boot", [RULE_MACHINE] = "machine", [RULE_GROUP] = "group",
	[RULE_DEFAULT] = "default",     [RULE_NONE] = "none",
};

const char *profile_kind_name(enum profile_kind k)
{
	return (unsigned)k < PROFILE_KIND_COUNT ? kind_names[k] : "?";
}

const char *local_method_name(enum local_method m)
{
	return (unsigned)m < LOCAL_METHOD_COUNT ? method_names[m] : "?";
}

const char *policy_rule_name(enum policy_rule r)
{
	return (unsigned)r <= RULE_NONE ? rule_names[r] : "?";
}

static int name_index(const char *const *names, int n, const char *s)
{
	for (int i = 0; s && i < n; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

int profile_kind_parse(const char *s, enum profile_kind *k)
{
	int i = name_index(kind_names, PROFILE_KIND_COUNT, s);

	if (i < 0)
		return -EINVAL;
	*k = (enum profile_kind)i;
	return 0;
}

int local_method_parse(const char *s, enum local_method *m)
{
	int i = name_index(method_names, LOCAL_METHOD_COUNT, s);

	if (i < 0)
		return -EINVAL;
	*m = (enum local_method)i;
	return 0;
}

void profile_free(struct profile *p)
{
	free(p->template);
	p->template = NULL;
}

/* ---- MAC addresses ------------------------------------------------------------ */

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* 1..6 octets of two hex digits, all separated by the same ':' or '-'. */
int policy_mac_prefix_parse(const char *s, uint8_t mac[6], size_t *len)
{
	char sep = 0;
	size_t n = 0;

	if (!s)
		return -EINVAL;
	for (;;) {
		int hi = hex_digit(s[0]), lo = hi < 0 ? -1 : hex_digit(s[1]);

		if (lo < 0 || n == 6)
			return -EINVAL;
		mac[n++] = (uint8_t)(hi << 4 | lo);
		s += 2;
		if (*s == '\0')
			break;
		if ((*s != ':' && *s != '-') || (sep && *s != sep))
			return -EINVAL;
		sep = *s++;
	}
	*len = n;
	return 0;
}

int policy_mac_parse(const char *s, uint8_t mac[6])
{
	uint8_t tmp[6];
	size_t n;

	if (policy_mac_prefix_parse(s, tmp, &n) < 0 || n != 6)
		return -EINVAL;
	memcpy(mac, tmp, 6);
	return 0;
}

void policy_mac_format(const uint8_t mac[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
}

/* ---- validation helpers ---------------------------------------------------------- */

__attribute__((format(printf, 3, 4)))
static int fail(struct policy_error *err, const char *field, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -EINVAL;
	snprintf(err->field, sizeof(err->field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool in_set(unsigned char c, const char *set)
{
	return c && strchr(set, c);
}

/* Why iPXE's command parser would not take byte c as text, or NULL. */
static const char *ipxe_special(unsigned char c)
{
	if (in_set(c, "${}"))
		return "iPXE would expand ${...} settings in it";
	if (in_set(c, "\"'\\"))
		return "iPXE's parser would take it as quoting";
	if (in_set(c, ";&|"))
		return "iPXE would take it as a command separator (;, &&, ||)";
	if (c == '#')
		return "iPXE's parser gives '#' a meaning";
	return NULL;
}

/* A string held in a fixed field: its length, or -1 when it fills the
 * field without a NUL. */
static ssize_t field_len(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	return n == cap ? -1 : (ssize_t)n;
}

static int name_check(const char *s, const char *field, bool optional, struct policy_error *err)
{
	ssize_t n = field_len(s, POLICY_NAME_MAX);

	if (n < 0)
		return fail(err, field, "longer than %d bytes", POLICY_NAME_MAX - 1);
	if (n == 0)
		return optional ? 0 : fail(err, field, "a name is required");
	for (ssize_t i = 0; i < n; i++)
		if (!is_alnum((unsigned char)s[i]) && !in_set((unsigned char)s[i], "._-"))
			return fail(err, field, "byte %zd (0x%02x) is not one of [A-Za-z0-9._-]",
				    i, (unsigned char)s[i]);
	/* The name is a path segment of /api/v1/profiles/NAME. */
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return fail(err, field, "\"%s\" is not a usable name", s);
	return 0;
}

int policy_name_valid(const char *name, struct policy_error *err)
{
	return name_check(name, "name", false, err);
}

/* Printable ASCII (blanks allowed) without iPXE's special bytes: text
 * that goes into a command line (cmdline, description, image). */
static int text_check(const char *s, size_t cap, const char *field, struct policy_error *err)
{
	ssize_t n = field_len(s, cap);

	if (n < 0)
		return fail(err, field, "longer than %zu bytes", cap - 1);
	for (ssize_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *why = ipxe_special(c);

		if (c < 0x20 || c > 0x7e)
			return fail(err, field, "byte %zd (0x%02x) is not printable ASCII", i, c);
		if (why)
			return fail(err, field, "'%c' at byte %zd: %s", c, i, why);
	}
	return 0;
}

/* RFC 1123 host name: dot-separated labels of [A-Za-z0-9-], 1..63
 * bytes, no '-' at either end of a label. */
static int hostname_check(const char *s, const char *field, struct policy_error *err)
{
	ssize_t n = field_len(s, POLICY_TEXT_MAX);
	ssize_t label = 0;

	if (n < 0 || n > 253)
		return fail(err, field, "longer than 253 bytes");
	for (ssize_t i = 0; i <= n; i++) {
		unsigned char c = i < n ? (unsigned char)s[i] : '.';

		if (c == '.') {
			if (n > 0 && (label == 0 || s[i - 1] == '-'))
				return fail(err, field, "an empty label or one ending in '-' at byte %zd", i);
			label = 0;
		} else if (is_alnum(c) || (c == '-' && label > 0)) {
			if (++label > 63)
				return fail(err, field, "a label longer than 63 bytes");
		} else {
			return fail(err, field, "byte %zd (0x%02x) is not a host name's [A-Za-z0-9.-]%s", i, c,
				    c == '-' ? " (no label starts with '-')" : "");
		}
	}
	return 0;
}

bool policy_is_url(const char *s)
{
	return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

bool policy_take_seen(char *dst, size_t cap, const char *seen)
{
	if (!seen[0] || strcmp(dst, seen) == 0)
		return false;
	snprintf(dst, cap, "%s", seen);
	return true;
}

static int path_byte_check(const char *s, size_t i, bool url, const char *field,
			   struct policy_error *err)
{
	unsigned char c = (unsigned char)s[i];
	const char *why = ipxe_special(c);

	if (c < 0x20 || c == 0x7f)
		return fail(err, field, "control byte 0x%02x at byte %zu", c, i);
	if (c == ' ')
		return fail(err, field, "a blank at byte %zu: iPXE would split the command there", i);
	if (why)
		return fail(err, field, "'%c' at byte %zu: %s", c, i, why);
	/* A URL goes into the script as it is; a path is percent-encoded. */
	if (url && c > 0x7e)
		return fail(err, field, "byte %zu (0x%02x) of a URL is not ASCII", i, c);
	return 0;
}

/* A path relative to the HTTP root (no '/' first, no ".." component), or
 * an http:// or https:// URL; required unless optional. */
static int path_check(const char *s, const char *field, bool optional, struct policy_error *err)
{
	ssize_t n = field_len(s, POLICY_PATH_MAX);
	bool url;
	int r;

	if (n < 0)
		return fail(err, field, "longer than %d bytes", POLICY_PATH_MAX - 1);
	if (n == 0)
		return optional ? 0 : fail(err, field, "a path under the HTTP root or a URL is required");
	url = policy_is_url(s);
	for (ssize_t i = 0; i < n; i++)
		if ((r = path_byte_check(s, (size_t)i, url, field, err)) < 0)
			return r;
	if (url) {
		const char *host = strstr(s, "//") + 2;

		return *host == '\0' || *host == '/' ? fail(err, field, "a URL without a host") : 0;
	}
	if (s[0] == '/')
		return fail(err, field, "a path under the HTTP root, without a leading '/'");
	for (const char *c = s; c; c = strchr(c, '/')) {
		c += *c == '/';
		if (strncmp(c, "..", 2) == 0 && (c[2] == '/' || c[2] == '\0'))
			return fail(err, field, "a \"..\" component leaves the HTTP root");
	}
	return 0;
}

static int label_key_check(const char *k, const char *field, struct policy_error *err)
{
	ssize_t n = field_len(k, POLICY_LABEL_KEY_MAX);

	if (n <= 0)
		return fail(err, field, n < 0 ? "a label key longer than %d bytes"
					      : "an empty label key (at most %d bytes)",
			    POLICY_LABEL_KEY_MAX - 1);
	for (ssize_t i = 0; i < n; i++)
		if (!(k[i] >= 'a' && k[i] <= 'z') && !(k[i] >= '0' && k[i] <= '9') &&
		    !in_set((unsigned char)k[i], "._-"))
			return fail(err, field, "byte %zd (0x%02x) of the key is not one of [a-z0-9._-]",
				    i, (unsigned char)k[i]);
	return 0;
}

static int label_check(const struct label *l, const char *prefix, struct policy_error *err)
{
	char field[64];
	ssize_t n;
	int r;

	if ((r = label_key_check(l->key, prefix, err)) < 0)
		return r;
	snprintf(field, sizeof(field), "%s.%s", prefix, l->key);
	n = field_len(l->value, POLICY_LABEL_VALUE_MAX);
	if (n < 0)
		return fail(err, field, "longer than %d bytes", POLICY_LABEL_VALUE_MAX - 1);
	for (ssize_t i = 0; i < n; i++)
		if (!is_alnum((unsigned char)l->value[i]) &&
		    !in_set((unsigned char)l->value[i], "._:/+@-"))
			return fail(err, field, "byte %zd (0x%02x) is not one of [A-Za-z0-9._:/+@-]",
				    i, (unsigned char)l->value[i]);
	return 0;
}

int label_validate(const struct label *l, struct policy_error *err)
{
	return label_check(l, "labels", err);
}

static int labels_check(const struct label *l, size_t n, const char *prefix,
			struct policy_error *err)
{
	int r;

	if (n > POLICY_LABELS_MAX)
		return fail(err, prefix, "more than %d labels", POLICY_LABELS_MAX);
	for (size_t i = 0; i < n; i++) {
		if ((r = label_check(&l[i], prefix, err)) < 0)
			return r;
		for (size_t j = 0; j < i; j++)
			if (strcmp(l[i].key, l[j].key) == 0)
				return fail(err, prefix, "the key \"%s\" is given twice", l[i].key);
	}
	return 0;
}

static int method_check(enum local_method m, const char *field, struct policy_error *err)
{
	return (unsigned)m < LOCAL_METHOD_COUNT ? 0 : fail(err, field, "not a local-boot method");
}

/* ---- profiles ------------------------------------------------------------------ */

/* A field another kind uses must be empty, so that what is saved is what
 * runs. */
static int unused_check(const struct profile *p, struct policy_error *err)
{
	const char *kind = profile_kind_name(p->kind);
	struct { const char *field; bool set; } f[] = {
		{ "kernel", p->kind != PROFILE_LINUX && p->kernel[0] },
		{ "initrds", p->kind != PROFILE_LINUX && p->n_initrds },
		{ "cmdline", p->kind != PROFILE_LINUX && p->cmdline[0] },
		{ "chain", p->kind != PROFILE_CHAIN && p->chain[0] },
		{ "items", p->kind != PROFILE_MENU && p->n_items },
		{ "default", p->kind != PROFILE_MENU && p->default_item[0] },
		{ "timeout", p->kind != PROFILE_MENU && p->timeout },
		{ "template", p->kind != PROFILE_SCRIPT && p->template },
		{ "local", p->kind != PROFILE_LOCAL && p->local != LOCAL_AUTO },
	};

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (f[i].set)
			return fail(err, f[i].field, "a %s profile does not use it", kind);
	return 0;
}

static int linux_check(const struct profile *p, struct policy_error *err)
{
	char field[32];
	ssize_t n;
	int r;

	if ((r = path_check(p->kernel, "kernel", false, err)) < 0)
		return r;
	if (p->n_initrds > POLICY_INITRDS_MAX)
		return fail(err, "initrds", "more than %d initrds", POLICY_INITRDS_MAX);
	for (size_t i = 0; i < p->n_initrds; i++) {
		snprintf(field, sizeof(field), "initrds[%zu]", i);
		if ((r = path_check(p->initrds[i], field, false, err)) < 0)
			return r;
	}
	n = field_len(p->cmdline, POLICY_CMDLINE_MAX);
	if (n < 0)
		return fail(err, "cmdline", "longer than %d bytes", POLICY_CMDLINE_MAX - 1);
	/* The command line follows the kernel's URL on iPXE's "kernel" line,
	 * past its options: a word starting with '-' is the kernel's. */
	return text_check(p->cmdline, POLICY_CMDLINE_MAX, "cmdline", err);
}

static int menu_check(const struct profile *p, struct policy_error *err)
{
	char field[32];
	bool found = !p->default_item[0];
	int r;

	if (p->n_items == 0 || p->n_items > POLICY_ITEMS_MAX)
		return fail(err, "items", "a menu names 1 to %d profiles", POLICY_ITEMS_MAX);
	for (size_t i = 0; i < p->n_items; i++) {
		snprintf(field, sizeof(field), "items[%zu]", i);
		if ((r = name_check(p->items[i], field, false, err)) < 0)
			return r;
		if (strcmp(p->items[i], p->name) == 0)
			return fail(err, field, "a menu may not name itself");
		for (size_t j = 0; j < i; j++)
			if (strcmp(p->items[i], p->items[j]) == 0)
				return fail(err, field, "\"%s\" is already items[%zu]", p->items[i], j);
		found = found || strcmp(p->items[i], p->default_item) == 0;
	}
	if ((r = name_check(p->default_item, "default", true, err)) < 0)
		return r;
	if (!found)
		return fail(err, "default", "\"%s\" is not one of the items", p->default_item);
	if (p->timeout > POLICY_MENU_TIMEOUT_MAX)
		return fail(err, "timeout", "at most %d seconds", POLICY_MENU_TIMEOUT_MAX);
	return 0;
}

static int script_check(const struct profile *p, struct policy_error *err)
{
	struct ipxe_template_error e;
	struct ipxe_template *t = NULL;
	int r;

	if (!p->template)
		return fail(err, "template", "a script profile needs a template");
	r = ipxe_template_parse(p->template, strlen(p->template), &t, &e);
	ipxe_template_free(t);
	if (r == -EINVAL)
		return fail(err, "template", "line %u, column %u: %s", e.line, e.column, e.msg);
	if (r == -EFBIG)
		return fail(err, "template", "longer than %d bytes", IPXE_TEMPLATE_MAX);
	if (r < 0 && err)
		snprintf(err->field, sizeof(err->field), "template");
	return r;
}

static int kind_check(const struct profile *p, struct policy_error *err)
{
	switch (p->kind) {
	case PROFILE_LOCAL: return method_check(p->local, "local", err);
	case PROFILE_LINUX: return linux_check(p, err);
	case PROFILE_CHAIN: return path_check(p->chain, "chain", false, err);
	case PROFILE_MENU: return menu_check(p, err);
	case PROFILE_SCRIPT: return script_check(p, err);
	case PROFILE_SHELL: return 0;
	default: return fail(err, "kind", "not a profile kind");
	}
}

int profile_validate(const struct profile *p, struct policy_error *err)
{
	int r;

	if ((r = policy_name_valid(p->name, err)) < 0)
		return r;
	if ((r = text_check(p->description, POLICY_TEXT_MAX, "description", err)) < 0)
		return r;
	if ((unsigned)p->kind >= PROFILE_KIND_COUNT)
		return fail(err, "kind", "not a profile kind");
	if ((r = unused_check(p, err)) < 0)
		return r;
	return kind_check(p, err);
}

/* ---- groups and machines ------------------------------------------------------------ */

/* A model glob: the bytes a sanitized model can hold, and fnmatch's
 * "*?[]!"; no backslash, so no escapes. */
static int model_check(const char *s, const char *field, struct policy_error *err)
{
	ssize_t n = field_len(s, POLICY_MODEL_MAX);

	if (n < 0)
		return fail(err, field, "longer than %d bytes", POLICY_MODEL_MAX - 1);
	for (ssize_t i = 0; i < n; i++)
		if (!is_alnum((unsigned char)s[i]) && !in_set((unsigned char)s[i], "._:,+@/-*?[]!"))
			return fail(err, field, "byte %zd (0x%02x) is not one of [A-Za-z0-9._:,+@/-] or a glob's *?[]!",
				    i, (unsigned char)s[i]);
	return 0;
}

static int arch_check(const char *s, const char *field, struct policy_error *err)
{
	ssize_t n = field_len(s, POLICY_ARCH_MAX);

	if (n < 0)
		return fail(err, field, "longer than %d bytes", POLICY_ARCH_MAX - 1);
	for (ssize_t i = 0; i < n; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= '0' && s[i] <= '9') && s[i] != '_')
			return fail(err, field, "byte %zd (0x%02x) is not one of [a-z0-9_]", i,
				    (unsigned char)s[i]);
	return 0;
}

static int selector_check(const struct selector *s, struct policy_error *err)
{
	int r;

	if (s->mac_prefix_len > 6)
		return fail(err, "selector.mac_prefix", "more than 6 octets");
	if ((r = model_check(s->model, "selector.model", err)) < 0 ||
	    (r = arch_check(s->arch, "selector.arch", err)) < 0)
		return r;
	return labels_check(s->labels, s->n_labels, "selector.labels", err);
}

int group_validate(const struct policy_group *g, struct policy_error *err)
{
	int r;

	if ((r = policy_name_valid(g->name, err)) < 0 || (r = selector_check(&g->selector, err)) < 0 ||
	    (r = name_check(g->profile, "profile", false, err)) < 0 ||
	    (r = method_check(g->local, "local", err)) < 0)
		return r;
	if (g->priority < -1000000 || g->priority > 1000000)
		return fail(err, "priority", "between -1000000 and 1000000");
	return text_check(g->image, POLICY_NAME_MAX, "image", err);
}

/* The admin's fields; model, arch and UUID are the wire's, sanitized when
 * they were recorded, and never refuse a machine. */
int machine_validate(const struct machine *m, struct policy_error *err)
{
	int r;

	if ((r = hostname_check(m->hostname, "hostname", err)) < 0 ||
	    (r = labels_check(m->labels, m->n_labels, "labels", err)) < 0 ||
	    (r = name_check(m->profile, "profile", true, err)) < 0 ||
	    (r = name_check(m->next_boot, "next_boot", true, err)) < 0 ||
	    (r = method_check(m->local, "local", err)) < 0)
		return r;
	return text_check(m->image, POLICY_NAME_MAX, "image", err);
}

/* ---- group matching and specificity --------------------------------------------------- */

static const char *label_find(const struct label *l, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(l[i].key, key) == 0)
			return l[i].value;
	return NULL;
}

static bool is_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

bool selector_matches(const struct selector *s, const struct machine *m)
{
	if (s->mac_prefix_len > 6 || memcmp(s->mac_prefix, m->mac, s->mac_prefix_len) != 0)
		return false;
	if (s->model[0] && fnmatch(s->model, m->model, 0) != 0)
		return false;
	if (s->arch[0] && strcmp(s->arch, m->arch) != 0)
		return false;
	for (size_t i = 0; i < s->n_labels; i++) {
		const char *v = label_find(m->labels, m->n_labels, s->labels[i].key);

		if (!v || strcmp(v, s->labels[i].value) != 0)
			return false;
	}
	return true;
}

/* One point per criterion and per label; one more for a whole MAC
 * address and for a literal model, which name fewer machines than a
 * prefix or a glob (docs/policy.md §2). */
unsigned selector_specificity(const struct selector *s)
{
	unsigned score = (unsigned)s->n_labels;

	if (s->mac_prefix_len)
		score += s->mac_prefix_len == 6 ? 2 : 1;
	if (s->model[0])
		score += is_glob(s->model) ? 1 : 2;
	if (s->arch[0])
		score += 1;
	return score;
}

static bool models_overlap(const char *a, const char *b)
{
	if (!a[0] || !b[0])
		return true;
	if (!is_glob(a))
		return fnmatch(b, a, 0) == 0;
	if (!is_glob(b))
		return fnmatch(a, b, 0) == 0;
	return true; /* two globs: assume some model matches both */
}

bool selectors_overlap(const struct selector *a, const struct selector *b)
{
	size_t n = a->mac_prefix_len < b->mac_prefix_len ? a->mac_prefix_len : b->mac_prefix_len;

	if (n > 6 || memcmp(a->mac_prefix, b->mac_prefix, n) != 0)
		return false;
	if (a->arch[0] && b->arch[0] && strcmp(a->arch, b->arch) != 0)
		return false;
	if (!models_overlap(a->model, b->model))
		return false;
	for (size_t i = 0; i < a->n_labels; i++) {
		const char *v = label_find(b->labels, b->n_labels, a->labels[i].key);

		if (v && strcmp(v, a->labels[i].value) != 0)
			return false;
	}
	return true;
}

const struct policy_group *policy_groups_conflict(const struct policy_group *g, const struct policy_group *groups,
					   size_t n)
{
	unsigned spec = selector_specificity(&g->selector);

	for (size_t i = 0; i < n; i++) {
		const struct policy_group *o = &groups[i];

		if (strcmp(o->name, g->name) != 0 && o->priority == g->priority &&
		    selector_specificity(&o->selector) == spec &&
		    selectors_overlap(&g->selector, &o->selector))
			return o;
	}
	return NULL;
}

/* ---- resolution ------------------------------------------------------------------------ */

/* Whether a beats b: more specific, then higher priority, then (a tie
 * that policy_groups_conflict keeps out of the store, but a resolver
 * must not depend on the order of rows) the smaller name. */
static bool group_better(const struct policy_group *a, const struct policy_group *b)
{
	unsigned sa = selector_specificity(&a->selector), sb = selector_specificity(&b->selector);

	if (sa != sb)
		return sa > sb;
	if (a->priority != b->priority)
		return a->priority > b->priority;
	return strcmp(a->name, b->name) < 0;
}

static const struct policy_group *best_group(const struct machine *m, const struct policy_group *groups,
				      size_t n)
{
	const struct policy_group *best = NULL;

	for (size_t i = 0; i < n; i++)
		if (selector_matches(&groups[i].selector, m) && (!best || group_better(&groups[i], best)))
			best = &groups[i];
	return best;
}

static void set_name(char dst[POLICY_NAME_MAX], const char *src)
{
	snprintf(dst, POLICY_NAME_MAX, "%s", src);
}

void policy_resolve(const struct machine *m, const struct policy_group *groups, size_t n_groups,
		    const char *default_profile, struct resolution *out)
{
	const struct policy_group *g = best_group(m, groups, n_groups);

	*out = (struct resolution){ .rule = RULE_NONE, .local = m->local };
	if (m->next_boot[0]) {
		out->rule = RULE_NEXT_BOOT;
		set_name(out->profile, m->next_boot);
	} else if (m->profile[0]) {
		out->rule = RULE_MACHINE;
		set_name(out->profile, m->profile);
	} else if (g) {
		out->rule = RULE_GROUP;
		set_name(out->profile, g->profile);
		set_name(out->group, g->name);
	} else if (default_profile && default_profile[0]) {
		out->rule = RULE_DEFAULT;
		set_name(out->profile, default_profile);
	}
	/* The local method and the Mac's image follow the machine, then its
	 * best group, whichever rule chose the profile. */
	if (out->local == LOCAL_AUTO && g)
		out->local = g->local;
	set_name(out->image, m->image[0] || !g ? m->image : g->image);
}

/* ---- URLs and files -------------------------------------------------------------------- */

static bool url_unreserved(unsigned char c)
{
	return is_alnum(c) || in_set(c, "-._~/"); /* RFC 3986 §2.3, and the separator */
}

int policy_file_url(const char *http_base, bool tag_mac, const char *path, char *out,
		    size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *query = tag_mac ? "?mac=${mac:hexhyp}" : "";
	size_t o, qlen = strlen(query);
	int n;

	if (policy_is_url(path)) {
		n = snprintf(out, cap, "%s", path);
		return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
	}
	n = snprintf(out, cap, "%s/", http_base);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	o = (size_t)n;
	for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
		if (cap - o < 4)
			return -ENOSPC;
		if (url_unreserved(*c)) {
			out[o++] = (char)*c;
		} else {
			out[o++] = '%';
			out[o++] = hex[*c >> 4];
			out[o++] = hex[*c & 15];
		}
	}
	if (qlen + 1 > cap - o)
		return -ENOSPC;
	memcpy(out + o, query, qlen + 1);
	return (int)(o + qlen);
}

int policy_http_base_parse(const char *s, char out[POLICY_HTTP_BASE_MAX],
			   struct policy_error *err)
{
	static const char field[] = "--http-base";
	ssize_t n = field_len(s, POLICY_HTTP_BASE_MAX);
	const char *host;
	int r;

	if (n < 0)
		return fail(err, field, "longer than %d bytes", POLICY_HTTP_BASE_MAX - 1);
	if (!policy_is_url(s))
		return fail(err, field, "an http:// or https:// URL is required");
	for (ssize_t i = 0; i < n; i++) {
		if ((r = path_byte_check(s, (size_t)i, true, field, err)) < 0)
			return r;
		if (s[i] == '?')
			return fail(err, field, "a query ('?' at byte %zd): file paths follow the base", i);
	}
	while (n > 0 && s[n - 1] == '/')
		n--;
	host = strstr(s, "//") + 2;
	if (host >= s + n || *host == '/')
		return fail(err, field, "a URL without a host");
	memcpy(out, s, (size_t)n);
	out[n] = '\0';
	return 0;
}

/* Files a URL names are not ours to serve, so they cannot tell us when a
 * boot is done: the last one served here counts. */
bool profile_boot_done(const struct profile *p, const char *path, bool complete)
{
	const char *last = profile_last_file(p);

	return complete && last && strcmp(last, path) == 0;
}

const char *profile_file_stage(const struct profile *p, const char *path)
{
	if (p->kind == PROFILE_CHAIN)
		return strcmp(p->chain, path) == 0 ? "chain" : "";
	if (p->kind != PROFILE_LINUX)
		return "";
	if (strcmp(p->kernel, path) == 0)
		return "kernel";
	for (size_t i = 0; i < p->n_initrds; i++)
		if (strcmp(p->initrds[i], path) == 0)
			return "initrd";
	return "";
}

const char *profile_last_file(const struct profile *p)
{
	if (p->kind == PROFILE_CHAIN)
		return policy_is_url(p->chain) ? NULL : p->chain;
	if (p->kind != PROFILE_LINUX)
		return NULL;
	for (size_t i = p->n_initrds; i > 0; i--)
		if (!policy_is_url(p->initrds[i - 1]))
			return p->initrds[i - 1];
	return policy_is_url(p->kernel) ? NULL : p->kernel;
}

/* The first file of p under the HTTP root that ctx says is missing. */
static const char *missing_file(const struct profile *p, const struct policy_render_ctx *ctx)
{
	const char *files[1 + POLICY_INITRDS_MAX];
	size_t n = 0;

	if (p->kind == PROFILE_CHAIN)
		files[n++] = p->chain;
	if (p->kind == PROFILE_LINUX) {
		files[n++] = p->kernel;
		for (size_t i = 0; i < p->n_initrds && i < POLICY_INITRDS_MAX; i++)
			files[n++] = p->initrds[i];
	}
	for (size_t i = 0; ctx->file_exists && i < n; i++)
		if (!policy_is_url(files[i]) && !ctx->file_exists(ctx->ctx, files[i]))
			return files[i];
	return NULL;
}

/* ---- rendering: the output buffer ------------------------------------------------------- */

struct out {
	char *p;
	size_t cap, len;
	int err; /* the first failure (-ENOSPC: did not fit); the render fails */
};

__attribute__((format(printf, 2, 3)))
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len)
		o->err = -ENOSPC;
	else
		o->len += (size_t)n;
}

/* A name or a path, made one inert word (ipxe_template.h). */
static const char *clean(const char *s, char buf[IPXE_VALUE_MAX + 1])
{
	ipxe_value_sanitize(s, buf, IPXE_VALUE_MAX + 1);
	return buf;
}

/* Display text (a description): each blank-separated word sanitized, so
 * it reads as written and stays inert. */
static void put_words(struct out *o, const char *s)
{
	char word[IPXE_VALUE_MAX + 1], buf[IPXE_VALUE_MAX + 1];
	const char *sep = "";

	while (*s) {
		size_t n = strcspn(s, " ");

		if (n) {
			snprintf(word, sizeof(word), "%.*s", (int)(n < IPXE_VALUE_MAX ? n : IPXE_VALUE_MAX), s);
			put(o, "%s%s", sep, clean(word, buf));
			sep = " ";
		}
		s += n + (s[n] == ' ');
	}
}

/* Renders a parsed template at the end of o without its "#!ipxe" line:
 * the script already has one.  Through a buffer of its own, so that a
 * script that fits without that line is not refused for it. */
static void put_template(struct out *o, const struct ipxe_template *t,
			 const struct ipxe_values *vals)
{
	size_t cap = ipxe_template_render_max(t);
	char *buf = malloc(cap);
	const char *nl;
	ssize_t n;

	if (!buf) {
		o->err = o->err ? o->err : -ENOMEM;
		return;
	}
	n = ipxe_template_render(t, vals, buf, cap);
	if (n < 0) {
		o->err = o->err ? o->err : (int)n;
	} else {
		nl = strchr(buf, '\n'); /* NULL: "#!ipxe" and a blank is all of it */
		put(o, "%s", nl ? nl + 1 : "");
	}
	free(buf);
}

static struct ipxe_values render_values(const struct policy_render_ctx *ctx)
{
	struct ipxe_values v = ctx->values ? *ctx->values : (struct ipxe_values){ 0 };

	if (!v.v[IPXE_VAR_HTTP])
		v.v[IPXE_VAR_HTTP] = ctx->http_base;
	return v;
}

static int put_text_template(struct out *o, const char *text, const struct policy_render_ctx *ctx)
{
	struct ipxe_values v = render_values(ctx);
	struct ipxe_template_error e;
	struct ipxe_template *t;
	int r = ipxe_template_parse(text, strlen(text), &t, &e);

	if (r < 0)
		return r;
	put_template(o, t, &v);
	ipxe_template_free(t);
	return 0;
}

struct ipxe_template *policy_fallback_new(void)
{
	struct ipxe_template_error e;
	struct ipxe_template *t;

	return ipxe_template_parse(http_builtin_menu, strlen(http_builtin_menu), &t, &e) < 0 ?
		       NULL : t;
}

/* What a script falls back to when its profile cannot boot: the menu of
 * the built-in script (http_routes.c), local disk after 10 s. */
static void put_fallback(struct out *o, const struct policy_render_ctx *ctx)
{
	struct ipxe_values v = render_values(ctx);

	put_template(o, ctx->fallback, &v);
}

/* ---- rendering: the kinds ---------------------------------------------------------------- */

/* Where a profile's commands go: the whole script, or one section of a
 * menu (label "item-NAME"), which returns to the menu when it fails. */
struct section {
	char fail[IPXE_VALUE_MAX + 16]; /* the label "|| goto" jumps to */
	bool in_menu;
};

/* Local boot per firmware (docs/policy.md §3).  EFI: "exit 1" returns an
 * error to the boot manager, which then tries the next Boot#### entry
 * (UEFI spec §3.1.1); "exit 0" reports success and many firmwares then
 * open setup (warewulf PR#106, ipxe#601).  BIOS: sanboot of drive 0x80
 * (ipxe.org/cmd/sanboot); Debian 12's iPXE cannot sanboot a local disk on
 * EFI (that arrived in b1c13cc43, 2024), so sanboot falls back to exit 1
 * there, and on a BIOS whose disk does not boot.  refuse is an exiting
 * script too: the proxy side is what keeps iPXE from asking again. */
static void put_local(struct out *o, const struct profile *p, const struct policy_render_ctx *ctx)
{
	enum local_method m = ctx->res && ctx->res->local != LOCAL_AUTO ? ctx->res->local : p->local;

	if (m == LOCAL_AUTO)
		m = ctx->efi ? LOCAL_EXIT : LOCAL_SANBOOT;
	if (m == LOCAL_SANBOOT)
		put(o, "sanboot --no-describe --drive 0x80 || exit 1\n");
	else if (m == LOCAL_REBOOT)
		put(o, "reboot\n");
	else
		put(o, "exit 1\n");
}

static void put_url(struct out *o, const struct policy_render_ctx *ctx, const char *path)
{
	char url[3 * POLICY_PATH_MAX + 128];

	if (policy_file_url(ctx->http_base, !ctx->via_cache, path, url, sizeof(url)) < 0 &&
	    !o->err)
		o->err = -ENOSPC;
	put(o, "%s", url);
}

/* iPXE (ipxe.org/cmd/kernel, /cmd/initrd): on EFI the kernel's stub finds
 * its initrds by name, so each gets --name and the kernel line
 * initrd=NAME; on BIOS iPXE hands them over itself.  The command line is
 * the admin's, validated inert (profile_validate). */
static void put_linux(struct out *o, const struct profile *p, const struct policy_render_ctx *ctx,
		      const struct section *s)
{
	put(o, "kernel ");
	put_url(o, ctx, p->kernel);
	for (size_t i = 0; ctx->efi && i < p->n_initrds; i++)
		put(o, " initrd=initrd%zu", i);
	put(o, "%s%s || goto %s\n", p->cmdline[0] ? " " : "", p->cmdline, s->fail);
	for (size_t i = 0; i < p->n_initrds; i++) {
		put(o, "initrd --name initrd%zu ", i);
		put_url(o, ctx, p->initrds[i]);
		put(o, " || goto %s\n", s->fail);
	}
	put(o, "boot || goto %s\n", s->fail);
}

static void put_chain(struct out *o, const struct profile *p, const struct policy_render_ctx *ctx,
		      const struct section *s)
{
	put(o, "chain ");
	put_url(o, ctx, p->chain);
	put(o, " || goto %s\n", s->fail);
}

/* The admin's template, with the machine's values sanitized into it. */
static void put_script(struct out *o, const struct profile *p, const struct policy_render_ctx *ctx)
{
	int r = p->template ? put_text_template(o, p->template, ctx) : -EINVAL;

	if (r < 0 && !o->err)
		o->err = r;
}

/* After a failed kernel, initrd, boot or chain: say so, then the menu. */
static void put_failed(struct out *o, const struct profile *p, const struct policy_render_ctx *ctx,
		       const struct section *s)
{
	char name[IPXE_VALUE_MAX + 1];

	put(o, ":%s\necho bsdpd: profile %s: the boot failed, the %s menu follows\n", s->fail,
	    clean(p->name, name), s->in_menu ? "bsdpd" : "built-in");
	if (s->in_menu) {
		put(o, "sleep 3\ngoto bsdpd-menu\n");
		return;
	}
	put(o, "sleep 5\n");
	put_fallback(o, ctx);
}

static void put_missing(struct out *o, const struct profile *p, const char *file,
			const struct policy_render_ctx *ctx, const struct section *s)
{
	char name[IPXE_VALUE_MAX + 1], path[IPXE_VALUE_MAX + 1];

	put(o, "echo bsdpd: profile %s: %s is missing under the HTTP root\n", clean(p->name, name),
	    clean(file, path));
	if (s->in_menu) {
		put(o, "sleep 3\ngoto bsdpd-menu\n");
		return;
	}
	put(o, "sleep 5\n");
	put_fallback(o, ctx);
}

/* The commands of one profile that is not a menu. */
static void put_body(struct out *o, const struct profile *p, const struct policy_render_ctx *ctx,
		     const struct section *s)
{
	const char *missing = missing_file(p, ctx);

	if (missing) {
		put_missing(o, p, missing, ctx, s);
		return;
	}
	switch (p->kind) {
	case PROFILE_LOCAL: put_local(o, p, ctx); break;
	case PROFILE_LINUX: put_linux(o, p, ctx, s); break;
	case PROFILE_CHAIN: put_chain(o, p, ctx, s); break;
	case PROFILE_SCRIPT: put_script(o, p, ctx); break;
	default: put(o, "shell\n"); break;
	}
	if (p->kind == PROFILE_LINUX || p->kind == PROFILE_CHAIN)
		put_failed(o, p, ctx, s);
}

/* ---- rendering: menus ------------------------------------------------------------------------ */

/* An entry of the menu: an item that boots, or a gap that says why it
 * cannot (its profile is gone, or it is a menu itself: menus do not nest,
 * docs/policy.md §4). */
static bool item_usable(const struct profile *it)
{
	return it && it->kind != PROFILE_MENU;
}

static void put_item_line(struct out *o, const char *name, const struct profile *it)
{
	char buf[IPXE_VALUE_MAX + 1];

	if (!item_usable(it)) {
		put(o, "item --gap %s (%s)\n", clean(name, buf),
		    it ? "a menu inside a menu is not shown" : "no such profile");
		return;
	}
	put(o, "item item-%s ", clean(name, buf));
	put_words(o, it->description[0] ? it->description : name);
	put(o, "\n");
}

static void put_menu(struct out *o, const struct profile *p, const struct policy_render_ctx *ctx)
{
	const char *def = p->default_item[0] ? p->default_item : p->items[0];
	struct section s = { .in_menu = true };
	char buf[IPXE_VALUE_MAX + 1];

	put(o, ":bsdpd-menu\nmenu ");
	put_words(o, p->description[0] ? p->description : p->name);
	put(o, "\n");
	for (size_t i = 0; i < p->n_items; i++)
		put_item_line(o, p->items[i], ctx->items ? ctx->items[i] : NULL);
	put(o, "choose");
	if (p->timeout)
		put(o, " --timeout %u", p->timeout * 1000);
	put(o, " --default item-%s target && goto ${target}\n", clean(def, buf));
	/* Esc: the shell, then the menu again. */
	put(o, "shell\ngoto bsdpd-menu\n");
	for (size_t i = 0; i < p->n_items; i++) {
		const struct profile *it = ctx->items ? ctx->items[i] : NULL;

		if (!item_usable(it))
			continue;
		clean(p->items[i], buf);
		snprintf(s.fail, sizeof(s.fail), "item-%s-failed", buf);
		put(o, ":item-%s\n", buf);
		put_body(o, it, ctx, &s);
		put(o, "goto bsdpd-menu\n");
	}
}

/* "#!ipxe" and which rule chose the profile (policy_resolve). */
static void put_header(struct out *o, const struct profile *p, const struct resolution *res)
{
	char name[IPXE_VALUE_MAX + 1], group[IPXE_VALUE_MAX + 1];
	enum policy_rule rule = res ? res->rule : RULE_NONE;

	put(o, "#!ipxe\n# bsdpd: profile %s (rule %s", clean(p->name, name), policy_rule_name(rule));
	if (rule == RULE_GROUP)
		put(o, " group %s", clean(res->group, group));
	put(o, ")\n");
}

ssize_t policy_render(const struct profile *p, const struct policy_render_ctx *ctx, char *out,
		      size_t cap)
{
	struct out o = { .p = out, .cap = cap };
	struct section s = { .fail = "failed" };

	if (cap == 0)
		return -ENOSPC;
	out[0] = '\0';
	put_header(&o, p, ctx->res);
	if (p->kind == PROFILE_MENU)
		put_menu(&o, p, ctx);
	else
		put_body(&o, p, ctx, &s);
	return o.err ? o.err : (ssize_t)o.len;
}
