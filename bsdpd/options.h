/* SPDX-License-Identifier: MIT */
/*
 * bsdpd's options: one table for the command line (getopt_long) and the
 * configuration file (conf.h), so every long option is a key of the file
 * and both check a value the same way.  The command line overrides the
 * file: an option given there makes the file's lines of that option
 * count for nothing.  Errors name the option, and the file and line.
 *
 * On SIGHUP main.c builds a new set aside (options_build) and takes from
 * it only what is safe to change while serving (options_take_live); the
 * options that need new sockets, another user or other directories are
 * named, not applied (options_needing_restart).
 */
#ifndef BSDPD_OPTIONS_H
#define BSDPD_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "conf.h"
#include "policy.h"
#include "server.h"

#define BSDPD_VERSION "0.1.0"
#define DEFAULT_ROOT "/srv/netboot"
#define DEFAULT_STATE_DIR "/var/lib/bsdpd"
#define DEFAULT_CONF "/etc/bsdpd.conf"   /* read when present and no --conf */
#define HOSTNAME_MAX 63                  /* the DHCP sname field, less its NUL */

/* One option as given, in order. */
struct option_use {
	unsigned id;                 /* its row in the option table */
	const char *value;           /* NULL for an option that takes none */
	const char *file;            /* NULL: the command line */
	unsigned line;               /* in file */
};

/* The command line, parsed once and applied over the file at every build. */
struct cmdline {
	struct option_use *v;        /* values point into argv */
	size_t n;
	const char *conf;            /* --conf FILE; NULL: DEFAULT_CONF if it exists */
};

struct options {
	struct bsdpd_config cfg;
	bool foreground;
	bool check;
	const char *user;
	char http_base[POLICY_HTTP_BASE_MAX]; /* --http-base, normalized; "" none */
	int log_level;
	char hostname[HOSTNAME_MAX + 1]; /* cfg.hostname points here */
	const char *conf;            /* the file read; NULL: none */
	struct conf file;            /* its text, which its values point into */
	struct conf live;            /* the text of the file the live values came from */
	struct option_use *used;     /* what counted: the file's lines, then the command line */
	size_t n_used;
};

enum options_result { OPTIONS_OK, OPTIONS_HELP, OPTIONS_VERSION, OPTIONS_ERROR };

extern const char options_usage[];

/* OPTIONS_ERROR with the reason in err (empty when getopt printed it). */
enum options_result cmdline_parse(struct cmdline *cl, int argc, char **argv, char *err,
				  size_t cap);
void cmdline_free(struct cmdline *cl);

/* The defaults, then the file, then the command line.  0, or -1 with
 * "FILE:LINE: NAME: why" or "--NAME: why" in err. */
int options_build(struct options *o, const struct cmdline *cl, char *err, size_t cap);
void options_free(struct options *o);
/* For --check: each option that counted, "  NAME=VALUE  (FILE:LINE)" or
 * "(command line)", in the order applied. */
void options_print(const struct options *o, FILE *out);

/* The options that differ between what runs and next and cannot change
 * without a restart: their names, comma-separated, in names; the count. */
size_t options_needing_restart(const struct options *running, const struct options *next,
			       char *names, size_t cap);
/* Takes next's live values (log level, priority, hostname, proxyDHCP
 * mode, boot files, TFTP block size and per-client limit) into running,
 * with the text they point into, and frees next. */
void options_take_live(struct options *running, struct options *next);

#endif
