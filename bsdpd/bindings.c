/* SPDX-License-Identifier: MIT */
#include "bindings.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

#define DB_FILE "bindings.sqlite"
/* PRAGMA user_version of the schema below.  bsdpd 0.1.0 never set it, so
 * its tables are version 0; bsdpd 0.2 wrote version 1. */
#define SCHEMA_VERSION 3

const char *const bindings_files[] = { DB_FILE, DB_FILE "-wal", DB_FILE "-shm", NULL };

enum stmt {
	STMT_GET,
	STMT_PUT,
	STMT_DELETE,
	STMT_COUNT,
	STMT_COUNT_OF,
	STMT_TAKE_NUMBER,
	STMT_EXPIRE,
	STMT_EVICT,
	STMT_SEEN,
	STMT_SET_IP,
	STMT_NEWEST,
	N_STMTS,
};

static const char *const stmt_sql[N_STMTS] = {
	[STMT_GET] = "SELECT image_id, arch, model, ip, number, updated, last_seen, server "
		     "FROM clients WHERE mac = ?1",
	/* The number kept is the row's: when two servers bind a new Mac at
	 * once, the second's insert becomes an update of the first's row,
	 * and its ACK names the machine as the first's did. */
	[STMT_PUT] = "INSERT INTO clients (mac, image_id, arch, model, ip, number, updated, "
		     "last_seen, server) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8) "
		     "ON CONFLICT(mac) DO UPDATE SET image_id = ?2, arch = ?3, model = ?4, "
		     "ip = ?5, updated = ?7, last_seen = ?7, server = ?8 RETURNING number",
	/* A binding of bsdpd before version 3 has no server: it is ours. */
	[STMT_DELETE] = "DELETE FROM clients WHERE mac = ?1 AND (server IS NULL OR server = ?2)",
	[STMT_COUNT] = "SELECT count(*) FROM clients",
	[STMT_COUNT_OF] = "SELECT count(*) FROM clients WHERE server = ?1",
	/* Apple's S_client_create: one past the highest number ever handed
	 * out, so machine names are never reused while the table lives.  The
	 * counter row makes that one indexed write, not a scan of clients;
	 * on PostgreSQL its row lock makes a second server's UPDATE wait for
	 * the first's commit and then count on from it (pg.c). */
	[STMT_TAKE_NUMBER] = "UPDATE next_number SET number = number + 1 WHERE id = 1 "
			     "RETURNING number",
	[STMT_EXPIRE] = "DELETE FROM clients WHERE last_seen < ?1",
	/* Least recently seen first; the older number breaks a tie. */
	[STMT_EVICT] = "DELETE FROM clients WHERE mac IN (SELECT mac FROM clients "
		       "ORDER BY last_seen, number LIMIT ?1)",
	[STMT_SEEN] = "UPDATE clients SET last_seen = ?2 WHERE mac = ?1",
	[STMT_SET_IP] = "UPDATE clients SET ip = ?2 WHERE mac = ?1",
	/* No index on updated: a sort of at most --max-bindings rows, kept
	 * to the LIMIT as it goes. */
	[STMT_NEWEST] = "SELECT image_id, arch, model, ip, number, updated, last_seen, server, "
			"mac FROM clients ORDER BY updated DESC, number DESC LIMIT ?1",
};

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
	"INSERT INTO next_number (id, number) SELECT 1, coalesce(max(number), 0) "
	"FROM (SELECT number FROM clients UNION ALL SELECT number FROM next_number) AS n "
	"WHERE true ON CONFLICT (id) DO UPDATE SET number = excluded.number;";

/* Version 2: the boot policy of bsdpd/store.c.  Scalars are columns;
 * lists (initrds, menu items, labels) are child rows keyed by their
 * owner, so every field stays queryable and no encoding of our own is
 * stored.  Kinds and local methods are kept by name (policy.h), not by
 * enum value, so that reordering an enum cannot change a record.
 * events_by_time serves the age cap, events_by_mac the per-machine read;
 * the count cap walks the rowid. */
