/* SPDX-License-Identifier: MIT */
/*
 * The dashboard's route (ui.c) without a network, from a bundle of its
 * own: 301 for /ui, index.html for /ui/, each asset with its type, ETag,
 * Cache-Control: no-cache and the security headers; 304 for a matching
 * If-None-Match; 404 for every other name (escaped, nested, dotted,
 * empty); and through http_route: only GET and HEAD, never a file of the
 * root, /uix still a file path, the API's answers with the headers too,
 * and /ui/ 404 when the daemon has no bundle.
 */
#include "testlib.h"

#include <fcntl.h>

#include "http_routes.h"
#include "ui.h"

static const unsigned char index_html[] = "<!doctype html><title>t</title>";
static const unsigned char app_js[] = "export {};\n";
static const struct ui_asset assets[] = {
	{ "app.js", "text/javascript; charset=utf-8", app_js, sizeof(app_js) - 1, "\"0123abcd\"" },
	{ "index.html", "text/html; charset=utf-8", index_html, sizeof(index_html) - 1,
	  "\"feedf00d\"" },
};
static const struct ui_bundle bundle = { assets, 2 };

static struct http_request get(const char *target)
{
	return (struct http_request){ .method = HTTP_GET, .target = target, .now = 1700000000 };
}

static void serve(const char *path, const char *inm, struct http_response *rsp)
{
	struct http_request rq = get(path);

	rq.if_none_match = inm;
	*rsp = (struct http_response){ .fd = -1 };
	ui_serve(&bundle, &rq, path, strlen(path), rsp);
}

static void dashboard_paths_are_recognised(void **state)
{
	(void)state;
	assert_true(ui_path("/ui", 3));
	assert_true(ui_path("/ui/", 4));
	assert_true(ui_path("/ui/app.js", 10));
	assert_false(ui_path("/uix", 4));
	assert_false(ui_path("/u", 2));
	assert_false(ui_path("/UI/", 4));
	assert_false(ui_path("/api/ui/", 8));
	assert_true(ui_path("/ui/x", 3)); /* the length decides, not a NUL */
}

static void ui_redirects_to_the_directory(void **state)
{
	struct http_response rsp;

	(void)state;
	serve("/ui", NULL, &rsp);
	assert_int_equal(rsp.status, 301);
	assert_string_equal(rsp.location, "/ui/");
	assert_true(rsp.security_headers);
	http_response_release(&rsp);
}

static void the_directory_is_index_html(void **state)
{
	struct http_response rsp;

	(void)state;
	serve("/ui/", NULL, &rsp);
	assert_int_equal(rsp.status, 200);
	assert_string_equal(rsp.content_type, "text/html; charset=utf-8");
	assert_int_equal(rsp.body, HTTP_BODY_STATIC);
	assert_int_equal(rsp.buf_len, sizeof(index_html) - 1);
	assert_memory_equal(rsp.static_buf, index_html, rsp.buf_len);
	assert_string_equal(rsp.etag, "\"feedf00d\"");
	assert_true(rsp.no_cache);
	assert_false(rsp.no_store);
	assert_true(rsp.security_headers);
	assert_null(rsp.buf); /* nothing to free */
	http_response_release(&rsp);
}

static void an_asset_has_its_type_and_etag(void **state)
{
	struct http_response rsp;

	(void)state;
	serve("/ui/app.js", NULL, &rsp);
	assert_int_equal(rsp.status, 200);
	assert_string_equal(rsp.content_type, "text/javascript; charset=utf-8");
	assert_string_equal(rsp.etag, "\"0123abcd\"");
	assert_memory_equal(rsp.static_buf, app_js, sizeof(app_js) - 1);
	http_response_release(&rsp);
}

