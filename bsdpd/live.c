/* SPDX-License-Identifier: MIT */
/* The running daemon as the API sees it; see live.h. */
#include "live.h"

#include <stdlib.h>
#include <time.h>

#include "http.h"
#include "log.h"
#include "tftp_server.h"
#include "transfer.h"

#define TICK_MS 1000

struct live {
	struct live_config cfg;
	struct api_live api;
	struct loop_timer *tick;
	unsigned sent;                 /* transfer events in this second */
	time_t started;
};

static void each_transfer(void *ctx, transfer_fn fn, void *fctx)
{
	struct live *lv = ctx;

	if (lv->cfg.tftp)
		tftp_service_transfers(lv->cfg.tftp, fn, fctx);
	http_service_transfers(lv->cfg.http, fn, fctx);
}

static void server_status(void *ctx, struct api_server *out)
{
	struct live *lv = ctx;
	const struct live_config *c = &lv->cfg;

	*out = (struct api_server){
		.version = c->version, .started = lv->started, .now = time(NULL), .bsdp = true,
		.tftp = c->tftp != NULL, .http = c->http != NULL, .proxy = c->proxy,
		.metrics = c->metrics,
		.tftp_bytes_sent = c->tftp ? tftp_service_bytes_sent(c->tftp) : 0,
	};
	http_service_stats(c->http, &out->http_connections, &out->events_streams);
	if (c->gauges)
		c->gauges(c->gauges_ctx, &out->gauges);
}

/* ---- the stream's transfer events ---------------------------------------------------- */

static void publish(struct live *lv, const struct transfer *t)
{
	char *text;
	size_t n;

	if (lv->sent >= TRANSFER_EVENTS_PER_SECOND || transfer_sse(t, &text, &n) < 0)
		return;
	http_publish(lv->cfg.http, text, n);
	free(text);
	lv->sent++;
}

static bool watching(void *ctx)
{
	struct live *lv = ctx;

	return http_streaming(lv->cfg.http);
}

static void started(void *ctx, const struct transfer *t)
{
	publish(ctx, t);
}

/* Each second: the running transfers, the most recent first, within the
 * budget; the timer stops once the last stream has gone. */
static void on_tick(struct loop *loop, void *ctx)
{
	struct live *lv = ctx;
	struct transfer_list l = { 0 };

	(void)loop;
	lv->sent = 0;
	if (!http_streaming(lv->cfg.http)) {
		loop_timer_every(lv->tick, 0);
		return;
	}
	each_transfer(lv, transfer_list_add, &l);
	transfer_list_sort(&l);
	for (size_t i = 0; i < l.n && lv->sent < TRANSFER_EVENTS_PER_SECOND; i++)
		publish(lv, &l.v[i]);
	transfer_list_free(&l);
}

static void stream_opened(void *ctx)
{
	struct live *lv = ctx;

	if (!loop_timer_armed(lv->tick) && loop_timer_every(lv->tick, TICK_MS) < 0)
		log_msg(LOG_WARNING, "live: cannot arm the transfer timer");
}

struct live *live_new(const struct live_config *cfg)
{
	struct live *lv = calloc(1, sizeof(*lv));
	struct transfer_watch w;

	if (!lv)
		return NULL;
	lv->cfg = *cfg;
	lv->started = time(NULL);
	lv->api = (struct api_live){ .ctx = lv, .transfers = each_transfer,
				     .server = server_status };
	if (cfg->http && !(lv->tick = loop_timer_new(cfg->loop, on_tick, lv))) {
		free(lv);
		return NULL;
	}
	w = (struct transfer_watch){ .ctx = lv, .watching = watching, .started = started };
	if (cfg->tftp)
		tftp_service_watch(cfg->tftp, &w);
	if (cfg->http)
		http_service_watch(cfg->http, &w, stream_opened);
	return lv;
}

void live_free(struct live *lv)
{
	static const struct transfer_watch none;

	if (!lv)
		return;
	if (lv->cfg.tftp)
		tftp_service_watch(lv->cfg.tftp, &none);
	if (lv->cfg.http)
		http_service_watch(lv->cfg.http, &none, NULL);
	loop_timer_free(lv->tick);
	free(lv);
}

const struct api_live *live_api(const struct live *lv)
{
	return &lv->api;
}
