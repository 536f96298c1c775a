/* SPDX-License-Identifier: MIT */
/*
 * bsdpd/api.c over an in-memory store: authentication, the status codes
 * of docs/api.md (400 naming the field, 401, 404, 405, 409, 413, 415,
 * 422), CRUD round trips of every record, MACs with hyphens, the next
 * boot, the event filter, the catalog with its default and selections,
 * machines' last events, the stream's replay after Last-Event-ID, the
 * transfers in flight and the server's status, and the token file.
 */
#include "testlib.h"

#include <fcntl.h>

#include "api.h"
#include "bindings.h"
#include "json.h"

#define TOKEN "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456"
#define AUTH "Bearer " TOKEN

static const uint8_t MAC1[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };
static const uint8_t MAC2[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x02 };

struct fixture {
	struct bindings *b;
	struct api_ctx ctx;
	struct http_response rsp;
	struct json_doc doc;      /* the last response's body */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char *err = NULL;

	assert_non_null(f);
	f->b = bindings_open(NULL, NULL, NULL, &err);
	assert_non_null(f->b);
	f->ctx.store = store_open(f->b, NULL, &err);
	assert_non_null(f->ctx.store);
	memcpy(f->ctx.token, TOKEN, sizeof(TOKEN));
	f->rsp.fd = -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	http_response_release(&f->rsp);
	json_doc_free(&f->doc);
	store_close(f->ctx.store);
	bindings_close(f->b);
	free(f);
	return 0;
}

/* One request with the token: the status; the body (when JSON) in f->doc.
 * Every response is checked never to carry the token. */
static unsigned call_as(struct fixture *f, const char *auth, enum api_method m,
			const char *target, const char *body)
{
	char path[256];
	const char *q = strchr(target, '?');
	struct api_request rq = {
		.method = m, .path = path, .query = q ? q + 1 : NULL, .authorization = auth,
		.content_type = "application/json", .body = body,
		.body_len = body ? strlen(body) : 0, .now = 1764626400,
	};
	struct json_parse_error err;

	snprintf(path, sizeof(path), "%.*s", (int)(q ? (size_t)(q - target) : strlen(target)),
		 target);
	http_response_release(&f->rsp);
	json_doc_free(&f->doc);
	api_route(&f->ctx, &rq, &f->rsp);
	assert_int_equal(f->rsp.fd, -1);
	if (f->rsp.body == HTTP_BODY_BUFFER) {
		assert_null(memmem(f->rsp.buf, f->rsp.buf_len, TOKEN, strlen(TOKEN)));
		assert_string_equal(f->rsp.content_type, "application/json");
		assert_int_equal(json_parse(f->rsp.buf, f->rsp.buf_len, &f->doc, &err), 0);
	}
	return f->rsp.status;
}

static unsigned call(struct fixture *f, enum api_method m, const char *target, const char *body)
{
	return call_as(f, AUTH, m, target, body);
}

/* A string member of the last response body; "" when absent, "(null)" for null. */
static const char *member(struct fixture *f, const char *key)
{
	const struct json_node *v = json_get(&f->doc, json_root(&f->doc), key);
	const char *s;

	if (json_is_null(v))
		return "(null)";
	return json_string_get(v, &s, NULL) == 0 ? s : "";
}

static size_t list_len(struct fixture *f, const char *key)
{
	const struct json_node *v = json_get(&f->doc, json_root(&f->doc), key);

	assert_non_null(v);
	assert_int_equal(v->type, JSON_ARRAY);
	return v->count;
}

static void assert_error(struct fixture *f, unsigned status, unsigned want, const char *field)
{
	if (status != want)
		fail_msg("status %u, want %u: %.*s", status, want, (int)f->rsp.buf_len,
			 f->rsp.buf ? f->rsp.buf : "");
	assert_true(member(f, "error")[0] != '\0');
	assert_string_equal(member(f, "field"), field);
}

static void put_profile(struct fixture *f, const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/api/v1/profiles/%s", name);
	assert_int_equal(call(f, API_PUT, path, "{\"kind\":\"local\"}"), 201);
}

static void refuses_without_the_token(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
		NULL, "", "Bearer", "Bearer ", "Basic " TOKEN, "Bearer " TOKEN "x",
		"Bearer abcdefghijklmnopqrstuvwxyzABCDEFGHIJ012345", /* one short */
		"Bearer abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123457", /* last byte */
		"Bearer AbcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456", /* first byte */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(call_as(f, bad[i], API_GET, "/api/v1/profiles", NULL), 401);
		assert_true(f->rsp.www_authenticate);
		/* before the route is looked at: no hint of what exists */
		assert_int_equal(call_as(f, bad[i], API_GET, "/api/v1/nothing", NULL), 401);
	}
	assert_int_equal(call_as(f, "bearer  " TOKEN, API_GET, "/api/v1/profiles", NULL), 200);
	assert_false(f->rsp.www_authenticate);
	assert_true(f->rsp.no_store);
}

