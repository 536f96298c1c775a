/* SPDX-License-Identifier: MIT */
/*
 * db.h's calls, dispatched to the backend of the connection (sqlite.c or
 * pg.c), and the transactions both share: a batch is one transaction,
 * and each write inside it a savepoint, in SQL that SQLite and
 * PostgreSQL both accept.
 */
#include "db_backend.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

bool db_url_is_postgres(const char *url)
{
	return strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0;
}

int db_start_checkpointer(struct db *db)
{
	return db->ops->start_checkpointer ? db->ops->start_checkpointer(db) : 0;
}

void db_close(struct db *db)
{
	if (db)
		db->ops->close(db);
}

const char *db_errmsg(struct db *db)
{
	return db ? db->ops->errmsg(db) : "out of memory";
}

enum db_dialect db_dialect(const struct db *db)
{
	return db->ops->dialect;
}

int db_exec(struct db *db, const char *sql)
{
	return db->ops->exec(db, sql);
}

int db_prepare(struct db *db, const char *sql, struct db_stmt **out)
{
	return db->ops->prepare(db, sql, out);
}

void db_finalize(struct db_stmt *st)
{
	if (st)
		st->db->ops->finalize(st);
}

struct db_stmt *db_reset(struct db_stmt *st)
{
	st->db->ops->reset(st);
	return st;
}

void db_bind_int64(struct db_stmt *st, int i, int64_t v)
{
	st->db->ops->bind_int64(st, i, v);
}

void db_bind_text(struct db_stmt *st, int i, const char *s, size_t cap)
{
	st->db->ops->bind_text(st, i, s, strnlen(s, cap));
}

void db_bind_blob(struct db_stmt *st, int i, const void *p, size_t n)
{
	st->db->ops->bind_blob(st, i, p, n);
}

void db_bind_null(struct db_stmt *st, int i)
{
	st->db->ops->bind_null(st, i);
}

int db_step(struct db_stmt *st)
{
	return st->db->ops->step(st);
}

int db_run(struct db_stmt *st)
{
	int r = db_step(st) == DB_DONE ? 0 : -EIO;

	st->db->ops->reset(st);
	return r;
}

int64_t db_column_int64(struct db_stmt *st, int i)
{
	return st->db->ops->column_int64(st, i);
}

const char *db_column_text(struct db_stmt *st, int i)
{
	const char *s = st->db->ops->column_text(st, i);

	return s ? s : "";
}

void db_column_copy(struct db_stmt *st, int i, char *dst, size_t cap)
{
	snprintf(dst, cap, "%s", db_column_text(st, i));
}

const void *db_column_blob(struct db_stmt *st, int i, size_t *n)
{
	return st->db->ops->column_blob(st, i, n);
}

int db_column_is_null(struct db_stmt *st, int i)
{
	return st->db->ops->column_is_null(st, i);
}

/* Inside a batch a write is a savepoint of the batch's transaction: it
 * still succeeds or fails whole, and the batch commits them together. */
int db_begin(struct db *db)
{
	return db_exec(db, db->batch ? "SAVEPOINT w" : db->ops->begin_sql);
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
	if (db_exec(db, db->ops->begin_sql) < 0)
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
	return db->ops->changes(db);
}

int db_user_version(struct db *db)
{
	return db->ops->user_version(db);
}

int db_set_user_version(struct db *db, int v)
{
	return db->ops->set_user_version(db, v);
}

int db_lock_schema(struct db *db)
{
	return db->ops->lock_schema ? db->ops->lock_schema(db) : 0;
}

bool db_shared(const struct db *db)
{
	return db->ops->notify != NULL;
}

int db_notify(struct db *db)
{
	return db->ops->notify ? db->ops->notify(db) : 0;
}

bool db_changed(struct db *db)
{
	return db->ops->changed && db->ops->changed(db);
}

uint16_t db_tcp_port(struct db *db)
{
	return db->ops->tcp_port ? db->ops->tcp_port(db) : 0;
}