static const char migrate_v2[] =
	"CREATE TABLE profiles ("
	" name TEXT PRIMARY KEY, kind TEXT NOT NULL, description TEXT NOT NULL,"
	" local TEXT NOT NULL, kernel TEXT NOT NULL, cmdline TEXT NOT NULL,"
	" chain TEXT NOT NULL, default_item TEXT NOT NULL, timeout INTEGER NOT NULL,"
	" template TEXT) WITHOUT ROWID;"
	"CREATE TABLE profile_initrds ("
	" profile TEXT NOT NULL, pos INTEGER NOT NULL, path TEXT NOT NULL,"
	" PRIMARY KEY (profile, pos)) WITHOUT ROWID;"
	"CREATE TABLE menu_items ("
	" menu TEXT NOT NULL, pos INTEGER NOT NULL, item TEXT NOT NULL,"
	" PRIMARY KEY (menu, pos)) WITHOUT ROWID;"
	"CREATE INDEX menu_items_by_item ON menu_items (item);"
	"CREATE TABLE machines ("
	" mac BLOB PRIMARY KEY CHECK (length(mac) = 6), hostname TEXT NOT NULL,"
	" profile TEXT NOT NULL, next_boot TEXT NOT NULL, local TEXT NOT NULL,"
	" image TEXT NOT NULL, model TEXT NOT NULL, arch TEXT NOT NULL, uuid TEXT NOT NULL,"
	" ip BLOB NOT NULL, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL)"
	" WITHOUT ROWID;"
	"CREATE INDEX machines_by_last_seen ON machines (last_seen);"
	"CREATE TABLE machine_labels ("
	" mac BLOB NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
	" PRIMARY KEY (mac, key)) WITHOUT ROWID;"
	"CREATE TABLE groups ("
	" name TEXT PRIMARY KEY, mac_prefix BLOB NOT NULL CHECK (length(mac_prefix) <= 6),"
	" model TEXT NOT NULL, arch TEXT NOT NULL, profile TEXT NOT NULL,"
	" priority INTEGER NOT NULL, local TEXT NOT NULL, image TEXT NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE group_labels ("
	" grp TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
	" PRIMARY KEY (grp, key)) WITHOUT ROWID;"
	"CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE events ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT, time_us INTEGER NOT NULL, mac BLOB,"
	" kind TEXT NOT NULL, detail TEXT NOT NULL, rule TEXT NOT NULL,"
	" bytes INTEGER NOT NULL, duration_ms INTEGER NOT NULL, ok INTEGER NOT NULL);"
	"CREATE INDEX events_by_time ON events (time_us);"
	"CREATE INDEX events_by_mac ON events (mac, time_us);";

/* Version 3: the server that acknowledged the SELECT (its address, as
 * the client's sub-option 3 names it), so that on a database several
 * servers share, a SELECT naming another server removes a binding only
 * when it was this one's (bsdpd/responder.c). */
static const char migrate_v3[] = "ALTER TABLE clients ADD COLUMN server BLOB;"
				 "CREATE INDEX clients_by_server ON clients (server);";

/* The same versions in PostgreSQL's dialect: BYTEA for BLOB, BIGINT for
 * SQLite's 64-bit INTEGER, an identity column for AUTOINCREMENT (it too
 * never hands out an id again), no WITHOUT ROWID (every PostgreSQL table
 * is a heap with its indexes).  Version 1's SQL is the same in both. */
static const char pg_schema_v0[] =
	"CREATE TABLE IF NOT EXISTS clients ("
	" mac BYTEA PRIMARY KEY CHECK (length(mac) = 6),"
	" image_id BIGINT NOT NULL,"
	" arch TEXT NOT NULL,"
	" model TEXT NOT NULL,"
	" ip BYTEA NOT NULL,"
	" number BIGINT NOT NULL UNIQUE,"
	" updated BIGINT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS next_number ("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" number BIGINT NOT NULL);";