static void profile_round_trip(void **state)
{
	struct fixture *f = *state;
	const char *linux_body = "{\"kind\":\"linux\",\"description\":\"Debian\",\"kernel\":"
				 "\"vmlinuz\",\"initrds\":[\"initrd.img\"],\"cmdline\":"
				 "\"console=ttyS0\"}";

	assert_int_equal(call(f, API_PUT, "/api/v1/profiles/debian", linux_body), 201);
	assert_string_equal(member(f, "name"), "debian");
	assert_int_equal(call(f, API_GET, "/api/v1/profiles/debian", NULL), 200);
	assert_string_equal(member(f, "kind"), "linux");
	assert_string_equal(member(f, "kernel"), "vmlinuz");
	assert_string_equal(member(f, "cmdline"), "console=ttyS0");
	assert_int_equal(list_len(f, "initrds"), 1);
	assert_int_equal(call(f, API_PUT, "/api/v1/profiles/debian",
			      "{\"kind\":\"script\",\"template\":\"#!ipxe\\necho {{hostname}}\\n\"}"),
			 200);
	assert_string_equal(member(f, "template"), "#!ipxe\necho {{hostname}}\n");
	assert_int_equal(call(f, API_PUT, "/api/v1/profiles/menu",
			      "{\"kind\":\"menu\",\"items\":[\"debian\"],\"default\":\"debian\","
			      "\"timeout\":5}"), 201);
	assert_int_equal(call(f, API_HEAD, "/api/v1/profiles", NULL), 200);
	assert_int_equal(list_len(f, "profiles"), 2);
	assert_error(f, call(f, API_DELETE, "/api/v1/profiles/debian", NULL), 409, "");
	assert_int_equal(call(f, API_DELETE, "/api/v1/profiles/menu", NULL), 204);
	assert_int_equal(f->rsp.body, HTTP_BODY_NONE);
	assert_int_equal(call(f, API_DELETE, "/api/v1/profiles/debian", NULL), 204);
	assert_error(f, call(f, API_GET, "/api/v1/profiles/debian", NULL), 404, "");
}

