/* SPDX-License-Identifier: MIT */
#include "db_backend.h"

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
struct sqlite_db {
	struct db base;
	sqlite3 *h;
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
	struct sqlite_db *db = arg;
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

static struct sqlite_db *sdb(struct db *db)
{
	return (struct sqlite_db *)db;
}

static int sqlite_start_checkpointer(struct db *base)
{
	struct sqlite_db *db = sdb(base);

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

static void stop_checkpointer(struct sqlite_db *db)
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

/* A statement: SQLite's handle, under our name. */
struct sqlite_stmt {
	struct db_stmt base;
	sqlite3_stmt *h;
};

static sqlite3 *raw(struct db *db)
{
	return sdb(db)->h;
}

static sqlite3_stmt *rst(struct db_stmt *st)
{
	return ((struct sqlite_stmt *)st)->h;
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
static const struct db_ops sqlite_ops;

int db_open(const char *path, struct db **out, char **err)
{
	const char *name = path ? path : ":memory:";
	struct sqlite_db *d = calloc(1, sizeof(*d));
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
	d->base.ops = &sqlite_ops;
	d->h = db;
	d->stop_fd = -1;
	if (path && !(d->path = strdup(path))) {
		if (err)
			*err = NULL;
		db_close(&d->base);
		return -ENOMEM;
	}
	*out = &d->base;
	return 0;
}

static void sqlite_close(struct db *base)
{
	struct sqlite_db *db = sdb(base);

	stop_checkpointer(db);
	sqlite3_close(db->h);
	free(db->path);
	free(db);
}

static const char *sqlite_errmsg(struct db *db)
{
	return sqlite3_errmsg(raw(db));
}

static int sqlite_exec(struct db *db, const char *sql)
{
	return sqlite3_exec(raw(db), sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

static int sqlite_prepare(struct db *db, const char *sql, struct db_stmt **out)
{
	struct sqlite_stmt *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	if (sqlite3_prepare_v3(raw(db), sql, -1, SQLITE_PREPARE_PERSISTENT, &s->h, NULL) !=
	    SQLITE_OK) {
		sqlite3_finalize(s->h);
		free(s);
		return -EIO;
	}
	s->base.db = db;
	*out = &s->base;
	return 0;
}

static void sqlite_finalize(struct db_stmt *st)
{
	sqlite3_finalize(rst(st));
	free(st);
}

static void sqlite_reset(struct db_stmt *st)
{
	sqlite3_reset(rst(st));
	sqlite3_clear_bindings(rst(st));
}

static void sqlite_bind_int64(struct db_stmt *st, int i, int64_t v)
{
	sqlite3_bind_int64(rst(st), i, v);
}

static void sqlite_bind_text(struct db_stmt *st, int i, const char *s, size_t n)
{
	sqlite3_bind_text(rst(st), i, s, (int)n, SQLITE_STATIC);
}

static void sqlite_bind_blob(struct db_stmt *st, int i, const void *p, size_t n)
{
	sqlite3_bind_blob(rst(st), i, p, (int)n, SQLITE_STATIC);
}

static void sqlite_bind_null(struct db_stmt *st, int i)
{
	sqlite3_bind_null(rst(st), i);
}

static int sqlite_step(struct db_stmt *st)
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

static int64_t sqlite_column_int64(struct db_stmt *st, int i)
{
	return sqlite3_column_int64(rst(st), i);
}

static const char *sqlite_column_text(struct db_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(rst(st), i);
}

static const void *sqlite_column_blob(struct db_stmt *st, int i, size_t *n)
{
	const void *p = sqlite3_column_blob(rst(st), i);

	*n = (size_t)sqlite3_column_bytes(rst(st), i);
	return p;
}

static int sqlite_column_is_null(struct db_stmt *st, int i)
{
	return sqlite3_column_type(rst(st), i) == SQLITE_NULL;
}

static int sqlite_changes(struct db *db)
{
	return sqlite3_changes(raw(db));
}

static int sqlite_user_version(struct db *db)
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

static int sqlite_set_user_version(struct db *db, int v)
{
	char sql[48];

	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v);
	return sqlite_exec(db, sql);
}

/* One writer: no other bsdpd shares the file, so nothing to notify and
 * no schema lock beyond BEGIN IMMEDIATE's. */
static const struct db_ops sqlite_ops = {
	.dialect = DB_SQLITE,
	.begin_sql = "BEGIN IMMEDIATE",
	.close = sqlite_close,
	.errmsg = sqlite_errmsg,
	.exec = sqlite_exec,
	.prepare = sqlite_prepare,
	.finalize = sqlite_finalize,
	.reset = sqlite_reset,
	.bind_int64 = sqlite_bind_int64,
	.bind_text = sqlite_bind_text,
	.bind_blob = sqlite_bind_blob,
	.bind_null = sqlite_bind_null,
	.step = sqlite_step,
	.column_int64 = sqlite_column_int64,
	.column_text = sqlite_column_text,
	.column_blob = sqlite_column_blob,
	.column_is_null = sqlite_column_is_null,
	.changes = sqlite_changes,
	.user_version = sqlite_user_version,
	.set_user_version = sqlite_set_user_version,
	.start_checkpointer = sqlite_start_checkpointer,
};
