/* SPDX-License-Identifier: MIT */
/*
 * The /metrics page: counters by family and label, the render-time
 * histogram (cumulative buckets, +Inf, _sum, _count), a buffer that is
 * too small, the route through http_route, and the whole page checked by
 * a real Prometheus parser (promtool check metrics) when it is installed
 * (tools/setup-deps installs it).
 */
#include "testlib.h"

#include "http_routes.h"
#include "metrics.h"

static char page[METRICS_PAGE_MAX];

static void render(const struct metrics *m, const struct metrics_gauges *g)
{
	assert_true(metrics_render(m, g, page, sizeof(page)) > 0);
}

/* The sample line "name{labels} value" is in the page, whole. */
static void assert_line(const char *line)
{
	size_t n = strlen(line);
	const char *p = page;

	while ((p = strstr(p, line)) && ((p != page && p[-1] != '\n') || p[n] != '\n'))
		p++;
	if (!p)
		fail_msg("no line \"%s\" in:\n%s", line, page);
}

static void counters_render_by_family_and_label(void **state)
{
	struct metrics m = { 0 };
	struct metrics_gauges g = { .catalog_images = 3, .catalog_problems = 1,
				    .machines = 7, .bindings = 2 };

	(void)state;
	metrics_bsdp_request(&m, BSDP_LIST);
	metrics_bsdp_request(&m, BSDP_LIST);
	metrics_bsdp_request(&m, BSDP_SELECT);
	metrics_bsdp_request(&m, 0); /* a DISCOVER: not an INFORM */
	metrics_bsdp(&m, METRICS_BSDP_LIST);
	metrics_bsdp(&m, METRICS_BSDP_FAILED);
	metrics_bsdp(&m, METRICS_BSDP_IGNORED);
	metrics_proxy_request(&m, PROXY_KIND_IPXE);
	metrics_proxy(&m, METRICS_PROXY_IPXE);
	metrics_proxy(&m, METRICS_PROXY_IGNORED);
	metrics_http(&m, METRICS_ROUTE_FILE, 206, 1000);
	metrics_http(&m, METRICS_ROUTE_FILE, 404, 14);
	metrics_http(&m, METRICS_ROUTE_SCRIPT, 600, 99); /* no such status: not counted */
	metrics_error(&m, METRICS_ERR_DHCP_SEND);
	render(&m, &g);
	assert_line("# TYPE bsdpd_bsdp_requests_total counter");
	assert_line("bsdpd_bsdp_requests_total{kind=\"list\"} 2");
	assert_line("bsdpd_bsdp_requests_total{kind=\"select\"} 1");
	assert_line("bsdpd_bsdp_replies_total{kind=\"list\"} 1");
	assert_line("bsdpd_bsdp_replies_total{kind=\"failed\"} 1");
	assert_line("bsdpd_bsdp_ignored_total 1");
	assert_line("bsdpd_proxydhcp_requests_total{kind=\"ipxe\"} 1");
	assert_line("bsdpd_proxydhcp_offers_total{kind=\"ipxe\"} 1");
	assert_line("bsdpd_proxydhcp_offers_total{kind=\"pxe\"} 0");
	assert_line("bsdpd_proxydhcp_ignored_total 1");
	assert_line("bsdpd_http_requests_total{route=\"file\",code=\"2xx\"} 1");
	assert_line("bsdpd_http_requests_total{route=\"file\",code=\"4xx\"} 1");
	assert_line("bsdpd_http_requests_total{route=\"script\",code=\"2xx\"} 0");
	assert_line("bsdpd_http_response_bytes_total{route=\"file\"} 1014");
	assert_line("bsdpd_http_response_bytes_total{route=\"script\"} 0");
	assert_line("bsdpd_errors_total{kind=\"dhcp_send\"} 1");
	assert_line("bsdpd_catalog_images 3");
	assert_line("bsdpd_catalog_problems 1");
	assert_line("bsdpd_machines 7");
	assert_line("bsdpd_bindings 2");
	assert_null(strstr(page, "bsdpd_tftp_")); /* --no-tftp */
}

static void tftp_counters_are_read_from_the_tftp_service(void **state)
{
	struct tftp_counters t = { .requests = 5, .completed = 3, .failed = 1,
				   .bytes_sent = 123456, .active = 2, .not_found = 1 };
	struct metrics m = { .tftp = &t };
	struct metrics_gauges g = { 0 };

	(void)state;
	render(&m, &g);
	assert_line("bsdpd_tftp_requests_total 5");
	assert_line("bsdpd_tftp_transfers_total{outcome=\"completed\"} 3");
	assert_line("bsdpd_tftp_transfers_total{outcome=\"failed\"} 1");
	assert_line("bsdpd_tftp_refused_total{reason=\"not_found\"} 1");
	assert_line("bsdpd_tftp_sent_bytes_total 123456");
	assert_line("# TYPE bsdpd_tftp_active_transfers gauge");
	assert_line("bsdpd_tftp_active_transfers 2");
}

