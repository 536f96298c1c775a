/* SPDX-License-Identifier: MIT */
/*
 * The configuration file and the option table: how conf_parse cuts lines
 * (blanks, comments, quotes), how options_build layers the defaults, the
 * file and the command line, and what a SIGHUP takes from a new set
 * (options_take_live) or only names (options_needing_restart).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "conf.h"
#include "options.h"
#include "proxydhcp.h"

static struct conf parse_ok(const char *text)
{
	struct conf c;
	struct conf_error e;

	assert_int_equal(conf_parse(text, strlen(text), &c, &e), 0);
	return c;
}

static void assert_entry(const struct conf *c, size_t i, const char *name, const char *value,
			 unsigned line)
{
	assert_true(i < c->n);
	assert_string_equal(c->v[i].name, name);
	if (value)
		assert_string_equal(c->v[i].value, value);
	else
		assert_null(c->v[i].value);
	assert_int_equal(c->v[i].line, line);
}

static void lines_are_cut_like_dnsmasq(void **state)
{
	struct conf c = parse_ok("# comment\n\n  root = /srv/net boot  # images\n"
				 "no-tftp\t# flag\nhostname=\"a # b \\\"c\\\" \\\\\"\n"
				 "interface=eth1#not-a-comment\r\nempty=\nlast=1");

	(void)state;
	assert_int_equal(c.n, 6);
	assert_entry(&c, 0, "root", "/srv/net boot", 3);
	assert_entry(&c, 1, "no-tftp", NULL, 4);
	assert_entry(&c, 2, "hostname", "a # b \"c\" \\", 5);
	assert_entry(&c, 3, "interface", "eth1#not-a-comment", 6);
	assert_entry(&c, 4, "empty", "", 7);
	assert_entry(&c, 5, "last", "1", 8);
	conf_free(&c);
}

static void parse_fails_at(const char *text, size_t n, unsigned line, const char *msg)
{
	struct conf c;
	struct conf_error e;

	assert_int_equal(conf_parse(text, n, &c, &e), -EINVAL);
	assert_null(c.v);
	assert_int_equal(e.line, line);
	if (!strstr(e.msg, msg))
		fail_msg("\"%s\" does not say \"%s\"", e.msg, msg);
}

static void malformed_lines_name_their_line(void **state)
{
	static const struct {
		const char *text;
		unsigned line;
		const char *msg;
	} cases[] = {
		{ "a=1\nRoot=x", 2, "expected NAME or NAME=VALUE, not \"Root=x\"" },
		{ "--root=x", 1, "without its leading '-'" },
		{ "root x", 1, "expected '=' after \"root\"" },
		{ "no-tftp#x", 1, "expected '=' after \"no-tftp\"" },
		{ "\n\nhostname=\"x", 3, "hostname: the quoted value has no closing" },
		{ "hostname=\"x\\t\"", 1, "hostname: unknown escape '\\t'" },
		{ "hostname=\"x\\", 1, "hostname: unknown escape" },
		{ "hostname=\"x\" y", 1, "hostname: text after the closing" },
		{ "hostname=a\x7f", 1, "hostname: control character 0x7f" },
		{ "hostname=\"a\x01\"", 1, "hostname: control character 0x01" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		parse_fails_at(cases[i].text, strlen(cases[i].text), cases[i].line, cases[i].msg);
	parse_fails_at("a=1\nb=\0\n", 8, 2, "a NUL byte");
}

static void line_and_name_lengths_are_bounded(void **state)
{
	char line[CONF_LINE_MAX + 8];
	struct conf c;

	(void)state;
	memset(line, 'x', sizeof(line));
	memcpy(line, "root=", 5);
	line[CONF_LINE_MAX] = '\0';       /* exactly the limit: read */
	c = parse_ok(line);
	assert_int_equal(strlen(c.v[0].value), CONF_LINE_MAX - 5);
	conf_free(&c);
	parse_fails_at(line, CONF_LINE_MAX + 1, 1, "line longer than 4096 bytes");
	memset(line, 'a', CONF_NAME_MAX + 1);
	line[CONF_NAME_MAX + 1] = '\0';
	parse_fails_at(line, CONF_NAME_MAX + 1, 1, "option name longer than 64 bytes");
}

