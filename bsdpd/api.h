/* SPDX-License-Identifier: MIT */
/*
 * The JSON API under /api/v1/ (docs: the shapes in policy_json.h), as a
 * socket-free function like http_route: a request struct in, a
 * response out.  bsdpd/http.c collects the body and the headers, calls
 * api_route for every path under /api/, and serves the event stream
 * (/api/v1/events/stream, Server-Sent Events) itself after
 * api_authorized.
 *
 * Every request needs "Authorization: Bearer TOKEN" with the token of
 * STATE_DIR/api-token (api_token_load_or_create); without it the answer
 * is 401 with WWW-Authenticate: Bearer, before anything else is looked
 * at.  No response ever carries the token.
 *
 * Status codes: 200 read or replaced, 201 created, 204 deleted or
 * cleared, 400 bad body or query (field named), 401, 404, 405 (Allow),
 * 409 still in use or a tie with another group, 413 a body over
 * API_BODY_MAX, 415 a body that is not application/json, 422 a profile
 * that does not exist (field named), 500 the database failed.  Errors
 * are {"error":"message","field":"name"} (field absent when it is the
 * whole request).
 */
#ifndef BSDPD_API_H
#define BSDPD_API_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "http_routes.h"
#include "json.h"
#include "nbimage.h"
#include "store.h"

#define API_BODY_MAX JSON_PARSE_SIZE_MAX   /* 64 KiB; larger: 413 */
#define API_TOKEN_LEN 43                   /* 32 random bytes in base64url */
#define API_TOKEN_FILE "api-token"
#define API_EVENTS_LIMIT_DEFAULT 100
#define API_EVENTS_LIMIT_MAX 1000

enum api_method { API_GET, API_HEAD, API_PUT, API_POST, API_DELETE, API_OTHER };

struct api_request {
	enum api_method method;
	const char *path;              /* "/api/v1/...", without the query */
	const char *query;             /* after '?'; NULL or "" when none */
	const char *authorization;     /* header values; NULL when absent */
	const char *content_type;
	const char *body;              /* body_len bytes; NULL when none */
	size_t body_len;
	bool body_too_large;           /* more than API_BODY_MAX bytes were sent */
	time_t now;
};

struct api_ctx {
	struct store *store;
	const struct nb_catalog *catalog;  /* the current snapshot; NULL: none yet */
	char token[API_TOKEN_LEN + 1];
};

/* Answers one request; rsp needs http_response_release afterwards. */
void api_route(const struct api_ctx *ctx, const struct api_request *rq,
	       struct http_response *rsp);

/* One event as the stream /api/v1/events/stream sends it (the WHATWG
 * EventSource format): "id: N\nevent: KIND\ndata: {json}\n\n", the
 * JSON on one line as GET /api/v1/events gives it.  0 and a malloc'd
 * *out of *len bytes, or -ENOMEM. */
int api_sse_event(const struct event *e, char **out, size_t *len);

/* Whether an Authorization header value carries the token (RFC 6750
 * §2.1 "Bearer" credentials; the scheme is case-insensitive, RFC 9110
 * §11.1), compared in constant time. */
bool api_authorized(const struct api_ctx *ctx, const char *authorization);

/* Reads the token from API_TOKEN_FILE in the state directory dirfd, or
 * creates it (mode 0600, O_EXCL | O_NOFOLLOW) from 32 bytes of
 * getrandom(2) as base64url: API_TOKEN_LEN characters and a newline.
 * The file is refused when it is a symbolic link, not a regular file,
 * not ours, readable or writable by group or others, or does not hold
 * one token.  0 and the token in out (cap > API_TOKEN_LEN), or -errno
 * with err saying why, naming the file. */
int api_token_load_or_create(int dirfd, char *out, size_t cap, char *err, size_t err_cap);

#endif
