/* SPDX-License-Identifier: MIT */
/*
 * The HTTP service: libmicrohttpd (the only file that includes
 * <microhttpd.h> is http.c) serving the routes of http_routes.h on port
 * --http-port, for iPXE scripts, kernels, initrds and UEFI HTTP Boot.
 *
 * Threads.  None: MHD runs in external-epoll mode on bsdpd's own loop, so
 * every piece of HTTP state, and every hook call into the catalog and the
 * bindings, happens on the loop thread like the BSDP and TFTP services.
 *
 * Limits.  --http-max-connections N: a connection beyond N is answered
 * 503 with Retry-After (iPXE retries it, ipxe.md X6) and closed, so a boot
 * storm is paced rather than dropped; MHD itself accepts up to N +
 * HTTP_OVERFLOW_CONNECTIONS, and the kernel's backlog holds the rest.  A
 * connection idle for idle_timeout seconds is closed (MHD's default is no
 * timeout at all; iPXE gives up on its own after 120 s).
 */
#ifndef BSDPD_HTTP_H
#define BSDPD_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include "http_routes.h"
#include "loop.h"
#include "transfer.h"

#define HTTP_DEFAULT_PORT 80
#define HTTP_DEFAULT_MAX_CONNECTIONS 256
#define HTTP_DEFAULT_IDLE_TIMEOUT 30   /* seconds, well under iPXE's 120 s */
#define HTTP_OVERFLOW_CONNECTIONS 64   /* accepted only to be told 503 */

#define HTTP_MAX_LISTEN 32          /* one per --interface */

struct http_config {
	const char *root;              /* --http-root (default: --root) */
	uint16_t port;                 /* --http-port */
	struct file_cache *files;      /* shared with TFTP (file_cache.h) */
	struct in_addr listen[HTTP_MAX_LISTEN]; /* one socket each */
	size_t n_listen;               /* 0: one socket on every address */
	unsigned max_connections;      /* --http-max-connections, > 0 */
	unsigned idle_timeout;         /* seconds, > 0 */
	struct http_hooks hooks;       /* the catalog and bindings lookups */
	struct metrics *metrics;       /* counted on the loop thread; NULL: none */
};

struct http_service;

/* Opens the root, loads its boot.ipxe (http_script_load) and binds the
 * port, so call it before privileges are dropped.  NULL with a message
 * in *err (to free()) on failure.  Needs SIGPIPE ignored (main.c does):
 * MHD uses sendfile only when the application says it handles SIGPIPE. */
struct http_service *http_service_new(const struct http_config *cfg, struct loop *loop,
				      char **err);
/* Closes every connection and the port. */
void http_service_free(struct http_service *svc);
/* Replaces the hooks of cfg (the policy store opens after the port). */
void http_service_set_hooks(struct http_service *svc, const struct http_hooks *hooks);
/* Sends text (whole Server-Sent Events, "id: ..\ndata: ..\n\n") to every
 * open /api/v1/events/stream; svc may be NULL (no HTTP). */
void http_publish(struct http_service *svc, const char *text, size_t n);
/* Whether any event stream is open: else there is nothing to format. */
bool http_streaming(const struct http_service *svc);
/* The API's view of the served files in flight (transfer.h): fn once for
 * each, bytes as TCP_INFO's tcpi_bytes_acked counts them since the
 * response began, clamped to the size. */
void http_service_transfers(struct http_service *svc, transfer_fn fn, void *ctx);
/* Tells w of each served file as its response is queued, and calls
 * stream_opened(w->ctx) when an event stream opens. */
void http_service_watch(struct http_service *svc, const struct transfer_watch *w,
			void (*stream_opened)(void *ctx));
/* Open connections and event streams; svc may be NULL (both 0). */
void http_service_stats(const struct http_service *svc, unsigned *connections,
			unsigned *streams);
/* Re-reads boot.ipxe; on an error (logged) the old script keeps serving. */
void http_service_reload(struct http_service *svc);

#endif