static const char pg_migrate_v2[] =
	"CREATE TABLE profiles ("
	" name TEXT PRIMARY KEY, kind TEXT NOT NULL, description TEXT NOT NULL,"
	" local TEXT NOT NULL, kernel TEXT NOT NULL, cmdline TEXT NOT NULL,"
	" chain TEXT NOT NULL, default_item TEXT NOT NULL, timeout BIGINT NOT NULL,"
	" template TEXT);"
	"CREATE TABLE profile_initrds ("
	" profile TEXT NOT NULL, pos BIGINT NOT NULL, path TEXT NOT NULL,"
	" PRIMARY KEY (profile, pos));"
	"CREATE TABLE menu_items ("
	" menu TEXT NOT NULL, pos BIGINT NOT NULL, item TEXT NOT NULL,"
	" PRIMARY KEY (menu, pos));"
	"CREATE INDEX menu_items_by_item ON menu_items (item);"
	"CREATE TABLE machines ("
	" mac BYTEA PRIMARY KEY CHECK (length(mac) = 6), hostname TEXT NOT NULL,"
	" profile TEXT NOT NULL, next_boot TEXT NOT NULL, local TEXT NOT NULL,"
	" image TEXT NOT NULL, model TEXT NOT NULL, arch TEXT NOT NULL, uuid TEXT NOT NULL,"
	" ip BYTEA NOT NULL, first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL);"
	"CREATE INDEX machines_by_last_seen ON machines (last_seen);"
	"CREATE TABLE machine_labels ("
	" mac BYTEA NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
	" PRIMARY KEY (mac, key));"
	"CREATE TABLE groups ("
	" name TEXT PRIMARY KEY, mac_prefix BYTEA NOT NULL CHECK (length(mac_prefix) <= 6),"
	" model TEXT NOT NULL, arch TEXT NOT NULL, profile TEXT NOT NULL,"
	" priority BIGINT NOT NULL, local TEXT NOT NULL, image TEXT NOT NULL);"
	"CREATE TABLE group_labels ("
	" grp TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
	" PRIMARY KEY (grp, key));"
	"CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE events ("
	" id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, time_us BIGINT NOT NULL,"
	" mac BYTEA, kind TEXT NOT NULL, detail TEXT NOT NULL, rule TEXT NOT NULL,"
	" bytes BIGINT NOT NULL, duration_ms BIGINT NOT NULL, ok BIGINT NOT NULL);"
	"CREATE INDEX events_by_time ON events (time_us);"
	"CREATE INDEX events_by_mac ON events (mac, time_us);";

static const char pg_migrate_v3[] = "ALTER TABLE clients ADD COLUMN server BYTEA;"
				    "CREATE INDEX clients_by_server ON clients (server);";

static const char pg_migrate_v1[] =
	"ALTER TABLE clients ADD COLUMN last_seen BIGINT NOT NULL DEFAULT 0;"
	"UPDATE clients SET last_seen = updated;"
	"CREATE INDEX clients_by_last_seen ON clients (last_seen, number);"
	"INSERT INTO next_number (id, number) SELECT 1, coalesce(max(number), 0) "
	"FROM (SELECT number FROM clients UNION ALL SELECT number FROM next_number) AS n "
	"WHERE true ON CONFLICT (id) DO UPDATE SET number = excluded.number;";

/* Each dialect's version 0, and migrations[dialect][v], which takes a
 * database from version v to v + 1. */
static const char *const schema_v0_of[] = { [DB_SQLITE] = schema_v0,
					    [DB_POSTGRES] = pg_schema_v0 };
static const char *const migrations[][SCHEMA_VERSION] = {
	[DB_SQLITE] = { migrate_v1, migrate_v2, migrate_v3 },
	[DB_POSTGRES] = { pg_migrate_v1, pg_migrate_v2, pg_migrate_v3 },
};

/* The number of bound clients, which every ACK[LIST] needs for its
 * priority, is kept here rather than counted per request.  bsdpd is the
 * only writer of a SQLite file; on a shared PostgreSQL database the
 * count is taken again in each new binding's transaction, so that the
 * cap counts every server's clients. */
/* A shared database's count of one server's clients, as last read. */
struct count_of {
	struct in_addr server;
	int count;
	int64_t at;                /* Unix time it was read; 0: unused */
};

#define COUNTS_OF 8            /* the addresses a bsdpd serves from, usually one or two */

