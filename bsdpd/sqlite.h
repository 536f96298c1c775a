/* SPDX-License-Identifier: MIT */
/*
 * A thin wrapper over SQLite, the only file that includes sqlite3.h:
 * bindings.c and store.c speak SQL through it, so the library stays
 * behind one file and its result codes become our -errno convention.
 *
 * Steps return DB_ROW or DB_DONE, or -EIO (logged by the caller, who
 * reads db_errmsg).  Text and blobs are bound without a copy: the value
 * must outlive the step, until db_reset or the next bind.
 */
#ifndef BSDPD_SQLITE_H
#define BSDPD_SQLITE_H

#include <stddef.h>
#include <stdint.h>

struct db;
struct db_stmt;

enum { DB_DONE = 0, DB_ROW = 1 };

/* A file database's log is checkpointed every second by a thread of its
 * own, and started over once it holds this many frames (4 KiB pages:
 * 16 MiB); see sqlite.c. */
#define DB_WAL_RESTART_FRAMES 4096

/* Opens path read-write, creating it, refusing a symbolic link (see
 * sqlite.c), in WAL mode; path NULL is an in-memory database.  0, or
 * -EIO and *err (to free) naming the path. */
int db_open(const char *path, struct db **out, char **err);
/* Moves a file database's WAL checkpoints off the caller's thread, onto
 * one of their own (see sqlite.c); nothing for one in memory, or when it
 * runs already.  0, or -errno, and SQLite goes on checkpointing itself. */
int db_start_checkpointer(struct db *db);
void db_close(struct db *db);
const char *db_errmsg(struct db *db);

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
const void *db_column_blob(struct db_stmt *st, int i, size_t *n);
int db_column_is_null(struct db_stmt *st, int i);

/* BEGIN IMMEDIATE: the write lock is taken at once, so a transaction
 * never fails half-way for another writer. */
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
/* Rows changed by the last INSERT, UPDATE or DELETE. */
int db_changes(struct db *db);
int64_t db_last_rowid(struct db *db);

/* PRAGMA user_version: >= 0, or -EIO. */
int db_user_version(struct db *db);
int db_set_user_version(struct db *db, int v);

#endif
