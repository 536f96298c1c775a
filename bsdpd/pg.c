/* SPDX-License-Identifier: MIT */
/*
 * db.h on a PostgreSQL server (--database postgresql://...), shared by
 * every bsdpd of a campus (docs/scaling.md, "Several servers").  The only
 * file that includes libpq-fe.h.
 *
 * The connection is the loop thread's, like the SQLite one: every call
 * here runs on it and waits for the server's answer.  So every wait is
 * bounded: connect_timeout (PG_CONNECT_TIMEOUT) for a connection,
 * statement_timeout and lock_timeout (PG_STATEMENT_TIMEOUT_MS) for a
 * statement, whether it is slow or waits for a row another bsdpd holds.
 * A statement that times out fails like any other: the write is refused
 * (the API answers 5xx) or the boot goes on without it, and the loop
 * moves on.  The loop's batching (store_batch_begin) still makes a boot
 * storm's writes one commit, one round trip, per loop step.  There is no
 * checkpointer thread: the server checkpoints.
 *
 * Transactions are READ COMMITTED, PostgreSQL's default: each statement
 * sees what was committed when it began, and a write waits for the row
 * locks of another transaction, then re-reads the rows it found (so
 * `UPDATE ... WHERE next_boot = ?` changes a row in one transaction only,
 * and `UPDATE ... RETURNING` of a counter hands each its own number).
 *
 * A lost connection (the server restarted, the network broke) fails what
 * was running; the next call connects again, at most once per
 * PG_RETRY_MS so that an unreachable server costs the loop one
 * connect_timeout per second at most, and never inside a transaction,
 * which the server has already rolled back: the caller's ROLLBACK or
 * COMMIT ends it first.  Statements are prepared again on the new
 * connection, and db_changed says true, since what other servers
 * announced meanwhile (NOTIFY) was missed.
 *
 * Parameters go in binary for text and blobs (no quoting, no NUL
 * needed), as decimal text for integers; results come as text, bytea in
 * its hex form (bytea_output is set to hex), decoded here.
 */
#include "db_backend.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "clock.h"
#include "log.h"

#define PG_CONNECT_TIMEOUT "2"          /* seconds, libpq's smallest */
#define PG_STATEMENT_TIMEOUT_MS "2000"
#define PG_RETRY_MS 1000
#define PG_PARAMS_MAX 16
/* Where db_notify tells the others; every bsdpd LISTENs to it. */
#define PG_CHANNEL "bsdpd_changed"
/* pg_advisory_xact_lock's key for migrations: "bsdp". */
#define PG_SCHEMA_LOCK "1651733616"
#define BYTEA_OID 17

struct pg_db {
	struct db base;
	PGconn *c;
	unsigned gen;          /* connections made; a statement is prepared per connection */
	unsigned names;        /* statements named so far */
	int changes;
	bool in_tx;            /* a transaction is open, or was when the connection broke */
	bool lost;             /* the loss is logged; its recovery will be */
	bool changed;          /* for db_changed */
	int64_t retry_at_ms;
	char err[256];
};

struct pg_stmt {
	struct db_stmt base;
	char *sql;             /* with $N for ?N */
	char name[16];
	unsigned gen;          /* of the connection it is prepared on; 0: none */
	int n_params;
	const char *vals[PG_PARAMS_MAX];
	int lens[PG_PARAMS_MAX];
	int fmts[PG_PARAMS_MAX];
	char nums[PG_PARAMS_MAX][24];
	PGresult *res;
	int row, rows;
	unsigned char *blob;   /* the last column_blob, decoded */
	size_t blob_cap;
};

static struct pg_db *pdb(struct db *db)
{
	return (struct pg_db *)db;
}

static struct pg_stmt *pst(struct db_stmt *st)
{
	return (struct pg_stmt *)st;
}

/* libpq's message, on one line. */
static void set_err(struct pg_db *db, const char *msg)
{
	size_t n;

	snprintf(db->err, sizeof(db->err), "%s", msg && msg[0] ? msg : "unknown error");
	n = strcspn(db->err, "\n");
	db->err[n] = '\0';
}