static void the_histogram_is_cumulative(void **state)
{
	struct metrics m = { 0 };
	struct metrics_gauges g = { 0 };

	(void)state;
	metrics_observe_render(&m, 50000);      /* 50 us: on the first bound, in it */
	metrics_observe_render(&m, 50001);      /* just over: the next bucket */
	metrics_observe_render(&m, 1500000);    /* 1.5 ms */
	metrics_observe_render(&m, 250000000);  /* 250 ms: only +Inf */
	metrics_observe_render(&m, -5);         /* a clock step back counts as 0 */
	render(&m, &g);
	assert_line("# TYPE bsdpd_script_render_seconds histogram");
	assert_line("bsdpd_script_render_seconds_bucket{le=\"0.00005\"} 2");
	assert_line("bsdpd_script_render_seconds_bucket{le=\"0.0001\"} 3");
	assert_line("bsdpd_script_render_seconds_bucket{le=\"0.001\"} 3");
	assert_line("bsdpd_script_render_seconds_bucket{le=\"0.002\"} 4");
	assert_line("bsdpd_script_render_seconds_bucket{le=\"0.1\"} 4");
	assert_line("bsdpd_script_render_seconds_bucket{le=\"+Inf\"} 5");
	assert_line("bsdpd_script_render_seconds_count 5");
	assert_line("bsdpd_script_render_seconds_sum 0.251600001");
}

static void a_small_buffer_fails_without_overrun(void **state)
{
	struct metrics m = { 0 };
	struct metrics_gauges g = { 0 };
	char small[64];

	(void)state;
	memset(small, 'x', sizeof(small));
	assert_int_equal(metrics_render(&m, &g, small, sizeof(small) - 1), -ENOSPC);
	assert_int_equal(small[sizeof(small) - 1], 'x');
	assert_int_equal(metrics_render(&m, &g, small, 0), -ENOSPC);
}

static void a_null_metrics_counts_nothing(void **state)
{
	(void)state;
	metrics_bsdp(NULL, METRICS_BSDP_LIST);
	metrics_http(NULL, METRICS_ROUTE_FILE, 200, 1);
	metrics_observe_render(NULL, 1);
}

static void gauges(void *ctx, struct metrics_gauges *out)
{
	(void)ctx;
	out->catalog_images = 4;
}

static void the_route_serves_the_page_and_counts_itself(void **state)
{
	struct metrics m = { 0 };
	struct http_routes rt = { .rootfd = -1, .hooks = { .gauges = gauges }, .metrics = &m };
	struct http_request rq = { .method = HTTP_GET, .target = "/metrics" };
	struct http_response rsp;

	(void)state;
	http_route(&rt, &rq, &rsp);
	assert_int_equal(rsp.status, 200);
	assert_string_equal(rsp.content_type, "text/plain; version=0.0.4; charset=utf-8");
	assert_true(rsp.no_store);
	assert_non_null(strstr(rsp.buf, "\nbsdpd_catalog_images 4\n"));
	http_response_release(&rsp);
	http_route(&rt, &rq, &rsp);
	assert_non_null(strstr(rsp.buf, "{route=\"metrics\",code=\"2xx\"} 1\n"));
	http_response_release(&rsp);
	rt.metrics = NULL;
	http_route(&rt, &rq, &rsp);
	assert_int_equal(rsp.status, 404);
	http_response_release(&rsp);
}

/* Every family filled in, so that promtool sees every kind of line. */
static void fill(struct metrics *m, struct tftp_counters *t)
{
	*t = (struct tftp_counters){ .requests = 9, .completed = 8, .bytes_sent = 1 << 20,
				     .active = 1 };
	*m = (struct metrics){ .tftp = t };
	metrics_bsdp_request(m, BSDP_SELECT);
	metrics_bsdp(m, METRICS_BSDP_SELECT);
	metrics_proxy_request(m, PROXY_KIND_PXE);
	metrics_proxy(m, METRICS_PROXY_PXE);
	metrics_http(m, METRICS_ROUTE_SCRIPT, 200, 321);
	metrics_observe_render(m, 120000);
	metrics_error(m, METRICS_ERR_SCRIPT_RENDER);
}

static void promtool_accepts_the_page(void **state)
{
	char path[] = "/tmp/bsdpd-metrics-XXXXXX", cmd[128], out[4096];
	struct metrics_gauges g = { .catalog_images = 2, .machines = 1 };
	struct tftp_counters t;
	struct metrics m;
	ssize_t n;
	size_t got;
	FILE *p;
	int fd;

	(void)state;
	if (system("command -v promtool >/dev/null 2>&1") != 0)
		skip(); /* tools/setup-deps installs Debian's prometheus */
	fill(&m, &t);
	n = metrics_render(&m, &g, page, sizeof(page));
	assert_true(n > 0);
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(write(fd, page, (size_t)n), n);
	close(fd);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 2>&1", path);
	assert_non_null(p = popen(cmd, "r"));
	got = fread(out, 1, sizeof(out) - 1, p);
	out[got] = '\0';
	/* promtool exits 0 and prints nothing for a page without problems;
	 * a lint finding ("... should have \"_total\" suffix") exits 3. */
	assert_int_equal(pclose(p), 0);
	assert_string_equal(out, "");
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(counters_render_by_family_and_label),
		cmocka_unit_test(tftp_counters_are_read_from_the_tftp_service),
		cmocka_unit_test(the_histogram_is_cumulative),
		cmocka_unit_test(a_small_buffer_fails_without_overrun),
		cmocka_unit_test(a_null_metrics_counts_nothing),
		cmocka_unit_test(the_route_serves_the_page_and_counts_itself),
		cmocka_unit_test(promtool_accepts_the_page),
	};

	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
