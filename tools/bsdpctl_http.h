/* SPDX-License-Identifier: MIT */
/*
 * bsdpctl's HTTP client: the only file that includes <curl/curl.h> is
 * bsdpctl_http.c.  One request at a time, Authorization: Bearer on each.
 */
#ifndef BSDPCTL_HTTP_H
#define BSDPCTL_HTTP_H

#include <stddef.h>

#define CTL_BODY_MAX (16u << 20)   /* a reply beyond 16 MiB is refused */

struct ctl_http {
	const char *server;            /* "http://host[:port]", no trailing '/' */
	const char *token;             /* [A-Za-z0-9_-]+, checked by the caller */
	long timeout_s;                /* for request(); stream() has none */
};

struct ctl_reply {
	long status;
	char *body;                    /* NUL-terminated, malloc'd; may be "" */
	size_t len;
};

/* Once per process, before any request: 0 or -1.  ctl_http_done after. */
int ctl_http_init(void);
void ctl_http_done(void);

/* 0 with *out filled (any status), or -1 when no HTTP answer came (cannot
 * connect, timed out, reply too big), with the reason in err. */
int ctl_request(const struct ctl_http *h, const char *method, const char *path,
		const char *body, struct ctl_reply *out, char *err, size_t cap);
void ctl_reply_free(struct ctl_reply *r);

/* GET path as text/event-stream: on_bytes gets the body as it arrives
 * (returns 0 to go on, else stops).  Until the server closes: 0 with
 * *status, or -1 as for ctl_request.  A non-200 reply's body is collected
 * into *out instead. */
typedef int (*ctl_bytes_fn)(void *ctx, const char *p, size_t n);
int ctl_stream(const struct ctl_http *h, const char *path, ctl_bytes_fn on_bytes, void *ctx,
	       struct ctl_reply *out, char *err, size_t cap);

#endif