/* The user's URL last: what it says wins over our defaults (libpq takes
 * the last value of a repeated key word).  An `options` in the URL
 * replaces ours, timeouts included: the admin's choice. */
static PGconn *connect_to(const char *url)
{
	static const char *const keys[] = {
		"connect_timeout", "options", "application_name", "client_encoding", "dbname", NULL
	};
	const char *vals[] = {
		PG_CONNECT_TIMEOUT,
		"-c statement_timeout=" PG_STATEMENT_TIMEOUT_MS
		" -c lock_timeout=" PG_STATEMENT_TIMEOUT_MS " -c bytea_output=hex",
		"bsdpd", "UTF8", url, NULL
	};

	return PQconnectdbParams(keys, vals, 1);
}

/* The server's notices (a DROP that cascades, a NOTICE of a migration)
 * go to the debug log, not to stderr as libpq's default would. */
static void notice(void *ctx, const char *msg)
{
	(void)ctx;
	log_msg(LOG_DEBUG, "database: %.*s", (int)strcspn(msg, "\n"), msg);
}

/* What a new connection needs before its first statement. */
static int session_start(struct pg_db *db)
{
	PGresult *res;
	int r;

	PQsetNoticeProcessor(db->c, notice, NULL);
	res = PQexec(db->c, "LISTEN " PG_CHANNEL);
	r = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -EIO;
	if (r < 0)
		set_err(db, PQresultErrorMessage(res));
	PQclear(res);
	return r;
}

/* After a failure: a broken connection is logged once. */
static void note_failure(struct pg_db *db, const char *msg)
{
	set_err(db, msg);
	if (PQstatus(db->c) == CONNECTION_BAD && !db->lost) {
		db->lost = true;
		log_msg(LOG_ERR, "database: connection lost: %s", db->err);
	}
}

/* Connects again when the connection broke, outside a transaction, at
 * most once per PG_RETRY_MS; whether the connection can be used. */
static bool usable(struct pg_db *db)
{
	int64_t now;

	if (PQstatus(db->c) == CONNECTION_OK)
		return true;
	if (db->in_tx) {
		set_err(db, "the connection to the database broke during the transaction");
		return false;
	}
	now = clock_ms(CLOCK_MONOTONIC);
	if (now < db->retry_at_ms) {
		set_err(db, "the database is unreachable; connecting again shortly");
		return false;
	}
	db->retry_at_ms = now + PG_RETRY_MS;
	PQreset(db->c);
	if (PQstatus(db->c) != CONNECTION_OK || session_start(db) < 0) {
		note_failure(db, PQerrorMessage(db->c));
		return false;
	}
	db->gen++;
	db->changed = true;
	db->lost = false;
	log_msg(LOG_NOTICE, "database: connected again");
	return true;
}

static void track_tx(struct pg_db *db, bool ends)
{
	if (PQstatus(db->c) == CONNECTION_OK)
		db->in_tx = PQtransactionStatus(db->c) != PQTRANS_IDLE;
	else if (ends)
		db->in_tx = false;
}

static bool result_ok(PGresult *res)
{
	ExecStatusType s = PQresultStatus(res);

	return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
}

static const struct db_ops pg_ops;

int db_open_postgres(const char *url, struct db **out, char **err)
{
	struct pg_db *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->base.ops = &pg_ops;
	d->gen = 1;
	d->c = connect_to(url);
	if (!d->c || PQstatus(d->c) != CONNECTION_OK || session_start(d) < 0) {
		set_err(d, d->c ? PQerrorMessage(d->c) : "out of memory");
		if (err && asprintf(err, "--database: %s", d->err) < 0)
			*err = NULL;
		PQfinish(d->c);
		free(d);
		return -EIO;
	}
	*out = &d->base;
	return 0;
}

static void pg_close(struct db *base)
{
	PQfinish(pdb(base)->c);
	free(base);
}

static const char *pg_errmsg(struct db *db)
{
	return pdb(db)->err;
}

/* A COMMIT of a transaction that had failed is answered ROLLBACK, not an
 * error: it is one here, or a batch's lost writes would pass for saved. */
