/* SPDX-License-Identifier: MIT */
/* See catalog_loader.h for who owns what. */
#include "catalog_loader.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* ---- snapshots --------------------------------------------------------- */

int catalog_snap_load(const char *root, const struct catalog_snap *previous,
		      struct catalog_snap **out)
{
	struct catalog_snap *snap = calloc(1, sizeof(*snap));
	int r;

	*out = NULL;
	if (!snap)
		return -ENOMEM;
	/* The bundle that held an image ID in the catalog being served keeps
	 * it against a newcomer (nbi/catalog.c). */
	r = nb_catalog_reload(root, previous ? &previous->cat : NULL, &snap->cat);
	if (r < 0) {
		nb_catalog_clear(&snap->cat);
		free(snap);
		return r;
	}
	atomic_init(&snap->refs, 1);
	*out = snap;
	return 0;
}

struct catalog_snap *catalog_snap_ref(struct catalog_snap *snap)
{
	/* Relaxed: the caller already holds a reference that keeps it alive. */
	atomic_fetch_add_explicit(&snap->refs, 1, memory_order_relaxed);
	return snap;
}

void catalog_snap_unref(struct catalog_snap *snap)
{
	/* acq_rel: the thread that frees sees every other holder's reads done. */
	if (snap && atomic_fetch_sub_explicit(&snap->refs, 1, memory_order_acq_rel) == 1) {
		nb_catalog_clear(&snap->cat);
		free(snap);
	}
}

/* ---- the loader -------------------------------------------------------- */

struct catalog_loader {
	char *root;                  /* the loader's own copy, for its thread */
	struct catalog_snap *previous; /* the thread's reference to what is served */
	bool busy;                   /* loop only: started and not yet collected */
	bool queued;                 /* loop only: a request came while busy */
	pthread_mutex_t mu;          /* guards the fields below and efd's lifetime */
	int efd;                     /* eventfd, -1 once the loop let go */
	bool running;                /* a thread is loading */
	bool finished;               /* its result waits in result/err */
	bool abandoned;              /* the loop let go; the thread frees all */
	struct catalog_snap *result;
	int err;
};

/* An eventfd counter cannot overflow from one wakeup per load, and a
 * read of an empty one is EAGAIN: neither result matters. */
static void eventfd_post(int efd)
{
	uint64_t one = 1;
	ssize_t n = write(efd, &one, sizeof(one));

	(void)n;
}

static void eventfd_drain(int efd)
{
	uint64_t count;
	ssize_t n = read(efd, &count, sizeof(count));

	(void)n;
}

static void loader_destroy(struct catalog_loader *ld)
{
	catalog_snap_unref(ld->result);
	catalog_snap_unref(ld->previous);
	if (ld->efd >= 0)
		close(ld->efd);
	pthread_mutex_destroy(&ld->mu);
	free(ld->root);
	free(ld);
}

struct catalog_loader *catalog_loader_new(const char *root)
{
	struct catalog_loader *ld = calloc(1, sizeof(*ld));

	if (!ld)
		return NULL;
	ld->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ld->root = strdup(root);
	if (ld->efd < 0 || !ld->root || pthread_mutex_init(&ld->mu, NULL) != 0) {
		if (ld->efd >= 0)
			close(ld->efd);
		free(ld->root);
		free(ld);
		return NULL;
	}
	return ld;
}

int catalog_loader_fd(const struct catalog_loader *ld)
{
	return ld->efd;
}

/* The thread: load, hand the result over, and free the loader if the loop
 * has let go meanwhile.  It touches nothing of the loop's but the loader. */
static void *load_thread(void *arg)
{
	struct catalog_loader *ld = arg;
	struct catalog_snap *snap;
	int err = catalog_snap_load(ld->root, ld->previous, &snap);
	bool last;

	catalog_snap_unref(ld->previous);
	ld->previous = NULL;

	pthread_mutex_lock(&ld->mu);
	ld->result = snap;
	ld->err = err;
	ld->finished = true;
	ld->running = false;
	last = ld->abandoned;
	if (!last)
		eventfd_post(ld->efd);
	pthread_mutex_unlock(&ld->mu);
	if (last)
		loader_destroy(ld);
	return NULL;
}

/* Detached: nobody joins a thread that may be blocked for good.  It
 * inherits the loop's signal mask, so signals keep going to the signalfd. */
static int start_thread(struct catalog_loader *ld, struct catalog_snap *current)
{
	pthread_attr_t attr;
	pthread_t t;
	int r;

	if ((r = pthread_attr_init(&attr)) != 0)
		return -r;
	(void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_mutex_lock(&ld->mu);
	ld->running = true;
	ld->previous = current ? catalog_snap_ref(current) : NULL;
	r = pthread_create(&t, &attr, load_thread, ld);
	if (r != 0) {
		ld->running = false;
		catalog_snap_unref(ld->previous);
		ld->previous = NULL;
	}
	pthread_mutex_unlock(&ld->mu);
	pthread_attr_destroy(&attr);
	return -r;
}

int catalog_loader_request(struct catalog_loader *ld, struct catalog_snap *current,
			   enum catalog_request *how)
{
	int r;

	if (ld->busy) {
		ld->queued = true;
		*how = CATALOG_LOAD_QUEUED;
		return 0;
	}
	if ((r = start_thread(ld, current)) < 0)
		return r;
	ld->busy = true;
	*how = CATALOG_LOAD_STARTED;
	return 0;
}

int catalog_loader_collect(struct catalog_loader *ld, struct catalog_snap **out, bool *queued)
{
	int err;

	*out = NULL;
	*queued = false;
	pthread_mutex_lock(&ld->mu);
	if (!ld->finished) {
		pthread_mutex_unlock(&ld->mu);
		return -EAGAIN;
	}
	*out = ld->result;
	err = ld->err;
	ld->result = NULL;
	ld->finished = false;
	eventfd_drain(ld->efd);
	pthread_mutex_unlock(&ld->mu);
	ld->busy = false;
	*queued = ld->queued;
	ld->queued = false;
	return err;
}

void catalog_loader_free(struct catalog_loader *ld)
{
	bool orphan;

	if (!ld)
		return;
	pthread_mutex_lock(&ld->mu);
	ld->abandoned = true;
	orphan = ld->running;
	if (orphan) {
		close(ld->efd);
		ld->efd = -1;
	}
	pthread_mutex_unlock(&ld->mu);
	if (!orphan)
		loader_destroy(ld);
}