struct bindings {
	struct db *db;
	struct db_stmt *stmt[N_STMTS];
	struct bindings_policy policy;
	int count;
	struct count_of counts_of[COUNTS_OF];
};

/* What one transaction removed; applied to count only once committed. */
struct removed {
	int expired;
	int evicted;
};

static void set_err(char **err, const char *what, struct db *db)
{
	if (err && asprintf(err, "%s: %s", what, db_errmsg(db)) < 0)
		*err = NULL;
}

static struct db_stmt *stmt_begin(struct bindings *b, enum stmt s, const uint8_t *mac);

static int count_rows(struct bindings *b)
{
	struct db_stmt *st = stmt_begin(b, STMT_COUNT, NULL);
	int n = db_step(st) == DB_ROW ? (int)db_column_int64(st, 0) : -EIO;

	db_reset(st);
	return n;
}

/* Runs the migrations from version v, in order. */
static int upgrade_from(struct db *db, int v)
{
	enum db_dialect d = db_dialect(db);
	int r = v == 0 ? db_exec(db, schema_v0_of[d]) : 0;

	for (; r == 0 && v < SCHEMA_VERSION; v++)
		r = db_exec(db, migrations[d][v]);
	return r == 0 ? db_set_user_version(db, SCHEMA_VERSION) : r;
}

/* The version, read under the schema lock; -EPROTO when it is newer than
 * ours, then *err says so. */
static int version_of(struct db *db, const char *path, char **err)
{
	int v = db_lock_schema(db) < 0 ? -EIO : db_user_version(db);

	if (v > SCHEMA_VERSION) {
		if (err && asprintf(err, "%s: database schema version %d is newer than this "
				    "bsdpd supports (%d)", path, v, SCHEMA_VERSION) < 0)
			*err = NULL;
		return -EPROTO;
	}
	return v;
}

/* Upgrades in one transaction: a crash or an error leaves the database as
 * it was, never half migrated.  The version is read inside it, under the
 * schema lock, so that two servers starting on one new PostgreSQL
 * database migrate it once. */
static int migrate(struct db *db, const char *path, char **err)
{
	int v;

	if (db_begin(db) < 0) {
		set_err(err, path, db);
		return -EIO;
	}
	v = version_of(db, path, err);
	if (v == -EPROTO) {
		db_rollback(db);
		return v;
	}
	if (db_finish(db, v < 0 || v == SCHEMA_VERSION ? v : upgrade_from(db, v)) < 0) {
		set_err(err, path, db);
		return -EIO;
	}
	return 0;
}

static int open_db(struct bindings *b, const char *database, const char *dir, char **err)
{
	char *path = NULL;
	int r;

	if (database && db_url_is_postgres(database)) {
		r = db_open_postgres(database, &b->db, err);
		return r == 0 ? migrate(b->db, "--database", err) : r;
	}
	if (dir && asprintf(&path, "%s/%s", dir, DB_FILE) < 0)
		abort();
	r = db_open(path, &b->db, err);
	if (r == 0)
		r = migrate(b->db, path ? path : ":memory:", err);
	free(path);
	return r;
}