static int pg_exec(struct db *base, const char *sql)
{
	struct pg_db *db = pdb(base);
	bool commit = strcmp(sql, "COMMIT") == 0, ends = commit || strcmp(sql, "ROLLBACK") == 0;
	PGresult *res;
	int r;

	if (!usable(db)) {
		track_tx(db, ends);
		return -EIO;
	}
	res = PQexec(db->c, sql);
	r = result_ok(res) ? 0 : -EIO;
	if (r < 0)
		note_failure(db, PQresultErrorMessage(res));
	else if (commit && strcmp(PQcmdStatus(res), "ROLLBACK") == 0) {
		set_err(db, "the transaction had failed: rolled back");
		r = -EIO;
	}
	PQclear(res);
	track_tx(db, ends);
	return r;
}

/* ?N becomes $N, outside quoted strings and names; *n the highest N. */
static char *placeholders(const char *sql, int *n)
{
	char *out = malloc(strlen(sql) + 1), *o = out, quote = 0;
	long v;

	if (!out)
		return NULL;
	*n = 0;
	for (const char *p = sql; *p; p++) {
		if (quote) {
			quote = *p == quote ? 0 : quote;
		} else if (*p == '\'' || *p == '"') {
			quote = *p;
		} else if (*p == '?' && p[1] >= '1' && p[1] <= '9') {
			v = strtol(p + 1, NULL, 10);
			*n = v > *n ? (int)v : *n;
			*o++ = '$';
			continue;
		}
		*o++ = *p;
	}
	*o = '\0';
	return out;
}

static int prepare_on_connection(struct pg_db *db, struct pg_stmt *s)
{
	PGresult *res;
	int r;

	if (s->gen == db->gen)
		return 0;
	res = PQprepare(db->c, s->name, s->sql, s->n_params, NULL);
	r = result_ok(res) ? 0 : -EIO;
	if (r < 0)
		note_failure(db, PQresultErrorMessage(res));
	else
		s->gen = db->gen;
	PQclear(res);
	track_tx(db, false);
	return r;
}

/* Prepared on the server at once, so that a wrong statement fails at
 * start-up; again on each new connection, when first stepped. */
static int pg_prepare(struct db *base, const char *sql, struct db_stmt **out)
{
	struct pg_db *db = pdb(base);
	struct pg_stmt *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->base.db = base;
	s->sql = placeholders(sql, &s->n_params);
	snprintf(s->name, sizeof(s->name), "b%u", ++db->names);
	if (!s->sql || s->n_params > PG_PARAMS_MAX || !usable(db) ||
	    prepare_on_connection(db, s) < 0) {
		if (s->n_params > PG_PARAMS_MAX)
			set_err(db, "a statement has too many parameters");
		free(s->sql);
		free(s);
		return -EIO;
	}
	*out = &s->base;
	return 0;
}

static void pg_reset(struct db_stmt *st)
{
	struct pg_stmt *s = pst(st);

	PQclear(s->res);
	s->res = NULL;
	s->row = s->rows = 0;
	for (int i = 0; i < PG_PARAMS_MAX; i++) {
		s->vals[i] = NULL;
		s->lens[i] = 0;
		s->fmts[i] = 0;
	}
}

/* The server would keep the statement until the connection closes: a
 * store closed and opened again on the same connection (the tests) would
 * pile them up. */
static void pg_finalize(struct db_stmt *st)
{
	struct pg_stmt *s = pst(st);
	struct pg_db *db = pdb(st->db);
	char sql[32];

	pg_reset(st);
	if (s->gen == db->gen && PQstatus(db->c) == CONNECTION_OK && !db->in_tx) {
		snprintf(sql, sizeof(sql), "DEALLOCATE %s", s->name);
		PQclear(PQexec(db->c, sql));
	}
	free(s->blob);
	free(s->sql);
	free(s);
}

static bool param_ok(struct pg_stmt *s, int i)
{
	return i >= 1 && i <= s->n_params;
}

static void pg_bind_int64(struct db_stmt *st, int i, int64_t v)
{
	struct pg_stmt *s = pst(st);

	if (!param_ok(s, i))
		return;
	snprintf(s->nums[i - 1], sizeof(s->nums[i - 1]), "%lld", (long long)v);
	s->vals[i - 1] = s->nums[i - 1];
	s->fmts[i - 1] = 0;
}

