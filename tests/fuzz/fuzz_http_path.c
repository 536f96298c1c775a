/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for what an HTTP client controls before a file is
 * opened: the request-target (path decoding, the TFTP path cleaner, the
 * /boot.ipxe query), and the Range, If-None-Match and If-Range headers.
 * The input is target '\n' range '\n' if-none-match '\n' if-range.  Besides
 * the sanitizers it checks:
 *   - a resolved path is relative, at most TFTP_PATH_MAX bytes, with no
 *     "", "." or ".." component, no backslash, no control byte;
 *   - every answer is a status with a body, or an fd for the root's one
 *     file (FILE_NAME, whose range lies inside it), and a refusal always
 *     has a body;
 *   - the identity from a query is either absent or well-formed;
 *   - a satisfiable range lies inside the file;
 *   - the dashboard (a bundle of one page here) answers only under /ui.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http_routes.h"
#include "tftp.h"
#include "ui.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The root's one file, so that ranges and validators reach file_body. */
#define FILE_NAME "ten.bin"
#define FILE_SIZE 10
static char root_dir[] = "/tmp/fuzz_http_path-XXXXXX";

static void remove_root(void)
{
	char path[sizeof(root_dir) + sizeof(FILE_NAME) + 1];

	snprintf(path, sizeof(path), "%s/%s", root_dir, FILE_NAME);
	unlink(path);
	rmdir(root_dir);
}

static int open_root(void)
{
	char path[sizeof(root_dir) + sizeof(FILE_NAME) + 1];
	FILE *f;
	int fd;

	CHECK(mkdtemp(root_dir));
	atexit(remove_root);
	snprintf(path, sizeof(path), "%s/%s", root_dir, FILE_NAME);
	CHECK((f = fopen(path, "w")) && fputs("0123456789", f) >= 0 && fclose(f) == 0);
	CHECK(chmod(path, 0644) == 0);
	CHECK((fd = open(root_dir, O_PATH | O_DIRECTORY)) >= 0);
	return fd;
}

static void check_answer(const struct http_response *rsp)
{
	CHECK(rsp->status >= 200 && rsp->status < 600);
	if (rsp->status >= 400)
		CHECK(((rsp->body == HTTP_BODY_BUFFER && rsp->no_store) ||
		       rsp->body == HTTP_BODY_STATIC) && rsp->buf_len > 0);
	if (rsp->body != HTTP_BODY_FILE) {
		CHECK(rsp->fd == -1);
		return;
	}
	CHECK(rsp->fd >= 0 && (rsp->status == 200 || rsp->status == 206));
	CHECK(rsp->offset <= FILE_SIZE && rsp->length <= FILE_SIZE - rsp->offset);
	CHECK(rsp->status == 206 || rsp->length == FILE_SIZE);
	CHECK(rsp->max_age > 0 && !rsp->no_store);
}

static void check_component(const char *c, size_t n)
{
	CHECK(n > 0);
	CHECK(!(n == 1 && c[0] == '.'));
	CHECK(!(n == 2 && c[0] == '.' && c[1] == '.'));
}

static void check_resolved(const char *target)
{
	char path[TFTP_PATH_MAX + 1];
	size_t raw = strcspn(target, "?"), start = 0;
	ssize_t n = http_path_resolve(target, raw, path, sizeof(path));

	if (n < 0) {
		CHECK(n == -EINVAL || n == -EACCES || n == -ENOENT || n == -ENAMETOOLONG);
		return;
	}
	CHECK((size_t)n == strlen(path) && n > 0 && path[0] != '/');
	for (size_t i = 0; i <= (size_t)n; i++) {
		CHECK(i == (size_t)n || ((unsigned char)path[i] >= 0x20 && path[i] != 0x7f &&
					 path[i] != '\\'));
		if (i == (size_t)n || path[i] == '/') {
			check_component(path + start, i - start);
			start = i + 1;
		}
	}
}

static void check_word(const char *s, const char *allowed, size_t max)
{
	size_t n = strlen(s);

	CHECK(n <= max && strspn(s, allowed) == n);
}

static void check_identity(const char *target)
{
	const char *q = strchr(target, '?');
	struct http_identity id;

	if (!q)
		return;
	http_query_identity(q + 1, strlen(q + 1), &id);
	CHECK(id.has_mac ? strlen(id.mac_str) == 17 : id.mac_str[0] == '\0');
	check_word(id.mac_str, "0123456789abcdef:", 17);
	CHECK(id.uuid[0] == '\0' || strlen(id.uuid) == 36);
	check_word(id.uuid, "0123456789abcdef-", 36);
	check_word(id.arch, "abcdefghijklmnopqrstuvwxyz0123456789_", 16);
	check_word(id.platform, "abcdefghijklmnopqrstuvwxyz0123456789_", 16);
}

static void check_range(const char *range, uint64_t size)
{
	uint64_t first = 0, last = 0;
	int r = http_range_parse(range, size, &first, &last);

	CHECK(r == 0 || r == 1 || r == -ERANGE);
	if (r == 1)
		CHECK(first <= last && last < size);
}

static const unsigned char page[] = "<!doctype html>";
static const struct ui_asset assets[] = {
	{ "index.html", "text/html; charset=utf-8", page, sizeof(page) - 1, "\"00ff\"" },
};
static const struct ui_bundle bundle = { assets, 1 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ipxe_template *script;
	static int rootfd = -1;
	char *text = malloc(size + 1), *range = NULL, *inm = NULL, *ir = NULL, *nl;
	struct http_routes rt = { .port = 80, .ui = &bundle };
	struct http_request rq = { .method = HTTP_GET };
	struct http_response rsp;
	char err[128];
	bool builtin;

	if (!text)
		return 0;
	if (rootfd < 0) {
		rootfd = open_root();
		CHECK(http_script_load(rootfd, &script, &builtin, err, sizeof(err)) == 0);
	}
	memcpy(text, data, size);
	text[size] = '\0';
	if ((nl = strchr(text, '\n'))) {
		*nl = '\0';
		range = nl + 1;
		if ((nl = strchr(range, '\n'))) {
			*nl = '\0';
			inm = nl + 1;
			if ((nl = strchr(inm, '\n'))) {
				*nl = '\0';
				ir = nl + 1;
			}
		}
	}
	rt.rootfd = rootfd;
	rt.script = script;
	rq.target = text;
	rq.range = range;
	rq.if_none_match = inm;
	rq.if_range = ir;
	rq.now = 2000000000;
	http_route(&rt, &rq, &rsp);
	check_answer(&rsp);
	/* The dashboard's page comes only from under /ui, with its headers. */
	if (rsp.body == HTTP_BODY_STATIC && rsp.status == 200)
		CHECK(rsp.static_buf == page && rsp.security_headers &&
		      (strncmp(text, "/ui", 3) == 0 || strncasecmp(text, "http://", 7) == 0));
	http_response_release(&rsp);
	check_resolved(text);
	check_identity(text);
	check_range(range, size);
	check_range(range, 0);
	free(text);
	return 0;
}
