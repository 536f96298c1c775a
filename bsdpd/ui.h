/* SPDX-License-Identifier: MIT */
/*
 * The dashboard under /ui/ (docs/ui.md): the files of bsdpd/ui/, embedded
 * into the binary at build time by tools/embed-assets (so bsdpd needs no
 * install path and a lab without internet loads nothing from elsewhere),
 * answered by a socket-free route like the others in http_routes.h.
 *
 *   /ui         301 to /ui/
 *   /ui/        index.html
 *   /ui/NAME    the embedded file NAME; anything else is 404 (names are
 *               [a-z0-9.-], so no escape in a path ever names one)
 *
 * Every answer carries a strong ETag (the content's SHA-256, computed by
 * the generator), honours If-None-Match with 304, says Cache-Control:
 * no-cache (the browser revalidates, so a new bsdpd is picked up at
 * once) and sends the security headers of UI_CSP and friends.  The page
 * itself talks to bsdpd only through the JSON API, with the token.
 */
#ifndef BSDPD_UI_H
#define BSDPD_UI_H

#include <stdbool.h>
#include <stddef.h>

#include "http_routes.h"

/* What the dashboard may load: its own scripts, styles and images, and
 * connections back to the same origin (the API); nothing inline, no
 * frames, no forms posted anywhere. */
#define UI_CSP \
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

struct ui_asset {
	const char *name;              /* /ui/NAME */
	const char *content_type;
	const unsigned char *data;
	size_t len;
	const char *etag;              /* quoted, strong */
};

struct ui_bundle {
	const struct ui_asset *assets;
	size_t n;
};

/* bsdpd/ui/ as built into bsdpd (build/gen/ui_assets.c). */
extern const struct ui_bundle ui_embedded;

/* Whether a raw request path is the dashboard's: "/ui" or under "/ui/". */
bool ui_path(const char *path, size_t n);

/* Answers GET or HEAD of such a path from bundle b. */
void ui_serve(const struct ui_bundle *b, const struct http_request *rq, const char *path,
	      size_t n, struct http_response *rsp);

#endif