static void bad_bodies_name_the_field(void **state)
{
	struct fixture *f = *state;
	static const struct { const char *body, *field; } cases[] = {
		{ "{\"kind\":\"linux\",\"kernel\":\"k\",\"colour\":\"red\"}", "colour" },
		{ "{\"kernel\":\"k\"}", "kind" },
		{ "{\"kind\":\"boot\"}", "kind" },
		{ "{\"kind\":\"linux\",\"kernel\":5}", "kernel" },
		{ "{\"kind\":\"linux\",\"kernel\":\"k\",\"initrds\":[\"a\",7]}", "initrds[1]" },
		{ "{\"kind\":\"linux\",\"kernel\":\"k\",\"cmdline\":\"x ${root}\"}", "cmdline" },
		{ "{\"kind\":\"local\",\"kernel\":\"k\"}", "kernel" },
		{ "{\"kind\":\"local\",\"local\":\"floppy\"}", "local" },
		{ "{\"kind\":\"menu\",\"items\":[\"a\"],\"timeout\":-1}", "timeout" },
		{ "{\"kind\":\"menu\",\"items\":[\"a\"],\"timeout\":1.5}", "timeout" },
		{ "{\"kind\":\"script\",\"template\":\"{{nope\"}", "template" },
		{ "{\"kind\":\"shell\",\"name\":\"other\"}", "name" },
		{ "{\"kind\":\"shell\",\"kind\":\"local\"}", "" },
		{ "[\"kind\"]", "" },
		{ "{\"kind\":\"shell\"", "" },
		{ "", "" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_error(f, call(f, API_PUT, "/api/v1/profiles/p", cases[i].body), 400,
			     cases[i].field);
	assert_error(f, call(f, API_PUT, "/api/v1/profiles/bad%20name", "{\"kind\":\"shell\"}"),
		     400, "name");
	assert_error(f, call(f, API_PUT, "/api/v1/groups/g", "{\"profile\":\"p\",\"selector\":"
			     "{\"mac_prefix\":\"52:54:zz\"}}"), 400, "selector.mac_prefix");
	assert_error(f, call(f, API_PUT, "/api/v1/groups/g", "{\"profile\":\"p\",\"selector\":"
			     "{\"vendor\":\"x\"}}"), 400, "selector.vendor");
	assert_error(f, call(f, API_PUT, "/api/v1/machines/52:54:00:aa:bb:cc",
			     "{\"labels\":{\"room\":\"1;0\"}}"), 400, "labels.room");
	assert_error(f, call(f, API_PUT, "/api/v1/machines/52:54:00:aa:bb:cc",
			     "{\"next_boot\":\"p\"}"), 400, "next_boot");
	assert_error(f, call(f, API_PUT, "/api/v1/machines/52:54:00:aa:bb",
			     "{\"profile\":\"p\"}"), 400, "mac");
}

static void missing_profiles_are_422(void **state)
{
	struct fixture *f = *state;

	assert_error(f, call(f, API_PUT, "/api/v1/machines/52:54:00:aa:bb:cc",
			     "{\"profile\":\"nope\"}"), 422, "profile");
	assert_error(f, call(f, API_PUT, "/api/v1/groups/g", "{\"profile\":\"nope\"}"), 422,
		     "profile");
	assert_error(f, call(f, API_PUT, "/api/v1/default", "{\"profile\":\"nope\"}"), 422,
		     "profile");
	assert_error(f, call(f, API_PUT, "/api/v1/profiles/m",
			     "{\"kind\":\"menu\",\"items\":[\"nope\"]}"), 422, "items[0]");
	/* nothing was half-saved */
	assert_int_equal(call(f, API_GET, "/api/v1/machines", NULL), 200);
	assert_int_equal(list_len(f, "machines"), 0);
	assert_int_equal(call(f, API_GET, "/api/v1/groups", NULL), 200);
	assert_int_equal(list_len(f, "groups"), 0);
}

static void sizes_types_paths_and_methods(void **state)
{
	struct fixture *f = *state;
	struct api_request rq = { .method = API_PUT, .path = "/api/v1/profiles/p",
				  .authorization = AUTH, .content_type = "application/json",
				  .body = "{}", .body_len = 2, .body_too_large = true };

	api_route(&f->ctx, &rq, &f->rsp);
	assert_int_equal(f->rsp.status, 413);
	http_response_release(&f->rsp);
	rq.body_too_large = false;
	rq.content_type = "text/plain";
	api_route(&f->ctx, &rq, &f->rsp);
	assert_int_equal(f->rsp.status, 415);
	http_response_release(&f->rsp);
	rq.content_type = "application/json; charset=utf-8";
	rq.body = "{\"kind\":\"shell\"}";
	rq.body_len = strlen(rq.body);
	api_route(&f->ctx, &rq, &f->rsp);
	assert_int_equal(f->rsp.status, 201);

	static const char *const missing[] = {
		"/api/v1/", "/api/v1/nothing", "/api/v1/profiles/p/x", "/api/v1/profiles/",
		"/api/v1//profiles", "/api/v1/machines/52:54:00:aa:bb:cc/x", "/api/v2/profiles",
		"/api/v1/catalog/x", "/api/v1/machines/not-a-mac", "/api/v1/profiles/p%2Fx",
		"/api/v1/profiles/p%zz", "/api/v1/profiles/p%00", "/api/v1/profiles/p%",
	};
	for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++)
		assert_error(f, call(f, API_GET, missing[i], NULL), 404,
			     strstr(missing[i], "not-a-mac") ? "mac" : "");
	assert_error(f, call(f, API_POST, "/api/v1/profiles", "{}"), 405, "");
	assert_string_equal(f->rsp.allow_methods, "GET, HEAD");
	assert_error(f, call(f, API_POST, "/api/v1/profiles/p", "{}"), 405, "");
	assert_string_equal(f->rsp.allow_methods, "GET, HEAD, PUT, DELETE");
	assert_error(f, call(f, API_DELETE, "/api/v1/catalog", NULL), 405, "");
	assert_error(f, call(f, API_POST, "/api/v1/default", "{}"), 405, "");
	assert_string_equal(f->rsp.allow_methods, "GET, HEAD, PUT, DELETE");
}

static void machine_round_trip_with_hyphens(void **state)
{
	struct fixture *f = *state;

	put_profile(f, "disk");
	put_profile(f, "install");
	assert_int_equal(call(f, API_PUT, "/api/v1/machines/52-54-00-AA-BB-CC",
			      "{\"profile\":\"disk\",\"hostname\":\"lab-101\",\"labels\":"
			      "{\"room\":\"101\"},\"local\":\"exit\"}"), 201);
	assert_string_equal(member(f, "mac"), "52:54:00:aa:bb:cc");
	assert_int_equal(call(f, API_GET, "/api/v1/machines/52:54:00:aa:bb:cc", NULL), 200);
	assert_string_equal(member(f, "hostname"), "lab-101");
	assert_string_equal(member(f, "local"), "exit");
	assert_string_equal(member(f, "next_boot"), "(null)");
	assert_int_equal(call(f, API_GET, "/api/v1/machines/52%3A54%3a00%3AAA%3Abb%3Acc", NULL),
			 200);

	assert_int_equal(call(f, API_PUT, "/api/v1/machines/52:54:00:aa:bb:cc/next-boot",
			      "{\"profile\":\"install\"}"), 200);
	assert_string_equal(member(f, "next_boot"), "install");
	/* a PUT of the machine keeps the next boot */
	assert_int_equal(call(f, API_PUT, "/api/v1/machines/52:54:00:aa:bb:cc",
			      "{\"profile\":\"disk\",\"hostname\":\"lab-102\"}"), 200);
	assert_string_equal(member(f, "hostname"), "lab-102");
	assert_string_equal(member(f, "next_boot"), "install");
	assert_error(f, call(f, API_PUT, "/api/v1/machines/52:54:00:aa:bb:cc/next-boot",
			     "{\"profile\":\"nope\"}"), 422, "profile");
	assert_error(f, call(f, API_DELETE, "/api/v1/profiles/install", NULL), 409, "");
	assert_int_equal(call(f, API_DELETE, "/api/v1/machines/52-54-00-aa-bb-cc/next-boot",
			      NULL), 204);
	assert_int_equal(call(f, API_GET, "/api/v1/machines/52:54:00:aa:bb:cc", NULL), 200);
	assert_string_equal(member(f, "next_boot"), "(null)");
	assert_int_equal(call(f, API_GET, "/api/v1/machines", NULL), 200);
	assert_int_equal(list_len(f, "machines"), 1);
	assert_int_equal(call(f, API_DELETE, "/api/v1/machines/52:54:00:aa:bb:cc", NULL), 204);
	assert_error(f, call(f, API_GET, "/api/v1/machines/52:54:00:aa:bb:cc", NULL), 404, "");
}

static void group_and_default_round_trip(void **state)
{
	struct fixture *f = *state;
	const struct json_node *sel;

	put_profile(f, "disk");
	assert_int_equal(call(f, API_PUT, "/api/v1/groups/macpros",
			      "{\"selector\":{\"mac_prefix\":\"52-54-00\",\"model\":\"MacPro*\","
			      "\"labels\":{\"room\":\"101\"}},\"profile\":\"disk\",\"priority\":10}"),
			 201);
	assert_int_equal(call(f, API_GET, "/api/v1/groups/macpros", NULL), 200);
	sel = json_get(&f->doc, json_root(&f->doc), "selector");
	assert_non_null(sel);
	assert_string_equal(json_get(&f->doc, sel, "mac_prefix")->str, "52:54:00");
	assert_string_equal(json_get(&f->doc, sel, "model")->str, "MacPro*");
	/* the same selector and priority under another name would tie */
	assert_error(f, call(f, API_PUT, "/api/v1/groups/twin",
			     "{\"selector\":{\"mac_prefix\":\"52:54:00\",\"model\":\"MacPro*\","
			     "\"labels\":{\"room\":\"101\"}},\"profile\":\"disk\",\"priority\":10}"),
		     409, "selector");
	assert_int_equal(call(f, API_PUT, "/api/v1/groups/macpros",
			      "{\"profile\":\"disk\",\"priority\":3}"), 200);
	assert_int_equal(call(f, API_GET, "/api/v1/groups", NULL), 200);
	assert_int_equal(list_len(f, "groups"), 1);
	assert_int_equal(call(f, API_DELETE, "/api/v1/groups/macpros", NULL), 204);
	assert_error(f, call(f, API_DELETE, "/api/v1/groups/macpros", NULL), 404, "");

	assert_int_equal(call(f, API_GET, "/api/v1/default", NULL), 200);
	assert_string_equal(member(f, "profile"), "(null)");
	assert_int_equal(call(f, API_PUT, "/api/v1/default", "{\"profile\":\"disk\"}"), 200);
	assert_string_equal(member(f, "profile"), "disk");
	assert_error(f, call(f, API_PUT, "/api/v1/default", "{\"profile\":\"disk\",\"x\":1}"),
		     400, "x");
	assert_error(f, call(f, API_DELETE, "/api/v1/profiles/disk", NULL), 409, "");
	/* DELETE clears the default, and the profile is free to go. */
	assert_int_equal(call(f, API_DELETE, "/api/v1/default", NULL), 204);
	assert_int_equal(call(f, API_GET, "/api/v1/default", NULL), 200);
	assert_string_equal(member(f, "profile"), "(null)");
	assert_int_equal(call(f, API_DELETE, "/api/v1/profiles/disk", NULL), 204);
}

static void add_event(struct fixture *f, const uint8_t *mac, int64_t t, enum event_kind k)
{
	struct event e = { .time_us = t * 1000000 + 123456, .kind = k, .ok = true,
			   .bytes = 42 };

	if (mac) {
		memcpy(e.mac, mac, 6);
		e.has_mac = true;
	}
	snprintf(e.detail, sizeof(e.detail), "vmlinuz");
	assert_int_equal(store_event_add(f->ctx.store, &e), 0);
}

static void events_are_filtered(void **state)
{
	struct fixture *f = *state;
	const struct json_node *e;

	add_event(f, MAC1, 1764626400, EVENT_SCRIPT);       /* 2025-12-01T22:00:00Z */
	add_event(f, MAC2, 1764626401, EVENT_TFTP);
	add_event(f, MAC1, 1764626460, EVENT_HTTP_FILE);
	add_event(f, NULL, 1764626461, EVENT_BSDP_LIST);
	assert_int_equal(call(f, API_GET, "/api/v1/events", NULL), 200);
	assert_int_equal(list_len(f, "events"), 4);
	assert_int_equal(call(f, API_GET, "/api/v1/events?mac=52-54-00-AA-BB-CC", NULL), 200);
	assert_int_equal(list_len(f, "events"), 2);
	e = json_at(&f->doc, json_get(&f->doc, json_root(&f->doc), "events"), 0);
	assert_string_equal(json_get(&f->doc, e, "time")->str, "2025-12-01T22:00:00.123456Z");
	assert_string_equal(json_get(&f->doc, e, "mac")->str, "52:54:00:aa:bb:cc");
	assert_string_equal(json_get(&f->doc, e, "kind")->str, "script");
	assert_int_equal(call(f, API_GET, "/api/v1/events?mac=52:54:00:aa:bb:cc&since="
			      "2025-12-01T22%3A00%3A30Z", NULL), 200);
	assert_int_equal(list_len(f, "events"), 1);
	assert_int_equal(call(f, API_GET, "/api/v1/events?since=2025-12-01T23:00:30%2B01:00",
			      NULL), 200);
	assert_int_equal(list_len(f, "events"), 2);
	assert_int_equal(call(f, API_GET, "/api/v1/events?limit=1", NULL), 200);
	assert_int_equal(list_len(f, "events"), 1);
	assert_error(f, call(f, API_GET, "/api/v1/events?since=yesterday", NULL), 400, "since");
	assert_error(f, call(f, API_GET, "/api/v1/events?mac=52:54", NULL), 400, "mac");
	assert_error(f, call(f, API_GET, "/api/v1/events?limit=0", NULL), 400, "limit");
	assert_error(f, call(f, API_GET, "/api/v1/events?colour=red", NULL), 400, "colour");
}

static void events_stream_format(void **state)
{
	struct event e = { .id = 7, .time_us = 1764626400123456LL, .kind = EVENT_HTTP_FILE,
			   .has_mac = true, .bytes = 10, .duration_ms = 3, .ok = true };
	char *out;
	size_t len;

	(void)state;
	memcpy(e.mac, MAC1, 6);
	snprintf(e.detail, sizeof(e.detail), "a\nb");
	assert_int_equal(api_sse_event(&e, &out, &len), 0);
	assert_int_equal(strlen(out), len);
	assert_string_equal(out, "id: 7\nevent: http-file\ndata: {\"id\":7,\"time\":"
			    "\"2025-12-01T22:00:00.123456Z\",\"mac\":\"52:54:00:aa:bb:cc\","
			    "\"kind\":\"http-file\",\"detail\":\"a\\nb\",\"rule\":\"\","
			    "\"bytes\":10,\"duration_ms\":3,\"ok\":true}\n\n");
	free(out);
}

static void catalog_lists_images_and_problems(void **state)
{
	struct fixture *f = *state;
	char i386[] = "i386", x86_64[] = "x86_64", bundle[] = "iPXE.nbi", name[] = "iPXE";
	char booter[] = "ipxe.efi", broken[] = "Broken.nbi", why[] = "no NBImageInfo.plist";
	char *archs[] = { i386, x86_64 };
	struct nb_image img = { .bundle = bundle, .name = name, .id = 0x01000065, .kind = 1,
				.enabled = true, .is_default = true, .boot_file = booter,
				.archs = { .v = archs, .n = 2 } };
	struct nb_problem problem = { .severity = NB_ERROR, .path = broken, .message = why };
	struct nb_catalog cat = { .images = &img, .n_images = 1,
				  .problems = { .v = &problem, .n = 1 } };
	const struct json_node *i;

	assert_int_equal(call(f, API_GET, "/api/v1/catalog", NULL), 200);
	assert_int_equal(list_len(f, "images"), 0);
	f->ctx.catalog = &cat;
	assert_int_equal(call(f, API_GET, "/api/v1/catalog", NULL), 200);
	assert_int_equal(list_len(f, "images"), 1);
	assert_int_equal(list_len(f, "problems"), 1);
	i = json_at(&f->doc, json_get(&f->doc, json_root(&f->doc), "images"), 0);
	assert_string_equal(json_get(&f->doc, i, "name")->str, "iPXE");
	assert_int_equal(json_get(&f->doc, i, "arch")->count, 2);
	assert_int_equal(json_get(&f->doc, i, "default")->type, JSON_TRUE);
	i = json_at(&f->doc, json_get(&f->doc, json_root(&f->doc), "problems"), 0);
	assert_string_equal(json_get(&f->doc, i, "bundle")->str, "Broken.nbi");
	assert_string_equal(json_get(&f->doc, i, "error")->str, "no NBImageInfo.plist");
	f->ctx.catalog = NULL;
}

/* A number member's value (the literal, as json_int64 reads it). */
static int64_t num(const struct json_node *v)
{
	int64_t n;

	assert_non_null(v);
	assert_int_equal(json_int64(v, &n), 0);
	return n;
}

static void catalog_has_default_and_selections(void **state)
{
	struct fixture *f = *state;
	char off[] = "Off", on[] = "On", b1[] = "Off.nbi", b2[] = "On.nbi", booter[] = "x.efi";
	struct nb_image img[2] = {
		{ .bundle = b1, .name = off, .id = 1, .enabled = false, .boot_file = booter },
		{ .bundle = b2, .name = on, .id = 2, .enabled = true, .boot_file = booter },
	};
	struct nb_catalog cat = { .images = img, .n_images = 2 };
	struct binding a = { .image_id = 2, .updated = 1764626400 },
		       b = { .image_id = 9, .updated = 1764626500 };
	const struct json_node *sel, *i;

	f->ctx.bindings = f->b;
	assert_int_equal(call(f, API_GET, "/api/v1/catalog", NULL), 200);
	assert_true(json_is_null(json_get(&f->doc, json_root(&f->doc), "default")));
	assert_int_equal(list_len(f, "selections"), 0);
	memcpy(a.mac, MAC1, 6);
	memcpy(b.mac, MAC2, 6);
	assert_int_equal(bindings_put(f->b, &a), 0);
	assert_int_equal(bindings_put(f->b, &b), 0);
	f->ctx.catalog = &cat;
	assert_int_equal(call(f, API_GET, "/api/v1/catalog", NULL), 200);
	/* the first enabled image, as BSDP offers it */
	assert_int_equal(json_get(&f->doc, json_root(&f->doc), "default")->type, JSON_NUMBER);
	assert_int_equal(num(json_get(&f->doc, json_root(&f->doc), "default")), 2);
	assert_int_equal(list_len(f, "selections"), 2);
	sel = json_get(&f->doc, json_root(&f->doc), "selections");
	i = json_at(&f->doc, sel, 0); /* the newest first */
	assert_string_equal(json_get(&f->doc, i, "mac")->str, "52:54:00:00:00:02");
	assert_int_equal(num(json_get(&f->doc, i, "image_id")), 9);
	assert_true(json_is_null(json_get(&f->doc, i, "image"))); /* gone from the catalog */
	assert_string_equal(json_get(&f->doc, i, "time")->str, "2025-12-01T22:01:40Z");
	i = json_at(&f->doc, sel, 1);
	assert_string_equal(json_get(&f->doc, i, "mac")->str, "52:54:00:aa:bb:cc");
	assert_string_equal(json_get(&f->doc, i, "image")->str, "On");
	assert_int_equal(num(json_get(&f->doc, i, "number")), 1);
	f->ctx.catalog = NULL;
}

static void machines_carry_their_last_event(void **state)
{
	struct fixture *f = *state;
	const struct json_node *m, *e;

	put_profile(f, "p");
	assert_int_equal(call(f, API_PUT, "/api/v1/machines/52:54:00:aa:bb:cc",
			      "{\"profile\":\"p\"}"), 201);
	assert_int_equal(call(f, API_PUT, "/api/v1/machines/52:54:00:00:00:02",
			      "{\"profile\":\"p\"}"), 201);
	assert_true(json_is_null(json_get(&f->doc, json_root(&f->doc), "last_event")));
	add_event(f, MAC1, 1764626400, EVENT_SCRIPT);
	add_event(f, MAC2, 1764626401, EVENT_TFTP);
	add_event(f, MAC1, 1764626460, EVENT_HTTP_FILE);
	add_event(f, NULL, 1764626461, EVENT_BSDP_LIST);
	assert_int_equal(call(f, API_GET, "/api/v1/machines", NULL), 200);
	assert_int_equal(list_len(f, "machines"), 2);
	m = json_at(&f->doc, json_get(&f->doc, json_root(&f->doc), "machines"), 0);
	e = json_get(&f->doc, m, "last_event"); /* 52:54:00:00:00:02 sorts first */
	assert_string_equal(json_get(&f->doc, e, "kind")->str, "tftp");
	m = json_at(&f->doc, json_get(&f->doc, json_root(&f->doc), "machines"), 1);
	e = json_get(&f->doc, m, "last_event");
	assert_string_equal(json_get(&f->doc, e, "kind")->str, "http-file");
	assert_string_equal(json_get(&f->doc, e, "time")->str, "2025-12-01T22:01:00.123456Z");
	assert_string_equal(json_get(&f->doc, e, "detail")->str, "vmlinuz");
	assert_string_equal(json_get(&f->doc, e, "rule")->str, "");
	assert_int_equal(json_get(&f->doc, e, "ok")->type, JSON_TRUE);
	assert_int_equal(e->count, 5);
	assert_int_equal(call(f, API_GET, "/api/v1/machines/52-54-00-aa-bb-cc", NULL), 200);
	e = json_get(&f->doc, json_root(&f->doc), "last_event");
	assert_string_equal(json_get(&f->doc, e, "kind")->str, "http-file");
}

/* The buffer the stream begins with: the events after the id. */
static void stream_replays_after_last_event_id(void **state)
{
	struct fixture *f = *state;
	static const char *const none[] = { NULL, "", "x", "-1", "1e3", "99999999999999999999" };
	struct http_response rsp;

	for (int i = 0; i < 5; i++)
		add_event(f, MAC1, 1764626400 + i, EVENT_SCRIPT);
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		api_stream_open(&f->ctx, none[i], &rsp);
		assert_true(rsp.event_stream);
		assert_int_equal(rsp.status, 200);
		assert_int_equal(rsp.body, HTTP_BODY_NONE);
		http_response_release(&rsp);
	}
	api_stream_open(&f->ctx, "3", &rsp);
	assert_int_equal(rsp.body, HTTP_BODY_BUFFER);
	assert_true(rsp.buf_len > 0);
	assert_true(strncmp(rsp.buf, "id: 4\nevent: script\ndata: {\"id\":4,", 27) == 0);
	assert_non_null(memmem(rsp.buf, rsp.buf_len, "\n\nid: 5\nevent: script\n", 22));
	assert_null(memmem(rsp.buf, rsp.buf_len, "id: 3\n", 6));
	http_response_release(&rsp);
	api_stream_open(&f->ctx, "5", &rsp); /* the newest: nothing to replay */
	assert_int_equal(rsp.body, HTTP_BODY_NONE);
	http_response_release(&rsp);
	api_stream_open(&f->ctx, "0", &rsp);
	assert_int_equal(rsp.body, HTTP_BODY_BUFFER);
	assert_true(strncmp(rsp.buf, "id: 1\n", 6) == 0);
	http_response_release(&rsp);
}

