/* SPDX-License-Identifier: MIT */
/*
 * The boot recorder (see recorder.h).
 *
 * Threads: the queues below (pending, done), the sequence numbers and the
 * status are shared by the loop thread and the writer, and guarded by mu.
 * The writer's bindings and store (its connection) belong to the writer
 * thread once recorder_start has run, and to the loop thread before and
 * after it.  done_fd is written by the writer and read by the loop.
 */
#include "recorder.h"

#include <errno.h>
#include <pthread.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "bindings.h"
#include "clock.h"
#include "log.h"

#define RETRY_FIRST_MS 100
/* The writer commits at most once per GATHER_MS, or when GATHER_MAX
 * records wait: a commit per boot would cost the loop's core its share
 * (this machine has two, and the clients one), nothing waits for it but
 * a flush, which hurries it, and the records wait in memory anyway. */
#define GATHER_MS 10
#define GATHER_MAX 2048
/* The writer yields the core to the loop when both want it, while it
 * keeps up: what it does can wait, an answer cannot (a storm's p99 at
 * 2 500 boots a second, make bench-policy: 2.1-2.2 ms without, 1.6-1.7
 * with).  Once WRITER_BEHIND records wait (a loop saturated by renders
 * starves a niced writer: 130 000 records dropped in 10 s of wrk) it
 * competes again, until fewer than GATHER_MAX do.  A nice value of the
 * thread alone (Linux schedules threads by their own: setpriority(2)
 * with the thread's id).  Raising it back needs CAP_SYS_NICE, which
 * confinement drops, or an RLIMIT_NICE of 20 (recorder_allow_renice);
 * without either the writer is never niced at all. */
#define WRITER_NICE 10
#define WRITER_BEHIND (4 * GATHER_MAX)
/* The writer counts the machines again this often, for the cap
 * (store_options.machines_max): the API adds and deletes them too. */
#define RECOUNT_EVERY_S 10
#define DROP_LOG_EVERY_S 60

/* What a sighting needs of struct machine: a fraction of its size. */
struct sighting {
	uint8_t mac[6];
	char model[POLICY_MODEL_MAX];
	char arch[POLICY_ARCH_MAX];
	char uuid[POLICY_UUID_MAX];
	struct in_addr ip;
	int64_t now;
};

struct record {
	struct record *next;
	uint64_t seq;
	bool is_event;
	union {
		struct sighting seen;
		struct event event;
	} u;
};

struct record_list {
	struct record *head, *tail;
};

struct recorder {
	struct bindings *bindings;    /* the writer's connection */
	struct store *store;
	recorder_written_fn written;
	void *ctx;
	size_t queue_max;
	int done_fd;
	pthread_t thread;
	bool running;
	bool renice;                  /* the writer may go back to nice 0 */
	int nice;                     /* the writer's */
	int64_t counted_at;           /* the writer's: when it last counted */

	pthread_mutex_t mu;
	pthread_cond_t wake;          /* to the writer: records, a flush, or stop */
	enum { WRITER_BUSY, WRITER_IDLE, WRITER_GATHERING } writer;
	bool hurry;                   /* a flush waits */
	int64_t committed_at;         /* mono_ms of the last commit */
	pthread_cond_t flushed;       /* to recorder_flush: committed moved on */
	struct record_list pending;   /* queued, not yet taken by the writer */
	struct record_list done;      /* committed events, for the loop */
	size_t queued;                /* pending, and in the writer's hands */
	uint64_t next_seq, committed_seq;
	bool stop;
	struct recorder_status status;
	uint64_t dropped_logged;
	int64_t dropped_log_at;
};

/* ---- lists ------------------------------------------------------------------ */

static void list_push(struct record_list *l, struct record *rec)
{
	rec->next = NULL;
	if (l->tail)
		l->tail->next = rec;
	else
		l->head = rec;
	l->tail = rec;
}

static struct record_list list_take(struct record_list *l)
{
	struct record_list all = *l;

	*l = (struct record_list){ 0 };
	return all;
}

/* Puts batch back in front of what was queued meanwhile. */
static void list_prepend(struct record_list *l, struct record_list *batch)
{
	if (!batch->head)
		return;
	batch->tail->next = l->head;
	if (!l->tail)
		l->tail = batch->tail;
	l->head = batch->head;
}

