/* SPDX-License-Identifier: MIT */
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

/* Watches are indexed by fd: descriptors are small and dense, so lookup
 * is O(1) and removal cannot leave a dangling pointer in epoll. */
struct watch {
	loop_fn fn;
	void *ctx;
};

struct deferred {
	loop_defer_fn fn;
	void *ctx;
};

struct loop {
	int epfd;
	bool stop;
	struct watch *watches;
	size_t n_watches;
	struct deferred deferred[LOOP_DEFER_MAX];
	size_t n_deferred;
};

struct loop *loop_new(void)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return NULL;
	}
	return l;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	close(l->epfd);
	free(l->watches);
	free(l);
}

static int reserve(struct loop *l, int fd)
{
	size_t n = l->n_watches;
	struct watch *w;

	if ((size_t)fd < n)
		return 0;
	while (n <= (size_t)fd)
		n = n ? 2 * n : 64;
	w = realloc(l->watches, n * sizeof(*w));
	if (!w)
		return -ENOMEM;
	for (size_t i = l->n_watches; i < n; i++)
		w[i] = (struct watch){ 0 };
	l->watches = w;
	l->n_watches = n;
	return 0;
}

int loop_add(struct loop *l, int fd, uint32_t events, loop_fn fn, void *ctx)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };
	int r;

	if (fd < 0)
		return -EBADF;
	r = reserve(l, fd);
	if (r < 0)
		return r;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	l->watches[fd] = (struct watch){ fn, ctx };
	return 0;
}

int loop_del(struct loop *l, int fd)
{
	if (fd < 0 || (size_t)fd >= l->n_watches || !l->watches[fd].fn)
		return -ENOENT;
	l->watches[fd] = (struct watch){ 0 };
	return epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 ? -errno : 0;
}

int loop_defer(struct loop *l, loop_defer_fn fn, void *ctx)
{
	for (size_t i = 0; i < l->n_deferred; i++)
		if (l->deferred[i].fn == fn && l->deferred[i].ctx == ctx)
			return 0;
	if (l->n_deferred == LOOP_DEFER_MAX)
		return -ENOSPC;
	l->deferred[l->n_deferred++] = (struct deferred){ fn, ctx };
	return 0;
}

/* A deferred call may defer another: that one runs in the next step. */
static void run_deferred(struct loop *l)
{
	struct deferred now[LOOP_DEFER_MAX];
	size_t n = l->n_deferred;

	memcpy(now, l->deferred, n * sizeof(now[0]));
	l->n_deferred = 0;
	for (size_t i = 0; i < n; i++)
		now[i].fn(l, now[i].ctx);
}

int loop_run(struct loop *l)
{
	struct epoll_event evs[64];

	l->stop = false;
	while (!l->stop) {
		int n = epoll_wait(l->epfd, evs, 64, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (int i = 0; i < n && !l->stop; i++) {
			int fd = evs[i].data.fd;

			/* An earlier callback in this batch may have removed it. */
			if ((size_t)fd < l->n_watches && l->watches[fd].fn)
				l->watches[fd].fn(l, fd, evs[i].events, l->watches[fd].ctx);
		}
		run_deferred(l);
	}
	run_deferred(l);
	return 0;
}

struct loop_timer {
	struct loop *loop;
	int fd;
	bool armed;
	loop_timer_fn fn;
	void *ctx;
};

static void on_timer(struct loop *l, int fd, uint32_t events, void *ctx)
{
	struct loop_timer *t = ctx;
	uint64_t expirations;

	(void)events;
	/* Missed periods are not made up for: one call per wake-up. */
	if (read(fd, &expirations, sizeof(expirations)) < 0)
		return;
	t->fn(l, t->ctx);
}

struct loop_timer *loop_timer_new(struct loop *l, loop_timer_fn fn, void *ctx)
{
	struct loop_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	*t = (struct loop_timer){ .loop = l, .fn = fn, .ctx = ctx };
	t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (t->fd < 0 || loop_add(l, t->fd, EPOLLIN, on_timer, t) < 0) {
		if (t->fd >= 0)
			close(t->fd);
		free(t);
		return NULL;
	}
	return t;
}

void loop_timer_free(struct loop_timer *t)
{
	if (!t)
		return;
	loop_del(t->loop, t->fd);
	close(t->fd);
	free(t);
}

int loop_timer_every(struct loop_timer *t, unsigned ms)
{
	struct timespec every = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };
	struct itimerspec its = { .it_interval = every, .it_value = every };

	if (timerfd_settime(t->fd, 0, &its, NULL) < 0)
		return -errno;
	t->armed = ms > 0;
	return 0;
}

bool loop_timer_armed(const struct loop_timer *t)
{
	return t->armed;
}

void loop_stop(struct loop *l)
{
	l->stop = true;
}
