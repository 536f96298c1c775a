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
#include "metrics.h"
#include "nbimage.h"
#include "store.h"
#include "transfer.h"

#define API_BODY_MAX JSON_PARSE_SIZE_MAX   /* 64 KiB; larger: 413 */
#define API_TOKEN_LEN 43                   /* 32 random bytes in base64url */
#define API_TOKEN_FILE "api-token"
#define API_EVENTS_LIMIT_DEFAULT 100
#define API_EVENTS_LIMIT_MAX 1000
#define API_SELECTIONS_MAX 10000           /* GET /api/v1/catalog: newest first */
/* What a stream replays for its Last-Event-ID, at most: older events are
 * GET /api/v1/events's.  Well inside the stream's backlog in http.c. */
#define API_REPLAY_MAX 500
#define API_REPLAY_BYTES (128 * 1024)

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

/* GET /api/v1/server: the running daemon, as main.c's live.c gathers it. */
struct api_server {
	const char *version;
	int64_t started, now;              /* Unix time, seconds */
	bool bsdp, tftp, http;             /* services running */
	const char *proxy;                 /* --proxy-dhcp: "off", "known", "all" */
	const struct metrics *metrics;     /* NULL: every counter 0 */
	uint64_t tftp_bytes_sent;          /* ended and running transfers */
	unsigned http_connections;
	unsigned events_streams;
	struct metrics_gauges gauges;
};

/* What the API reads of the services; each may be NULL (nothing runs). */
struct api_live {
	void *ctx;
	/* fn(fctx, view) for every transfer in flight (transfer.h). */
	void (*transfers)(void *ctx, transfer_fn fn, void *fctx);
	void (*server)(void *ctx, struct api_server *out);
};

struct bindings;

struct api_ctx {
	struct store *store;
	const struct nb_catalog *catalog;  /* the current snapshot; NULL: none yet */
	struct bindings *bindings;         /* BSDP's: the catalog's selections; NULL: none */
	const struct api_live *live;       /* NULL: no transfers, an idle server */
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

/* GET /api/v1/events/stream, once authorized: rsp asks http.c to hold
 * the connection as a stream, beginning with the stored events whose id
 * is above last_event_id (the header a reconnecting EventSource sends;
 * NULL or not a number: none), oldest first, at most API_REPLAY_MAX of
 * them and API_REPLAY_BYTES. */
void api_stream_open(const struct api_ctx *ctx, const char *last_event_id,
		     struct http_response *rsp);

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