static void bind_bytes(struct pg_stmt *s, int i, const void *p, size_t n)
{
	static const char none[1];

	if (!param_ok(s, i) || n > INT32_MAX)
		return;
	s->vals[i - 1] = n ? p : none;
	s->lens[i - 1] = (int)n;
	s->fmts[i - 1] = 1;
}

static void pg_bind_text(struct db_stmt *st, int i, const char *str, size_t n)
{
	bind_bytes(pst(st), i, str, n);
}

static void pg_bind_blob(struct db_stmt *st, int i, const void *p, size_t n)
{
	bind_bytes(pst(st), i, p, n);
}

static void pg_bind_null(struct db_stmt *st, int i)
{
	struct pg_stmt *s = pst(st);

	if (param_ok(s, i))
		s->vals[i - 1] = NULL;
}

/* The first step runs the statement and keeps its rows; the next ones
 * walk them.  The whole result is read at once: the *_each callers of
 * store.c read other statements between rows, which one connection can
 * do only when no result is still arriving. */
static int pg_step(struct db_stmt *st)
{
	struct pg_stmt *s = pst(st);
	struct pg_db *db = pdb(st->db);
	PGresult *res;

	if (s->res)
		return ++s->row < s->rows ? DB_ROW : DB_DONE;
	if (!usable(db) || prepare_on_connection(db, s) < 0)
		return -EIO;
	res = PQexecPrepared(db->c, s->name, s->n_params, s->vals, s->lens, s->fmts, 0);
	if (!result_ok(res)) {
		note_failure(db, PQresultErrorMessage(res));
		PQclear(res);
		track_tx(db, false);
		return -EIO;
	}
	db->changes = atoi(PQcmdTuples(res));
	track_tx(db, false);
	s->res = res;
	s->rows = PQntuples(res);
	s->row = 0;
	return s->rows > 0 ? DB_ROW : DB_DONE;
}

static bool have_value(struct pg_stmt *s, int i)
{
	return s->res && s->row < s->rows && i >= 0 && i < PQnfields(s->res) &&
	       !PQgetisnull(s->res, s->row, i);
}

static int64_t pg_column_int64(struct db_stmt *st, int i)
{
	struct pg_stmt *s = pst(st);

	return have_value(s, i) ? strtoll(PQgetvalue(s->res, s->row, i), NULL, 10) : 0;
}

static const char *pg_column_text(struct db_stmt *st, int i)
{
	struct pg_stmt *s = pst(st);

	return have_value(s, i) ? PQgetvalue(s->res, s->row, i) : NULL;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* bytea's hex output, \x then two digits a byte, into s->blob. */
static const void *decode_hex(struct pg_stmt *s, const char *v, size_t *n)
{
	size_t len = strlen(v), bytes;
	int hi, lo;

	*n = 0;
	if (len < 2 || v[0] != '\\' || v[1] != 'x' || (len - 2) % 2)
		return NULL;
	bytes = (len - 2) / 2;
	if (bytes + 1 > s->blob_cap) {
		unsigned char *p = realloc(s->blob, bytes + 1);

		if (!p)
			return NULL;
		s->blob = p;
		s->blob_cap = bytes + 1;
	}
	for (size_t i = 0; i < bytes; i++) {
		hi = hex_digit(v[2 + 2 * i]);
		lo = hex_digit(v[3 + 2 * i]);
		if (hi < 0 || lo < 0)
			return NULL;
		s->blob[i] = (unsigned char)(hi << 4 | lo);
	}
	*n = bytes;
	return s->blob;
}

static const void *pg_column_blob(struct db_stmt *st, int i, size_t *n)
{
	struct pg_stmt *s = pst(st);
	const char *v;

	*n = 0;
	if (!have_value(s, i))
		return NULL;
	v = PQgetvalue(s->res, s->row, i);
	if (PQftype(s->res, i) != BYTEA_OID) {
		*n = strlen(v);
		return v;
	}
	return decode_hex(s, v, n);
}

static int pg_column_is_null(struct db_stmt *st, int i)
{
	struct pg_stmt *s = pst(st);

	return !have_value(s, i);
}

static int pg_changes(struct db *db)
{
	return pdb(db)->changes;
}

/* One text value of a query without parameters; -EIO, or 0 and *out
 * (PQclear it). */
static int query_value(struct pg_db *db, const char *sql, PGresult **out)
{
	PGresult *res;

	if (!usable(db))
		return -EIO;
	res = PQexec(db->c, sql);
	track_tx(db, false);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 || PQnfields(res) != 1) {
		note_failure(db, PQresultErrorMessage(res));
		PQclear(res);
		return -EIO;
	}
	*out = res;
	return 0;
}

