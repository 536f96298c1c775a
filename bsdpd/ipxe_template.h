/* SPDX-License-Identifier: MIT */
/*
 * The /boot.ipxe template engine.  A template is parsed once, when it is
 * loaded, into literal chunks and placeholder ids; rendering only copies.
 * So every mistake in a template (an unknown {{name}}, an unclosed "{{",
 * a NUL byte, a missing "#!ipxe" line) is reported with line:column at
 * load time and by bsdpd --check, never while a machine boots.
 *
 * Syntax: {{name}} (blanks allowed inside the braces) is replaced by a
 * value; everything else, iPXE's own ${...} included, is copied as it is.
 * "{{" always opens a placeholder; a lone '{' or '}' is literal.
 *
 * Values come from the network (the query iPXE sends, the DHCP hostname,
 * the BSDP model), so none is copied raw.  The rule, applied to every
 * value, is a whitelist: bytes in [A-Za-z0-9._:,+@/-] are kept, any other
 * byte becomes '_', a leading '-' becomes '_' (so a value cannot turn into
 * an option of the command it lands in), and a value is cut at
 * IPXE_VALUE_MAX bytes.  The set holds no blank, newline, '$', '{', '}',
 * '|', '&', ';', '#', quote or backslash, which are everything iPXE's
 * parser gives a meaning to (hci/shell.c, core/exec.c, core/settings.c
 * expand_settings): a value stays one inert word.  An absent value
 * renders as the empty string.
 */
#ifndef BSDPD_IPXE_TEMPLATE_H
#define BSDPD_IPXE_TEMPLATE_H

#include <stddef.h>
#include <sys/types.h>

enum ipxe_var {
	IPXE_VAR_MAC,      /* aa:bb:cc:dd:ee:ff, lower case */
	IPXE_VAR_IP,       /* the client's address, dotted quad */
	IPXE_VAR_UUID,     /* SMBIOS UUID, 8-4-4-4-12 lower-case hex */
	IPXE_VAR_ARCH,     /* iPXE ${buildarch}: i386, x86_64, arm64 ... */
	IPXE_VAR_PLATFORM, /* iPXE ${platform}: pcbios, efi ... */
	IPXE_VAR_HOSTNAME,
	IPXE_VAR_SERVER,   /* our address on the client's connection */
	IPXE_VAR_HTTP,     /* base URL: http://server[:port] */
	IPXE_VAR_MODEL,    /* a Mac's BSDP model, e.g. MacBookPro11,3 */
	IPXE_VAR_IMAGE,    /* the NetBoot image a Mac selected */
	IPXE_VAR_COUNT
};

#define IPXE_TEMPLATE_MAX (64 * 1024) /* bytes of template text */
#define IPXE_VALUE_MAX 255            /* bytes of one rendered value */

struct ipxe_template;

struct ipxe_template_error {
	unsigned line, column; /* 1-based; where the problem starts */
	char msg[96];
};

/* Values for one rendering; NULL means absent.  Raw: render sanitizes. */
struct ipxe_values {
	const char *v[IPXE_VAR_COUNT];
};

/* Parses n bytes of text.  0 and *out (free with ipxe_template_free), or
 * -EINVAL with *err filled, or -ENOMEM / -EFBIG. */
int ipxe_template_parse(const char *text, size_t n, struct ipxe_template **out,
			struct ipxe_template_error *err);
void ipxe_template_free(struct ipxe_template *t);

/* The most bytes ipxe_template_render can write, NUL included. */
size_t ipxe_template_render_max(const struct ipxe_template *t);
/* Renders into out (NUL-terminated); returns the length, or -ENOSPC when
 * cap is too small (out then holds nothing useful). */
ssize_t ipxe_template_render(const struct ipxe_template *t, const struct ipxe_values *vals,
			     char *out, size_t cap);

/* The sanitizing rule above, for one value: writes at most cap - 1 bytes
 * and a NUL; returns the length. */
size_t ipxe_value_sanitize(const char *in, char *out, size_t cap);
const char *ipxe_var_name(enum ipxe_var v);

#endif
