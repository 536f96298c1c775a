/* SPDX-License-Identifier: MIT */
/*
 * The database layer that bindings.c and store.c speak SQL through, with
 * two backends: the embedded SQLite file (bsdpd/sqlite.c, the only file
 * that includes sqlite3.h) and a PostgreSQL server shared by several
 * bsdpd (bsdpd/pg.c, the only file that includes libpq-fe.h).  Their
 * result codes become our -errno convention; db.c dispatches.
 *
 * SQL is written once, in SQLite's dialect where the two agree: `?N`
 * placeholders (pg.c turns them into `$N` when it prepares), `INSERT ...
 * ON CONFLICT ... DO UPDATE`, `RETURNING` for a new row's id.  Where they
 * differ (the DDL: BLOB and BYTEA, AUTOINCREMENT and identity columns)
 * the caller asks db_dialect.
 *
 * Steps return DB_ROW or DB_DONE, or -EIO (logged by the caller, who
 * reads db_errmsg).  Text and blobs are bound without a copy: the value
 * must outlive the step, until db_reset or the next bind.  A connection
 * belongs to the thread that opened it (bsdpd's loop thread).
 */
#ifndef BSDPD_DB_H
#define BSDPD_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;
struct db_stmt;

enum { DB_DONE = 0, DB_ROW = 1 };
enum db_dialect { DB_SQLITE, DB_POSTGRES };

/* A file database's log is checkpointed every second by a thread of its
 * own, and started over once it holds this many frames (4 KiB pages:
 * 16 MiB); see sqlite.c. */
#define DB_WAL_RESTART_FRAMES 4096

/* Whether url names a PostgreSQL server: postgresql://... or
 * postgres://... (libpq's URI forms).  Anything else is not a URL of ours. */
bool db_url_is_postgres(const char *url);

/* SQLite: opens path read-write, creating it, refusing a symbolic link
 * (see sqlite.c), in WAL mode; path NULL is an in-memory database.  0, or
 * -EIO and *err (to free) naming the path. */
int db_open(const char *path, struct db **out, char **err);
/* PostgreSQL: connects to the server of url (pg.c says how long it may
 * wait).  0, or -EIO and *err (to free) with libpq's reason. */
int db_open_postgres(const char *url, struct db **out, char **err);
/* Moves a file database's WAL checkpoints off the caller's thread, onto
 * one of their own (see sqlite.c); nothing for one in memory, or when it
 * runs already, or for PostgreSQL (the server checkpoints).  0, or
 * -errno, and SQLite goes on checkpointing itself. */
int db_start_checkpointer(struct db *db);
void db_close(struct db *db);
const char *db_errmsg(struct db *db);
enum db_dialect db_dialect(const struct db *db);

/* Runs one or more statements that return no rows: 0 or -EIO. */
int db_exec(struct db *db, const char *sql);
int db_prepare(struct db *db, const char *sql, struct db_stmt **out);
void db_finalize(struct db_stmt *st);
/* Resets st and clears its bindings, ready to bind and step again. */
struct db_stmt *db_reset(struct db_stmt *st);

void db_bind_int64(struct db_stmt *st, int i, int64_t v);
/* The text of s up to its NUL or cap bytes, whichever comes first. */
void db_bind_text(struct db_stmt *st, int i, const char *s, size_t cap);
void db_bind_blob(struct db_stmt *st, int i, const void *p, size_t n);
void db_bind_null(struct db_stmt *st, int i);

/* DB_ROW, DB_DONE or -EIO. */
int db_step(struct db_stmt *st);
/* Steps a statement that returns no rows and resets it: 0 or -EIO. */
int db_run(struct db_stmt *st);

int64_t db_column_int64(struct db_stmt *st, int i);
/* "" for NULL. */
const char *db_column_text(struct db_stmt *st, int i);
/* Copies column i into dst of cap bytes, NUL-terminated, truncated. */
void db_column_copy(struct db_stmt *st, int i, char *dst, size_t cap);
/* Valid until the next step or reset of st. */
const void *db_column_blob(struct db_stmt *st, int i, size_t *n);
int db_column_is_null(struct db_stmt *st, int i);

/* Begins a transaction.  SQLite: BEGIN IMMEDIATE, the write lock taken at
 * once, so a transaction never fails half-way for another writer.
 * PostgreSQL: READ COMMITTED, row locks taken by each write (pg.c). */
int db_begin(struct db *db);
int db_commit(struct db *db);
void db_rollback(struct db *db);
/* A batch: one transaction around many writes (each db_begin..commit in
 * it becomes a savepoint), so that a loop step's writes cost one commit.
 * db_batch_end commits it (rolls it back when the commit fails: -EIO). */
int db_batch_begin(struct db *db);
int db_batch_end(struct db *db);
/* Commits when r >= 0, else rolls back; r, or -EIO when the commit failed. */
int db_finish(struct db *db, int r);
/* Rows changed (or returned, with RETURNING) by the last INSERT, UPDATE
 * or DELETE. */
int db_changes(struct db *db);

/* The schema version: >= 0, or -EIO.  SQLite keeps it in PRAGMA
 * user_version; PostgreSQL in a table of its own (pg.c). */
int db_user_version(struct db *db);
int db_set_user_version(struct db *db, int v);
/* Held until the transaction ends: a PostgreSQL database shared by
 * several bsdpd is migrated by one of them at a time.  SQLite's BEGIN
 * IMMEDIATE holds its write lock already.  0 or -EIO. */
int db_lock_schema(struct db *db);

/* The TCP port of the PostgreSQL server the connection reached; 0 over
 * a UNIX socket, and for SQLite (confine.h allows connect to it). */
uint16_t db_tcp_port(struct db *db);

/* Whether others may write the database too (PostgreSQL): what a caller
 * keeps in memory is then refreshed, see db_notify and db_changed. */
bool db_shared(const struct db *db);
/* Tells every other connection to the database that something changed,
 * when the transaction commits (PostgreSQL's NOTIFY); nothing on SQLite.
 * 0 or -EIO. */
int db_notify(struct db *db);
/* Whether another connection said so (db_notify) since the last call, or
 * the connection was lost and made again (so what it said meanwhile may
 * have been missed).  Never blocks: it reads what the socket holds. */
bool db_changed(struct db *db);

#endif