static void list_free(struct record_list *l)
{
	for (struct record *rec = l->head, *next; rec; rec = next) {
		next = rec->next;
		free(rec);
	}
	*l = (struct record_list){ 0 };
}

/* ---- the loop's side --------------------------------------------------------- */

static void deliver_done(struct recorder *r)
{
	struct record_list done;

	pthread_mutex_lock(&r->mu);
	done = list_take(&r->done);
	pthread_mutex_unlock(&r->mu);
	for (struct record *rec = done.head; rec; rec = rec->next)
		r->written(r->ctx, &rec->u.event);
	list_free(&done);
}

int recorder_fd(const struct recorder *r)
{
	return r->done_fd;
}

void recorder_deliver(struct recorder *r)
{
	uint64_t n;

	if (read(r->done_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_msg(LOG_WARNING, "recorder: reading its eventfd: %s", strerror(errno));
	deliver_done(r);
}

/* A full queue means the database has been slow or away for a while. */
static void log_drops(struct recorder *r)
{
	int64_t now = clock_ms(CLOCK_MONOTONIC) / 1000;

	if (r->dropped_log_at && now - r->dropped_log_at < DROP_LOG_EVERY_S)
		return;
	log_msg(LOG_WARNING, "recorder: %zu boot records wait for the database; %llu more "
		"dropped", r->queued,
		(unsigned long long)(r->status.dropped - r->dropped_logged));
	r->dropped_logged = r->status.dropped;
	r->dropped_log_at = now;
}

static int enqueue(struct recorder *r, struct record *rec)
{
	pthread_mutex_lock(&r->mu);
	if (r->queued >= r->queue_max) {
		r->status.dropped++;
		log_drops(r);
		pthread_mutex_unlock(&r->mu);
		free(rec);
		return -ENOSPC;
	}
	rec->seq = ++r->next_seq;
	list_push(&r->pending, rec);
	r->queued++;
	if (r->writer == WRITER_IDLE ||
	    (r->writer == WRITER_GATHERING && r->queued >= GATHER_MAX))
		pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->mu);
	return 0;
}

static struct record *record_new(bool is_event)
{
	struct record *rec = malloc(sizeof(*rec));

	if (!rec)
		abort();
	rec->is_event = is_event;
	return rec;
}

int recorder_seen(struct recorder *r, const struct machine *m, int64_t now)
{
	struct record *rec = record_new(false);
	struct sighting *s = &rec->u.seen;

	memcpy(s->mac, m->mac, 6);
	memcpy(s->model, m->model, sizeof(s->model));
	memcpy(s->arch, m->arch, sizeof(s->arch));
	memcpy(s->uuid, m->uuid, sizeof(s->uuid));
	s->ip = m->ip;
	s->now = now;
	return enqueue(r, rec);
}

int recorder_event(struct recorder *r, const struct event *e)
{
	struct record *rec = record_new(true);

	rec->u.event = *e;
	return enqueue(r, rec);
}

static void deadline_in(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

int recorder_flush(struct recorder *r)
{
	struct timespec until;
	uint64_t target;
	int rc = 0;

	if (!r->running)
		return 0;
	deadline_in(&until, RECORDER_FLUSH_MS);
	pthread_mutex_lock(&r->mu);
	target = r->next_seq;
	if (r->committed_seq < target) {
		r->hurry = true;
		pthread_cond_signal(&r->wake);
	}
	while (r->committed_seq < target && rc == 0) {
		if (r->status.failing)
			rc = -EAGAIN;
		else if (pthread_cond_timedwait(&r->flushed, &r->mu, &until) == ETIMEDOUT)
			rc = -ETIMEDOUT;
	}
	pthread_mutex_unlock(&r->mu);
	return rc;
}

void recorder_status(struct recorder *r, struct recorder_status *out)
{
	pthread_mutex_lock(&r->mu);
	*out = r->status;
	out->queued = r->queued;
	pthread_mutex_unlock(&r->mu);
}

/* ---- the writer ------------------------------------------------------------------ */

static void apply(struct recorder *r, struct record *rec)
{
	struct sighting *s = &rec->u.seen;
	struct machine m = { .ip = s->ip };

	if (rec->is_event) {
		store_event_insert(r->store, &rec->u.event);
		return;
	}
	memcpy(m.mac, s->mac, 6);
	memcpy(m.model, s->model, sizeof(m.model));
	memcpy(m.arch, s->arch, sizeof(m.arch));
	memcpy(m.uuid, s->uuid, sizeof(m.uuid));
	if (store_machine_seen(r->store, &m, s->now) == -ENOSPC)
		log_msg(LOG_WARNING, "policy: the machines are at their cap; one seen booting "
			"is not registered");
}

/* One transaction, and one trim of the events after its newest; a write
 * that fails by itself (logged by the store) is rolled back to its
 * savepoint and the others kept.  0, or -EIO when the batch could not be
 * committed: nothing of it was. */
static int write_batch(struct recorder *r, const struct record_list *batch)
{
	int64_t now = clock_ms(CLOCK_MONOTONIC) / 1000;
	const struct event *newest = NULL;

	if (now - r->counted_at >= RECOUNT_EVERY_S && store_machines_recount(r->store) >= 0)
		r->counted_at = now;
	if (store_batch_begin(r->store) < 0)
		return -EIO;
	for (struct record *rec = batch->head; rec; rec = rec->next) {
		apply(r, rec);
		if (rec->is_event)
			newest = &rec->u.event;
	}
	if (newest)
		store_events_trim(r->store, newest);
	return store_batch_end(r->store);
}

/* Under mu: the batch is in the database. */
static void committed(struct recorder *r, struct record_list *batch)
{
	size_t n = 0;

	for (struct record *rec = batch->head, *next; rec; rec = next) {
		next = rec->next;
		r->committed_seq = rec->seq;
		n++;
		if (rec->is_event)
			list_push(&r->done, rec);
		else
			free(rec);
	}
	if (r->status.failing)
		log_msg(LOG_NOTICE, "recorder: the database is back; %zu boot records written",
			n);
	r->status.failing = false;
	r->committed_at = clock_ms(CLOCK_MONOTONIC);
	r->status.written += n;
	r->queued -= n;
	pthread_cond_broadcast(&r->flushed);
}

/* Under mu: the batch goes back to the front of the queue, and the
 * writer waits before it tries again (less often the longer it fails),
 * unless it is stopping. */
static void failed(struct recorder *r, struct record_list *batch, unsigned *retry_ms)
{
	struct timespec until;

	list_prepend(&r->pending, batch);
	if (!r->status.failing)
		log_msg(LOG_ERR, "recorder: cannot write to the database; %zu boot records "
			"kept in memory, trying again", r->queued);
	r->status.failing = true;
	pthread_cond_broadcast(&r->flushed);
	*retry_ms = *retry_ms ? *retry_ms * 2 : RETRY_FIRST_MS;
	if (*retry_ms > RECORDER_RETRY_MAX_MS)
		*retry_ms = RECORDER_RETRY_MAX_MS;
	deadline_in(&until, *retry_ms);
	while (!r->stop && pthread_cond_timedwait(&r->wake, &r->mu, &until) != ETIMEDOUT)
		;
}

static void tell_loop(struct recorder *r)
{
	uint64_t one = 1;

	if (write(r->done_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_msg(LOG_WARNING, "recorder: waking the loop: %s", strerror(errno));
}

/* Under mu: until there is something to write, and then until GATHER_MS
 * after the last commit unless it is pressing. */
static void wait_for_records(struct recorder *r)
{
	struct timespec until;
	int64_t wait_ms;

	r->writer = WRITER_IDLE;
	while (!r->pending.head && !r->stop)
		pthread_cond_wait(&r->wake, &r->mu);
	r->writer = WRITER_GATHERING;
	wait_ms = r->committed_at + GATHER_MS - clock_ms(CLOCK_MONOTONIC);
	if (wait_ms > 0) {
		deadline_in(&until, (unsigned)wait_ms);
		while (!r->stop && !r->hurry && r->queued < GATHER_MAX &&
		       pthread_cond_timedwait(&r->wake, &r->mu, &until) != ETIMEDOUT)
			;
	}
	r->writer = WRITER_BUSY;
	r->hurry = false;
}

int recorder_allow_renice(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NICE, &rl) == 0 && (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= 20))
		return 0;
	rl = (struct rlimit){ .rlim_cur = 20, .rlim_max = 20 };
	return setrlimit(RLIMIT_NICE, &rl) < 0 ? -errno : 0;
}

static bool may_renice(void)
{
	struct rlimit rl;

	return getrlimit(RLIMIT_NICE, &rl) == 0 &&
	       (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= 20);
}

/* Under mu: nice while it keeps up, not once it falls behind. */
static void pace_writer(struct recorder *r)
{
	int want = r->queued >= WRITER_BEHIND ? 0 : r->queued < GATHER_MAX ? WRITER_NICE : r->nice;

	if (r->renice && want != r->nice && setpriority(PRIO_PROCESS, (id_t)gettid(), want) == 0)
		r->nice = want;
}

static void *writer_main(void *arg)
{
	struct recorder *r = arg;
	struct record_list batch;
	unsigned retry_ms = 0;
	bool last_try = false;
	int rc;

	pthread_mutex_lock(&r->mu);
	while (!last_try) {
		wait_for_records(r);
		if (!r->pending.head)
			break;
		pace_writer(r);
		last_try = r->stop && r->status.failing;
		batch = list_take(&r->pending);
		pthread_mutex_unlock(&r->mu);
		rc = write_batch(r, &batch);
		pthread_mutex_lock(&r->mu);
		if (rc < 0) {
			failed(r, &batch, &retry_ms);
			continue;
		}
		retry_ms = 0;
		committed(r, &batch);
		tell_loop(r);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* ---- start and stop ------------------------------------------------------------- */

static struct recorder *open_fail(struct recorder *r, char **err, const char *what)
{
	if (err && !*err && asprintf(err, "recorder: %s: %s", what, strerror(errno)) < 0)
		*err = NULL;
	recorder_close(r);
	return NULL;
}

static void init_sync(struct recorder *r)
{
	pthread_condattr_t ca;

	pthread_mutex_init(&r->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->wake, &ca);
	pthread_cond_init(&r->flushed, &ca);
	pthread_condattr_destroy(&ca);
}

struct recorder *recorder_open(const struct recorder_config *cfg, char **err)
{
	struct recorder *r = calloc(1, sizeof(*r));

	if (!r)
		abort();
	init_sync(r);
	r->written = cfg->written;
	r->ctx = cfg->ctx;
	r->queue_max = cfg->queue_max ? cfg->queue_max : RECORDER_QUEUE_DEFAULT_MAX;
	r->counted_at = clock_ms(CLOCK_MONOTONIC) / 1000;
	if ((r->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		return open_fail(r, err, "eventfd");
	if (!(r->bindings = bindings_open(cfg->database, cfg->state_dir, NULL, err)) ||
	    !(r->store = store_open(r->bindings, cfg->store, err)))
		return open_fail(r, err, "its database connection");
	return r;
}

int recorder_start(struct recorder *r)
{
	int e;

	r->renice = may_renice();
	if ((e = pthread_create(&r->thread, NULL, writer_main, r)) != 0)
		return -e;
	r->running = true;
	return 0;
}

/* What the writer could not write before it stopped. */
static void log_lost(struct recorder *r)
{
	if (r->queued)
		log_msg(LOG_ERR, "recorder: the database is still away; %zu boot records "
			"are lost", r->queued);
}

/* The writer writes what is queued and stops; a recorder that never
 * started writes it here, the same way. */
void recorder_close(struct recorder *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->mu);
	if (r->running)
		pthread_join(r->thread, NULL);
	else if (r->store)
		writer_main(r);
	r->running = false;
	deliver_done(r);
	log_lost(r);
	list_free(&r->pending);
	if (r->done_fd >= 0)
		close(r->done_fd);
	store_close(r->store);
	bindings_close(r->bindings);
	pthread_cond_destroy(&r->wake);
	pthread_cond_destroy(&r->flushed);
	pthread_mutex_destroy(&r->mu);
	free(r);
}
