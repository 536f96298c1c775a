/* SPDX-License-Identifier: MIT */
#include "bindings.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#define DB_FILE "bindings.sqlite"
/* PRAGMA user_version of the schema below.  bsdpd 0.1.0 never set it, so
 * its tables are version 0. */
#define SCHEMA_VERSION 1

const char *const bindings_files[] = { DB_FILE, DB_FILE "-wal", DB_FILE "-shm", NULL };

enum stmt {
	STMT_GET,
	STMT_PUT,
	STMT_DELETE,
	STMT_COUNT,
	STMT_TAKE_NUMBER,
	STMT_EXPIRE,
	STMT_EVICT,
	STMT_SEEN,
	STMT_SET_IP,
	STMT_BEGIN,
	STMT_COMMIT,
	STMT_ROLLBACK,
	N_STMTS,
};

static const char *const stmt_sql[N_STMTS] = {
	[STMT_GET] = "SELECT image_id, arch, model, ip, number, updated, last_seen "
		     "FROM clients WHERE mac = ?1",
	[STMT_PUT] = "INSERT INTO clients (mac, image_id, arch, model, ip, number, updated, "
		     "last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) ON CONFLICT(mac) "
		     "DO UPDATE SET image_id = ?2, arch = ?3, model = ?4, ip = ?5, "
		     "updated = ?7, last_seen = ?7",
	[STMT_DELETE] = "DELETE FROM clients WHERE mac = ?1",
	[STMT_COUNT] = "SELECT count(*) FROM clients",
	/* Apple's S_client_create: one past the highest number ever handed
	 * out, so machine names are never reused while the table lives.  The
	 * counter row makes that one indexed write, not a scan of clients. */
	[STMT_TAKE_NUMBER] = "UPDATE next_number SET number = number + 1 WHERE id = 1 "
			     "RETURNING number",
	[STMT_EXPIRE] = "DELETE FROM clients WHERE last_seen < ?1",
	/* Least recently seen first; the older number breaks a tie. */
	[STMT_EVICT] = "DELETE FROM clients WHERE mac IN (SELECT mac FROM clients "
		       "ORDER BY last_seen, number LIMIT ?1)",
	[STMT_SEEN] = "UPDATE clients SET last_seen = ?2 WHERE mac = ?1",
	[STMT_SET_IP] = "UPDATE clients SET ip = ?2 WHERE mac = ?1",
	[STMT_BEGIN] = "BEGIN IMMEDIATE",
	[STMT_COMMIT] = "COMMIT",
	[STMT_ROLLBACK] = "ROLLBACK",
};

static const char journal[] =
	"PRAGMA journal_mode = WAL;"
	"PRAGMA synchronous = NORMAL;";

/* Version 0, as bsdpd 0.1.0 created it.  A new database is made as
 * version 0 and upgraded, so that every database takes the same path. */
static const char schema_v0[] =
	"CREATE TABLE IF NOT EXISTS clients ("
	" mac BLOB PRIMARY KEY CHECK (length(mac) = 6),"
	" image_id INTEGER NOT NULL,"
	" arch TEXT NOT NULL,"
	" model TEXT NOT NULL,"
	" ip BLOB NOT NULL,"
	" number INTEGER NOT NULL UNIQUE,"
	" updated INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS next_number ("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" number INTEGER NOT NULL);";

/* Version 1: last_seen for expiry and eviction, indexed with number so
 * the least recently seen is found without a sort; next_number becomes
 * the highest number handed out, taken once from what version 0 held. */
static const char migrate_v1[] =
	"ALTER TABLE clients ADD COLUMN last_seen INTEGER NOT NULL DEFAULT 0;"
	"UPDATE clients SET last_seen = updated;"
	"CREATE INDEX clients_by_last_seen ON clients (last_seen, number);"
	"INSERT OR REPLACE INTO next_number (id, number) SELECT 1, coalesce(max(number), 0) "
	"FROM (SELECT number FROM clients UNION ALL SELECT number FROM next_number);"
	"PRAGMA user_version = 1;";

/* bsdpd is the database's only writer, so the number of bound clients,
 * which every ACK[LIST] needs for its priority, is kept here rather than
 * counted by SQLite per request. */
struct bindings {
	sqlite3 *db;
	sqlite3_stmt *stmt[N_STMTS];
	struct bindings_policy policy;
	int count;
};

/* What one transaction removed; applied to count only once committed. */
struct removed {
	int expired;
	int evicted;
};

static void set_err(char **err, const char *what, sqlite3 *db)
{
	if (err && asprintf(err, "%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory") < 0)
		*err = NULL;
}

static sqlite3_stmt *stmt_begin(struct bindings *b, enum stmt s, const uint8_t *mac);

static int count_rows(struct bindings *b)
{
	sqlite3_stmt *st = stmt_begin(b, STMT_COUNT, NULL);
	int n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -EIO;

	sqlite3_reset(st);
	return n;
}

