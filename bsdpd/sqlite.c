/* SPDX-License-Identifier: MIT */
#include "sqlite.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

/* How often the checkpointer moves the write-ahead log into the database. */
#define CHECKPOINT_MS 1000
/* Passive passes before a restart, each copying what came in during the
 * last, until fewer than RESTART_FRAMES_LEFT frames came in. */
#define CHECKPOINT_PASSES 4
#define RESTART_FRAMES_LEFT 256

/* A connection, and whether a batch (db_batch_begin) holds a transaction
 * open on it.  struct db_stmt is SQLite's own handle, under our name.
 *
 * A file database has a checkpointer thread with a connection of its own:
 * in WAL mode with synchronous=NORMAL a commit writes the log and never
 * waits for the disk; only a checkpoint does (fdatasync, milliseconds), and
 * SQLite would run it inside whichever commit crossed 1000 pages, on the
 * loop thread, stalling every boot in flight.  So the loop's connection
 * never checkpoints (wal_autocheckpoint=0) and the thread does, PASSIVE
 * (never blocking a writer), every CHECKPOINT_MS.  The two share nothing
 * but the file, which SQLite locks, and stop_fd, which says stop.
 *
 * A passive checkpoint alone is not enough in a boot storm: SQLite starts
 * the log over only when a writer finds every frame of it checkpointed,
 * and under a commit every few hundred microseconds the checkpoint never
 * catches the last one, so the log grew without bound (1.6 GB in a
 * 20-second storm, and every commit then paid for fresh pages).  Past
 * DB_WAL_RESTART_FRAMES the thread follows with a RESTART checkpoint,
 * which holds the loop's next commit back (wait_briefly) while it
 * copies what is left, and lets the log start over in the file's own
 * pages.  Passive passes first make what is left small: each copies
 * what came in during the one before.
 *
 * The thread starts only when asked (db_start_checkpointer), not in
 * db_open: bsdpd opens the database before it detaches, and fork keeps no
 * thread; and Landlock binds only the threads started after it
 * (confine.h).  Until then SQLite checkpoints in the commit, as usual. */
struct db {
	sqlite3 *h;
	bool batch;
	char *path;                    /* of a file database; NULL in memory */
	int stop_fd;                   /* eventfd; -1 without a checkpointer */
	pthread_t checkpointer;
};

