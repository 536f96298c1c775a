/* SPDX-License-Identifier: MIT */
/*
 * The boot recorder: what boots leave in the store (the machines seen and
 * their events, store.h) is written by a thread of its own, on a database
 * connection of its own, so that no boot's answer waits for a commit.
 *
 * Why: measured with `make bench-policy`, a storm of 2 500 machines a
 * second had a p99 of 6.4 ms when each loop step committed its writes,
 * and 1.7 ms (nginx's, serving a static file, was 1.5 ms) without them.
 * The loop thread still reads the store and still makes the writes whose
 * answer depends on them (a next boot spent, a SELECT's binding, the
 * API's); the recorder takes only writes that nothing waits for.
 *
 * Records are queued in memory and written in one transaction per batch,
 * in the order they were queued.  While the database cannot be written
 * (a PostgreSQL server down, a disk full) they stay queued, up to
 * its cap (RECORDER_QUEUE_DEFAULT_MAX), and the writer tries again, at longer intervals up
 * to RECORDER_RETRY_MAX_MS; the log says when it starts and when it is
 * over, and the queue and the drops are in the metrics.  Nothing queued
 * is lost but what the cap refuses and what is still queued when bsdpd
 * stops with the database down, both logged with their count.
 *
 * An event is given its id by the database, so it reaches the event
 * streams once it is committed: the writer wakes the loop through an
 * eventfd (recorder_fd), and the loop hands it on (recorder_deliver).
 */
#ifndef BSDPD_RECORDER_H
#define BSDPD_RECORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* About the events of 8 000 boots (six stages each); 1.3 KiB a record. */
#define RECORDER_QUEUE_DEFAULT_MAX 50000
#define RECORDER_RETRY_MAX_MS 5000
/* How long recorder_flush waits for the writer, at most. */
#define RECORDER_FLUSH_MS 2000

struct recorder;

/* Called by recorder_deliver for each event once it is committed (its id
 * set); e is valid during the call only. */
typedef void (*recorder_written_fn)(void *ctx, const struct event *e);

struct recorder_config {
	const char *database;          /* as bindings_open takes them */
	const char *state_dir;
	const struct store_options *store;
	unsigned queue_max;            /* 0: RECORDER_QUEUE_DEFAULT_MAX */
	recorder_written_fn written;
	void *ctx;
};

/* Opens the writer's own connection to the database.  Records may be
 * queued at once; they are written once recorder_start has run.  NULL
 * and *err (to free) on failure. */
struct recorder *recorder_open(const struct recorder_config *cfg, char **err);
/* Lets the writer thread go back to nice 0 once it has lowered its
 * priority (see recorder.c): RLIMIT_NICE 20, set while bsdpd still holds
 * CAP_SYS_RESOURCE, before confinement.  0 or -errno. */
int recorder_allow_renice(void);
/* Starts the writer thread: after confine_apply, like the checkpointer
 * (Landlock binds only the threads started after it).  0 or -errno. */
int recorder_start(struct recorder *r);
/* Writes what is queued and stops the writer (with the database down, one
 * more try, then the rest is logged as lost); then frees r.  NULL is
 * nothing. */
void recorder_close(struct recorder *r);

/* Readable when events were committed: the loop then calls
 * recorder_deliver, which hands them to the recorder_written_fn. */
int recorder_fd(const struct recorder *r);
void recorder_deliver(struct recorder *r);

/* Queues the sighting of a machine (store_machine_seen) at Unix time now,
 * or an event (store_event_add).  0, or -ENOSPC when the queue is full
 * (counted and logged at most once a minute). */
int recorder_seen(struct recorder *r, const struct machine *seen, int64_t now);
int recorder_event(struct recorder *r, const struct event *e);

/* Waits until everything queued before the call is committed, so that a
 * read that follows sees it (the API's), at most RECORDER_FLUSH_MS.  0,
 * -EAGAIN at once while the database cannot be written, -ETIMEDOUT. */
int recorder_flush(struct recorder *r);

struct recorder_status {
	size_t queued;         /* not yet committed */
	uint64_t written;      /* committed since start */
	uint64_t dropped;      /* refused by the cap */
	bool failing;          /* the last write failed; retrying */
};
void recorder_status(struct recorder *r, struct recorder_status *out);

#endif
