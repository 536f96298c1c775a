/* SPDX-License-Identifier: MIT */
/*
 * The SQLite wrapper's checkpointer (bsdpd/sqlite.c): that it moves the
 * write-ahead log into the database at all, and that a log written to
 * without a pause still starts over instead of growing without bound.
 * Each wait is bounded; the checkpointer runs once a second.
 */
#include "testlib.h"

#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <time.h>

#include "db.h"

#define WAIT_MS 6000
#define BLOB 3000 /* most of a 4 KiB page: about one frame per commit */
#define FRAME (4096 + 24) /* a page and its frame header */

struct lab {
	char *dir;
	char path[256];
	struct db *db;
	struct db_stmt *insert;
};

static void lab_open(struct lab *l)
{
	l->dir = make_root();
	snprintf(l->path, sizeof(l->path), "%s/test.sqlite", l->dir);
	assert_int_equal(db_open(l->path, &l->db, NULL), 0);
	assert_int_equal(db_start_checkpointer(l->db), 0);
	assert_int_equal(db_exec(l->db, "CREATE TABLE t (v BLOB NOT NULL)"), 0);
	assert_int_equal(db_prepare(l->db, "INSERT INTO t (v) VALUES (?1)", &l->insert), 0);
}

static void lab_close(struct lab *l)
{
	db_finalize(l->insert);
	db_close(l->db);
	remove_root(l->dir);
}

/* One commit of one row, as a boot event is. */
static void write_row(struct lab *l)
{
	static const char blob[BLOB];

	assert_int_equal(db_begin(l->db), 0);
	db_bind_blob(l->insert, 1, blob, sizeof(blob));
	assert_int_equal(db_run(l->insert), 0);
	assert_int_equal(db_commit(l->db), 0);
}

static off_t size_of(const char *path, const char *suffix)
{
	char p[300];
	struct stat st;

	snprintf(p, sizeof(p), "%s%s", path, suffix);
	return stat(p, &st) == 0 ? st.st_size : -1;
}

/* The WAL header's checkpoint sequence number (big-endian, offset 12):
 * SQLite increments it each time the log starts over. */
static uint32_t wal_restarts(const char *path)
{
	char p[300];
	uint8_t h[16] = { 0 };
	int fd;

	snprintf(p, sizeof(p), "%s-wal", path);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, h, sizeof(h), 0), (ssize_t)sizeof(h));
	close(fd);
	return (uint32_t)h[12] << 24 | (uint32_t)h[13] << 16 | (uint32_t)h[14] << 8 | h[15];
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Regression: the checkpointer's connection had never read the database,
 * so SQLite had not opened the log for it and each checkpoint did nothing
 * (SQLite 3.40 says so only with a log size of -1): the database file
 * stayed empty and every page lived in the log until bsdpd stopped. */
static void the_log_reaches_the_database(void **state)
{
	struct lab l;
	off_t empty;

	(void)state;
	lab_open(&l);
	empty = size_of(l.path, "");
	for (int i = 0; i < 100; i++)
		write_row(&l);
	for (int ms = 0; ms < WAIT_MS && size_of(l.path, "") < 100 * BLOB; ms += 50)
		sleep_ms(50);
	assert_true(size_of(l.path, "") >= 100 * BLOB);
	assert_true(size_of(l.path, "") > empty);
	lab_close(&l);
}

/* Regression: under commits without a pause (a boot storm) a passive
 * checkpoint never caught the last frame and the log never started over
 * (1.6 GB after 20 s).  Past DB_WAL_RESTART_FRAMES it must. */
static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void a_busy_log_starts_over(void **state)
{
	struct lab l;
	uint32_t first;
	int64_t end;

	(void)state;
	lab_open(&l);
	write_row(&l);
	first = wal_restarts(l.path);
	end = now_ms() + WAIT_MS;
	while (wal_restarts(l.path) == first && now_ms() < end)
		write_row(&l);
	assert_int_not_equal(wal_restarts(l.path), first);
	/* It started over once it crossed the mark, not gigabytes later. */
	assert_true(size_of(l.path, "-wal") < (off_t)16 * DB_WAL_RESTART_FRAMES * FRAME);
	lab_close(&l);
}

/* Another connection holding the write lock for a moment (as a RESTART
 * checkpoint or bsdpd --check does): the loop's next write waits for it
 * (wait_briefly) instead of failing. */
static void *hold_the_lock(void *arg)
{
	sqlite3 *h = arg;

	sleep_ms(100);
	sqlite3_exec(h, "COMMIT", NULL, NULL, NULL);
	return NULL;
}

static void a_write_waits_for_a_lock_held_briefly(void **state)
{
	struct lab l;
	sqlite3 *other;
	pthread_t t;

	(void)state;
	lab_open(&l);
	assert_int_equal(sqlite3_open(l.path, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(pthread_create(&t, NULL, hold_the_lock, other), 0);
	write_row(&l);
	pthread_join(t, NULL);
	sqlite3_close(other);
	lab_close(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_write_waits_for_a_lock_held_briefly),
		cmocka_unit_test(the_log_reaches_the_database),
		cmocka_unit_test(a_busy_log_starts_over),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
