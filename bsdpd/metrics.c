// SPDX-License-Identifier: MIT
/*
 * Counters and the Prometheus text page (metrics.h).  The format is
 * https://prometheus.io/docs/instrumenting/exposition_formats/ (0.0.4):
 * per family one "# HELP" and one "# TYPE" line, then its samples;
 * counters end in _total; a histogram has cumulative _bucket{le=".."}
 * samples ending in le="+Inf", then _sum and _count.
 */
#include "metrics.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "bsdp.h"

const double metrics_render_bounds[METRICS_RENDER_BUCKETS] = {
	0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.002,
	0.004, 0.008, 0.016, 0.032, 0.064, 0.1,
};
/* The same, as written in le="..": %g would say 5e-05. */
static const char *const bucket_le[METRICS_RENDER_BUCKETS] = {
	"0.00005", "0.0001", "0.00025", "0.0005", "0.001", "0.002",
	"0.004", "0.008", "0.016", "0.032", "0.064", "0.1",
};

void metrics_bsdp_request(struct metrics *m, unsigned bsdp_message)
{
	if (m && (bsdp_message == BSDP_LIST || bsdp_message == BSDP_SELECT))
		m->bsdp_requests[bsdp_message - BSDP_LIST]++;
}

void metrics_bsdp(struct metrics *m, enum metrics_bsdp kind)
{
	if (m && kind < METRICS_BSDP_COUNT)
		m->bsdp[kind]++;
}

void metrics_proxy_request(struct metrics *m, unsigned proxy_kind)
{
	if (m && proxy_kind < METRICS_PROXY_IGNORED)
		m->proxy_requests[proxy_kind]++;
}

void metrics_proxy(struct metrics *m, enum metrics_proxy kind)
{
	if (m && kind < METRICS_PROXY_COUNT)
		m->proxy[kind]++;
}

void metrics_http(struct metrics *m, enum metrics_route route, unsigned status,
		  uint64_t bytes)
{
	if (!m || route >= METRICS_ROUTE_COUNT || status < 100 || status > 599)
		return;
	m->http[route][status / 100 - 1]++;
	m->http_bytes[route] += bytes;
}

void metrics_error(struct metrics *m, enum metrics_error e)
{
	if (m && e < METRICS_ERR_COUNT)
		m->errors[e]++;
}

void metrics_observe_render(struct metrics *m, int64_t ns)
{
	double s = ns > 0 ? (double)ns / 1e9 : 0.0;
	size_t i = 0;

	if (!m)
		return;
	while (i < METRICS_RENDER_BUCKETS && s > metrics_render_bounds[i])
		i++;
	if (i < METRICS_RENDER_BUCKETS) /* beyond the last: only in +Inf */
		m->render_buckets[i]++;
	m->render_count++;
	m->render_sum += s;
}

int64_t metrics_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- rendering ---------------------------------------------------------------- */

/* An append-only writer: once out of room it stays failed. */
struct page {
	char *buf;
	size_t cap, len;
	bool full;
};