static size_t count_events(const char *buf, size_t len)
{
	size_t n = 0;

	for (const char *p = buf; (p = memmem(p, len - (size_t)(p - buf), "id: ", 4)); p += 4)
		n++;
	return n;
}

/* A client far behind gets at most API_REPLAY_MAX events and
 * API_REPLAY_BYTES, whole events, the oldest after its id first. */
static void stream_replay_is_capped(void **state)
{
	struct fixture *f = *state;
	struct event e = { .kind = EVENT_HTTP_FILE, .ok = true };
	struct http_response rsp;

	for (int i = 0; i < API_REPLAY_MAX + 100; i++)
		add_event(f, MAC1, 1764626400 + i, EVENT_SCRIPT);
	api_stream_open(&f->ctx, "0", &rsp);
	assert_int_equal(rsp.body, HTTP_BODY_BUFFER);
	assert_int_equal(count_events(rsp.buf, rsp.buf_len), API_REPLAY_MAX);
	assert_true(strncmp(rsp.buf, "id: 1\n", 6) == 0);
	http_response_release(&rsp);

	memset(e.detail, 'x', sizeof(e.detail) - 1);
	for (int i = 0; i < 200; i++) {
		e.time_us = (1764630000LL + i) * 1000000;
		assert_int_equal(store_event_add(f->ctx.store, &e), 0);
	}
	api_stream_open(&f->ctx, "600", &rsp);
	assert_int_equal(rsp.body, HTTP_BODY_BUFFER);
	assert_true(rsp.buf_len <= API_REPLAY_BYTES);
	assert_true(rsp.buf_len > API_REPLAY_BYTES - 2 * sizeof(e.detail) - 512);
	assert_true(count_events(rsp.buf, rsp.buf_len) < 200);
	assert_true(strncmp(rsp.buf, "id: 601\n", 8) == 0);
	assert_memory_equal(rsp.buf + rsp.buf_len - 2, "\n\n", 2);
	http_response_release(&rsp);
}