static void checkpoint(sqlite3 *h)
{
	int frames = 0, copied = 0, before = 0;

	for (int pass = 0; pass < CHECKPOINT_PASSES; pass++, before = frames) {
		if (sqlite3_wal_checkpoint_v2(h, NULL, SQLITE_CHECKPOINT_PASSIVE, &frames,
					      &copied) != SQLITE_OK ||
		    frames < DB_WAL_RESTART_FRAMES)
			return;
		if (pass > 0 && frames - before < RESTART_FRAMES_LEFT)
			break;
	}
	sqlite3_wal_checkpoint_v2(h, NULL, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
}

static void *checkpoint_loop(void *arg)
{
	struct db *db = arg;
	struct pollfd p = { .fd = db->stop_fd, .events = POLLIN };
	sqlite3 *h = NULL;

	/* A connection opens the log only when it first reads: until then a
	 * checkpoint through it does nothing and says so only by a log size
	 * of -1 (SQLite 3.40), which is how this thread once checkpointed
	 * nothing at all. */
	if (sqlite3_open_v2(db->path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL) !=
		    SQLITE_OK ||
	    sqlite3_exec(h, "PRAGMA schema_version", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_close(h);
		return NULL;
	}
	sqlite3_busy_timeout(h, 100);
	do
		checkpoint(h);
	while (poll(&p, 1, CHECKPOINT_MS) == 0);
	sqlite3_close(h); /* the last connection to close checkpoints all */
	return NULL;
}

int db_start_checkpointer(struct db *db)
{
	if (!db->path || db->stop_fd >= 0)
		return 0;
	if ((db->stop_fd = eventfd(0, EFD_CLOEXEC)) < 0)
		return -errno;
	if (sqlite3_exec(db->h, "PRAGMA wal_autocheckpoint = 0", NULL, NULL, NULL) != SQLITE_OK ||
	    pthread_create(&db->checkpointer, NULL, checkpoint_loop, db) != 0) {
		close(db->stop_fd);
		db->stop_fd = -1;
		(void)sqlite3_exec(db->h, "PRAGMA wal_autocheckpoint = 1000", NULL, NULL, NULL);
		return -EIO;
	}
	return 0;
}

static void stop_checkpointer(struct db *db)
{
	uint64_t one = 1;

	if (db->stop_fd < 0)
		return;
	if (write(db->stop_fd, &one, sizeof(one)) == (ssize_t)sizeof(one))
		pthread_join(db->checkpointer, NULL);
	else
		pthread_detach(db->checkpointer);
	close(db->stop_fd);
}

static sqlite3 *raw(struct db *db)
{
	return db->h;
}

static sqlite3_stmt *rst(struct db_stmt *st)
{
	return (sqlite3_stmt *)st;
}

/* journal_size_limit: when the log starts over (see checkpoint), a file
 * grown past 64 MiB in a burst, such as a lab of 10 000 machines loaded
 * through the API, is cut back to it.  cache_size: 16 MiB of pages (the
 * default is 2 MiB), so that the machines, profiles and recent events a
 * boot storm reads stay in memory rather than in pread(2).  temp_store:
 * SQLite's temporary files (a large sort, a statement journal) would go
 * to /var/tmp or /tmp, where a confined bsdpd may not write
 * (confine.h); they stay in memory instead. */
static const char journal[] =
	"PRAGMA journal_mode = WAL;"
	"PRAGMA synchronous = NORMAL;"
	"PRAGMA journal_size_limit = 67108864;"
	"PRAGMA cache_size = -16384;"
	"PRAGMA temp_store = MEMORY;";

/* How a connection waits for a lock another holds (the checkpointer's
 * RESTART, bsdpd --check): BUSY_WAIT_US at a time, BUSY_WAIT_TRIES times
 * (a second in all).  SQLite's own busy timeout sleeps 1, 2, 5, 10 ... 100
 * ms between tries, so a lock held 10 ms kept the loop, and every boot in
 * flight, waiting 18 ms, and one held 35 ms, 53. */
#define BUSY_WAIT_US 250
#define BUSY_WAIT_TRIES 4000

static int wait_briefly(void *ctx, int tries)
{
	const struct timespec ts = { 0, BUSY_WAIT_US * 1000L };

	(void)ctx;
	if (tries >= BUSY_WAIT_TRIES)
		return 0;
	nanosleep(&ts, NULL);
	return 1;
}

/* SQLITE_OPEN_NOFOLLOW refuses a database that is a symbolic link.  SQLite
 * opens the -wal and -shm files by name itself; bsdpd opens the database
 * only once it runs as --user, so a link planted there reaches no more
 * than that user could reach anyway (main.c checks the files first).  The
 * busy timeout lets a second connection (bsdpd --check, a test) wait for
 * the write lock rather than fail. */
int db_open(const char *path, struct db **out, char **err)
{
	const char *name = path ? path : ":memory:";
	struct db *d = calloc(1, sizeof(*d));
	sqlite3 *db = NULL;

	if (!d || sqlite3_open_v2(name, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK ||
	    sqlite3_busy_handler(db, wait_briefly, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, journal, NULL, NULL, NULL) != SQLITE_OK) {
		if (err && asprintf(err, "%s: %s", name,
				    db ? sqlite3_errmsg(db) : "out of memory") < 0)
			*err = NULL;
		sqlite3_close(db);
		free(d);
		return -EIO;
	}
	d->h = db;
	d->stop_fd = -1;
	if (path && !(d->path = strdup(path))) {
		if (err)
			*err = NULL;
		db_close(d);
		return -ENOMEM;
	}
	*out = d;
	return 0;
}

void db_close(struct db *db)
{
	if (!db)
		return;
	stop_checkpointer(db);
	sqlite3_close(raw(db));
	free(db->path);
	free(db);
}

const char *db_errmsg(struct db *db)
{
	return db ? sqlite3_errmsg(raw(db)) : "out of memory";
}

int db_exec(struct db *db, const char *sql)
{
	return sqlite3_exec(raw(db), sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

int db_prepare(struct db *db, const char *sql, struct db_stmt **out)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v3(raw(db), sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) !=
	    SQLITE_OK) {
		sqlite3_finalize(st);
		return -EIO;
	}
	*out = (struct db_stmt *)st;
	return 0;
}

void db_finalize(struct db_stmt *st)
{
	sqlite3_finalize(rst(st));
}

struct db_stmt *db_reset(struct db_stmt *st)
{
	sqlite3_reset(rst(st));
	sqlite3_clear_bindings(rst(st));
	return st;
}

void db_bind_int64(struct db_stmt *st, int i, int64_t v)
{
	sqlite3_bind_int64(rst(st), i, v);
}

void db_bind_text(struct db_stmt *st, int i, const char *s, size_t cap)
{
	sqlite3_bind_text(rst(st), i, s, (int)strnlen(s, cap), SQLITE_STATIC);
}

void db_bind_blob(struct db_stmt *st, int i, const void *p, size_t n)
{
	sqlite3_bind_blob(rst(st), i, p, (int)n, SQLITE_STATIC);
}

void db_bind_null(struct db_stmt *st, int i)
{
	sqlite3_bind_null(rst(st), i);
}

int db_step(struct db_stmt *st)
{
	switch (sqlite3_step(rst(st))) {
	case SQLITE_ROW:
		return DB_ROW;
	case SQLITE_DONE:
		return DB_DONE;
	default:
		return -EIO;
	}
}

int db_run(struct db_stmt *st)
{
	int r = db_step(st) == DB_DONE ? 0 : -EIO;

	sqlite3_reset(rst(st));
	return r;
}

int64_t db_column_int64(struct db_stmt *st, int i)
{
	return sqlite3_column_int64(rst(st), i);
}

const char *db_column_text(struct db_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(rst(st), i);

	return s ? (const char *)s : "";
}

void db_column_copy(struct db_stmt *st, int i, char *dst, size_t cap)
{
	snprintf(dst, cap, "%s", db_column_text(st, i));
}

const void *db_column_blob(struct db_stmt *st, int i, size_t *n)
{
	const void *p = sqlite3_column_blob(rst(st), i);

	*n = (size_t)sqlite3_column_bytes(rst(st), i);
	return p;
}

int db_column_is_null(struct db_stmt *st, int i)
{
	return sqlite3_column_type(rst(st), i) == SQLITE_NULL;
}

/* Inside a batch a write is a savepoint of the batch's transaction: it
 * still succeeds or fails whole, and the batch commits them together. */
int db_begin(struct db *db)
{
	return db_exec(db, db->batch ? "SAVEPOINT w" : "BEGIN IMMEDIATE");
}

int db_commit(struct db *db)
{
	return db_exec(db, db->batch ? "RELEASE w" : "COMMIT");
}

void db_rollback(struct db *db)
{
	(void)db_exec(db, db->batch ? "ROLLBACK TO w; RELEASE w" : "ROLLBACK");
}

int db_batch_begin(struct db *db)
{
	if (db->batch)
		return 0;
	if (db_exec(db, "BEGIN IMMEDIATE") < 0)
		return -EIO;
	db->batch = true;
	return 0;
}

int db_batch_end(struct db *db)
{
	if (!db->batch)
		return 0;
	db->batch = false;
	if (db_exec(db, "COMMIT") == 0)
		return 0;
	db_rollback(db);
	return -EIO;
}

int db_finish(struct db *db, int r)
{
	if (r >= 0 && db_commit(db) < 0)
		r = -EIO;
	if (r < 0)
		db_rollback(db);
	return r;
}

int db_changes(struct db *db)
{
	return sqlite3_changes(raw(db));
}

int64_t db_last_rowid(struct db *db)
{
	return sqlite3_last_insert_rowid(raw(db));
}

int db_user_version(struct db *db)
{
	sqlite3_stmt *st;
	int v = -EIO;

	if (sqlite3_prepare_v2(raw(db), "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

int db_set_user_version(struct db *db, int v)
{
	char sql[48];

	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v);
	return db_exec(db, sql);
}