__attribute__((format(printf, 2, 3)))
static void put(struct page *p, const char *fmt, ...)
{
	size_t rem = p->cap - p->len;
	va_list ap;
	int n;

	if (p->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(p->buf + p->len, rem, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= rem) {
		p->full = true;
		return;
	}
	p->len += (size_t)n;
}

static void family(struct page *p, const char *name, const char *type, const char *help)
{
	put(p, "# HELP bsdpd_%s %s\n# TYPE bsdpd_%s %s\n", name, help, name, type);
}

static void sample(struct page *p, const char *name, const char *labels, uint64_t v)
{
	put(p, "bsdpd_%s%s %llu\n", name, labels, (unsigned long long)v);
}

static void render_bsdp(struct page *p, const struct metrics *m)
{
	family(p, "bsdp_requests_total", "counter", "BSDP INFORM requests from Macs, by type.");
	sample(p, "bsdp_requests_total", "{kind=\"list\"}", m->bsdp_requests[0]);
	sample(p, "bsdp_requests_total", "{kind=\"select\"}", m->bsdp_requests[1]);
	family(p, "bsdp_replies_total", "counter", "BSDP replies sent, by type.");
	sample(p, "bsdp_replies_total", "{kind=\"list\"}", m->bsdp[METRICS_BSDP_LIST]);
	sample(p, "bsdp_replies_total", "{kind=\"select\"}", m->bsdp[METRICS_BSDP_SELECT]);
	sample(p, "bsdp_replies_total", "{kind=\"failed\"}", m->bsdp[METRICS_BSDP_FAILED]);
	sample(p, "bsdp_replies_total", "{kind=\"offer\"}", m->bsdp[METRICS_BSDP_OFFER]);
	family(p, "bsdp_ignored_total", "counter", "BSDP requests left unanswered on purpose.");
	sample(p, "bsdp_ignored_total", "", m->bsdp[METRICS_BSDP_IGNORED]);
}

static void render_proxy(struct page *p, const struct metrics *m)
{
	static const char *const kinds[METRICS_PROXY_IGNORED] = { "{kind=\"pxe\"}", "{kind=\"ipxe\"}",
					     "{kind=\"http_boot\"}" };

	family(p, "proxydhcp_requests_total", "counter",
	       "proxyDHCP requests from PXE firmware, iPXE and UEFI HTTP Boot.");
	for (size_t i = 0; i < METRICS_PROXY_IGNORED; i++)
		sample(p, "proxydhcp_requests_total", kinds[i], m->proxy_requests[i]);
	family(p, "proxydhcp_offers_total", "counter", "proxyDHCP replies sent, by client kind.");
	for (size_t i = 0; i < METRICS_PROXY_IGNORED; i++)
		sample(p, "proxydhcp_offers_total", kinds[i], m->proxy[i]);
	family(p, "proxydhcp_ignored_total", "counter",
	       "PXE and iPXE requests left unanswered on purpose.");
	sample(p, "proxydhcp_ignored_total", "", m->proxy[METRICS_PROXY_IGNORED]);
}

static void render_tftp(struct page *p, const struct tftp_counters *t)
{
	family(p, "tftp_requests_total", "counter", "TFTP read and write requests.");
	sample(p, "tftp_requests_total", "", t->requests);
	family(p, "tftp_transfers_total", "counter", "TFTP transfers ended, by outcome.");
	sample(p, "tftp_transfers_total", "{outcome=\"completed\"}", t->completed);
	sample(p, "tftp_transfers_total", "{outcome=\"failed\"}", t->failed);
	sample(p, "tftp_transfers_total", "{outcome=\"timed_out\"}", t->timed_out);
	sample(p, "tftp_transfers_total", "{outcome=\"client_error\"}", t->client_errors);
	family(p, "tftp_refused_total", "counter", "TFTP requests answered with an ERROR.");
	sample(p, "tftp_refused_total", "{reason=\"not_found\"}", t->not_found);
	sample(p, "tftp_refused_total", "{reason=\"access_denied\"}", t->access_denied);
	sample(p, "tftp_refused_total", "{reason=\"bad_request\"}", t->bad_requests);
	sample(p, "tftp_refused_total", "{reason=\"write\"}", t->write_refused);
	sample(p, "tftp_refused_total", "{reason=\"over_capacity\"}", t->over_capacity);
	sample(p, "tftp_refused_total", "{reason=\"per_client\"}", t->per_client_refused);
	family(p, "tftp_sent_bytes_total", "counter", "File bytes sent by TFTP (first sends).");
	sample(p, "tftp_sent_bytes_total", "", t->bytes_sent);
	family(p, "tftp_retransmits_total", "counter", "TFTP packets sent again.");
	sample(p, "tftp_retransmits_total", "", t->retransmits);
	family(p, "tftp_active_transfers", "gauge", "TFTP transfers in progress.");
	sample(p, "tftp_active_transfers", "", t->active);
}

static const char *const route_names[METRICS_ROUTE_COUNT] = {
	"script", "file", "api", "metrics", "ui", "other",
};

static void render_http(struct page *p, const struct metrics *m)
{
	char labels[64];

	family(p, "http_requests_total", "counter", "HTTP responses, by route and status class.");
	for (size_t r = 0; r < METRICS_ROUTE_COUNT; r++)
		for (size_t c = 0; c < METRICS_STATUS_CLASSES; c++) {
			snprintf(labels, sizeof(labels), "{route=\"%s\",code=\"%zuxx\"}",
				 route_names[r], c + 1);
			sample(p, "http_requests_total", labels, m->http[r][c]);
		}
	family(p, "http_response_bytes_total", "counter", "HTTP response body bytes, by route.");
	for (size_t r = 0; r < METRICS_ROUTE_COUNT; r++) {
		snprintf(labels, sizeof(labels), "{route=\"%s\"}", route_names[r]);
		sample(p, "http_response_bytes_total", labels, m->http_bytes[r]);
	}
}

static void render_histogram(struct page *p, const struct metrics *m)
{
	uint64_t cum = 0;

	family(p, "script_render_seconds", "histogram", "Time to render one /boot.ipxe script.");
	for (size_t i = 0; i < METRICS_RENDER_BUCKETS; i++) {
		cum += m->render_buckets[i];
		put(p, "bsdpd_script_render_seconds_bucket{le=\"%s\"} %llu\n", bucket_le[i],
		    (unsigned long long)cum);
	}
	put(p, "bsdpd_script_render_seconds_bucket{le=\"+Inf\"} %llu\n",
	    (unsigned long long)m->render_count);
	put(p, "bsdpd_script_render_seconds_sum %.9f\n", m->render_sum);
	sample(p, "script_render_seconds_count", "", m->render_count);
}

static void render_state(struct page *p, const struct metrics *m, const struct metrics_gauges *g)
{
	family(p, "errors_total", "counter", "Errors of bsdpd itself, by kind.");
	sample(p, "errors_total", "{kind=\"dhcp_send\"}", m->errors[METRICS_ERR_DHCP_SEND]);
	sample(p, "errors_total", "{kind=\"script_render\"}", m->errors[METRICS_ERR_SCRIPT_RENDER]);
	family(p, "catalog_images", "gauge", "NetBoot images in the catalog now served.");
	sample(p, "catalog_images", "", g->catalog_images);
	family(p, "catalog_problems", "gauge", "Bundles of the catalog skipped for an error.");
	sample(p, "catalog_problems", "", g->catalog_problems);
	family(p, "machines", "gauge", "Machines registered in the store.");
	sample(p, "machines", "", g->machines);
	family(p, "bindings", "gauge", "BSDP bindings (Macs and their selected image).");
	sample(p, "bindings", "", g->bindings);
	family(p, "database_up", "gauge",
	       "1 while the database is read and written, 0 while it is away.");
	sample(p, "database_up", "", g->database_up);
	family(p, "boot_records_queued", "gauge",
	       "Sightings and events of boots waiting to be written to the database.");
	sample(p, "boot_records_queued", "", g->records_queued);
	family(p, "boot_records_dropped_total", "counter",
	       "Sightings and events dropped because too many waited for the database.");
	sample(p, "boot_records_dropped_total", "", g->records_dropped);
}

ssize_t metrics_render(const struct metrics *m, const struct metrics_gauges *g, char *buf,
		       size_t cap)
{
	struct page p = { .buf = buf, .cap = cap };

	if (cap == 0)
		return -ENOSPC;
	buf[0] = '\0';
	render_bsdp(&p, m);
	render_proxy(&p, m);
	if (m->tftp)
		render_tftp(&p, m->tftp);
	render_http(&p, m);
	render_histogram(&p, m);
	render_state(&p, m, g);
	return p.full ? -ENOSPC : (ssize_t)p.len;
}
