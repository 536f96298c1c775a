/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the configuration file: the bytes are cut by
 * conf_parse, then the same bytes are read as a file by options_build,
 * which applies every line through the option table.  Besides the
 * sanitizers it checks:
 *   - an error has a line inside the text and a printable message;
 *   - each entry's name is [a-z0-9-], its line is inside the text and
 *     never before the previous entry's, and its value holds no control
 *     byte but tab;
 *   - options_build fails exactly with a message naming the file, and
 *     on success every option it used came from the file.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "fuzz.h"
#include "options.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t lines_in(const uint8_t *data, size_t size)
{
	size_t n = 1;

	for (size_t i = 0; i < size; i++)
		n += data[i] == '\n';
	return n;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static void check_entries(const struct conf *c, size_t lines)
{
	unsigned last = 0;

	for (size_t i = 0; i < c->n; i++) {
		const struct conf_entry *e = &c->v[i];

		CHECK(e->name[0] && strspn(e->name, "abcdefghijklmnopqrstuvwxyz0123456789-") ==
				       strlen(e->name));
		CHECK(e->line >= 1 && e->line <= lines && e->line > last);
		last = e->line;
		for (const char *p = e->value; p && *p; p++)
			CHECK(*p == '\t' || ((unsigned char)*p >= 0x20 && *p != 0x7f));
	}
}

/* The bytes as a file of their own, read the way bsdpd reads --conf. */
static void check_build(const uint8_t *data, size_t size)
{
	struct cmdline cl = { 0 };
	struct options o;
	char path[64], err[1024];
	int fd = memfd_create("fuzz_conf", MFD_CLOEXEC), r;

	CHECK(fd >= 0);
	CHECK(fchmod(fd, 0600) == 0);
	CHECK(size == 0 || write(fd, data, size) == (ssize_t)size);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	cl.conf = path;
	err[0] = '\0';
	r = options_build(&o, &cl, err, sizeof(err));
	if (r < 0) {
		CHECK(strncmp(err, path, strlen(path)) == 0);
	} else {
		for (size_t i = 0; i < o.n_used; i++)
			CHECK(o.used[i].file == path && o.used[i].line >= 1);
	}
	options_free(&o);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf c;
	struct conf_error err;
	int r = conf_parse((const char *)data, size, &c, &err);

	if (r == -EINVAL) {
		CHECK(err.line >= 1 && err.line <= lines_in(data, size));
		CHECK(err.msg[0] && printable(err.msg));
	} else {
		CHECK(r == 0);
		check_entries(&c, lines_in(data, size));
		conf_free(&c);
	}
	check_build(data, size);
	return 0;
}