static void a_matching_etag_is_304(void **state)
{
	static const char *const match[] = { "\"0123abcd\"", "W/\"0123abcd\"", "\"x\", \"0123abcd\"",
					     "*" };
	struct http_response rsp;

	(void)state;
	for (size_t i = 0; i < sizeof(match) / sizeof(match[0]); i++) {
		serve("/ui/app.js", match[i], &rsp);
		assert_int_equal(rsp.status, 304);
		assert_int_equal(rsp.body, HTTP_BODY_NONE);
		assert_string_equal(rsp.etag, "\"0123abcd\""); /* RFC 9110 §15.4.5 */
		assert_true(rsp.no_cache);
		assert_true(rsp.security_headers);
		http_response_release(&rsp);
	}
	serve("/ui/app.js", "\"feedf00d\"", &rsp); /* index.html's */
	assert_int_equal(rsp.status, 200);
	http_response_release(&rsp);
	serve("/ui/app.js", "\"0123abc\"", &rsp);
	assert_int_equal(rsp.status, 200);
	http_response_release(&rsp);
}

static void other_names_are_404(void **state)
{
	static const char *const paths[] = {
		"/ui/nothing.js", "/ui/app.js/", "/ui/app%2ejs", "/ui/%61pp.js", "/ui//app.js",
		"/ui/./app.js", "/ui/../ui/app.js", "/ui/x/app.js", "/ui/APP.JS", "/ui/app.j",
		"/ui/index.html/", "/ui/app.js\\",
	};
	struct http_response rsp;

	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		serve(paths[i], NULL, &rsp);
		assert_int_equal(rsp.status, 404);
		assert_int_equal(rsp.body, HTTP_BODY_STATIC);
		assert_true(rsp.security_headers);
		assert_string_equal(rsp.etag, "");
		http_response_release(&rsp);
	}
}

/* ---- through http_route -------------------------------------------------------------- */

struct fixture {
	char *root;
	int rootfd;
	struct ipxe_template *script;
	struct http_routes rt;
};

static void api_hook(void *ctx, const struct http_request *rq, const char *path, size_t path_len,
		     const char *query, size_t query_len, struct http_response *rsp)
{
	(void)ctx, (void)rq, (void)path, (void)path_len, (void)query, (void)query_len;
	*rsp = (struct http_response){ .status = 401, .www_authenticate = true, .fd = -1 };
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char path[PATH_MAX + 32], err[256];
	bool builtin;

	assert_non_null(f);
	f->root = make_root();
	snprintf(path, sizeof(path), "%s/ui", f->root);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/ui/app.js", f->root);
	write_file(path, "ROOT FILE", 9);
	chmod(path, 0644);
	snprintf(path, sizeof(path), "%s/uix", f->root);
	write_file(path, "UIX", 3);
	chmod(path, 0644);
	f->rootfd = open(f->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->rootfd >= 0);
	assert_int_equal(http_script_load(f->rootfd, &f->script, &builtin, err, sizeof(err)), 0);
	f->rt = (struct http_routes){ .rootfd = f->rootfd, .ui = &bundle, .script = f->script,
				      .port = 80, .hooks = { .api = api_hook } };
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	close(f->rootfd);
	ipxe_template_free(f->script);
	remove_root(f->root);
	free(f);
	return 0;
}

static void routed_the_bundle_wins_over_the_root(void **state)
{
	struct fixture *f = *state;
	struct http_request rq = get("/ui/app.js");
	struct http_response rsp;

	http_route(&f->rt, &rq, &rsp);
	assert_int_equal(rsp.status, 200);
	assert_int_equal(rsp.body, HTTP_BODY_STATIC);
	assert_memory_equal(rsp.static_buf, app_js, sizeof(app_js) - 1);
	http_response_release(&rsp);

	rq = get("/ui/app.js?v=2"); /* the query does not name another file */
	http_route(&f->rt, &rq, &rsp);
	assert_int_equal(rsp.status, 200);
	assert_int_equal(rsp.body, HTTP_BODY_STATIC);
	http_response_release(&rsp);

	rq = get("/uix");
	http_route(&f->rt, &rq, &rsp);
	assert_int_equal(rsp.status, 200);
	assert_int_equal(rsp.body, HTTP_BODY_FILE);
	assert_false(rsp.security_headers);
	http_response_release(&rsp);
}

