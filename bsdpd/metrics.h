/* SPDX-License-Identifier: MIT */
/*
 * bsdpd's counters and the /metrics page (Prometheus text exposition
 * format 0.0.4).  Pure: no sockets, no clock but metrics_now_ns.
 *
 * Threads.  One struct metrics, in main.c's struct daemon, owned by the
 * loop thread: every service increments it from there (server.c for BSDP
 * and proxyDHCP, http_routes.c for HTTP), so plain integers and no locks.
 *
 * TFTP is not counted twice: tftp_server.c already keeps struct
 * tftp_counters for this page, and main.c points metrics.tftp at them.
 * The values that are a state rather than a count (catalog size,
 * bindings, machines) are read when the page is rendered, through
 * struct metrics_gauges.
 */
#ifndef BSDPD_METRICS_H
#define BSDPD_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proxydhcp.h"
#include "tftp_server.h"

enum metrics_bsdp {
	METRICS_BSDP_LIST,          /* INFORM[LIST] answered with ACK[LIST] */
	METRICS_BSDP_SELECT,        /* INFORM[SELECT] answered with ACK[SELECT] */
	METRICS_BSDP_FAILED,        /* INFORM[SELECT] answered with ACK[FAILED] */
	METRICS_BSDP_OFFER,         /* a Mac's DISCOVER answered with an OFFER */
	METRICS_BSDP_IGNORED,       /* a BSDP request left unanswered (bsdp_drop) */
	METRICS_BSDP_COUNT,
};

/* The first three are enum proxy_kind's, so an event's kind converts. */
enum metrics_proxy {
	METRICS_PROXY_PXE = PROXY_KIND_PXE,       /* offered a booter over TFTP */
	METRICS_PROXY_IPXE = PROXY_KIND_IPXE,     /* offered the script URL */
	METRICS_PROXY_HTTP_BOOT = PROXY_KIND_HTTP_BOOT, /* offered a booter URL */
	METRICS_PROXY_IGNORED,      /* a PXE or iPXE request left unanswered */
	METRICS_PROXY_COUNT,
};

enum metrics_route {
	METRICS_ROUTE_SCRIPT,       /* /boot.ipxe */
	METRICS_ROUTE_FILE,         /* a file under --http-root */
	METRICS_ROUTE_API,          /* /api/v1/... */
	METRICS_ROUTE_METRICS,      /* /metrics */
	METRICS_ROUTE_UI,           /* /ui/, the dashboard */
	METRICS_ROUTE_OTHER,        /* refused before routing: 400, 405, 414, 503 */
	METRICS_ROUTE_COUNT,
};

enum metrics_error {
	METRICS_ERR_DHCP_SEND,      /* a BSDP or proxyDHCP reply sendmsg failed */
	METRICS_ERR_SCRIPT_RENDER,  /* /boot.ipxe could not be rendered */
	METRICS_ERR_COUNT,
};

/* Script render time: 50 us to 100 ms, roughly x2 apart.  iPXE waits up
 * to 120 s, but the benchmark's goal is a p99 under 2 ms. */
#define METRICS_RENDER_BUCKETS 12
extern const double metrics_render_bounds[METRICS_RENDER_BUCKETS]; /* seconds */

#define METRICS_STATUS_CLASSES 5    /* 1xx..5xx */

struct metrics {
	uint64_t bsdp_requests[2];                /* [0] INFORM[LIST], [1] INFORM[SELECT] */
	uint64_t bsdp[METRICS_BSDP_COUNT];
	uint64_t proxy_requests[METRICS_PROXY_IGNORED]; /* by enum proxy_kind */
	uint64_t proxy[METRICS_PROXY_COUNT];
	uint64_t http[METRICS_ROUTE_COUNT][METRICS_STATUS_CLASSES];
	uint64_t http_bytes[METRICS_ROUTE_COUNT]; /* response bodies */
	uint64_t errors[METRICS_ERR_COUNT];
	uint64_t render_buckets[METRICS_RENDER_BUCKETS]; /* non-cumulative */
	uint64_t render_count;
	double render_sum;                        /* seconds */
	const struct tftp_counters *tftp;         /* NULL with --no-tftp */
};

/* What is read when the page is rendered. */
struct metrics_gauges {
	size_t catalog_images;
	size_t catalog_problems;                  /* bundles skipped, with errors */
	size_t machines;                          /* registered in the store */
	size_t bindings;                          /* BSDP bindings */
	size_t records_queued;                    /* boot records not yet written */
	uint64_t records_dropped;                 /* refused by the recorder's cap */
	bool database_up;                         /* read and written as it should */
};

/* Each takes a NULL m (a service run without metrics: tests). */
void metrics_bsdp_request(struct metrics *m, unsigned bsdp_message);
void metrics_bsdp(struct metrics *m, enum metrics_bsdp kind);
void metrics_proxy_request(struct metrics *m, unsigned proxy_kind);
void metrics_proxy(struct metrics *m, enum metrics_proxy kind);
void metrics_http(struct metrics *m, enum metrics_route route, unsigned status,
		  uint64_t bytes);
void metrics_error(struct metrics *m, enum metrics_error e);
void metrics_observe_render(struct metrics *m, int64_t ns);

/* CLOCK_MONOTONIC in nanoseconds, for metrics_observe_render. */
int64_t metrics_now_ns(void);

/* Writes the page into buf (NUL-terminated): its length, or -ENOSPC when
 * it does not fit in cap.  METRICS_PAGE_MAX always suffices. */
#define METRICS_PAGE_MAX 16384
ssize_t metrics_render(const struct metrics *m, const struct metrics_gauges *g, char *buf,
		       size_t cap);

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
