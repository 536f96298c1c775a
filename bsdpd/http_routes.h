/* SPDX-License-Identifier: MIT */
/*
 * What bsdpd's HTTP server answers, as socket-free functions: a request
 * struct in, a response struct out.  bsdpd/http.c only translates between
 * these and libmicrohttpd; tests and fuzzers call the routes directly.
 *
 * Routes: "/boot.ipxe" renders the machine's iPXE script (the admin's
 * template, or a built-in menu); "/metrics" is the Prometheus page
 * (metrics.h), so a file of that name under the root is not served;
 * "/ui" and everything under "/ui/" is the dashboard (ui.h), likewise
 * never a file of the root; any other path is a static file under --http-root, cleaned by the TFTP
 * server's tftp_path_clean and opened by
 * the same beneath_open_served (lib/beneath.c): a regular, world-readable
 * file that resolves beneath the root, never a device, FIFO or directory.
 *
 * Caching (RFC 9111): a file under the root is "public, max-age=
 * HTTP_FILE_MAX_AGE" with an ETag that is the same on every restart and
 * on every server holding the same copy, so a shared cache keeps one
 * copy and revalidates it cheaply; the script, the API, /metrics and
 * every error are "no-store": they are per machine, per moment, or
 * wrong soon.
 */
#ifndef BSDPD_HTTP_ROUTES_H
#define BSDPD_HTTP_ROUTES_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "ipxe_template.h"
#include "metrics.h"

#define HTTP_RETRY_AFTER_SECONDS 2 /* with 503: iPXE retries after it (X6) */
#define HTTP_TARGET_MAX 2048       /* longest request-target we look at */
#define HTTP_STAGE_MAX 8           /* "kernel", "initrd", "chain" or "" */
/* How long any cache may serve a file under the root before it asks
 * again (If-None-Match, answered 304 when nothing changed): short,
 * because a file replaced in place reaches the machines behind a cache
 * only once it has passed (docs/scaling.md, "Caches"). */
#define HTTP_FILE_MAX_AGE 60

enum http_method { HTTP_GET, HTTP_HEAD, HTTP_PUT, HTTP_POST, HTTP_DELETE, HTTP_OTHER };

/* Request bodies are for the JSON API only; beyond this, 413. */
#define HTTP_BODY_MAX (64 * 1024)

struct http_request {
	enum http_method method;
	const char *target;            /* the raw request-target, as sent */
	const char *range;             /* header values; NULL when absent */
	const char *if_none_match;
	const char *if_modified_since;
	const char *last_event_id;     /* the event stream's resumption (WHATWG HTML §9.2) */
	const char *if_range;
	const char *authorization;
	const char *content_type;
	const char *body;              /* the request body; NULL when none */
	size_t body_len;
	bool body_too_large;           /* over HTTP_BODY_MAX: body is NULL */
	struct in_addr client;         /* peer address */
	struct in_addr local;          /* our address on this connection */
	bool over_capacity;            /* beyond --http-max-connections */
	time_t now;
};

/* HTTP_BODY_STATIC: static_buf, buf_len bytes that outlive the response
 * (the embedded dashboard), neither copied nor freed. */
enum http_body { HTTP_BODY_NONE, HTTP_BODY_BUFFER, HTTP_BODY_FILE, HTTP_BODY_STATIC };

struct http_response {
	unsigned status;
	const char *content_type;      /* static; NULL for no Content-Type */
	char etag[64];                 /* each "" when not sent */
	char last_modified[32];
	char content_range[64];
	unsigned retry_after;          /* seconds; 0: not sent */
	bool accept_ranges;            /* Accept-Ranges: bytes */
	bool allow;                    /* Allow: GET, HEAD (with 405) */
	bool no_store;                 /* Cache-Control: no-store */
	unsigned max_age;              /* Cache-Control: public, max-age=N; 0: not sent */
	bool no_cache;                 /* Cache-Control: no-cache (revalidate each time) */
	bool security_headers;         /* UI_CSP, nosniff, no-referrer, DENY (ui.h) */
	const char *location;          /* static; Location (with 301) */
	const char *allow_methods;     /* static; the API's Allow with 405 ("GET, PUT, DELETE") */
	bool www_authenticate;         /* WWW-Authenticate: Bearer (the API's 401) */
	enum http_body body;
	char *buf;                     /* HTTP_BODY_BUFFER: malloc'd */
	const void *static_buf;        /* HTTP_BODY_STATIC */
	size_t buf_len;                /* of buf or static_buf */
	int fd;                        /* HTTP_BODY_FILE: owned until taken */
	uint64_t offset, length;
	/* A whole file (200 to GET) for a machine that named itself with
	 * ?mac= (policy_file_url): told to hooks.file_served once it has
	 * gone out in full, or broken off. */
	bool served;
	uint8_t served_mac[6];
	char served_path[HTTP_TARGET_MAX + 1];
	char served_stage[HTTP_STAGE_MAX]; /* of the machine's profile (hooks.file_stage) */
	/* Hold the connection open as an event stream; a buffer body is
	 * what it begins with (the events a client missed). */
	bool event_stream;
};

/* What bsdpd knows about a machine beyond its request. */
struct http_client_info {
	char hostname[64];
	char model[64];
	char image[128];
};

struct http_identity;
struct ipxe_values;

