/* SPDX-License-Identifier: MIT */
/*
 * tftp-load: fetches one file N times over TFTP, C transfers at once, from
 * one process and one epoll set, and prints a JSON line with the totals and
 * the median, 99th percentile and longest time of a whole transfer.
 * The load generator of tools/bench/tftp-bench.sh; the client is
 * tools/tftp_fetch.c.  With -o FILE it does one blocking fetch to FILE with
 * progress instead (what `bsdpc select --fetch` does).
 *
 *   tftp-load -s 198.18.6.1 -f snponly.efi -n 200 -c 200 -b 1432 [-w 16] [-e SIZE]
 *
 * For the integration tests: -H SECONDS sends the requests, acknowledges
 * the first reply and then never answers (clients abandoned mid-transfer,
 * kept open that long: established, so the server cannot evict them); -q nul|ff|name-ff
 * sends the request with a client quirk: trailing NULs or 0xFF bytes after
 * the mode (Apple OpenFirmware), or 0xFF after the file name (PXE ROMs).
 *
 * Flood mode, for tests/integration/test_tftp_flood.sh: -F COUNT sends
 * COUNT requests (with -b/-t/-w options if given), each from a new port,
 * from -k consecutive source addresses starting at -a (round-robin), at
 * most -r per second, and never answers.  It keeps the ports open -H
 * seconds (default 10) after the last request, so the server sees no ICMP
 * error, counts everything that comes back, and prints a JSON line:
 * requests, their size, ERROR replies, and datagrams and bytes received.
 *
 *   tftp-load -s 198.18.6.1 -f snponly.efi -F 3000 -a 198.18.6.100 -k 50 -r 1000
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "../tftp_fetch.h"
#include "json.h"
#include "tftp.h"

struct run {
	struct tftp_fetch_opts o;
	unsigned total, concurrency, started, ok, failed;
	uint64_t expect_size, bytes, retransmits;
	const char *output;
	unsigned hang_seconds;
	unsigned flood, flood_addrs, flood_rate;
	struct in_addr flood_from;
	const char *quirk;
	uint8_t request[1024];
	struct tftp_session *s;
	int64_t *took_us;        /* of each whole transfer, ok of them */
	int ep;
};

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void usage(void)
{
	fputs("usage: tftp-load -s IP -f FILE [-p PORT] [-n COUNT] [-c CONCURRENCY]\n"
	      "                 [-b BLKSIZE] [-w WINDOWSIZE] [-t] [-e SIZE] [-o OUT]\n"
	      "                 [-H SECONDS] [-q nul|ff|name-ff]\n"
	      "       tftp-load -s IP -f FILE -F COUNT [-a FROM] [-k ADDRESSES] [-r RATE]\n"
	      "                 [-b BLKSIZE] [-t] [-H SECONDS]\n", stderr);
	exit(2);
}

static unsigned long num(const char *s, unsigned long max)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v > max)
		usage();
	return v;
}

static void parse(struct run *r, int argc, char **argv)
{
	int c;

	while ((c = getopt(argc, argv, "s:p:f:n:c:b:w:te:o:i:H:q:F:a:k:r:")) != -1) {
		switch (c) {
		case 's': if (inet_pton(AF_INET, optarg, &r->o.server) != 1) usage(); break;
		case 'p': r->o.port = (uint16_t)num(optarg, 65535); break;
		case 'f': r->o.remote = optarg; break;
		case 'n': r->total = (unsigned)num(optarg, 100000); break;
		case 'c': r->concurrency = (unsigned)num(optarg, 10000); break;
		case 'b': r->o.blksize = (uint16_t)num(optarg, 65464); break;
		case 'w': r->o.windowsize = (uint16_t)num(optarg, 65535); break;
		case 't': r->o.tsize = true; break;
		case 'e': r->expect_size = num(optarg, ~0UL); break;
		case 'o': r->output = optarg; break;
		case 'i': r->o.ifname = optarg; break;
		case 'H': r->hang_seconds = (unsigned)num(optarg, 3600); break;
		case 'q': r->quirk = optarg; break;
		case 'F': r->flood = (unsigned)num(optarg, 1000000); break;
		case 'a': if (inet_pton(AF_INET, optarg, &r->flood_from) != 1) usage(); break;
		case 'k': r->flood_addrs = (unsigned)num(optarg, 65536); break;
		case 'r': r->flood_rate = (unsigned)num(optarg, 1000000); break;
		default: usage();
		}
	}
	if (!r->o.remote || !r->o.server.s_addr)
		usage();
	if (!r->concurrency || r->concurrency > r->total)
		r->concurrency = r->total;
}