/* ---- the running daemon ---------------------------------------------------------------- */

static const struct transfer fake_transfers[] = {
	{ .kind = TRANSFER_TFTP, .serial = 17, .has_mac = true,
	  .mac = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc }, .ip = { 0x020012c6 },
	  .detail = "booter.efi", .stage = "booter", .bytes = 512, .size = 4096, .rate = 1024,
	  .started_us = 1764626400000000LL, .elapsed_ms = 500 },
	{ .kind = TRANSFER_HTTP_FILE, .serial = 3, .ip = { 0x030012c6 },
	  .detail = "linux/vmlinuz", .stage = "kernel", .bytes = 10, .size = 20,
	  .started_us = 1764626401500000LL, .elapsed_ms = 7 },
};

static void fake_each(void *ctx, transfer_fn fn, void *fctx)
{
	(void)ctx;
	for (size_t i = 0; i < sizeof(fake_transfers) / sizeof(fake_transfers[0]); i++)
		fn(fctx, &fake_transfers[i]);
}

static struct metrics fake_metrics;
static struct tftp_counters fake_tftp;

static void fake_server(void *ctx, struct api_server *out)
{
	(void)ctx;
	*out = (struct api_server){
		.version = "9.9", .started = 1764626400, .now = 1764626465, .bsdp = true,
		.tftp = true, .http = true, .proxy = "known", .metrics = &fake_metrics,
		.tftp_bytes_sent = 123456, .http_connections = 4, .events_streams = 2,
		.gauges = { .catalog_images = 3, .catalog_problems = 1, .machines = 7,
			    .bindings = 5, .records_queued = 9, .database_up = true },
	};
}