/* ---- options_build ------------------------------------------------------- */

/* A file holding text, as a path options_build can read. */
struct file {
	int fd;
	char path[64];
};

static void file_write(struct file *f, const char *text)
{
	f->fd = memfd_create("test_options", MFD_CLOEXEC);
	assert_true(f->fd >= 0);
	assert_int_equal(fchmod(f->fd, 0644), 0);
	assert_int_equal(write(f->fd, text, strlen(text)), (ssize_t)strlen(text));
	snprintf(f->path, sizeof(f->path), "/proc/self/fd/%d", f->fd);
}

/* The command line "bsdpd ARGS", ARGS split at blanks.  Its strings must
 * outlive the options built from it: a few live at once, in turn. */
static char **command_line(const char *args, int *argc)
{
	static char text[4][256];
	static char *argv[4][16];
	static unsigned turn;
	unsigned t = turn++ % 4;
	char *save = NULL;

	snprintf(text[t], sizeof(text[t]), "bsdpd %s", args);
	*argc = 0;
	for (char *w = strtok_r(text[t], " ", &save); w && *argc < 15; w = strtok_r(NULL, " ", &save))
		argv[t][(*argc)++] = w;
	argv[t][*argc] = NULL;
	return argv[t];
}

static int build(struct options *o, const char *text, const char *args, char *err, size_t cap)
{
	struct cmdline cl;
	struct file f;
	int argc, r;
	char **argv = command_line(args, &argc);

	file_write(&f, text);
	optind = 0;  /* getopt_long from the start again */
	assert_int_equal(cmdline_parse(&cl, argc, argv, err, cap), OPTIONS_OK);
	cl.conf = f.path;
	r = options_build(o, &cl, err, cap);
	cmdline_free(&cl);
	close(f.fd);
	return r;
}

static void the_command_line_overrides_the_file(void **state)
{
	struct options o;
	char err[512];

	(void)state;
	assert_int_equal(build(&o, "priority=5\ninterface=eth1\ninterface=eth2\ntftp-port=1069\n"
			       "no-http\n", "--priority 9 -i eth9", err, sizeof(err)), 0);
	assert_int_equal(o.cfg.priority, 9);
	assert_int_equal(o.cfg.n_interfaces, 1);
	assert_string_equal(o.cfg.interfaces[0], "eth9");
	assert_int_equal(o.cfg.tftp_port, 1069);
	assert_true(o.cfg.http_disabled);
	assert_string_equal(o.cfg.root, DEFAULT_ROOT);
	options_free(&o);
}

static void build_fails(const char *text, const char *msg)
{
	struct options o;
	char err[512];

	assert_int_equal(build(&o, text, "", err, sizeof(err)), -1);
	if (!strstr(err, msg))
		fail_msg("\"%s\" does not say \"%s\"", err, msg);
	options_free(&o);
}

static void values_are_checked_with_file_and_line(void **state)
{
	(void)state;
	build_fails("\npriority=65536", ":2: priority: must be a number from 0 to 65535");
	build_fails("tftp-max-blksize=511", ":1: tftp-max-blksize: must be a number from 512");
	build_fails("binding-expiry=x", ":1: binding-expiry: must be a number from 0 to 36500");
	build_fails("bogus", ":1: unknown option 'bogus'");
	build_fails("root", ":1: root needs a value: NAME=VALUE");
	build_fails("http-root=", ":1: http-root: needs a value");
	build_fails("foreground=1", ":1: foreground takes no value");
	build_fails("user=a\nuser=b", ":2: user given twice (first on line 1)");
	build_fails("version", ":1: version is an option of the command line only");
	build_fails("proxy-dhcp=none", ":1: proxy-dhcp: must be off, known or all");
	build_fails("boot-file=bios", ":1: boot-file: bios: expected ARCH=PATH");
	build_fails("hostname=", ":1: hostname: must be 1-63 bytes");
}