/* The request with a client quirk, built by hand. */
static void quirk_request(struct run *r)
{
	size_t n = strlen(r->o.remote), len = 0;
	const char *mode = "octet";

	if (n + 32 > sizeof(r->request))
		usage();
	r->request[len++] = 0;
	r->request[len++] = TFTP_RRQ;
	memcpy(r->request + len, r->o.remote, n);
	len += n;
	if (strcmp(r->quirk, "name-ff") == 0)
		r->request[len++] = 0xff;
	r->request[len++] = 0;
	memcpy(r->request + len, mode, strlen(mode) + 1);
	len += strlen(mode) + 1;
	if (strcmp(r->quirk, "nul") == 0)
		for (int i = 0; i < 3; i++)
			r->request[len++] = 0;
	else if (strcmp(r->quirk, "ff") == 0)
		for (int i = 0; i < 4; i++)
			r->request[len++] = 0xff;
	else if (strcmp(r->quirk, "name-ff") != 0)
		usage();
	r->o.request = r->request;
	r->o.request_len = len;
}

/* Abandoned clients: ask, acknowledge the first reply, then never answer,
 * and hold the ports open. */
static int hang(struct run *r)
{
	struct tftp_session *s = calloc(r->total, sizeof(*s));
	int rc = 0;

	if (!s)
		return 1;
	for (unsigned i = 0; i < r->total; i++)
		if (tftp_session_start(&s[i], &r->o, -1, mono_us()) < 0)
			rc = 1;
	for (unsigned i = 0; i < r->total; i++) {
		struct pollfd p = { .fd = s[i].fd, .events = POLLIN };

		if (s[i].fd >= 0 && poll(&p, 1, 2000) == 1)
			(void)tftp_session_input(&s[i], mono_us());
	}
	sleep(r->hang_seconds);
	for (unsigned i = 0; i < r->total; i++)
		tftp_session_close(&s[i]);
	free(s);
	return rc;
}

/* ---- flood ------------------------------------------------------------------ */

struct flood {
	int *fd;
	unsigned n;
	size_t req_len;
	uint64_t datagrams, bytes, errors;
	uint8_t req[1024], buf[65536];
};

static int flood_request(struct flood *f, const struct run *r)
{
	struct tftp_options opt = { 0 };
	struct wr w = wr_init(f->req, sizeof(f->req));

	if (r->o.blksize) {
		opt.present |= TFTP_OPT_BLKSIZE;
		opt.blksize = r->o.blksize;
	}
	if (r->o.tsize)
		opt.present |= TFTP_OPT_TSIZE;
	if (r->o.windowsize) {
		opt.present |= TFTP_OPT_WINDOWSIZE;
		opt.windowsize = r->o.windowsize;
	}
	if (tftp_build_rrq(&w, r->o.remote, TFTP_MODE_OCTET, &opt) < 0)
		return -1;
	f->req_len = w.len;
	return 0;
}