struct bindings *bindings_open(const char *database, const char *dir,
			       const struct bindings_policy *policy, char **err)
{
	struct bindings *b = calloc(1, sizeof(*b));

	if (!b)
		abort();
	b->policy = policy ? *policy : (struct bindings_policy){
		.max = BINDINGS_DEFAULT_MAX, .expiry = BINDINGS_DEFAULT_EXPIRY_DAYS * 86400ll };
	if (open_db(b, database, dir, err) < 0)
		goto fail;
	for (int i = 0; i < N_STMTS; i++) {
		if (db_prepare(b->db, stmt_sql[i], &b->stmt[i]) < 0) {
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
		db_finalize(b->stmt[i]);
	db_close(b->db);
	free(b);
}

struct db *bindings_db(struct bindings *b)
{
	return b->db;
}

static struct db_stmt *stmt_begin(struct bindings *b, enum stmt s, const uint8_t *mac)
{
	struct db_stmt *st = db_reset(b->stmt[s]);

	if (mac)
		db_bind_blob(st, 1, mac, 6);
	return st;
}

/* The columns of STMT_GET (and STMT_NEWEST) into out, but the MAC. */
static void binding_from_row(struct db_stmt *st, struct binding *out)
{
	size_t n;
	const void *ip;

	out->image_id = (uint32_t)db_column_int64(st, 0);
	db_column_copy(st, 1, out->arch, sizeof(out->arch));
	db_column_copy(st, 2, out->model, sizeof(out->model));
	ip = db_column_blob(st, 3, &n);
	if (n == 4)
		memcpy(&out->ip.s_addr, ip, 4);
	out->number = (unsigned)db_column_int64(st, 4);
	out->updated = db_column_int64(st, 5);
	out->last_seen = db_column_int64(st, 6);
	ip = db_column_blob(st, 7, &n);
	if (n == 4)
		memcpy(&out->server.s_addr, ip, 4);
}

int bindings_get(struct bindings *b, const uint8_t mac[6], struct binding *out)
{
	struct db_stmt *st = stmt_begin(b, STMT_GET, mac);
	int rc = db_step(st);

	if (rc == DB_DONE)
		return -ENOENT;
	if (rc != DB_ROW)
		return -EIO;
	memset(out, 0, sizeof(*out));
	memcpy(out->mac, mac, 6);
	binding_from_row(st, out);
	db_reset(st);
	return 0;
}

int bindings_newest(struct bindings *b, unsigned limit,
		    int (*fn)(void *ctx, const struct binding *bd), void *ctx)
{
	struct db_stmt *st = stmt_begin(b, STMT_NEWEST, NULL);
	struct binding bd;
	const void *mac;
	size_t n;
	int r = 0, step;

	db_bind_int64(st, 1, limit);
	while (r == 0 && (step = db_step(st)) == DB_ROW) {
		memset(&bd, 0, sizeof(bd));
		binding_from_row(st, &bd);
		mac = db_column_blob(st, 8, &n);
		if (n == 6)
			memcpy(bd.mac, mac, 6);
		r = fn(ctx, &bd);
	}
	if (r == 0 && step < 0)
		r = -EIO;
	db_reset(st);
	return r;
}

/* Takes the next machine number; the counter remembers it, so deleting
 * the newest record does not hand its name to the next client. */
static int take_number(struct bindings *b, unsigned *number)
{
	struct db_stmt *st = stmt_begin(b, STMT_TAKE_NUMBER, NULL);
	int r = -EIO;

	if (db_step(st) == DB_ROW) {
		*number = (unsigned)db_column_int64(st, 0);
		r = db_step(st) == DB_DONE ? 0 : -EIO;
	}
	db_reset(st);
	return r;
}

/* Runs a statement that returns no rows, with ?1 bound to arg unless it
 * is negative; the rows it changed, or -EIO. */
static int exec_stmt(struct bindings *b, enum stmt s, int64_t arg)
{
	struct db_stmt *st = stmt_begin(b, s, NULL);

	if (arg >= 0)
		db_bind_int64(st, 1, arg);
	return db_run(st) == 0 ? db_changes(b->db) : -EIO;
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

int bindings_prune(struct bindings *b, int64_t now)
{
	struct removed rm = { 0 };
	int r = db_begin(b->db);

	if (r >= 0)
		r = db_finish(b->db, make_room(b, now, 0, &rm));
	if (r < 0)
		return r;
	settle(b, &rm);
	return 0;
}

static int upsert(struct bindings *b, struct binding *bd)
{
	struct db_stmt *st = stmt_begin(b, STMT_PUT, bd->mac);

	db_bind_int64(st, 2, bd->image_id);
	db_bind_text(st, 3, bd->arch, sizeof(bd->arch));
	db_bind_text(st, 4, bd->model, sizeof(bd->model));
	db_bind_blob(st, 5, &bd->ip.s_addr, 4);
	db_bind_int64(st, 6, bd->number);
	db_bind_int64(st, 7, bd->updated);
	db_bind_blob(st, 8, &bd->server.s_addr, 4);
	if (db_step(st) != DB_ROW) {
		db_reset(st);
		return -EIO;
	}
	bd->number = (unsigned)db_column_int64(st, 0);
	return db_step(st) == DB_DONE ? 0 : -EIO;
}

/* Other servers' bindings count too, on a shared database. */
static int recount(struct bindings *b)
{
	int n;

	if (!db_shared(b->db))
		return 0;
	if ((n = count_rows(b)) < 0)
		return -EIO;
	b->count = n;
	return 0;
}

/* Look-up, room, number and write in one transaction: one lock round-trip
 * per SELECT, and no half-recorded client. */
int bindings_put(struct bindings *b, struct binding *bd)
{
	struct removed rm = { 0 };
	struct binding old;
	bool fresh = false;
	int r = db_begin(b->db);

	if (r < 0)
		return r;
	r = bindings_get(b, bd->mac, &old);
	if (r == 0)
		bd->number = old.number;
	else if (r == -ENOENT) {
		fresh = true;
		r = recount(b);
		if (r == 0)
			r = make_room(b, bd->updated, 1, &rm);
		if (r == 0)
			r = take_number(b, &bd->number);
	}
	if (r == 0)
		r = upsert(b, bd);
	if (db_finish(b->db, r) < 0)
		return -EIO;
	b->count += fresh;
	settle(b, &rm);
	return 0;
}

int bindings_seen(struct bindings *b, const struct binding *bd, int64_t now)
{
	struct db_stmt *st;

	if (now - bd->last_seen < BINDINGS_SEEN_EVERY)
		return 0;
	st = stmt_begin(b, STMT_SEEN, bd->mac);
	db_bind_int64(st, 2, now);
	return db_run(st);
}

int bindings_release(struct bindings *b, const uint8_t mac[6], struct in_addr server)
{
	struct db_stmt *st = stmt_begin(b, STMT_DELETE, mac);
	int r;

	db_bind_blob(st, 2, &server.s_addr, 4);
	r = db_run(st);

	if (r == 0)
		b->count -= db_changes(b->db) > 0;
	return r;
}

int bindings_count(struct bindings *b)
{
	return b->count;
}

static int count_rows_of(struct bindings *b, struct in_addr server)
{
	struct db_stmt *st = stmt_begin(b, STMT_COUNT_OF, NULL);
	int n;

	db_bind_blob(st, 1, &server.s_addr, 4);
	n = db_step(st) == DB_ROW ? (int)db_column_int64(st, 0) : -EIO;
	db_reset(st);
	return n;
}

/* The slot of server, or the one read longest ago. */
static struct count_of *count_slot(struct bindings *b, struct in_addr server)
{
	struct count_of *oldest = &b->counts_of[0];

	for (size_t i = 0; i < COUNTS_OF; i++) {
		if (b->counts_of[i].at && b->counts_of[i].server.s_addr == server.s_addr)
			return &b->counts_of[i];
		if (b->counts_of[i].at < oldest->at)
			oldest = &b->counts_of[i];
	}
	*oldest = (struct count_of){ .server = server };
	return oldest;
}

bool bindings_is_ours(const struct bindings *b, const struct binding *bd, struct in_addr server)
{
	return !db_shared(b->db) || bd->server.s_addr == INADDR_ANY ||
	       bd->server.s_addr == server.s_addr;
}

int bindings_count_of(struct bindings *b, struct in_addr server, int64_t now)
{
	struct count_of *c;
	int n;

	if (!db_shared(b->db))
		return b->count;
	c = count_slot(b, server);
	if (c->at && now >= c->at && now - c->at < BINDINGS_COUNT_OF_EVERY)
		return c->count;
	if ((n = count_rows_of(b, server)) < 0)
		return c->at ? c->count : n;
	c->count = n;
	c->at = now > 0 ? now : 1;
	return n;
}

int bindings_set_ip(struct bindings *b, const uint8_t mac[6], struct in_addr ip)
{
	struct db_stmt *st = stmt_begin(b, STMT_SET_IP, mac);

	db_bind_blob(st, 2, &ip.s_addr, 4);
	return db_run(st);
}
