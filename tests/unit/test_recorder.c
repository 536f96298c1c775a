/* SPDX-License-Identifier: MIT */
/*
 * The boot recorder (bsdpd/recorder.c): what it is given is written, in
 * order, on its own connection; a flush makes it visible to the loop's
 * connection; committed events come back with their ids through the
 * eventfd; a database that cannot be written is waited out with nothing
 * lost; the queue's cap refuses and counts; closing writes what is queued.
 * Runs on SQLite, and on PostgreSQL under run-pg.sh.  Every wait is
 * bounded.
 */
#include "test_db.h"

#include <poll.h>
#include <time.h>

#include "bindings.h"
#include "recorder.h"
#include "store.h"

#define WAIT_MS 10000
#define QUEUE_MAX 500

struct lab {
	char *dir;
	struct bindings *b;     /* the loop's connection, reading */
	struct store *s;
	struct recorder *r;
	int64_t ids[64];        /* of the events delivered, in order */
	size_t n_delivered;
};

static void delivered(void *ctx, const struct event *e)
{
	struct lab *l = ctx;

	if (l->n_delivered < sizeof(l->ids) / sizeof(l->ids[0]))
		l->ids[l->n_delivered] = e->id;
	l->n_delivered++;
}

static void lab_open(struct lab *l)
{
	char *err = NULL;

	*l = (struct lab){ .dir = make_root() };
	l->b = bindings_open(test_db(true), l->dir, NULL, &err);
	assert_non_null(l->b);
	assert_non_null(l->s = store_open(l->b, NULL, &err));
	const struct recorder_config cfg = { .database = test_db(false), .state_dir = l->dir,
					     .queue_max = QUEUE_MAX, .written = delivered,
					     .ctx = l };

	l->r = recorder_open(&cfg, &err);
	if (!l->r)
		fail_msg("%s", err);
}

static void lab_close(struct lab *l)
{
	recorder_close(l->r);
	store_close(l->s);
	bindings_close(l->b);
	remove_root(l->dir);
}

static void mac_of(unsigned i, uint8_t mac[6])
{
	const uint8_t m[6] = { 0x52, 0x54, 0x00, (uint8_t)(i >> 16), (uint8_t)(i >> 8),
			       (uint8_t)i };

	memcpy(mac, m, 6);
}

static void queue_event(struct lab *l, unsigned i)
{
	struct event e = { .kind = EVENT_SCRIPT, .has_mac = true, .ok = true,
			   .time_us = 1700000000000000 + i };

	mac_of(i, e.mac);
	snprintf(e.detail, sizeof(e.detail), "profile-%u", i);
	assert_int_equal(recorder_event(l->r, &e), 0);
}

static int count_one(void *ctx, const struct event *e)
{
	(*(unsigned *)ctx)++;
	(void)e;
	return 0;
}

static unsigned events_stored(struct lab *l)
{
	unsigned n = 0;

	assert_int_equal(store_events_each(l->s, NULL, 0, 0, count_one, &n), 0);
	return n;
}

/* Waits for the recorder's eventfd, then hands the events on. */
static void deliver(struct lab *l)
{
	struct pollfd p = { .fd = recorder_fd(l->r), .events = POLLIN };

	assert_int_equal(poll(&p, 1, WAIT_MS), 1);
	recorder_deliver(l->r);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static void records_are_written_in_order_and_delivered(void **state)
{
	struct lab l;
	struct machine seen = { .ip.s_addr = htonl(0xc6120002) }, m;
	struct recorder_status st;

	(void)state;
	lab_open(&l);
	assert_int_equal(recorder_start(l.r), 0);
	mac_of(7, seen.mac);
	snprintf(seen.model, sizeof(seen.model), "MacPro6,1");
	assert_int_equal(recorder_seen(l.r, &seen, 1700000000), 0);
	for (unsigned i = 0; i < 3; i++)
		queue_event(&l, i);
	assert_int_equal(recorder_flush(l.r), 0);
	/* Visible to the other connection once the flush returns. */
	assert_int_equal(store_machine_get(l.s, seen.mac, &m), 0);
	assert_string_equal(m.model, "MacPro6,1");
	assert_int_equal(events_stored(&l), 3);
	while (l.n_delivered < 3)
		deliver(&l);
	assert_int_equal(l.n_delivered, 3);
	assert_true(l.ids[0] > 0 && l.ids[0] < l.ids[1] && l.ids[1] < l.ids[2]);
	recorder_status(l.r, &st);
	assert_int_equal(st.queued, 0);
	assert_int_equal(st.written, 4);
	assert_false(st.failing);
	lab_close(&l);
}

/* A boot storm's worth, queued faster than one commit each. */
static void a_storm_is_written_whole(void **state)
{
	struct lab l;

	(void)state;
	lab_open(&l);
	assert_int_equal(recorder_start(l.r), 0);
	for (unsigned i = 0; i < QUEUE_MAX; i++)
		queue_event(&l, i);
	assert_int_equal(recorder_flush(l.r), 0);
	assert_int_equal(events_stored(&l), QUEUE_MAX);
	lab_close(&l);
}

static void await_failing(struct lab *l, bool want)
{
	struct recorder_status st;

	for (int waited = 0; waited < WAIT_MS; waited += 10) {
		recorder_status(l->r, &st);
		if (st.failing == want)
			return;
		sleep_ms(10);
	}
	fail_msg("the recorder never %s", want ? "failed" : "recovered");
}

/* Another connection holds the write lock past the busy wait (a disk, a
 * server, away): the records wait in memory, a flush does not block, and
 * they are all written once the lock is let go. */
static void a_database_away_is_waited_out(void **state)
{
	char path[512];
	struct db *other;
	struct lab l;

	(void)state;
	SKIP_ON_POSTGRES();
	lab_open(&l);
	snprintf(path, sizeof(path), "%s/%s", l.dir, bindings_files[0]);
	assert_int_equal(db_open(path, &other, NULL), 0);
	assert_int_equal(db_begin(other), 0);
	assert_int_equal(recorder_start(l.r), 0);
	for (unsigned i = 0; i < 10; i++)
		queue_event(&l, i);
	await_failing(&l, true);
	assert_int_equal(recorder_flush(l.r), -EAGAIN);
	db_rollback(other);
	db_close(other);
	await_failing(&l, false);
	assert_int_equal(recorder_flush(l.r), 0);
	assert_int_equal(events_stored(&l), 10);
	lab_close(&l);
}

/* Not started: nothing is written until close, which writes it all; the
 * record past the cap is refused and counted. */
static void the_cap_refuses_and_close_writes_the_rest(void **state)
{
	struct lab l;
	struct recorder_status st;
	struct event e = { .kind = EVENT_TFTP };

	(void)state;
	lab_open(&l);
	for (unsigned i = 0; i < QUEUE_MAX; i++)
		queue_event(&l, i);
	assert_int_equal(recorder_event(l.r, &e), -ENOSPC);
	recorder_status(l.r, &st);
	assert_int_equal(st.queued, QUEUE_MAX);
	assert_int_equal(st.dropped, 1);
	assert_int_equal(events_stored(&l), 0);
	recorder_close(l.r);
	l.r = NULL;
	assert_int_equal(events_stored(&l), QUEUE_MAX);
	lab_close(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(records_are_written_in_order_and_delivered),
		cmocka_unit_test(a_storm_is_written_whole),
		cmocka_unit_test(a_database_away_is_waited_out),
		cmocka_unit_test(the_cap_refuses_and_close_writes_the_rest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
