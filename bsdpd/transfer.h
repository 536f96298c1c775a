/* SPDX-License-Identifier: MIT */
/*
 * The transfers in flight, as the dashboard sees them (docs/api.md,
 * GET /api/v1/transfers and the stream's `transfer` events): one view
 * that the TFTP service (tftp_server.c) and the HTTP service (http.c)
 * fill from their own state, and the socket-free pieces around it: the
 * rate meter each transfer keeps, the JSON object, the SSE event and
 * the "most recent first" order that the caps apply to.
 *
 * Loop thread only, like the services: a view's strings point into the
 * transfer it describes and are valid during the call that gave it.
 */
#ifndef BSDPD_TRANSFER_H
#define BSDPD_TRANSFER_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"

/* At most this many `transfer` events a second go to the streams, all
 * transfers together, so a boot storm cannot flood a browser. */
#define TRANSFER_EVENTS_PER_SECOND 64
/* GET /api/v1/transfers lists at most this many, the most recent. */
#define TRANSFER_LIST_MAX 10000

enum transfer_kind { TRANSFER_TFTP, TRANSFER_HTTP_FILE };

/* Bytes per second over the last second or so: a sample is replaced once
 * it is TRANSFER_RATE_WINDOW_US old, and until the first is, the rate is
 * the average since the start. */
#define TRANSFER_RATE_WINDOW_US 900000
struct transfer_rate {
	int64_t started_us;            /* CLOCK_MONOTONIC */
	int64_t at_us;                 /* the sample */
	uint64_t bytes;
	uint64_t rate;
	bool measured;                 /* rate is over a window, not the average */
};

struct transfer {
	enum transfer_kind kind;
	uint64_t serial;               /* "tftp-N", "http-N": unique per kind and run */
	bool has_mac;
	uint8_t mac[6];
	struct in_addr ip;
	const char *detail;            /* the path as served */
	const char *stage;             /* "booter" for TFTP; "kernel", "initrd", "chain", "" */
	uint64_t bytes;                /* TFTP: acknowledged; HTTP: acknowledged by TCP */
	uint64_t size;
	uint64_t rate;                 /* bytes per second */
	int64_t started_us;            /* Unix time */
	int64_t elapsed_ms;
};

typedef void (*transfer_fn)(void *ctx, const struct transfer *t);

/* Who is told of each transfer as it starts: started(ctx, view), but
 * only while watching(ctx), so that nothing is looked up or formatted
 * for a transfer nobody is watching. */
struct transfer_watch {
	void *ctx;
	bool (*watching)(void *ctx);
	transfer_fn started;
};

void transfer_rate_start(struct transfer_rate *r, int64_t now_us);
/* The rate with bytes sent by now_us (CLOCK_MONOTONIC); moves the sample. */
uint64_t transfer_rate_sample(struct transfer_rate *r, uint64_t bytes, int64_t now_us);

const char *transfer_kind_name(enum transfer_kind k);   /* "tftp", "http-file" */
/* One object: {"id","mac","ip","kind","detail","stage","bytes","size",
 * "rate","started","elapsed_ms"}. */
void transfer_json_write(struct json *j, const struct transfer *t);
/* "event: transfer\ndata: {json}\n\n", without an id: not stored, not
 * replayed.  0 and a malloc'd *out of *len bytes, or -ENOMEM. */
int transfer_sse(const struct transfer *t, char **out, size_t *len);

/* A growing copy of views, for sorting; the strings are not copied. */
struct transfer_list {
	struct transfer *v;
	size_t n, cap;
	bool failed;                   /* out of memory: some were left out */
};
/* A transfer_fn: appends t to the list ctx. */
void transfer_list_add(void *list, const struct transfer *t);
/* The most recently started first (then by kind and serial, so the order
 * is total). */
void transfer_list_sort(struct transfer_list *l);
void transfer_list_free(struct transfer_list *l);

#endif
