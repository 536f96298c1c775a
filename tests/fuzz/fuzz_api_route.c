/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the API router (bsdpd/api.c) over an in-memory
 * store that persists across inputs, so that writes meet earlier ones.
 * The input is: a method byte ('G' GET, 'H' HEAD, 'P' PUT, 'O' POST,
 * 'D' DELETE, else other), the request-target up to '\n', then the body.
 * The running daemon's side (transfers, the server's status) is a fixed
 * fake, and the bindings are the store's, so those routes run whole.
 * Besides the sanitizers it checks:
 *   - every answer has a status docs/api.md lists, never an fd;
 *   - a body is always JSON (an error has "error"), and never holds the
 *     token.  Inputs that hold it are skipped, so the store never does
 *     and a token in an answer can only have come from the server (an
 *     error echoes an unknown field the client sent);
 *   - a 405 names the allowed methods.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "bindings.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TOKEN "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456"

/* Kept for the life of the process (reachable, so not a leak). */
static struct bindings *b;
static struct api_ctx ctx;

static void fake_transfers(void *c, transfer_fn fn, void *fctx)
{
	static const struct transfer t[] = {
		{ .kind = TRANSFER_TFTP, .serial = 1, .detail = "booter\n\"", .stage = "booter",
		  .bytes = 1, .size = 2 },
		{ .kind = TRANSFER_HTTP_FILE, .serial = 2, .has_mac = true, .detail = "vmlinuz",
		  .stage = "kernel", .started_us = -1 },
	};

	(void)c;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		fn(fctx, &t[i]);
}

static void fake_server(void *c, struct api_server *out)
{
	static struct metrics m;

	(void)c;
	*out = (struct api_server){ .version = "fuzz", .metrics = &m, .proxy = "all" };
}

static const struct api_live live = { .transfers = fake_transfers, .server = fake_server };

static void open_once(void)
{
	char *err = NULL;

	if (ctx.store)
		return;
	b = bindings_open(NULL, NULL, NULL, &err);
	CHECK(b);
	ctx.store = store_open(b, NULL, &err);
	CHECK(ctx.store);
	memcpy(ctx.token, TOKEN, sizeof(TOKEN));
	ctx.bindings = b;
	ctx.live = &live;
}

static enum api_method method_of(uint8_t c)
{
	switch (c) {
	case 'G': return API_GET;
	case 'H': return API_HEAD;
	case 'P': return API_PUT;
	case 'O': return API_POST;
	case 'D': return API_DELETE;
	default: return API_OTHER;
	}
}

static void check_response(const struct http_response *rsp)
{
	static const unsigned ok[] = { 200, 201, 204, 400, 404, 405, 409, 413, 415, 422 };
	struct json_doc doc;
	struct json_parse_error err;
	bool listed = false;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		listed = listed || rsp->status == ok[i];
	CHECK(listed);
	CHECK(rsp->body != HTTP_BODY_FILE && rsp->fd == -1);
	CHECK((rsp->status == 204) == (rsp->body == HTTP_BODY_NONE));
	CHECK(rsp->status != 405 || rsp->allow_methods);
	if (rsp->body != HTTP_BODY_BUFFER)
		return;
	CHECK(!memmem(rsp->buf, rsp->buf_len, TOKEN, strlen(TOKEN)));
	CHECK(json_parse(rsp->buf, rsp->buf_len, &doc, &err) == 0);
	CHECK(rsp->status < 400 || json_get(&doc, json_root(&doc), "error"));
	json_doc_free(&doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char target[512], path[512];
	const uint8_t *nl;
	size_t tlen;
	struct http_response rsp;
	struct api_request rq = { .authorization = "Bearer " TOKEN,
				  .content_type = "application/json" };

	if (size < 1 || memmem(data, size, TOKEN, strlen(TOKEN)))
		return 0;
	open_once();
	nl = memchr(data + 1, '\n', size - 1);
	tlen = nl ? (size_t)(nl - data - 1) : size - 1;
	if (tlen >= sizeof(target) || memchr(data + 1, '\0', tlen))
		return 0;
	memcpy(target, data + 1, tlen);
	target[tlen] = '\0';
	snprintf(path, sizeof(path), "%.*s", (int)strcspn(target, "?"), target);
	rq.method = method_of(data[0]);
	rq.path = path;
	rq.query = strchr(target, '?') ? strchr(target, '?') + 1 : NULL;
	rq.body = nl ? (const char *)nl + 1 : NULL;
	rq.body_len = nl ? size - tlen - 2 : 0;
	api_route(&ctx, &rq, &rsp);
	check_response(&rsp);
	http_response_release(&rsp);
	return 0;
}
