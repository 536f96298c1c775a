/* SPDX-License-Identifier: MIT */
/*
 * The configuration file (--conf, default /etc/bsdpd.conf), in dnsmasq's
 * style: one long option a line, without its leading "--".
 *
 *     # images and the link they are served on
 *     root=/srv/netboot
 *     interface=eth1
 *     no-tftp
 *     hostname="Lab netboot"    # a value in quotes keeps blanks and '#'
 *
 * A line is blank, a comment ('#' first), NAME, or NAME=VALUE; blanks
 * around NAME, '=' and VALUE are dropped; '#' after a blank starts a
 * comment.  A quoted VALUE knows two escapes, \" and \\.  This file only
 * cuts the text into (name, value, line) entries, socket-free and
 * without knowing the options: options.c applies them through the same
 * table as the command line.
 */
#ifndef BSDPD_CONF_H
#define BSDPD_CONF_H

#include <stddef.h>

#define CONF_SIZE_MAX (1024 * 1024)   /* a file beyond this is refused */
#define CONF_LINE_MAX 4096            /* bytes in one line, without its newline */
#define CONF_NAME_MAX 64              /* longer than any option's name */

struct conf_entry {
	const char *name;
	const char *value;            /* NULL: the line gives the name only */
	unsigned line;                /* 1 for the first line */
};

struct conf {
	char *text;                   /* the file's bytes, cut into the strings below */
	struct conf_entry *v;
	size_t n;
};

struct conf_error {
	unsigned line;                /* 0: the file as a whole */
	char msg[256];                /* printable ASCII: file bytes are escaped */
};

/* Cuts len bytes of text into out's entries.  0, or -EINVAL with the first
 * malformed line in *err (then out holds nothing), or -ENOMEM. */
int conf_parse(const char *text, size_t len, struct conf *out, struct conf_error *err);
/* Reads and parses the regular file at path.  0, or a negative errno with
 * *err saying why (line 0 when the file itself cannot be read). */
int conf_read(const char *path, struct conf *out, struct conf_error *err);
void conf_free(struct conf *c);

#endif