static int user_version(sqlite3 *db)
{
	sqlite3_stmt *st;
	int v = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Upgrades in one transaction: a crash or an error leaves the database as
 * it was, never half migrated. */
static int migrate(sqlite3 *db, const char *path, char **err)
{
	int v = user_version(db);

	if (v < 0) {
		set_err(err, path, db);
		return -EIO;
	}
	if (v > SCHEMA_VERSION) {
		if (err && asprintf(err, "%s: database schema version %d is newer than this "
				    "bsdpd supports (%d)", path, v, SCHEMA_VERSION) < 0)
			*err = NULL;
		return -EPROTO;
	}
	if (v == SCHEMA_VERSION)
		return 0;
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, schema_v0, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, migrate_v1, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		set_err(err, path, db);
		(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -EIO;
	}
	return 0;
}

/* SQLITE_OPEN_NOFOLLOW refuses a database that is a symbolic link.  SQLite
 * opens the -wal and -shm files by name itself; bsdpd opens the database
 * only once it runs as --user, so a link planted there reaches no more
 * than that user could reach anyway (main.c checks the files first). */
static int open_db(struct bindings *b, const char *dir, char **err)
{
	char *path = NULL;
	int r = 0;

	if (dir && asprintf(&path, "%s/%s", dir, DB_FILE) < 0)
		abort();
	if (sqlite3_open_v2(path ? path : ":memory:", &b->db, SQLITE_OPEN_READWRITE |
			    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(b->db, 1000) != SQLITE_OK ||
	    sqlite3_exec(b->db, journal, NULL, NULL, NULL) != SQLITE_OK) {
		set_err(err, path ? path : ":memory:", b->db);
		r = -EIO;
	}
	if (r == 0)
		r = migrate(b->db, path ? path : ":memory:", err);
	free(path);
	return r;
}

struct bindings *bindings_open(const char *dir, const struct bindings_policy *policy,
			       char **err)
{
	struct bindings *b = calloc(1, sizeof(*b));

	if (!b)
		abort();
	b->policy = policy ? *policy : (struct bindings_policy){
		.max = BINDINGS_DEFAULT_MAX, .expiry = BINDINGS_DEFAULT_EXPIRY_DAYS * 86400ll };
	if (open_db(b, dir, err) < 0)
		goto fail;
	for (int i = 0; i < N_STMTS; i++) {
		if (sqlite3_prepare_v2(b->db, stmt_sql[i], -1, &b->stmt[i], NULL) != SQLITE_OK) {
			set_err(err, "preparing statements", b->db);
			goto fail;
		}
	}
	b->count = count_rows(b);
	if (b->count < 0) {
		set_err(err, "counting clients", b->db);
		goto fail;
	}
	return b;
fail:
	bindings_close(b);
	return NULL;
}

void bindings_close(struct bindings *b)
{
	if (!b)
		return;
	for (int i = 0; i < N_STMTS; i++)
		sqlite3_finalize(b->stmt[i]);
	sqlite3_close(b->db);
	free(b);
}

static sqlite3_stmt *stmt_begin(struct bindings *b, enum stmt s, const uint8_t *mac)
{
	sqlite3_stmt *st = b->stmt[s];

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (mac)
		sqlite3_bind_blob(st, 1, mac, 6, SQLITE_STATIC);
	return st;
}

static void copy_text(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	snprintf(dst, cap, "%s", s ? (const char *)s : "");
}

int bindings_get(struct bindings *b, const uint8_t mac[6], struct binding *out)
{
	sqlite3_stmt *st = stmt_begin(b, STMT_GET, mac);
	int rc = sqlite3_step(st);

	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return -EIO;
	memset(out, 0, sizeof(*out));
	memcpy(out->mac, mac, 6);
	out->image_id = (uint32_t)sqlite3_column_int64(st, 0);
	copy_text(out->arch, sizeof(out->arch), st, 1);
	copy_text(out->model, sizeof(out->model), st, 2);
	if (sqlite3_column_bytes(st, 3) == 4)
		memcpy(&out->ip.s_addr, sqlite3_column_blob(st, 3), 4);
	out->number = (unsigned)sqlite3_column_int64(st, 4);
	out->updated = sqlite3_column_int64(st, 5);
	out->last_seen = sqlite3_column_int64(st, 6);
	sqlite3_reset(st);
	return 0;
}

/* Takes the next machine number; the counter remembers it, so deleting
 * the newest record does not hand its name to the next client. */
static int take_number(struct bindings *b, unsigned *number)
{
	sqlite3_stmt *st = stmt_begin(b, STMT_TAKE_NUMBER, NULL);
	int r = -EIO;

	if (sqlite3_step(st) == SQLITE_ROW) {
		*number = (unsigned)sqlite3_column_int64(st, 0);
		r = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	}
	sqlite3_reset(st);
	return r;
}

/* Runs a statement that returns no rows, with ?1 bound to arg unless it
 * is negative; the rows it changed, or -EIO. */
static int exec_stmt(struct bindings *b, enum stmt s, int64_t arg)
{
	sqlite3_stmt *st = stmt_begin(b, s, NULL);
	int r;

	if (arg >= 0)
		sqlite3_bind_int64(st, 1, arg);
	r = sqlite3_step(st) == SQLITE_DONE ? sqlite3_changes(b->db) : -EIO;
	sqlite3_reset(st);
	return r;
}

/* Expiry, then the cap with room left for `room` new bindings. */
static int make_room(struct bindings *b, int64_t now, int room, struct removed *rm)
{
	const struct bindings_policy *p = &b->policy;
	int left, excess;

	if (p->expiry > 0 && now > p->expiry) {
		rm->expired = exec_stmt(b, STMT_EXPIRE, now - p->expiry);
		if (rm->expired < 0)
			return -EIO;
	}
	left = b->count - rm->expired;
	excess = left - ((int)p->max - room);
	if (excess > 0) {
		rm->evicted = exec_stmt(b, STMT_EVICT, excess);
		if (rm->evicted < 0)
			return -EIO;
	}
	return 0;
}

/* After the commit: the count follows, and the caller's log hears why. */
static void settle(struct bindings *b, const struct removed *rm)
{
	b->count -= rm->expired + rm->evicted;
	if (!b->policy.pruned)
		return;
	if (rm->expired > 0)
		b->policy.pruned(b->policy.ctx, (unsigned)rm->expired, "not seen within the expiry");
	if (rm->evicted > 0)
		b->policy.pruned(b->policy.ctx, (unsigned)rm->evicted,
				 "least recently seen, over the cap");
}

static int commit_or_rollback(struct bindings *b, int r)
{
	if (r >= 0)
		r = exec_stmt(b, STMT_COMMIT, -1);
	if (r < 0)
		(void)exec_stmt(b, STMT_ROLLBACK, -1);
	return r < 0 ? r : 0;
}

int bindings_prune(struct bindings *b, int64_t now)
{
	struct removed rm = { 0 };
	int r = exec_stmt(b, STMT_BEGIN, -1);

	if (r >= 0)
		r = make_room(b, now, 0, &rm);
	r = commit_or_rollback(b, r);
	if (r == 0)
		settle(b, &rm);
	return r;
}

static int upsert(struct bindings *b, const struct binding *bd)
{
	sqlite3_stmt *st = stmt_begin(b, STMT_PUT, bd->mac);
	int r;

	sqlite3_bind_int64(st, 2, bd->image_id);
	sqlite3_bind_text(st, 3, bd->arch, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, bd->model, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 5, &bd->ip.s_addr, 4, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, bd->number);
	sqlite3_bind_int64(st, 7, bd->updated);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	sqlite3_reset(st);
	return r;
}

/* Look-up, room, number and write in one transaction: one lock round-trip
 * per SELECT, and no half-recorded client. */
int bindings_put(struct bindings *b, struct binding *bd)
{
	struct removed rm = { 0 };
	struct binding old;
	bool fresh = false;
	int r = exec_stmt(b, STMT_BEGIN, -1);

	if (r >= 0)
		r = bindings_get(b, bd->mac, &old);
	if (r == 0)
		bd->number = old.number;
	else if (r == -ENOENT) {
		fresh = true;
		r = make_room(b, bd->updated, 1, &rm);
		if (r == 0)
			r = take_number(b, &bd->number);
	}
	if (r == 0)
		r = upsert(b, bd);
	r = commit_or_rollback(b, r);
	if (r < 0)
		return r;
	b->count += fresh;
	settle(b, &rm);
	return 0;
}

int bindings_seen(struct bindings *b, const struct binding *bd, int64_t now)
{
	sqlite3_stmt *st;
	int r;

	if (now - bd->last_seen < BINDINGS_SEEN_EVERY)
		return 0;
	st = stmt_begin(b, STMT_SEEN, bd->mac);
	sqlite3_bind_int64(st, 2, now);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	sqlite3_reset(st);
	return r;
}

int bindings_delete(struct bindings *b, const uint8_t mac[6])
{
	sqlite3_stmt *st = stmt_begin(b, STMT_DELETE, mac);
	int r = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;

	sqlite3_reset(st);
	if (r == 0)
		b->count -= sqlite3_changes(b->db) > 0;
	return r;
}

int bindings_count(struct bindings *b)
{
	return b->count;
}

int bindings_set_ip(struct bindings *b, const uint8_t mac[6], struct in_addr ip)
{
	sqlite3_stmt *st = stmt_begin(b, STMT_SET_IP, mac);
	int r;

	sqlite3_bind_blob(st, 2, &ip.s_addr, 4, SQLITE_STATIC);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	sqlite3_reset(st);
	return r;
}
