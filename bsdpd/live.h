/* SPDX-License-Identifier: MIT */
/*
 * What the dashboard sees of the running daemon (docs/api.md): the
 * transfers in flight of TFTP and HTTP, for GET /api/v1/transfers and as
 * `transfer` events on the open event streams, and the server's status
 * for GET /api/v1/server.  main.c makes one and hands its api_live to
 * the boot policy's API (boot_policy_set_live).
 *
 * The stream's transfer events: one as a transfer starts, and then one a
 * second for each running transfer, from a one-second timer that runs
 * only while a stream is open; at most TRANSFER_EVENTS_PER_SECOND in a
 * second, the most recently started transfers first.  They carry no id:
 * they are not stored and not replayed.
 *
 * Loop thread only.
 */
#ifndef BSDPD_LIVE_H
#define BSDPD_LIVE_H

#include <stdbool.h>

#include "api.h"
#include "loop.h"

struct http_service;
struct tftp_service;

struct live_config {
	const char *version;
	struct loop *loop;
	struct tftp_service *tftp;     /* NULL: --no-tftp */
	struct http_service *http;     /* NULL: --no-http (no streams either) */
	const struct metrics *metrics;
	const char *proxy;             /* --proxy-dhcp's name */
	void (*gauges)(void *ctx, struct metrics_gauges *out); /* NULL: all 0 */
	void *gauges_ctx;
};

struct live;

/* NULL when out of memory or timers. */
struct live *live_new(const struct live_config *cfg);
void live_free(struct live *lv);
/* The hooks of api_ctx.live; valid until live_free. */
const struct api_live *live_api(const struct live *lv);

#endif