static const struct api_live fake_live = { .transfers = fake_each, .server = fake_server };

static const char *str_at(struct fixture *f, const struct json_node *o, const char *key)
{
	const struct json_node *v = json_get(&f->doc, o, key);

	assert_non_null(v);
	return json_is_null(v) ? "(null)" : v->str;
}

static void transfers_newest_first(void **state)
{
	struct fixture *f = *state;
	const struct json_node *t;

	assert_int_equal(call(f, API_GET, "/api/v1/transfers", NULL), 200);
	assert_int_equal(list_len(f, "transfers"), 0); /* nothing runs */
	f->ctx.live = &fake_live;
	assert_int_equal(call(f, API_GET, "/api/v1/transfers", NULL), 200);
	assert_int_equal(list_len(f, "transfers"), 2);
	t = json_at(&f->doc, json_get(&f->doc, json_root(&f->doc), "transfers"), 0);
	assert_string_equal(str_at(f, t, "id"), "http-3");
	assert_string_equal(str_at(f, t, "mac"), "(null)");
	assert_string_equal(str_at(f, t, "kind"), "http-file");
	assert_string_equal(str_at(f, t, "stage"), "kernel");
	assert_string_equal(str_at(f, t, "started"), "2025-12-01T22:00:01.500000Z");
	t = json_at(&f->doc, json_get(&f->doc, json_root(&f->doc), "transfers"), 1);
	assert_int_equal(t->count, 11);
	assert_string_equal(str_at(f, t, "id"), "tftp-17");
	assert_string_equal(str_at(f, t, "mac"), "52:54:00:aa:bb:cc");
	assert_string_equal(str_at(f, t, "ip"), "198.18.0.2");
	assert_string_equal(str_at(f, t, "kind"), "tftp");
	assert_string_equal(str_at(f, t, "detail"), "booter.efi");
	assert_string_equal(str_at(f, t, "stage"), "booter");
	assert_int_equal(num(json_get(&f->doc, t, "bytes")), 512);
	assert_int_equal(num(json_get(&f->doc, t, "size")), 4096);
	assert_int_equal(num(json_get(&f->doc, t, "rate")), 1024);
	assert_int_equal(num(json_get(&f->doc, t, "elapsed_ms")), 500);
	assert_int_equal(call(f, API_PUT, "/api/v1/transfers", "{}"), 405);
	assert_string_equal(f->rsp.allow_methods, "GET, HEAD");
	assert_int_equal(call(f, API_GET, "/api/v1/transfers/tftp-17", NULL), 404);
	f->ctx.live = NULL;
}