/* What the daemon adds to the routes; each is optional. */
struct http_hooks {
	void *ctx;
	/* Fills out for a machine (mac may be NULL: unknown); false when
	 * nothing is known. */
	bool (*client_info)(void *ctx, const uint8_t *mac, struct in_addr ip,
			    struct http_client_info *out);
	/* /boot.ipxe from policy: true when it answered rsp; false leaves
	 * the machine to the template (no policy applies to it). */
	bool (*script)(void *ctx, const struct http_request *rq, const struct http_identity *id,
		       const struct ipxe_values *vals, struct http_response *rsp);
	/* Everything under /api/ (path and query raw, as sent). */
	void (*api)(void *ctx, const struct http_request *rq, const char *path, size_t path_len,
		    const char *query, size_t query_len, struct http_response *rsp);
	/* What a served file is to the machine's resolved profile, now:
	 * "kernel", "initrd", "chain", or "" for another file. */
	void (*file_stage)(void *ctx, const uint8_t mac[6], const char *path,
			   char out[HTTP_STAGE_MAX]);
	/* A served file's end: its stage, bytes sent, and whether all went. */
	void (*file_served)(void *ctx, const uint8_t mac[6], const char *path, const char *stage,
			    struct in_addr client, uint64_t bytes, uint32_t duration_ms,
			    bool complete);
	/* The values /metrics reads when rendered (main.c).  Optional. */
	void (*gauges)(void *ctx, struct metrics_gauges *out);
};

struct ui_bundle;

struct http_routes {
	int rootfd;                         /* --http-root, an O_PATH directory */
	const struct ui_bundle *ui;         /* the dashboard; NULL: /ui/ is 404 */
	struct http_hooks hooks;
	const struct ipxe_template *script; /* required: see http_script_load */
	uint16_t port;                      /* for {{http}} */
	const char *file_base;              /* --http-base for {{http}}; NULL: ours */
	struct metrics *metrics;            /* NULL: no counting, /metrics is 404 */
};

/* Answers one request.  rsp needs http_response_release afterwards. */
void http_route(const struct http_routes *rt, const struct http_request *rq,
		struct http_response *rsp);
void http_response_release(struct http_response *rsp);
/* GET /metrics (text/plain; version=0.0.4): the counters and the hooks'
 * gauges; 404 when rt->metrics is NULL. */
void http_metrics(const struct http_routes *rt, struct http_response *rsp);

/* Loads "boot.ipxe" from the root (a served file, like any other) and
 * parses it; without one, the built-in script.  0 with *out (and
 * *builtin), or -errno with a message naming the file and line:column in
 * err.  bsdpd --check calls it too. */
int http_script_load(int rootfd, struct ipxe_template **out, bool *builtin, char *err,
		     size_t cap);

/* The built-in script's menu (local disk after 10 s, or the shell), as a
 * template that uses {{http}}: a policy script that cannot boot what its
 * profile names falls back to it (bsdpd/policy.c). */
extern const char http_builtin_menu[];

/* ---- parts of the above, for tests and fuzzers ------------------------------ */

/* Splits a request-target into the path and the query (after '?', may be
 * empty); -EINVAL unless it is origin-form ("/...") or absolute-form
 * ("http://host/..."). */
int http_target_split(const char *target, size_t n, const char **path, size_t *path_len,
		      const char **query, size_t *query_len);
/* Percent-decodes a path into out (NUL-terminated).  -EINVAL for a bad
 * escape, and for an escaped '/', '\' or NUL or any control byte, which
 * no file name under the root needs; -ENAMETOOLONG beyond cap. */
ssize_t http_path_decode(const char *raw, size_t n, char *out, size_t cap);

/* Decodes and cleans a raw path into out, relative to the root: the
 * length, or -EINVAL (a bad escape, an escaped separator, a control byte:
 * 400), -EACCES (a ".." component: 403), -ENOENT (the root itself: no
 * index pages) or -ENAMETOOLONG. */
ssize_t http_path_resolve(const char *raw, size_t n, char *out, size_t cap);

/* The identity the proxyDHCP script URL carries (proxydhcp.c builds it):
 * ?mac=${mac:hexhyp}&uuid=${uuid}&arch=${buildarch}&platform=${platform}.
 * Each value is validated strictly and normalized; a bad, empty or
 * repeated one is treated as absent (never echoed). */
struct http_identity {
	bool has_mac;
	uint8_t mac[6];
	char mac_str[18];   /* aa:bb:cc:dd:ee:ff; "" when absent */
	char uuid[37];      /* lower case; "" when absent */
	char arch[17];      /* [a-z0-9_]{1,16}; "" when absent */
	char platform[17];
};
void http_query_identity(const char *query, size_t n, struct http_identity *id);

/* A single "bytes=" range against size: 1 and [*first, *last] when it
 * applies, 0 when Range is to be ignored (absent, malformed, several
 * ranges: RFC 9110 §14.2 lets a server serve the whole file), -ERANGE
 * when it cannot be satisfied (416). */
/* If-None-Match (a list of entity-tags, or "*") against our strong etag,
 * compared weakly as RFC 9110 §13.1.2 says for GET. */
bool http_etag_matches(const char *if_none_match, const char *etag);

int http_range_parse(const char *range, uint64_t size, uint64_t *first, uint64_t *last);
const char *http_content_type(const char *path);

#endif