static void routed_head_and_writes(void **state)
{
	struct fixture *f = *state;
	struct http_request rq = get("/ui/");
	struct http_response rsp;

	rq.method = HTTP_HEAD;
	http_route(&f->rt, &rq, &rsp);
	assert_int_equal(rsp.status, 200);
	assert_string_equal(rsp.etag, "\"feedf00d\"");
	http_response_release(&rsp);
	rq.method = HTTP_PUT;
	http_route(&f->rt, &rq, &rsp);
	assert_int_equal(rsp.status, 405);
	assert_true(rsp.allow);
	http_response_release(&rsp);
}

static void routed_without_a_bundle_is_404(void **state)
{
	struct fixture *f = *state;
	struct http_routes rt = f->rt;
	struct http_request rq = get("/ui/app.js");
	struct http_response rsp;

	rt.ui = NULL;
	http_route(&rt, &rq, &rsp);
	assert_int_equal(rsp.status, 404); /* and still not the root's ui/app.js */
	assert_int_equal(rsp.body, HTTP_BODY_BUFFER);
	assert_null(strstr(rsp.buf, "ROOT FILE"));
	http_response_release(&rsp);
}

static void routed_the_api_gets_the_headers_too(void **state)
{
	struct fixture *f = *state;
	struct http_request rq = get("/api/v1/profiles");
	struct http_response rsp;

	http_route(&f->rt, &rq, &rsp);
	assert_int_equal(rsp.status, 401);
	assert_true(rsp.security_headers);
	http_response_release(&rsp);
}

/* What tools/embed-assets made of bsdpd/ui/ (linked in for this test). */
static void the_embedded_bundle_holds_the_page(void **state)
{
	struct http_request rq = get("/ui/");
	struct http_response rsp = { .fd = -1 };
	bool js = false;

	(void)state;
	ui_serve(&ui_embedded, &rq, "/ui/", 4, &rsp);
	assert_int_equal(rsp.status, 200);
	assert_non_null(memmem(rsp.static_buf, rsp.buf_len, "app.js", 6));
	for (size_t i = 0; i < ui_embedded.n; i++) {
		const struct ui_asset *a = &ui_embedded.assets[i];

		assert_int_equal(strlen(a->etag), 34); /* '"' + 32 hex + '"' */
		assert_non_null(a->content_type);
		assert_true(a->len > 0);
		js |= strcmp(a->name, "app.js") == 0;
		/* No inline script or style: the CSP would refuse it. */
		if (strstr(a->name, ".html")) {
			assert_null(memmem(a->data, a->len, "<script>", 8));
			assert_null(memmem(a->data, a->len, "style=", 6));
			assert_null(memmem(a->data, a->len, "<style", 6));
		}
		/* And no markup built from strings (dom.js builds text nodes). */
		if (strstr(a->name, ".js")) {
			assert_null(memmem(a->data, a->len, ".innerHTML", 10));
			assert_null(memmem(a->data, a->len, "outerHTML", 9));
			assert_null(memmem(a->data, a->len, "insertAdjacentHTML", 18));
			assert_null(memmem(a->data, a->len, "document.write", 14));
		}
	}
	assert_true(js);
	assert_null(strstr(UI_CSP, "unsafe"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dashboard_paths_are_recognised),
		cmocka_unit_test(ui_redirects_to_the_directory),
		cmocka_unit_test(the_directory_is_index_html),
		cmocka_unit_test(an_asset_has_its_type_and_etag),
		cmocka_unit_test(a_matching_etag_is_304),
		cmocka_unit_test(other_names_are_404),
		cmocka_unit_test_setup_teardown(routed_the_bundle_wins_over_the_root, setup, teardown),
		cmocka_unit_test_setup_teardown(routed_head_and_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(routed_without_a_bundle_is_404, setup, teardown),
		cmocka_unit_test_setup_teardown(routed_the_api_gets_the_headers_too, setup, teardown),
		cmocka_unit_test(the_embedded_bundle_holds_the_page),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