static int64_t counter(struct fixture *f, const char *group, const char *key)
{
	const struct json_node *c = json_get(&f->doc, json_root(&f->doc), "counters");

	return num(json_get(&f->doc, group ? json_get(&f->doc, c, group) : c, key));
}

static void server_status_shape(void **state)
{
	struct fixture *f = *state;
	const struct json_node *root, *sv, *g;

	fake_metrics = (struct metrics){ .tftp = &fake_tftp };
	fake_metrics.bsdp[METRICS_BSDP_LIST] = 11;
	fake_metrics.bsdp[METRICS_BSDP_SELECT] = 12;
	fake_metrics.proxy[METRICS_PROXY_HTTP_BOOT] = 13;
	fake_metrics.http[METRICS_ROUTE_FILE][1] = 20;  /* 2xx */
	fake_metrics.http[METRICS_ROUTE_API][4] = 2;    /* 5xx */
	fake_metrics.http[METRICS_ROUTE_SCRIPT][1] = 5;
	fake_metrics.http_bytes[METRICS_ROUTE_FILE] = 1000;
	fake_metrics.http_bytes[METRICS_ROUTE_API] = 50;
	fake_tftp = (struct tftp_counters){ .started = 4, .completed = 2, .failed = 1,
					    .client_errors = 1, .timed_out = 0, .active = 1 };
	f->ctx.live = &fake_live;
	assert_int_equal(call(f, API_GET, "/api/v1/server", NULL), 200);
	root = json_root(&f->doc);
	assert_string_equal(member(f, "version"), "9.9");
	assert_string_equal(member(f, "started"), "2025-12-01T22:00:00Z");
	assert_string_equal(member(f, "now"), "2025-12-01T22:01:05Z");
	assert_int_equal(num(json_get(&f->doc, root, "uptime_s")), 65);
	sv = json_get(&f->doc, root, "services");
	assert_int_equal(json_get(&f->doc, sv, "bsdp")->type, JSON_TRUE);
	assert_string_equal(str_at(f, sv, "proxy"), "known");
	assert_int_equal(counter(f, "bsdp", "list"), 11);
	assert_int_equal(counter(f, "bsdp", "select"), 12);
	assert_int_equal(counter(f, "bsdp", "ignored"), 0);
	assert_int_equal(counter(f, "proxy", "http_boot"), 13);
	assert_int_equal(counter(f, "tftp", "started"), 4);
	assert_int_equal(counter(f, "tftp", "failed"), 2);
	assert_int_equal(counter(f, "tftp", "bytes_sent"), 123456);
	assert_int_equal(counter(f, "tftp", "active"), 1);
	assert_int_equal(counter(f, "http", "requests"), 27);
	assert_int_equal(counter(f, "http", "bytes_sent"), 1050);
	assert_int_equal(counter(f, "http", "script"), 5);
	assert_int_equal(counter(f, "http", "file"), 20);
	assert_int_equal(counter(f, "http", "api"), 2);
	assert_int_equal(counter(f, "http", "errors_5xx"), 2);
	assert_int_equal(counter(f, "http", "connections"), 4);
	assert_int_equal(counter(f, NULL, "events_streams"), 2);
	g = json_get(&f->doc, root, "gauges");
	assert_int_equal(num(json_get(&f->doc, g, "catalog_images")), 3);
	assert_int_equal(num(json_get(&f->doc, g, "catalog_problems")), 1);
	assert_int_equal(num(json_get(&f->doc, g, "machines")), 7);
	assert_int_equal(num(json_get(&f->doc, g, "bindings")), 5);
	assert_int_equal(num(json_get(&f->doc, g, "boot_records_queued")), 9);
	assert_true(json_get(&f->doc, g, "database_up")->type == JSON_TRUE);
	f->ctx.live = NULL;
	/* Without the services: zeros, never a crash. */
	assert_int_equal(call(f, API_GET, "/api/v1/server", NULL), 200);
	assert_int_equal(counter(f, "tftp", "started"), 0);
	assert_int_equal(call(f, API_DELETE, "/api/v1/server", NULL), 405);
}

