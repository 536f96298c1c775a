/* SPDX-License-Identifier: MIT */
/*
 * The HTTP routes without a network: static files (200, HEAD, single
 * ranges, 416, conditional GET), the path decoding and cleaning shared
 * with TFTP, the refusals (traversal, escaped separators, NUL, devices,
 * directories, symlinks out), 405 and 503, the identity query and
 * /boot.ipxe rendered for it with hostile values.
 */
#include "testlib.h"

#include <fcntl.h>

#include "http_routes.h"
#include "tftp.h"

struct fixture {
	char *root;
	int rootfd;
	struct http_routes rt;
	struct ipxe_template *script;
	bool builtin;
};

/* A Mac the bindings know, with a hostile name and model. */
static bool client_info(void *ctx, const uint8_t *mac, struct in_addr ip,
			struct http_client_info *out)
{
	(void)ctx;
	(void)ip;
	if (!mac || mac[5] != 0x56)
		return false;
	snprintf(out->hostname, sizeof(out->hostname), "lab\nshell");
	snprintf(out->model, sizeof(out->model), "Mac ${x} || reboot");
	snprintf(out->image, sizeof(out->image), "iPXE Boot");
	return true;
}

static void put(const char *root, const char *name, const char *data, mode_t mode)
{
	char path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/%s", root, name);
	write_file(path, data, strlen(data));
	assert_int_equal(chmod(path, mode), 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char path[PATH_MAX + 16], outside[PATH_MAX], err[256];

	assert_non_null(f);
	f->root = make_root();
	snprintf(outside, sizeof(outside), "%s.outside", f->root);
	mkdir(outside, 0755);
	snprintf(path, sizeof(path), "%s/secret", outside);
	write_file(path, "CANARY", 6);
	put(f->root, "ten.bin", "0123456789", 0644);
	put(f->root, "empty.iso", "", 0644);
	put(f->root, "private", "x", 0600);
	snprintf(path, sizeof(path), "%s/dir", f->root);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/out", f->root);
	assert_int_equal(symlink(outside, path), 0);
	snprintf(path, sizeof(path), "%s/in", f->root);
	assert_int_equal(symlink("ten.bin", path), 0);
	snprintf(path, sizeof(path), "%s/fifo", f->root);
	assert_int_equal(mkfifo(path, 0644), 0);
	f->rootfd = open(f->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->rootfd >= 0);
	f->rt.rootfd = f->rootfd;
	f->rt.hooks = (struct http_hooks){ .client_info = client_info };
	f->rt.port = 8080;
	assert_int_equal(http_script_load(f->rootfd, &f->script, &f->builtin, err, sizeof(err)),
			 0);
	f->rt.script = f->script;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char outside[PATH_MAX + 16];

	snprintf(outside, sizeof(outside), "%s.outside/secret", f->root);
	remove(outside);
	snprintf(outside, sizeof(outside), "%s.outside", f->root);
	rmdir(outside);
	close(f->rootfd);
	ipxe_template_free(f->script);
	remove_root(f->root);
	free(f);
	return 0;
}

static struct http_request get(const char *target)
{
	struct http_request rq = { .method = HTTP_GET, .target = target, .now = 1700000000 };

	inet_pton(AF_INET, "192.0.2.10", &rq.client);
	inet_pton(AF_INET, "192.0.2.1", &rq.local);
	return rq;
}

static unsigned status_of(const struct fixture *f, const char *target)
{
	struct http_request rq = get(target);
	struct http_response rsp;
	unsigned s;

	http_route(&f->rt, &rq, &rsp);
	s = rsp.status;
	/* Refusals never carry a file, and always a Content-Length body. */
	if (s >= 400)
		assert_int_equal(rsp.body, HTTP_BODY_BUFFER);
	http_response_release(&rsp);
	return s;
}

static void read_body(const struct http_response *rsp, char *buf, size_t cap)
{
	ssize_t n;

	assert_int_equal(rsp->body, HTTP_BODY_FILE);
	assert_true(rsp->length < cap);
	n = pread(rsp->fd, buf, (size_t)rsp->length, (off_t)rsp->offset);
	assert_int_equal(n, (ssize_t)rsp->length);
	buf[n] = '\0';
}

/* ---- static files ---------------------------------------------------------------- */

static void a_file_is_served_whole_with_validators(void **state)
{
	struct fixture *f = *state;
	struct http_request rq = get("/ten.bin");
	struct http_response rsp;
	char body[32];

	http_route(&f->rt, &rq, &rsp);
	assert_int_equal(rsp.status, 200);
	read_body(&rsp, body, sizeof(body));
	assert_string_equal(body, "0123456789");
	assert_string_equal(rsp.content_type, "application/octet-stream");
	assert_true(rsp.accept_ranges);
	assert_int_equal(rsp.etag[0], '"');
	assert_int_equal(rsp.etag[strlen(rsp.etag) - 1], '"');
	assert_non_null(strstr(rsp.last_modified, " GMT"));
	assert_string_equal(rsp.content_range, "");
	http_response_release(&rsp);

	rq.method = HTTP_HEAD; /* same headers: MHD leaves the body out */
	http_route(&f->rt, &rq, &rsp);
	assert_int_equal(rsp.status, 200);
	assert_int_equal(rsp.length, 10);
	http_response_release(&rsp);
}

/* The stage hook sees the file of a machine that named itself, as served. */
static unsigned stage_calls;

static void stage_of(void *ctx, const uint8_t mac[6], const char *path,
		     char out[HTTP_STAGE_MAX])
{
	(void)ctx;
	stage_calls++;
	assert_int_equal(mac[5], 0x56);
	snprintf(out, HTTP_STAGE_MAX, "%s", strcmp(path, "ten.bin") == 0 ? "kernel" : "");
}

static void a_named_machines_file_gets_its_stage(void **state)
{
	struct fixture *f = *state;
	struct http_request rq = get("/ten.bin?mac=52-54-00-12-34-56");
	struct http_response rsp;

	f->rt.hooks.file_stage = stage_of;
	stage_calls = 0;
	http_route(&f->rt, &rq, &rsp);
	assert_true(rsp.served);
	assert_string_equal(rsp.served_path, "ten.bin");
	assert_string_equal(rsp.served_stage, "kernel");
	assert_int_equal(stage_calls, 1);
	http_response_release(&rsp);
	rq = get("/ten.bin"); /* nobody named: no stage asked */
	http_route(&f->rt, &rq, &rsp);
	assert_false(rsp.served);
	assert_string_equal(rsp.served_stage, "");
	http_response_release(&rsp);
	rq = get("/ten.bin?mac=52-54-00-12-34-56");
	rq.method = HTTP_HEAD; /* no file goes out */
	http_route(&f->rt, &rq, &rsp);
	assert_false(rsp.served);
	http_response_release(&rsp);
	assert_int_equal(stage_calls, 1);
	f->rt.hooks.file_stage = NULL;
}

static void a_single_range_gets_206_and_a_bad_one_416(void **state)
{
	struct fixture *f = *state;
	struct http_request rq = get("/ten.bin");
	struct http_response rsp;
	char body[32];

	rq.range = "bytes=2-4";
	http_route(&f->rt, &rq, &rsp);
	assert_int_equal(rsp.status, 206);
	read_body(&rsp, body, sizeof(body));
	assert_string_equal(body, "234");
	assert_string_equal(rsp.content_range, "bytes 2-4/10");
	http_response_release(&rsp);

	rq.range = "bytes=10-";
	http_route(&f->rt, &rq, &rsp);
	assert_int_equal(rsp.status, 416);
	assert_string_equal(rsp.content_range, "bytes */10");
	assert_int_equal(rsp.fd, -1);
	http_response_release(&rsp);

	rq.range = "bytes=0-1,4-5"; /* several: the whole file */
	http_route(&f->rt, &rq, &rsp);
	assert_int_equal(rsp.status, 200);
	assert_int_equal(rsp.length, 10);
	http_response_release(&rsp);
}

static void ranges_parse_strictly(void **state)
{
	static const struct {
		const char *range;
		uint64_t size;
		int r;
		uint64_t first, last;
	} cases[] = {
		{ "bytes=0-0", 10, 1, 0, 0 },
		{ "bytes=2-", 10, 1, 2, 9 },
		{ "bytes=3-100", 10, 1, 3, 9 },
		{ "bytes=-3", 10, 1, 7, 9 },
		{ "bytes=-30", 10, 1, 0, 9 },
		{ "BYTES= 1-2 ", 10, 1, 1, 2 },
		{ "bytes=9-9", 10, 1, 9, 9 },
		{ "bytes=10-10", 10, -ERANGE, 0, 0 },
		{ "bytes=-0", 10, -ERANGE, 0, 0 },
		{ "bytes=0-", 0, -ERANGE, 0, 0 },
		{ "bytes=-5", 0, -ERANGE, 0, 0 },
		{ "bytes=5-2", 10, 0, 0, 0 },
		{ "bytes=1-2,5-6", 10, 0, 0, 0 },
		{ "bytes=1-2x", 10, 0, 0, 0 },
		{ "bytes=-", 10, 0, 0, 0 },
		{ "bytes=", 10, 0, 0, 0 },
		{ "bytes=+1-2", 10, 0, 0, 0 },
		{ "bytes=18446744073709551616-", 10, 0, 0, 0 },
		{ "bytes=0-18446744073709551615", 10, 1, 0, 9 },
		{ "items=0-1", 10, 0, 0, 0 },
		{ NULL, 10, 0, 0, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t first = 0, last = 0;
		int r = http_range_parse(cases[i].range, cases[i].size, &first, &last);

		assert_int_equal(r, cases[i].r);
		if (r == 1) {
			assert_int_equal(first, cases[i].first);
			assert_int_equal(last, cases[i].last);
		}
	}
}

static void conditional_get_answers_304(void **state)
{
	struct fixture *f = *state;
	struct http_request rq = get("/ten.bin");
	struct http_response rsp;
	char etag[64], inm[160], lm[32];

	http_route(&f->rt, &rq, &rsp);
	snprintf(etag, sizeof(etag), "%s", rsp.etag);
	snprintf(lm, sizeof(lm), "%s", rsp.last_modified);
	http_response_release(&rsp);

	const char *matching[] = { etag, "*", inm, inm + 8 };
	snprintf(inm, sizeof(inm), "W/\"zz\", W/%s", etag);
	for (size_t i = 0; i < 4; i++) {
		rq = get("/ten.bin");
		rq.if_none_match = matching[i];
		http_route(&f->rt, &rq, &rsp);
		assert_int_equal(rsp.status, 304);
		assert_int_equal(rsp.body, HTTP_BODY_NONE);
		assert_string_equal(rsp.etag, etag);
		http_response_release(&rsp);
	}
	rq = get("/ten.bin");
	rq.if_modified_since = lm;
	http_route(&f->rt, &rq, &rsp);
	assert_int_equal(rsp.status, 304);
	http_response_release(&rsp);

	/* If-None-Match decides when present, even against a matching date. */
	rq.if_none_match = "\"other\"";
	http_route(&f->rt, &rq, &rsp);
	assert_int_equal(rsp.status, 200);
	http_response_release(&rsp);

	const char *stale[] = { "Thu, 01 Jan 1970 00:00:00 GMT", "yesterday",
				"Sunday, 06-Nov-94 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 UTC" };
	for (size_t i = 0; i < 4; i++) {
		rq = get("/ten.bin");
		rq.if_modified_since = stale[i];
		http_route(&f->rt, &rq, &rsp);
		assert_int_equal(rsp.status, 200);
		http_response_release(&rsp);
	}
}

static void content_types_follow_the_extension(void **state)
{
	(void)state;
	assert_string_equal(http_content_type("ipxe/snponly.efi"), "application/efi");
	assert_string_equal(http_content_type("a/b.EFI"), "application/efi");
	assert_string_equal(http_content_type("menu.ipxe"), "text/plain; charset=us-ascii");
	assert_string_equal(http_content_type("debian.iso"), "application/x-iso9660-image");
	assert_string_equal(http_content_type("vmlinuz"), "application/octet-stream");
	assert_string_equal(http_content_type("iPXE.nbi/i386/booter"), "application/efi");
	assert_string_equal(http_content_type("initrd.img"), "application/octet-stream");
	assert_string_equal(http_content_type("ui/index.html"), "text/html; charset=utf-8");
	assert_string_equal(http_content_type("app.js"), "text/javascript; charset=utf-8");
	assert_string_equal(http_content_type("x.json"), "application/json");
	assert_string_equal(http_content_type(".efi"), "application/octet-stream");
}

/* ---- refusals -------------------------------------------------------------------- */

static void nothing_outside_the_root_or_irregular_is_served(void **state)
{
	static const struct {
		const char *target;
		unsigned status;
	} cases[] = {
		{ "/../ten.bin", 403 },
		{ "/dir/../../x", 403 },
		{ "/%2e%2e/x", 403 },
		{ "/%2E%2E/%2e%2e/etc/passwd", 403 },
		{ "/..%2fx", 400 },
		{ "/..%2Fx", 400 },
		{ "/..%5cx", 400 },
		{ "/..\\..\\x", 403 },
		{ "/ten.bin%00.txt", 400 },
		{ "/ten%", 400 },
		{ "/ten%4", 400 },
		{ "/ten%zz", 400 },
		{ "/a%0ab", 400 },
		{ "/a\tb", 400 },
		{ "/out/secret", 403 },
		{ "/out", 403 },
		{ "/fifo", 403 },
		{ "/dir", 403 },
		{ "/dir/", 403 },
		{ "/private", 403 },
		{ "/", 404 },
		{ "//", 404 },
		{ "/.", 404 },
		{ "/./", 404 },
		{ "/..", 403 },
		{ "/nope", 404 },
		{ "/ten.bin/x", 404 },
		{ "ten.bin", 400 },
		{ "*", 400 },
		{ "http://192.0.2.1/ten.bin", 200 },
		{ "HTTP://192.0.2.1:8080/ten.bin?x", 200 },
		{ "http://192.0.2.1", 404 },
		{ "http://192.0.2.1/../ten.bin", 403 },
		{ "https://192.0.2.1/ten.bin", 400 },
		{ "ftp://192.0.2.1/ten.bin", 400 },
		{ "", 400 },
		{ "/in", 200 },
		{ "/./dir/../ten.bin", 403 },
		{ "//ten.bin?x=1", 200 },
		{ "/%74en.bin", 200 },
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned s = status_of(f, cases[i].target);

		if (s != cases[i].status)
			fail_msg("%s: %u, want %u", cases[i].target, s, cases[i].status);
	}
}

static void absolute_form_keeps_the_query(void **state)
{
	const char *path, *query;
	size_t path_len, query_len;

	(void)state;
	assert_int_equal(http_target_split("http://h?mac=1", 14, &path, &path_len, &query,
					   &query_len), 0);
	assert_int_equal(path_len, 1);
	assert_memory_equal(path, "/", 1);
	assert_int_equal(query_len, 5);
	assert_memory_equal(query, "mac=1", 5);
	assert_int_equal(http_target_split("http://h/b?q", 12, &path, &path_len, &query,
					   &query_len), 0);
	assert_int_equal(path_len, 2);
	assert_int_equal(query_len, 1);
}

static void long_targets_get_414(void **state)
{
	struct fixture *f = *state;
	char big[HTTP_TARGET_MAX + 10];

	memset(big, 'a', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(status_of(f, big), 414);
	big[TFTP_PATH_MAX + 2] = '\0'; /* decodes, but too long for the cleaner */
	assert_int_equal(status_of(f, big), 414);
}

static void other_methods_get_405_and_overload_503(void **state)
{
	struct fixture *f = *state;
	struct http_request rq = get("/ten.bin");
	struct http_response rsp;

	rq.method = HTTP_OTHER;
	http_route(&f->rt, &rq, &rsp);
	assert_int_equal(rsp.status, 405);
	assert_true(rsp.allow);
	http_response_release(&rsp);

	rq.method = HTTP_GET;
	rq.over_capacity = true;
	http_route(&f->rt, &rq, &rsp);
	assert_int_equal(rsp.status, 503);
	assert_int_equal(rsp.retry_after, HTTP_RETRY_AFTER_SECONDS);
	assert_int_equal(rsp.fd, -1);
	http_response_release(&rsp);
}

/* ---- the identity and /boot.ipxe ---------------------------------------------- */

static void the_query_is_validated_strictly(void **state)
{
	static const char good[] = "mac=52-54-00-AB-cd-56&uuid=4C4C4544-0042-3510-8048-"
				   "B4C04F4E3232&arch=x86_64&platform=efi&other=1";
	static const char colons[] = "mac=52%3A54%3A00%3Aab%3Acd%3A56";
	struct http_identity id;

	(void)state;
	http_query_identity(good, strlen(good), &id);
	assert_true(id.has_mac);
	assert_string_equal(id.mac_str, "52:54:00:ab:cd:56");
	assert_string_equal(id.uuid, "4c4c4544-0042-3510-8048-b4c04f4e3232");
	assert_string_equal(id.arch, "x86_64");
	assert_string_equal(id.platform, "efi");

	static const char *const bad[] = {
		"mac=52-54-00-ab-cd", "mac=52:54-00:ab:cd:56", "mac=52-54-00-ab-cd-56-", "mac=",
		"mac", "mac=52-54-00-ab-cd-5g", "mac=52%2d54-00-ab-cd-56x",
		"mac=52-54-00-ab-cd-56&mac=52-54-00-ab-cd-57", "mac=52-54-00-ab-cd-56%0a",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		http_query_identity(bad[i], strlen(bad[i]), &id);
		assert_false(id.has_mac);
		assert_string_equal(id.mac_str, "");
	}
	static const char *const odd[] = {
		"uuid=4c4c4544-0042-3510-8048-b4c04f4e323", "uuid=4c4c4544x0042-3510-8048-b4c04f4e3232",
		"arch=X86_64", "arch=x86%2064", "arch=aaaaaaaaaaaaaaaaa", "platform=efi%0ashell",
		"platform=${platform}", "platform=efi&platform=efi", "uuid=&arch=&platform=",
	};
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		http_query_identity(odd[i], strlen(odd[i]), &id);
		assert_string_equal(id.uuid, "");
		assert_string_equal(id.arch, "");
		assert_string_equal(id.platform, "");
	}
	http_query_identity(colons, strlen(colons), &id);
	assert_string_equal(id.mac_str, "52:54:00:ab:cd:56");
}

static char *script_for(const struct fixture *f, const char *target)
{
	struct http_request rq = get(target);
	struct http_response rsp;
	char *text;

	http_route(&f->rt, &rq, &rsp);
	assert_int_equal(rsp.status, 200);
	assert_int_equal(rsp.body, HTTP_BODY_BUFFER);
	assert_true(rsp.no_store);
	assert_string_equal(rsp.content_type, "text/plain; charset=us-ascii");
	text = strndup(rsp.buf, rsp.buf_len);
	http_response_release(&rsp);
	return text;
}

static void the_builtin_script_shows_the_identity(void **state)
{
	struct fixture *f = *state;
	char *s = script_for(f, "/boot.ipxe?mac=52-54-00-12-34-56&uuid=&arch=x86_64"
				"&platform=efi");

	assert_true(f->builtin);
	assert_memory_equal(s, "#!ipxe\n", 7);
	assert_non_null(strstr(s, "mac 52:54:00:12:34:56  ip 192.0.2.10  hostname lab_shell\n"));
	assert_non_null(strstr(s, "uuid   arch x86_64  platform efi\n"));
	assert_non_null(strstr(s, "model Mac___x_____reboot  image iPXE_Boot\n"));
	assert_non_null(strstr(s, "menu bsdpd http://192.0.2.1:8080\n"));
	assert_non_null(strstr(s, "goto local-${platform} || exit 1\n"));
	free(s);
}

static void hostile_queries_are_not_echoed(void **state)
{
	struct fixture *f = *state;
	char *s = script_for(f, "/boot.ipxe?mac=52-54-00-12-34-56%0ashell&arch=x86_64%20||"
				"%20shell&platform=${x}&uuid=%22");

	assert_non_null(strstr(s, "mac   ip 192.0.2.10  hostname \n"));
	assert_non_null(strstr(s, "uuid   arch   platform \n"));
	assert_null(strstr(s, "|| shell"));
	free(s);
}

static void a_template_in_the_root_is_rendered_or_reported(void **state)
{
	struct fixture *f = *state;
	struct ipxe_template *t = NULL;
	char err[256], *s;
	bool builtin;

	put(f->root, "boot.ipxe", "#!ipxe\nchain {{http}}/k?h={{hostname}}&m=${mac}\n", 0644);
	assert_int_equal(http_script_load(f->rootfd, &t, &builtin, err, sizeof(err)), 0);
	assert_false(builtin);
	f->rt.script = t;
	s = script_for(f, "/boot.ipxe?mac=52:54:00:12:34:56");
	assert_string_equal(s, "#!ipxe\nchain http://192.0.2.1:8080/k?h=lab_shell&m=${mac}\n");
	free(s);
	s = script_for(f, "//./%62oot.ipxe"); /* any spelling: rendered, never sent raw */
	assert_string_equal(s, "#!ipxe\nchain http://192.0.2.1:8080/k?h=&m=${mac}\n");
	free(s);
	f->rt.script = f->script;
	ipxe_template_free(t);

	put(f->root, "boot.ipxe", "#!ipxe\necho\n  kernel {{kernel}}\n", 0644);
	assert_int_equal(http_script_load(f->rootfd, &t, &builtin, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "boot.ipxe:3:12: unknown placeholder {{kernel}}");

	put(f->root, "boot.ipxe", "#!ipxe\n", 0600);
	assert_int_equal(http_script_load(f->rootfd, &t, &builtin, err, sizeof(err)),
			 -EACCES);
	assert_non_null(strstr(err, "boot.ipxe in the HTTP root"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_file_is_served_whole_with_validators),
		cmocka_unit_test(a_named_machines_file_gets_its_stage),
		cmocka_unit_test(a_single_range_gets_206_and_a_bad_one_416),
		cmocka_unit_test(ranges_parse_strictly),
		cmocka_unit_test(conditional_get_answers_304),
		cmocka_unit_test(content_types_follow_the_extension),
		cmocka_unit_test(nothing_outside_the_root_or_irregular_is_served),
		cmocka_unit_test(absolute_form_keeps_the_query),
		cmocka_unit_test(long_targets_get_414),
		cmocka_unit_test(other_methods_get_405_and_overload_503),
		cmocka_unit_test(the_query_is_validated_strictly),
		cmocka_unit_test(the_builtin_script_shows_the_identity),
		cmocka_unit_test(hostile_queries_are_not_echoed),
		cmocka_unit_test(a_template_in_the_root_is_rendered_or_reported),
	};

	return cmocka_run_group_tests_name("http routes", tests, setup, teardown);
}
