/* SPDX-License-Identifier: MIT */
/*
 * What a backend of db.h provides (sqlite.c, pg.c) and db.c calls: each
 * backend's connection begins with struct db and each statement with
 * struct db_stmt.  Transactions, batches and savepoints are db.c's, in
 * SQL that both dialects share; a backend says only how to begin.
 */
#ifndef BSDPD_DB_BACKEND_H
#define BSDPD_DB_BACKEND_H

#include "db.h"

struct db_ops {
	enum db_dialect dialect;
	const char *begin_sql;          /* what opens a transaction */
	void (*close)(struct db *db);
	const char *(*errmsg)(struct db *db);
	int (*exec)(struct db *db, const char *sql);
	int (*prepare)(struct db *db, const char *sql, struct db_stmt **out);
	void (*finalize)(struct db_stmt *st);
	void (*reset)(struct db_stmt *st);
	void (*bind_int64)(struct db_stmt *st, int i, int64_t v);
	void (*bind_text)(struct db_stmt *st, int i, const char *s, size_t n);
	void (*bind_blob)(struct db_stmt *st, int i, const void *p, size_t n);
	void (*bind_null)(struct db_stmt *st, int i);
	int (*step)(struct db_stmt *st);
	int64_t (*column_int64)(struct db_stmt *st, int i);
	const char *(*column_text)(struct db_stmt *st, int i); /* NULL for NULL */
	const void *(*column_blob)(struct db_stmt *st, int i, size_t *n);
	int (*column_is_null)(struct db_stmt *st, int i);
	int (*changes)(struct db *db);
	int (*user_version)(struct db *db);
	int (*set_user_version)(struct db *db, int v);
	/* Optional: NULL does nothing (returns 0 or false). */
	int (*start_checkpointer)(struct db *db);
	int (*lock_schema)(struct db *db);
	int (*notify)(struct db *db);
	bool (*changed)(struct db *db);
	uint16_t (*tcp_port)(struct db *db);
};

struct db {
	const struct db_ops *ops;
	bool batch;        /* db_batch_begin holds a transaction open */
};

struct db_stmt {
	struct db *db;
};

#endif