/* ---- the token file ---------------------------------------------------------------- */

static int token_at(const char *dir, char *out, char *err)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	int rc;

	assert_true(dfd >= 0);
	rc = api_token_load_or_create(dfd, out, API_TOKEN_LEN + 1, err, 160);
	close(dfd);
	return rc;
}

static void token_is_made_once_and_kept_private(void **state)
{
	char *dir = make_root(), path[PATH_MAX], tok[API_TOKEN_LEN + 1], again[API_TOKEN_LEN + 1];
	char err[160] = "";
	struct stat st;

	(void)state;
	assert_int_equal(token_at(dir, tok, err), 0);
	assert_int_equal(strlen(tok), API_TOKEN_LEN);
	assert_int_equal(strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				     "0123456789-_"), API_TOKEN_LEN);
	snprintf(path, sizeof(path), "%s/api-token", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, API_TOKEN_LEN + 1);
	assert_int_equal(token_at(dir, again, err), 0);
	assert_string_equal(tok, again);

	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(token_at(dir, again, err), -EPERM);
	assert_non_null(strstr(err, "api-token: mode 0640"));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink("/etc/hostname", path), 0);
	assert_int_equal(token_at(dir, again, err), -ELOOP);
	assert_non_null(strstr(err, "symbolic link"));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(token_at(dir, again, err), -EPERM);
	assert_non_null(strstr(err, "not a regular file"));
	assert_int_equal(rmdir(path), 0);
	write_file(path, "short\n", 6);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(token_at(dir, again, err), -EINVAL);
	assert_int_equal(unlink(path), 0);
	/* root owns what we made; another owner's file is refused */
	write_file(path, TOKEN "\n", sizeof(TOKEN));
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(token_at(dir, again, err), 0);
	assert_string_equal(again, TOKEN);
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_int_equal(token_at(dir, again, err), -EPERM);
		assert_non_null(strstr(err, "owned by uid 65534"));
	}
	remove_root(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(refuses_without_the_token, setup, teardown),
		cmocka_unit_test_setup_teardown(profile_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_bodies_name_the_field, setup, teardown),
		cmocka_unit_test_setup_teardown(missing_profiles_are_422, setup, teardown),
		cmocka_unit_test_setup_teardown(sizes_types_paths_and_methods, setup, teardown),
		cmocka_unit_test_setup_teardown(machine_round_trip_with_hyphens, setup, teardown),
		cmocka_unit_test_setup_teardown(group_and_default_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(events_are_filtered, setup, teardown),
		cmocka_unit_test_setup_teardown(catalog_lists_images_and_problems, setup, teardown),
		cmocka_unit_test_setup_teardown(catalog_has_default_and_selections, setup, teardown),
		cmocka_unit_test_setup_teardown(machines_carry_their_last_event, setup, teardown),
		cmocka_unit_test_setup_teardown(stream_replays_after_last_event_id, setup, teardown),
		cmocka_unit_test_setup_teardown(stream_replay_is_capped, setup, teardown),
		cmocka_unit_test_setup_teardown(transfers_newest_first, setup, teardown),
		cmocka_unit_test_setup_teardown(server_status_shape, setup, teardown),
		cmocka_unit_test(events_stream_format),
		cmocka_unit_test(token_is_made_once_and_kept_private),
	};

	return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}
