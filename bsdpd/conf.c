/* SPDX-License-Identifier: MIT */
#include "conf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

__attribute__((format(printf, 3, 4)))
static int fail(struct conf_error *err, unsigned line, const char *fmt, ...)
{
	va_list ap;

	err->line = line;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* The file as a whole cannot be read: -e, with strerror(e) in *err. */
static int fail_errno(struct conf_error *err, int e)
{
	fail(err, 0, "%s", strerror(e));
	return -e;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* Tab is a blank; every other control byte in a value is a mistake (a
 * stray CR, an editor's escape sequence) and would reach a log line. */
static bool is_control(char c)
{
	return ((unsigned char)c < 0x20 && c != '\t') || c == 0x7f;
}

static char *skip_blanks(char *s)
{
	while (is_blank(*s))
		s++;
	return s;
}

/* The start of a line that is not an option, escaped, for the message. */
static int not_an_option(struct conf_error *err, unsigned line, const char *s)
{
	char shown[48];

	log_escape(shown, sizeof(shown), s, strnlen(s, 32));
	if (s[0] == '-')
		return fail(err, line, "write the option without its leading '-': \"%s\"", shown);
	return fail(err, line, "expected NAME or NAME=VALUE, not \"%s\"", shown);
}

/* After '"': unescapes in place up to the closing quote, which becomes the
 * value's NUL; *rest is what follows it. */
static int cut_quoted(char *s, unsigned line, char **rest, struct conf_error *err)
{
	char *w = s, *r = s, shown[8];

	for (;;) {
		if (*r == '\0')
			return fail(err, line, "the quoted value has no closing '\"'");
		if (is_control(*r))
			return fail(err, line, "control character 0x%02x in the value",
				    (unsigned char)*r);
		if (*r == '"')
			break;
		if (*r == '\\') {
			r++;
			if (*r != '"' && *r != '\\')
				return fail(err, line, "unknown escape '\\%s' in a quoted value "
					    "(only \\\" and \\\\)", log_escape(shown, sizeof(shown), r,
									   *r ? 1 : 0));
		}
		*w++ = *r++;
	}
	*w = '\0';
	*rest = r + 1;
	return 0;
}

/* An unquoted value ends at the end of the line or at a '#' after a blank;
 * blanks before either are not part of it. */
static int cut_plain(char *s, unsigned line, struct conf_error *err)
{
	char *end = s;

	for (char *p = s; *p; p++) {
		if (*p == '#' && p > s && is_blank(p[-1]))
			break;
		if (is_control(*p))
			return fail(err, line, "control character 0x%02x in the value",
				    (unsigned char)*p);
		if (!is_blank(*p))
			end = p + 1;
	}
	*end = '\0';
	return 0;
}

static int cut_value(char *s, unsigned line, struct conf_entry *e, struct conf_error *err)
{
	char *rest = NULL;
	int r;

	s = skip_blanks(s);
	e->value = s;
	if (*s != '"')
		return cut_plain(s, line, err);
	e->value = s + 1;
	if ((r = cut_quoted(s + 1, line, &rest, err)) < 0)
		return r;
	rest = skip_blanks(rest);
	if (*rest != '\0' && *rest != '#')
		return fail(err, line, "text after the closing '\"' of the value");
	return 0;
}

/* A value's error names its option, as options.c's do. */
static int name_error(struct conf_error *err, const char *name)
{
	char why[sizeof(err->msg)];

	memcpy(why, err->msg, sizeof(why));
	return fail(err, err->line, "%s: %s", name, why);
}

/* One line, NUL-terminated in place: 1 with *e filled, 0 for a blank or
 * comment line, -EINVAL. */
static int parse_line(char *s, unsigned line, struct conf_entry *e, struct conf_error *err)
{
	char *name, *p, shown[CONF_NAME_MAX + 1];
	size_t n;

	name = skip_blanks(s);
	if (*name == '\0' || *name == '#')
		return 0;
	for (p = name; is_name_char(*p); p++)
		;
	n = (size_t)(p - name);
	if (n == 0 || name[0] == '-')
		return not_an_option(err, line, name);
	if (n > CONF_NAME_MAX)
		return fail(err, line, "option name longer than %d bytes", CONF_NAME_MAX);
	*e = (struct conf_entry){ .name = name, .line = line };
	p = skip_blanks(p);
	if (*p == '\0' || (*p == '#' && is_blank(p[-1]))) {
		name[n] = '\0';
		return 1;
	}
	if (*p != '=')
		return fail(err, line, "expected '=' after \"%s\"",
			    log_escape(shown, sizeof(shown), name, n));
	name[n] = '\0';
	if (cut_value(p + 1, line, e, err) < 0)
		return name_error(err, name);
	return 1;
}

/* The line [s, s + n) of the copy: checked, then cut at its newline. */
static int take_line(char *s, size_t n, unsigned line, struct conf *out, struct conf_error *err)
{
	int r;

	if (n > CONF_LINE_MAX)
		return fail(err, line, "line longer than %d bytes", CONF_LINE_MAX);
	if (memchr(s, '\0', n))
		return fail(err, line, "a NUL byte in the line");
	if (n > 0 && s[n - 1] == '\r')   /* written on Windows */
		n--;
	s[n] = '\0';
	r = parse_line(s, line, &out->v[out->n], err);
	if (r > 0)
		out->n++;
	return r < 0 ? r : 0;
}

static size_t count_lines(const char *text, size_t len)
{
	size_t n = 1;

	for (const char *p = text; (p = memchr(p, '\n', len - (size_t)(p - text))); p++)
		n++;
	return n;
}

int conf_parse(const char *text, size_t len, struct conf *out, struct conf_error *err)
{
	size_t start = 0;
	unsigned line = 1;
	int r = 0;

	*out = (struct conf){ 0 };
	out->text = malloc(len + 1);
	out->v = calloc(count_lines(text, len), sizeof(*out->v));
	if (!out->text || !out->v) {
		conf_free(out);
		return -ENOMEM;
	}
	memcpy(out->text, text, len);
	out->text[len] = '\0';
	while (r == 0 && start <= len) {
		const char *nl = memchr(out->text + start, '\n', len - start);
		size_t n = nl ? (size_t)(nl - out->text) - start : len - start;

		r = take_line(out->text + start, n, line++, out, err);
		start += n + 1;
	}
	if (r < 0)
		conf_free(out);
	return r;
}

/* The whole file, or why not; refused when someone other than its owner
 * may change what bsdpd serves. */
static int read_file(int fd, char **text, size_t *len, struct conf_error *err)
{
	struct stat st;
	size_t n = 0;
	ssize_t got;

	if (fstat(fd, &st) < 0)
		return fail_errno(err, errno);
	if (!S_ISREG(st.st_mode))
		return fail(err, 0, "not a regular file");
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return fail(err, 0, "writable by group or others (mode %04o); chmod go-w it",
			    (unsigned)(st.st_mode & 07777));
	if (st.st_size > CONF_SIZE_MAX)
		return fail(err, 0, "larger than %d bytes", CONF_SIZE_MAX);
	/* One byte more than allowed, to see a file that grew meanwhile. */
	if (!(*text = malloc(CONF_SIZE_MAX + 1)))
		return -ENOMEM;
	while ((got = read(fd, *text + n, CONF_SIZE_MAX + 1 - n)) > 0)
		n += (size_t)got;
	if (got < 0 || n > CONF_SIZE_MAX) {
		int e = got < 0 ? errno : 0;

		free(*text);
		*text = NULL;
		return e ? fail_errno(err, e) : fail(err, 0, "grew while being read");
	}
	*len = n;
	return 0;
}

int conf_read(const char *path, struct conf *out, struct conf_error *err)
{
	/* O_NONBLOCK: a FIFO at the path is refused, not waited on. */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	char *text = NULL;
	size_t len = 0;
	int r;

	*out = (struct conf){ 0 };
	if (fd < 0)
		return fail_errno(err, errno);
	r = read_file(fd, &text, &len, err);
	close(fd);
	if (r == 0)
		r = conf_parse(text, len, out, err);
	if (r == -ENOMEM)
		fail(err, 0, "out of memory");
	free(text);
	return r;
}

void conf_free(struct conf *c)
{
	free(c->text);
	free(c->v);
	*c = (struct conf){ 0 };
}