/* PostgreSQL has no user_version: the version lives in a table of one
 * row, and a database without it is version 0, as a new SQLite file is. */
static int pg_user_version(struct db *base)
{
	struct pg_db *db = pdb(base);
	PGresult *res;
	int v;

	if (query_value(db, "SELECT to_regclass('schema_version') IS NOT NULL", &res) < 0)
		return -EIO;
	v = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!v)
		return 0;
	if (query_value(db, "SELECT version FROM schema_version", &res) < 0)
		return -EIO;
	v = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

static int pg_set_user_version(struct db *db, int v)
{
	char sql[160];

	snprintf(sql, sizeof(sql), "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER "
		 "NOT NULL); DELETE FROM schema_version; INSERT INTO schema_version VALUES (%d)",
		 v);
	return pg_exec(db, sql);
}

static int pg_lock_schema(struct db *base)
{
	struct pg_db *db = pdb(base);
	PGresult *res;

	if (query_value(db, "SELECT pg_advisory_xact_lock(" PG_SCHEMA_LOCK ")", &res) < 0)
		return -EIO;
	PQclear(res);
	return 0;
}

/* Delivered to the listeners when the transaction commits, not before. */
static int pg_notify(struct db *db)
{
	return pg_exec(db, "NOTIFY " PG_CHANNEL);
}

/* PQconsumeInput reads what the socket holds without waiting (libpq's
 * sockets are non-blocking); our own NOTIFYs come back too, and are
 * skipped by their sender's pid. */
static bool pg_changed(struct db *base)
{
	struct pg_db *db = pdb(base);
	PGnotify *n;
	bool r;

	if (PQstatus(db->c) == CONNECTION_OK) {
		if (!PQconsumeInput(db->c))
			note_failure(db, PQerrorMessage(db->c));
		while ((n = PQnotifies(db->c))) {
			db->changed |= n->be_pid != PQbackendPID(db->c);
			PQfreemem(n);
		}
	}
	r = db->changed;
	db->changed = false;
	return r;
}

/* libpq names a UNIX socket by its directory, an absolute path. */
static uint16_t pg_tcp_port(struct db *base)
{
	struct pg_db *db = pdb(base);
	const char *host = PQhost(db->c), *port = PQport(db->c);
	long v = port ? strtol(port, NULL, 10) : 0;

	if (!host || host[0] == '/' || v <= 0 || v > 65535)
		return 0;
	return (uint16_t)v;
}

static const struct db_ops pg_ops = {
	.dialect = DB_POSTGRES,
	.begin_sql = "BEGIN",
	.close = pg_close,
	.errmsg = pg_errmsg,
	.exec = pg_exec,
	.prepare = pg_prepare,
	.finalize = pg_finalize,
	.reset = pg_reset,
	.bind_int64 = pg_bind_int64,
	.bind_text = pg_bind_text,
	.bind_blob = pg_bind_blob,
	.bind_null = pg_bind_null,
	.step = pg_step,
	.column_int64 = pg_column_int64,
	.column_text = pg_column_text,
	.column_blob = pg_column_blob,
	.column_is_null = pg_column_is_null,
	.changes = pg_changes,
	.user_version = pg_user_version,
	.set_user_version = pg_set_user_version,
	.lock_schema = pg_lock_schema,
	.notify = pg_notify,
	.changed = pg_changed,
	.tcp_port = pg_tcp_port,
};