/* One request from a new port of source address number i. */
static int flood_send(struct flood *f, const struct run *r, unsigned i, int ep)
{
	struct sockaddr_in from = { .sin_family = AF_INET }, to = {
		.sin_family = AF_INET, .sin_addr = r->o.server,
		.sin_port = htons(r->o.port ? r->o.port : TFTP_PORT) };
	struct epoll_event ev = { .events = EPOLLIN };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	from.sin_addr.s_addr = r->flood_from.s_addr ?
		htonl(ntohl(r->flood_from.s_addr) + i % (r->flood_addrs ? r->flood_addrs : 1)) : 0;
	ev.data.fd = fd;
	if (fd < 0 || bind(fd, (struct sockaddr *)&from, sizeof(from)) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		perror("tftp-load: flood socket");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	f->fd[f->n++] = fd;
	(void)sendto(fd, f->req, f->req_len, 0, (struct sockaddr *)&to, sizeof(to));
	return 0;
}

/* Counts what arrived, waiting up to ms for the first of it. */
static void flood_drain(struct flood *f, int ep, int ms)
{
	struct epoll_event evs[256];
	int n = epoll_wait(ep, evs, 256, ms);

	for (int i = 0; i < n; i++) {
		ssize_t len;

		while ((len = recv(evs[i].data.fd, f->buf, sizeof(f->buf), 0)) >= 0) {
			f->datagrams++;
			f->bytes += (uint64_t)len;
			f->errors += len >= 2 && f->buf[0] == 0 && f->buf[1] == TFTP_ERROR;
		}
	}
}

/* One JSON line (lib/json.c), what tftp-bench.sh reads. */
static void flood_report(const struct flood *f)
{
	struct json j;

	json_init(&j, stdout, JSON_COMPACT);
	json_begin(&j, '{');
	json_key(&j, "requests");
	json_uint(&j, f->n);
	json_key(&j, "request_bytes");
	json_uint(&j, f->req_len);
	json_key(&j, "errors");
	json_uint(&j, f->errors);
	json_key(&j, "datagrams");
	json_uint(&j, f->datagrams);
	json_key(&j, "bytes");
	json_uint(&j, f->bytes);
	json_key(&j, "bytes_per_request");
	json_double(&j, f->n ? (double)f->bytes / f->n : 0.0, 1);
	json_end(&j, '}');
	json_finish(&j);
}

static int flood(struct run *r)
{
	struct flood *f = calloc(1, sizeof(*f));
	int ep = epoll_create1(EPOLL_CLOEXEC), rc = 0;
	int64_t t0 = mono_us(), quiet_until;

	if (!f || ep < 0 || !(f->fd = calloc(r->flood, sizeof(int))) || flood_request(f, r) < 0)
		return 2;
	for (unsigned i = 0; i < r->flood && rc == 0; i++) {
		int64_t due = r->flood_rate ? t0 + (int64_t)i * 1000000 / r->flood_rate : 0;

		while (mono_us() < due)
			flood_drain(f, ep, (int)((due - mono_us()) / 1000) + 1);
		rc = flood_send(f, r, i, ep);
		flood_drain(f, ep, 0);
	}
	quiet_until = mono_us() + (int64_t)(r->hang_seconds ? r->hang_seconds : 10) * 1000000;
	while (mono_us() < quiet_until)
		flood_drain(f, ep, 100);
	flood_report(f);
	for (unsigned i = 0; i < f->n; i++)
		close(f->fd[i]);
	free(f->fd);
	free(f);
	close(ep);
	return rc ? 1 : 0;
}

static int fetch_one(struct run *r)
{
	struct tftp_fetch_result res;

	r->o.local = r->output;
	r->o.progress = stderr;
	if (tftp_fetch(&r->o, &res) < 0) {
		fprintf(stderr, "tftp-load: %s\n", res.error);
		return 1;
	}
	return 0;
}

static void start_one(struct run *r, struct tftp_session *s, int64_t now)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };

	r->started++;
	if (tftp_session_start(s, &r->o, -1, now) < 0 ||
	    epoll_ctl(r->ep, EPOLL_CTL_ADD, s->fd, &ev) < 0) {
		fprintf(stderr, "tftp-load: start: %s\n", s->res.error);
		r->failed++;
		tftp_session_close(s);
		s->done = true;
	}
}

