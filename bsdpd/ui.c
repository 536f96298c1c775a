/* SPDX-License-Identifier: MIT */
/*
 * The dashboard's route (see ui.h): a raw path in, an embedded file out.
 * The names are matched raw, before any decoding: the generator admits
 * only [a-z0-9.-] names, so an escaped or dotted-up path can never reach
 * one and is simply 404.
 */
#include "ui.h"

#include <stdio.h>
#include <string.h>

#define UI_PREFIX "/ui/"
#define UI_INDEX "index.html"

bool ui_path(const char *path, size_t n)
{
	size_t root = sizeof(UI_PREFIX) - 2; /* "/ui" */

	return n >= root && memcmp(path, UI_PREFIX, root) == 0 &&
	       (n == root || path[root] == '/');
}

static const struct ui_asset *find(const struct ui_bundle *b, const char *name, size_t n)
{
	for (size_t i = 0; i < b->n; i++)
		if (strlen(b->assets[i].name) == n && memcmp(b->assets[i].name, name, n) == 0)
			return &b->assets[i];
	return NULL;
}

static void set_static(struct http_response *rsp, unsigned status, const char *type,
		       const void *data, size_t len)
{
	rsp->status = status;
	rsp->content_type = type;
	rsp->body = HTTP_BODY_STATIC;
	rsp->static_buf = data;
	rsp->buf_len = len;
}

static void not_found(struct http_response *rsp)
{
	static const char text[] = "404 Not Found\n";

	set_static(rsp, 404, "text/plain; charset=us-ascii", text, sizeof(text) - 1);
}

/* RFC 9110 §15.4.2: the directory's own URL ends in '/', so that the
 * page's relative references (app.js, app.css) resolve beneath it. */
static void moved(struct http_response *rsp)
{
	static const char text[] = "301 Moved Permanently: /ui/\n";

	set_static(rsp, 301, "text/plain; charset=us-ascii", text, sizeof(text) - 1);
	rsp->location = UI_PREFIX;
}

void ui_serve(const struct ui_bundle *b, const struct http_request *rq, const char *path,
	      size_t n, struct http_response *rsp)
{
	size_t skip = sizeof(UI_PREFIX) - 1;
	const struct ui_asset *a;

	rsp->security_headers = true;
	rsp->no_cache = true;
	if (n < skip) {
		moved(rsp);
		return;
	}
	a = n == skip ? find(b, UI_INDEX, sizeof(UI_INDEX) - 1) : find(b, path + skip, n - skip);
	if (!a) {
		not_found(rsp);
		return;
	}
	snprintf(rsp->etag, sizeof(rsp->etag), "%s", a->etag);
	if (rq->if_none_match && http_etag_matches(rq->if_none_match, a->etag)) {
		rsp->status = 304; /* RFC 9110 §15.4.5: the validators, no body */
		return;
	}
	set_static(rsp, 200, a->content_type, a->data, a->len);
}
