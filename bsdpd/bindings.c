/* SPDX-License-Identifier: MIT */
#include "bindings.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#define DB_FILE "bindings.sqlite"

const char *const bindings_files[] = { DB_FILE, DB_FILE "-wal", DB_FILE "-shm", NULL };

enum stmt {
	STMT_GET,
	STMT_PUT,
	STMT_DELETE,
	STMT_COUNT,
	STMT_NEXT_NUMBER,
	STMT_SAVE_NUMBER,
	STMT_SET_IP,
	STMT_BEGIN,
	STMT_COMMIT,
	STMT_ROLLBACK,
	N_STMTS,
};

static const char *const stmt_sql[N_STMTS] = {
	[STMT_GET] = "SELECT image_id, arch, model, ip, number, updated "
		     "FROM clients WHERE mac = ?1",
	[STMT_PUT] = "INSERT INTO clients (mac, image_id, arch, model, ip, number, updated) "
		     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(mac) DO UPDATE SET "
		     "image_id = ?2, arch = ?3, model = ?4, ip = ?5, updated = ?7",
	[STMT_DELETE] = "DELETE FROM clients WHERE mac = ?1",
	[STMT_COUNT] = "SELECT count(*) FROM clients",
	/* Apple's S_client_create: one past the highest number ever stored,
	 * so machine names are never reused while the record table lives. */
	[STMT_NEXT_NUMBER] = "SELECT coalesce(max(number), 0) + 1 FROM (SELECT number "
			     "FROM clients UNION ALL SELECT number FROM next_number)",
	[STMT_SAVE_NUMBER] = "INSERT OR REPLACE INTO next_number (id, number) VALUES (1, ?1)",
	[STMT_SET_IP] = "UPDATE clients SET ip = ?2 WHERE mac = ?1",
	[STMT_BEGIN] = "BEGIN IMMEDIATE",
	[STMT_COMMIT] = "COMMIT",
	[STMT_ROLLBACK] = "ROLLBACK",
};

static const char schema[] =
	"PRAGMA journal_mode = WAL;"
	"PRAGMA synchronous = NORMAL;"
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

/* bsdpd is the database's only writer, so the number of bound clients,
 * which every ACK[LIST] needs for its priority, is kept here rather than
 * counted by SQLite per request. */
struct bindings {
	sqlite3 *db;
	sqlite3_stmt *stmt[N_STMTS];
	int count;
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
	    sqlite3_exec(b->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
		set_err(err, path ? path : ":memory:", b->db);
		r = -EIO;
	}
	free(path);
	return r;
}

struct bindings *bindings_open(const char *dir, char **err)
{
	struct bindings *b = calloc(1, sizeof(*b));

	if (!b)
		abort();
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
	sqlite3_reset(st);
	return 0;
}

/* Takes the next machine number and remembers it, so that deleting the
 * newest record does not hand its name to the next client. */
static int next_number(struct bindings *b, unsigned *number)
{
	sqlite3_stmt *st = stmt_begin(b, STMT_NEXT_NUMBER, NULL);
	int r;

	if (sqlite3_step(st) != SQLITE_ROW)
		return -EIO;
	*number = (unsigned)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	st = stmt_begin(b, STMT_SAVE_NUMBER, NULL);
	sqlite3_bind_int64(st, 1, *number);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	sqlite3_reset(st);
	return r;
}

/* Runs a statement that returns no rows; 0 or -EIO. */
static int exec_stmt(struct bindings *b, enum stmt s)
{
	sqlite3_stmt *st = stmt_begin(b, s, NULL);
	int r = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;

	sqlite3_reset(st);
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

/* Look-up, number allocation and write in one transaction: one lock
 * round-trip per SELECT, and no half-recorded client. */
int bindings_put(struct bindings *b, struct binding *bd)
{
	struct binding old;
	bool fresh;
	int r;

	if (exec_stmt(b, STMT_BEGIN) < 0)
		return -EIO;
	r = bindings_get(b, bd->mac, &old);
	fresh = r == -ENOENT;
	if (r == 0)
		bd->number = old.number;
	else if (fresh)
		r = next_number(b, &bd->number);
	if (r == 0)
		r = upsert(b, bd);
	if (r == 0)
		r = exec_stmt(b, STMT_COMMIT);
	if (r < 0) {
		(void)exec_stmt(b, STMT_ROLLBACK);
		return r;
	}
	b->count += fresh;
	return 0;
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