/* Records a finished session and starts the next fetch in its place. */
static void finish_one(struct run *r, struct tftp_session *s, int rc, int64_t now)
{
	if (rc > 0 && (!r->expect_size || s->res.bytes == r->expect_size)) {
		r->took_us[r->ok++] = now - s->t0;
	} else {
		r->failed++;
		fprintf(stderr, "tftp-load: %s (%llu bytes)\n",
			s->res.error[0] ? s->res.error : "wrong size",
			(unsigned long long)s->res.bytes);
	}
	r->bytes += s->res.bytes;
	r->retransmits += s->res.retransmits;
	tftp_session_close(s);
	if (r->started < r->total)
		start_one(r, s, now);
}

static void expire(struct run *r, int64_t now)
{
	for (unsigned i = 0; i < r->concurrency; i++) {
		struct tftp_session *s = &r->s[i];

		if (s->fd >= 0 && !s->done && now >= s->deadline &&
		    tftp_session_timeout(s, now) < 0)
			finish_one(r, s, -1, now);
	}
}

static void loop(struct run *r)
{
	struct epoll_event evs[256];
	int64_t next_expire = 0;

	while (r->ok + r->failed < r->total) {
		int n = epoll_wait(r->ep, evs, 256, 20);
		int64_t now = mono_us();

		for (int i = 0; i < n; i++) {
			struct tftp_session *s = evs[i].data.ptr;
			int rc;

			if (s->fd < 0 || s->done)
				continue;
			rc = tftp_session_input(s, now);
			if (rc != 0)
				finish_one(r, s, rc, now);
		}
		if (now >= next_expire) {
			expire(r, now);
			next_expire = now + 10000;
		}
	}
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank of the sorted transfer times, in seconds. */
static double percentile_s(const int64_t *sorted, unsigned n, unsigned pct)
{
	return n ? (double)sorted[((uint64_t)n * pct + 99) / 100 - 1] / 1e6 : 0;
}

static void report_times(struct json *j, const struct run *r)
{
	qsort(r->took_us, r->ok, sizeof(*r->took_us), cmp_i64);
	json_key(j, "p50_s");
	json_double(j, percentile_s(r->took_us, r->ok, 50), 4);
	json_key(j, "p99_s");
	json_double(j, percentile_s(r->took_us, r->ok, 99), 4);
	json_key(j, "max_s");
	json_double(j, percentile_s(r->took_us, r->ok, 100), 4);
}

static void run_report(const struct run *r, double secs)
{
	struct json j;

	json_init(&j, stdout, JSON_COMPACT);
	json_begin(&j, '{');
	json_key(&j, "ok");
	json_uint(&j, r->ok);
	json_key(&j, "failed");
	json_uint(&j, r->failed);
	json_key(&j, "bytes");
	json_uint(&j, r->bytes);
	json_key(&j, "seconds");
	json_double(&j, secs, 3);
	json_key(&j, "MBps");
	json_double(&j, secs > 0 ? (double)r->bytes / secs / 1e6 : 0.0, 2);
	json_key(&j, "client_retransmits");
	json_uint(&j, r->retransmits);
	report_times(&j, r);
	json_end(&j, '}');
	json_finish(&j);
}

int main(int argc, char **argv)
{
	struct run r = { .total = 1 };
	struct rlimit rl;
	int64_t t0;
	double secs;

	parse(&r, argc, argv);
	if (r.quirk)
		quirk_request(&r);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (r.flood)
		return flood(&r);
	if (r.hang_seconds)
		return hang(&r);
	if (r.output)
		return fetch_one(&r);
	r.s = calloc(r.concurrency, sizeof(*r.s));
	r.took_us = calloc(r.total, sizeof(*r.took_us));
	r.ep = epoll_create1(EPOLL_CLOEXEC);
	if (!r.s || !r.took_us || r.ep < 0)
		return 2;
	t0 = mono_us();
	for (unsigned i = 0; i < r.concurrency; i++)
		start_one(&r, &r.s[i], t0);
	loop(&r);
	secs = (double)(mono_us() - t0) / 1e6;
	run_report(&r, secs);
	free(r.took_us);
	free(r.s);
	close(r.ep);
	return r.failed ? 1 : 0;
}
