/* SPDX-License-Identifier: MIT */
/*
 * An open-loop boot storm against /boot.ipxe (tools/bench/policy-bench.sh):
 * COUNT machines, each on a TCP connection of its own as a booting iPXE
 * opens one, arriving at RATE per second on a fixed schedule.  A
 * response's latency runs from its machine's arrival on the schedule, so a
 * server (or this client) that falls behind is charged for the wait: no
 * coordinated omission.  One thread, epoll, non-blocking sockets: a Python
 * client could not start more than about 2 000 connections a second.
 *
 *   script_storm HOST PORT MACS_FILE RATE COUNT
 *
 * Prints "DONE P50_US P99_US MAX_US ERRORS": a refused or reset
 * connection, a status other than 200, or no answer within 30 s of the
 * last arrival is an error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RESPONSE_MAX 65536
#define MAC_LEN 17
#define GRACE_US 30000000

struct machine {
	int fd;
	bool sent;
	int64_t due_us;
	size_t got;
	char *buf;
};

struct storm {
	struct sockaddr_in to;
	char (*macs)[MAC_LEN + 1];
	size_t n_macs;
	int ep;
	double *lat;
	size_t n_lat, done, errors;
};

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int read_macs(struct storm *s, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[64];
	size_t cap = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strlen(line) < MAC_LEN)
			continue;
		if (s->n_macs == cap) {
			cap = cap ? 2 * cap : 1024;
			s->macs = realloc(s->macs, cap * sizeof(*s->macs));
			if (!s->macs)
				return -1;
		}
		memcpy(s->macs[s->n_macs], line, MAC_LEN);
		s->macs[s->n_macs++][MAC_LEN] = '\0';
	}
	fclose(f);
	return s->n_macs ? 0 : -1;
}

static void finish(struct storm *s, struct machine *m, bool ok)
{
	if (ok)
		s->lat[s->n_lat++] = (double)(now_us() - m->due_us);
	else
		s->errors++;
	epoll_ctl(s->ep, EPOLL_CTL_DEL, m->fd, NULL);
	close(m->fd);
	free(m->buf);
	m->fd = -1;
	m->buf = NULL;
	s->done++;
}

static void start(struct storm *s, struct machine *m, int64_t due)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = m };

	*m = (struct machine){ .due_us = due, .buf = malloc(RESPONSE_MAX) };
	m->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->fd < 0 || !m->buf) {
		if (m->fd >= 0)
			close(m->fd);
		free(m->buf);
		*m = (struct machine){ .fd = -1 };
		s->errors++;
		s->done++;
		return;
	}
	if ((connect(m->fd, (struct sockaddr *)&s->to, sizeof(s->to)) < 0 &&
	     errno != EINPROGRESS) ||
	    epoll_ctl(s->ep, EPOLL_CTL_ADD, m->fd, &ev) < 0)
		finish(s, m, false);
}

static void send_request(struct storm *s, struct machine *m)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = m };
	char req[256];
	int n = snprintf(req, sizeof(req),
			 "GET /boot.ipxe?mac=%s&uuid=&arch=x86_64&platform=efi HTTP/1.1\r\n"
			 "Host: bsdpd\r\n\r\n",
			 s->macs[(size_t)rand() % s->n_macs]);

	if (send(m->fd, req, (size_t)n, MSG_NOSIGNAL) != n ||
	    epoll_ctl(s->ep, EPOLL_CTL_MOD, m->fd, &ev) < 0) {
		finish(s, m, false);
		return;
	}
	m->sent = true;
}

/* Whole when the headers and Content-Length bytes of body are in. */
static int response_state(const struct machine *m)
{
	const char *end = memmem(m->buf, m->got, "\r\n\r\n", 4), *cl;
	size_t head;

	if (!end)
		return 0;
	head = (size_t)(end - m->buf) + 4;
	cl = memmem(m->buf, head, "Content-Length:", 15);
	if (!cl)
		cl = memmem(m->buf, head, "content-length:", 15);
	if (!cl)
		return -1;
	if (m->got - head < strtoull(cl + 15, NULL, 10))
		return 0;
	return strncmp(m->buf, "HTTP/1.1 200", 12) == 0 ? 1 : -1;
}

static void receive(struct storm *s, struct machine *m)
{
	ssize_t n = recv(m->fd, m->buf + m->got, RESPONSE_MAX - 1 - m->got, 0);
	int st;

	if (n <= 0) {
		if (n < 0 && errno == EAGAIN)
			return;
		finish(s, m, false);
		return;
	}
	m->got += (size_t)n;
	m->buf[m->got] = '\0';
	if ((st = response_state(m)) != 0 || m->got == RESPONSE_MAX - 1)
		finish(s, m, st == 1);
}

static void on_event(struct storm *s, struct machine *m, uint32_t events)
{
	if (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLIN))
		finish(s, m, false);
	else if (!m->sent)
		send_request(s, m);
	else
		receive(s, m);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void run(struct storm *s, struct machine *ms, double rate, size_t count)
{
	int64_t t0 = now_us() + 50000, end = t0 + (int64_t)(count / rate * 1e6) + GRACE_US;
	size_t started = 0;
	struct epoll_event evs[256];

	while (s->done < count && now_us() < end) {
		int64_t now = now_us(), next;
		int wait_ms, n;

		while (started < count && t0 + (int64_t)(started / rate * 1e6) <= now) {
			start(s, &ms[started], t0 + (int64_t)(started / rate * 1e6));
			started++;
		}
		next = started < count ? t0 + (int64_t)(started / rate * 1e6) : now + 100000;
		wait_ms = next > now ? (int)((next - now + 999) / 1000) : 0;
		n = epoll_wait(s->ep, evs, 256, wait_ms);
		for (int i = 0; i < n; i++)
			on_event(s, evs[i].data.ptr, evs[i].events);
	}
	s->errors += count - s->done;
}

int main(int argc, char **argv)
{
	struct storm s = { .to = { .sin_family = AF_INET } };
	struct machine *ms;
	double rate;
	size_t count;

	if (argc != 6 || inet_pton(AF_INET, argv[1], &s.to.sin_addr) != 1 ||
	    (rate = atof(argv[4])) <= 0 || (count = strtoul(argv[5], NULL, 10)) == 0) {
		fprintf(stderr, "usage: script_storm HOST PORT MACS_FILE RATE COUNT\n");
		return 2;
	}
	s.to.sin_port = htons((uint16_t)atoi(argv[2]));
	if (read_macs(&s, argv[3]) < 0 || (s.ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    !(ms = calloc(count, sizeof(*ms))) || !(s.lat = calloc(count, sizeof(double)))) {
		perror("script_storm");
		return 1;
	}
	srand(1);
	run(&s, ms, rate, count);
	qsort(s.lat, s.n_lat, sizeof(double), cmp);
	if (s.n_lat)
		printf("%zu %.0f %.0f %.0f %zu\n", s.n_lat, s.lat[s.n_lat / 2],
		       s.lat[s.n_lat * 99 / 100], s.lat[s.n_lat - 1], s.errors);
	else
		printf("0 0 0 0 %zu\n", s.errors);
	return 0;
}