static void repeated_options_add_up(void **state)
{
	struct options o;
	char err[512];

	(void)state;
	assert_int_equal(build(&o, "interface=a\ninterface=b\nboot-file=bios=x.0\n"
			       "boot-file=efi-x64=y.efi\n", "", err, sizeof(err)), 0);
	assert_int_equal(o.cfg.n_interfaces, 2);
	assert_string_equal(o.cfg.boot_file[PROXY_ARCH_BIOS], "x.0");
	assert_string_equal(o.cfg.boot_file[PROXY_ARCH_EFI_X64], "y.efi");
	options_free(&o);
}

/* ---- SIGHUP ---------------------------------------------------------------- */

static void a_reload_takes_only_the_live_options(void **state)
{
	struct options run, next;
	char err[512], names[256];

	(void)state;
	assert_int_equal(build(&run, "priority=1\ninterface=eth1\nproxy-dhcp=known\n",
			       "--http-port 8080", err, sizeof(err)), 0);
	assert_int_equal(build(&next, "priority=2\ninterface=eth2\nproxy-dhcp=all\n"
			       "hostname=new\nboot-file=efi-x64=a.efi\ntftp-max-blksize=1400\n"
			       "quiet\nhttp-port=9\n", "--http-port 8080", err, sizeof(err)), 0);
	/* The command line's --http-port hides the file's: no change. */
	assert_int_equal(options_needing_restart(&run, &next, names, sizeof(names)), 1);
	assert_string_equal(names, "interface");
	options_take_live(&run, &next);
	assert_int_equal(run.cfg.priority, 2);
	assert_string_equal(run.cfg.hostname, "new");
	assert_ptr_equal(run.cfg.hostname, run.hostname);
	assert_int_equal(run.cfg.proxy_mode, PROXY_MODE_ALL);
	assert_string_equal(run.cfg.boot_file[PROXY_ARCH_EFI_X64], "a.efi");
	assert_int_equal(run.cfg.tftp_max_blksize, 1400);
	assert_int_equal(run.log_level, LOG_WARNING);
	assert_string_equal(run.cfg.interfaces[0], "eth1");
	assert_int_equal(run.cfg.http_port, 8080);
	options_free(&run);
}

static void proxy_dhcp_off_needs_a_restart(void **state)
{
	struct options run, next;
	char err[512], names[256];

	(void)state;
	assert_int_equal(build(&run, "proxy-dhcp=off\n", "", err, sizeof(err)), 0);
	assert_int_equal(build(&next, "proxy-dhcp=known\n", "", err, sizeof(err)), 0);
	assert_int_equal(options_needing_restart(&run, &next, names, sizeof(names)), 1);
	assert_string_equal(names, "proxy-dhcp");
	options_take_live(&run, &next);
	assert_int_equal(run.cfg.proxy_mode, PROXY_MODE_OFF);
	options_free(&run);
}

/* Two reloads in a row: the first one's text is freed, the second's
 * serves (ASan sees any use of the old one). */
static void reloads_keep_the_text_the_live_values_point_into(void **state)
{
	struct options run, next;
	char err[512];

	(void)state;
	assert_int_equal(build(&run, "boot-file=efi-x64=first.efi\n", "", err, sizeof(err)), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(build(&next, i ? "boot-file=efi-x64=third.efi\n" :
				       "boot-file=efi-x64=second.efi\n", "", err, sizeof(err)), 0);
		options_take_live(&run, &next);
	}
	assert_string_equal(run.cfg.boot_file[PROXY_ARCH_EFI_X64], "third.efi");
	options_free(&run);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lines_are_cut_like_dnsmasq),
		cmocka_unit_test(malformed_lines_name_their_line),
		cmocka_unit_test(line_and_name_lengths_are_bounded),
		cmocka_unit_test(the_command_line_overrides_the_file),
		cmocka_unit_test(values_are_checked_with_file_and_line),
		cmocka_unit_test(repeated_options_add_up),
		cmocka_unit_test(a_reload_takes_only_the_live_options),
		cmocka_unit_test(proxy_dhcp_off_needs_a_restart),
		cmocka_unit_test(reloads_keep_the_text_the_live_values_point_into),
	};

	return cmocka_run_group_tests_name("options", tests, NULL, NULL);
}
