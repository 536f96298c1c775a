/* SPDX-License-Identifier: MIT */
/*
 * The policy store (store.h) in the bindings' SQLite database.  The
 * tables are version 2 of the schema in bindings.c: scalars in columns,
 * lists (initrds, menu items, labels) in child rows, kinds and methods by
 * name.  Every write runs its checks and its writes in one BEGIN IMMEDIATE
 * transaction, so a reference checked is still true when the write
 * commits, and nothing is half-saved.
 *
 * Groups and the default profile are also kept in memory, reloaded after
 * each write of theirs, so that resolving a boot reads no database.
 *
 * The *_each functions step one prepared statement across their calls
 * of fn: fn may read the store (store_*_get), but not start the same
 * *_each again, and not write.
 */
#include "store.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "bindings.h"
#include "db.h"
#include "log.h"
#include "snapshot.h"

#define DEFAULT_KEY "default_profile"

enum stmt {
	ST_PROFILE_GET, ST_PROFILE_LIST, ST_PROFILE_EXISTS, ST_PROFILE_PUT, ST_PROFILE_DELETE,
	ST_PROFILE_USER,
	ST_INITRDS_GET, ST_INITRDS_DELETE, ST_INITRD_ADD,
	ST_ITEMS_GET, ST_ITEMS_DELETE, ST_ITEM_ADD,
	ST_MACHINE_GET, ST_MACHINE_LIST, ST_MACHINE_PUT, ST_MACHINE_DELETE, ST_MACHINE_COUNT,
	ST_MACHINE_REGISTER, ST_MACHINE_SEEN, ST_MACHINE_EVICT,
	ST_MLABELS_GET, ST_MLABELS_DELETE, ST_MLABEL_ADD,
	ST_NEXT_BOOT_SET, ST_NEXT_BOOT_CLEAR, ST_NEXT_BOOT_CONSUME,
	ST_GROUP_LIST, ST_GROUP_PUT, ST_GROUP_DELETE,
	ST_GLABELS_GET, ST_GLABELS_DELETE, ST_GLABEL_ADD,
	ST_SETTING_GET, ST_SETTING_PUT,
	ST_EVENT_ADD, ST_EVENTS_TRIM_COUNT, ST_EVENTS_TRIM_AGE, ST_EVENTS_ALL, ST_EVENTS_OF_MAC,
	ST_EVENTS_AFTER, ST_EVENT_LAST_OF_MAC,
	N_STMTS
};

#define PROFILE_COLS "kind, description, local, kernel, cmdline, chain, default_item, " \
		     "timeout, template"
#define MACHINE_COLS "hostname, profile, next_boot, local, image, model, arch, uuid, ip, " \
		     "first_seen, last_seen"
#define EVENT_COLS "id, time_us, mac, kind, detail, rule, bytes, duration_ms, ok"
#define EVENT_E_COLS "e.id, e.time_us, e.mac, e.kind, e.detail, e.rule, e.bytes, " \
		     "e.duration_ms, e.ok"
/* A machine's newest event: one step down events_by_mac (mac, time_us,
 * and the rowid within), from its newest end. */
#define LAST_EVENT_OF(mac) "(SELECT id FROM events WHERE events.mac = " mac " " \
			   "ORDER BY time_us DESC, id DESC LIMIT 1)"
#define MACHINE_COLUMNS 12        /* MACHINE_COLS and the MAC */

static const char *const stmt_sql[N_STMTS] = {
	[ST_PROFILE_GET] = "SELECT " PROFILE_COLS " FROM profiles WHERE name = ?1",
	[ST_PROFILE_LIST] = "SELECT " PROFILE_COLS ", name FROM profiles ORDER BY name",
	[ST_PROFILE_EXISTS] = "SELECT 1 FROM profiles WHERE name = ?1",
	[ST_PROFILE_PUT] = "INSERT INTO profiles (name, " PROFILE_COLS ") "
			   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
			   "ON CONFLICT (name) DO UPDATE SET kind = ?2, description = ?3, "
			   "local = ?4, kernel = ?5, cmdline = ?6, chain = ?7, "
			   "default_item = ?8, timeout = ?9, template = ?10",
	[ST_PROFILE_DELETE] = "DELETE FROM profiles WHERE name = ?1",
	/* The first record that still names profile ?1: what a delete
	 * would leave dangling. */
	[ST_PROFILE_USER] =
		"SELECT 'machine', '', mac FROM machines WHERE profile = ?1 OR next_boot = ?1 "
		"UNION ALL SELECT 'group', name, NULL FROM groups WHERE profile = ?1 "
		"UNION ALL SELECT 'menu', menu, NULL FROM menu_items WHERE item = ?1 "
		"UNION ALL SELECT 'default', '', NULL FROM settings "
		"WHERE key = '" DEFAULT_KEY "' AND value = ?1 LIMIT 1",
	[ST_INITRDS_GET] = "SELECT path FROM profile_initrds WHERE profile = ?1 ORDER BY pos",
	[ST_INITRDS_DELETE] = "DELETE FROM profile_initrds WHERE profile = ?1",
	[ST_INITRD_ADD] = "INSERT INTO profile_initrds (profile, pos, path) VALUES (?1, ?2, ?3)",
	[ST_ITEMS_GET] = "SELECT item FROM menu_items WHERE menu = ?1 ORDER BY pos",
	[ST_ITEMS_DELETE] = "DELETE FROM menu_items WHERE menu = ?1",
	[ST_ITEM_ADD] = "INSERT INTO menu_items (menu, pos, item) VALUES (?1, ?2, ?3)",
	[ST_MACHINE_GET] = "SELECT " MACHINE_COLS " FROM machines WHERE mac = ?1",
	/* With each machine's newest event, in the same statement: listing
	 * 10 000 machines is one query, not one more per machine. */
	[ST_MACHINE_LIST] = "SELECT " MACHINE_COLS ", machines.mac, " EVENT_E_COLS " "
			    "FROM machines LEFT JOIN events AS e "
			    "ON e.id = " LAST_EVENT_OF("machines.mac") " ORDER BY machines.mac",
	/* The admin's fields; what was seen stays (a new row has seen nothing). */
	[ST_MACHINE_PUT] = "INSERT INTO machines (mac, " MACHINE_COLS ") "
			   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, '', '', '', ?7, 0, 0) "
			   "ON CONFLICT (mac) DO UPDATE SET hostname = ?2, profile = ?3, "
			   "next_boot = ?4, local = ?5, image = ?6",
	[ST_MACHINE_DELETE] = "DELETE FROM machines WHERE mac = ?1",
	[ST_MACHINE_COUNT] = "SELECT count(*) FROM machines",
	[ST_MACHINE_REGISTER] = "INSERT INTO machines (mac, " MACHINE_COLS ") "
				"VALUES (?1, '', '', '', 'auto', '', ?2, ?3, ?4, ?5, ?6, ?6)",
	/* The least recently seen machine that only registered itself: the
	 * admin's records are never evicted by a flood of new MACs. */
	[ST_MACHINE_EVICT] = "DELETE FROM machines WHERE mac = (SELECT mac FROM machines "
			     "WHERE hostname = '' AND profile = '' AND next_boot = '' "
			     "AND local = 'auto' AND image = '' AND NOT EXISTS (SELECT 1 "
			     "FROM machine_labels l WHERE l.mac = machines.mac) "
			     "ORDER BY last_seen LIMIT 1)",
	[ST_MACHINE_SEEN] = "UPDATE machines SET model = ?2, arch = ?3, uuid = ?4, ip = ?5, "
			    "last_seen = ?6 WHERE mac = ?1",
	[ST_MLABELS_GET] = "SELECT key, value FROM machine_labels WHERE mac = ?1 ORDER BY key",
	[ST_MLABELS_DELETE] = "DELETE FROM machine_labels WHERE mac = ?1",
	[ST_MLABEL_ADD] = "INSERT INTO machine_labels (mac, key, value) VALUES (?1, ?2, ?3)",
	/* A next boot may be set before the machine was ever seen. */
	[ST_NEXT_BOOT_SET] = "INSERT INTO machines (mac, " MACHINE_COLS ") "
			     "VALUES (?1, '', '', ?2, 'auto', '', '', '', '', ?3, 0, 0) "
			     "ON CONFLICT (mac) DO UPDATE SET next_boot = ?2",
	[ST_NEXT_BOOT_CLEAR] = "UPDATE machines SET next_boot = '' WHERE mac = ?1",
	/* One statement: SQLite's write lock makes it atomic across
	 * connections, and only the request that still finds ?2 changes a
	 * row (store_next_boot_consume). */
	[ST_NEXT_BOOT_CONSUME] = "UPDATE machines SET next_boot = '' "
				 "WHERE mac = ?1 AND next_boot = ?2 AND next_boot <> ''",
	[ST_GROUP_LIST] = "SELECT name, mac_prefix, model, arch, profile, priority, local, image "
			  "FROM groups ORDER BY name",
	[ST_GROUP_PUT] = "INSERT INTO groups (name, mac_prefix, model, arch, profile, "
			 "priority, local, image) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
			 "ON CONFLICT (name) DO UPDATE SET mac_prefix = ?2, model = ?3, "
			 "arch = ?4, profile = ?5, priority = ?6, local = ?7, image = ?8",
	[ST_GROUP_DELETE] = "DELETE FROM groups WHERE name = ?1",
	[ST_GLABELS_GET] = "SELECT key, value FROM group_labels WHERE grp = ?1 ORDER BY key",
	[ST_GLABELS_DELETE] = "DELETE FROM group_labels WHERE grp = ?1",
	[ST_GLABEL_ADD] = "INSERT INTO group_labels (grp, key, value) VALUES (?1, ?2, ?3)",
	[ST_SETTING_GET] = "SELECT value FROM settings WHERE key = ?1",
	[ST_SETTING_PUT] = "INSERT INTO settings (key, value) VALUES (?1, ?2) "
			   "ON CONFLICT (key) DO UPDATE SET value = ?2",
	[ST_EVENT_ADD] = "INSERT INTO events (time_us, mac, kind, detail, rule, bytes, "
			 "duration_ms, ok) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
	/* Both trims walk an index from its oldest end: the cost is the rows
	 * removed, about one per insert once the cap is reached. */
	[ST_EVENTS_TRIM_COUNT] = "DELETE FROM events WHERE id <= ?1",
	[ST_EVENTS_TRIM_AGE] = "DELETE FROM events WHERE time_us < ?1",
	[ST_EVENTS_ALL] = "SELECT " EVENT_COLS " FROM events WHERE time_us > ?1 "
			  "ORDER BY time_us, id LIMIT ?2",
	[ST_EVENTS_OF_MAC] = "SELECT " EVENT_COLS " FROM events WHERE mac = ?3 AND time_us > ?1 "
			     "ORDER BY time_us, id LIMIT ?2",
	[ST_EVENTS_AFTER] = "SELECT " EVENT_COLS " FROM events WHERE id > ?1 ORDER BY id LIMIT ?2",
	[ST_EVENT_LAST_OF_MAC] = "SELECT " EVENT_COLS " FROM events WHERE id = "
				 LAST_EVENT_OF("?1"),
};

struct store {
	struct db *db;
	struct db_stmt *st[N_STMTS];
	unsigned events_max;
	int64_t events_max_age_us;
	unsigned machines_max;
	/* Rows of machines: counted at start-up and after each store_sync
	 * that read something new, and followed by this bsdpd's own writes;
	 * on a shared database it misses the machines others registered
	 * since, so their cap (machines_max) is approximate there. */
	int n_machines;
	struct policy_group *groups;
	size_t n_groups;
	char default_profile[POLICY_NAME_MAX];
	/* The machines and profiles read last, answered while the database
	 * cannot be read (snapshot.h); away says the last read was. */
	struct snapshot *snap;
	bool away;
};

static const char *const event_kind_names[EVENT_KIND_COUNT] = {
	[EVENT_BSDP_LIST] = "bsdp-list",       [EVENT_BSDP_SELECT] = "bsdp-select",
	[EVENT_TFTP] = "tftp",                 [EVENT_PROXY_OFFER] = "proxy-offer",
	[EVENT_SCRIPT] = "script",             [EVENT_HTTP_FILE] = "http-file",
	[EVENT_NEXT_BOOT_CONSUMED] = "next-boot-consumed",
};

const char *event_kind_name(enum event_kind k)
{
	return (unsigned)k < EVENT_KIND_COUNT ? event_kind_names[k] : "unknown";
}

int event_kind_parse(const char *s, enum event_kind *k)
{
	for (unsigned i = 0; i < EVENT_KIND_COUNT; i++) {
		if (strcmp(s, event_kind_names[i]) == 0) {
			*k = (enum event_kind)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- helpers ------------------------------------------------------------------- */

static void fail(struct policy_error *err, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct policy_error *err, const char *field, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	snprintf(err->field, sizeof(err->field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

/* -EIO, logged with what failed and SQLite's reason. */
static int db_failed(struct store *s, const char *what, struct policy_error *err)
{
	log_msg(LOG_ERR, "policy store: %s: %s", what, db_errmsg(s->db));
	fail(err, "", "the database failed");
	return -EIO;
}

static struct db_stmt *stmt(struct store *s, enum stmt i)
{
	return db_reset(s->st[i]);
}

static struct db_stmt *stmt_name(struct store *s, enum stmt i, const char *name)
{
	struct db_stmt *st = db_reset(s->st[i]);

	db_bind_text(st, 1, name, POLICY_NAME_MAX);
	return st;
}

static struct db_stmt *stmt_mac(struct store *s, enum stmt i, const uint8_t mac[6])
{
	struct db_stmt *st = db_reset(s->st[i]);

	db_bind_blob(st, 1, mac, 6);
	return st;
}

/* The address of a machine the wire has not shown yet: bound, not written
 * as a literal, since SQLite and PostgreSQL spell blobs differently. */
static const uint8_t no_ip[4];

#define bind_str(st, i, field) db_bind_text(st, i, field, sizeof(field))

/* 1 when the statement yields a row, 0 when not, -EIO. */
static int has_row(struct db_stmt *st)
{
	int r = db_step(st);

	db_reset(st);
	return r < 0 ? r : r == DB_ROW;
}

static int profile_exists(struct store *s, const char *name)
{
	return has_row(stmt_name(s, ST_PROFILE_EXISTS, name));
}

/* -ESRCH unless name is "" or a profile. */
static int check_ref(struct store *s, const char *name, const char *field,
		     struct policy_error *err)
{
	int r;

	if (!name[0])
		return 0;
	r = profile_exists(s, name);
	if (r < 0)
		return db_failed(s, "looking up a profile", err);
	if (r == 0) {
		fail(err, field, "no profile is named \"%s\"", name);
		return -ESRCH;
	}
	return 0;
}

/* Inside a write of what is kept in memory (groups, the default): the
 * other bsdpd on a shared database read it again (store_sync) once the
 * write commits. */
static int announce(struct store *s, struct policy_error *err)
{
	return db_notify(s->db) < 0 ? db_failed(s, "announcing a change", err) : 0;
}

static int tx_begin(struct store *s, struct policy_error *err)
{
	return db_begin(s->db) < 0 ? db_failed(s, "beginning a write", err) : 0;
}

/* Commits the transaction when r >= 0, else rolls it back; r. */
static int tx_end(struct store *s, int r, struct policy_error *err)
{
	if (db_finish(s->db, r) < 0 && r >= 0)
		return db_failed(s, "committing a write", err);
	return r;
}

/* ---- labels ------------------------------------------------------------------ */

static int labels_load(struct db_stmt *st, struct label *l, size_t *n)
{
	int r;

	*n = 0;
	while ((r = db_step(st)) == DB_ROW && *n < POLICY_LABELS_MAX) {
		db_column_copy(st, 0, l[*n].key, sizeof(l[*n].key));
		db_column_copy(st, 1, l[*n].value, sizeof(l[*n].value));
		(*n)++;
	}
	db_reset(st);
	return r < 0 ? -EIO : 0;
}

/* Statement i with ?1 the owner: a 6-byte MAC, or a group name when len is 0. */
static struct db_stmt *stmt_owner(struct store *s, enum stmt i, const void *owner, size_t len)
{
	return len ? stmt_mac(s, i, owner) : stmt_name(s, i, owner);
}

static int labels_save(struct store *s, enum stmt del, enum stmt add, const void *owner,
		       size_t len, const struct label *l, size_t n)
{
	int r = db_run(stmt_owner(s, del, owner, len));

	for (size_t i = 0; r == 0 && i < n; i++) {
		struct db_stmt *st = stmt_owner(s, add, owner, len);

		bind_str(st, 2, l[i].key);
		bind_str(st, 3, l[i].value);
		r = db_run(st);
	}
	return r;
}

/* ---- opening ------------------------------------------------------------------ */

/* The age cap in microseconds, the default for 0 or less, clamped so
 * that no setting overflows. */
static int64_t events_age_us(const struct store_options *opt)
{
	int64_t age = opt ? opt->events_max_age : 0;

	if (age <= 0)
		age = STORE_EVENTS_DEFAULT_AGE_DAYS * 86400ll;
	return age > INT64_MAX / 1000000 ? INT64_MAX : age * 1000000;
}

static int groups_reload(struct store *s);
static int default_load(struct store *s);
static int machines_count_rows(struct store *s);

static int keep_profile(void *ctx, const struct profile *p)
{
	snapshot_put_profile(ctx, p);
	return 0;
}

/* Every profile, so that one no boot has asked for yet is there too;
 * machines come as boots read them. */
static int snapshot_profiles(struct store *s)
{
	return store_profiles_each(s, keep_profile, s->snap);
}

struct store *store_open(struct bindings *b, const struct store_options *opt, char **err)
{
	struct store *s = calloc(1, sizeof(*s));

	if (!s)
		abort();
	s->db = bindings_db(b);
	s->events_max = opt && opt->events_max ? opt->events_max : STORE_EVENTS_DEFAULT_MAX;
	s->events_max_age_us = events_age_us(opt);
	s->machines_max = opt && opt->machines_max ? opt->machines_max : STORE_MACHINES_DEFAULT_MAX;
	for (int i = 0; i < N_STMTS; i++) {
		if (db_prepare(s->db, stmt_sql[i], &s->st[i]) < 0)
			goto fail;
	}
	if (!(s->snap = snapshot_new()))
		abort();
	if (groups_reload(s) < 0 || default_load(s) < 0 ||
	    (s->n_machines = machines_count_rows(s)) < 0 || snapshot_profiles(s) < 0)
		goto fail;
	return s;
fail:
	if (err && asprintf(err, "opening the policy store: %s", db_errmsg(s->db)) < 0)
		*err = NULL;
	store_close(s);
	return NULL;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	store_batch_end(s);
	for (int i = 0; i < N_STMTS; i++)
		db_finalize(s->st[i]);
	free(s->groups);
	snapshot_free(s->snap);
	free(s);
}

void store_sync(struct store *s)
{
	int n;

	if (!db_changed(s->db))
		return;
	if (groups_reload(s) < 0 || default_load(s) < 0 || (n = machines_count_rows(s)) < 0 ||
	    snapshot_profiles(s) < 0)
		return;
	s->n_machines = n;
}

int store_batch_begin(struct store *s)
{
	return db_batch_begin(s->db) < 0 ? db_failed(s, "beginning a batch", NULL) : 0;
}

int store_batch_end(struct store *s)
{
	return db_batch_end(s->db) < 0 ? db_failed(s, "committing a batch", NULL) : 0;
}

/* ---- profiles ----------------------------------------------------------------- */

/* Reads a column list of names or paths into rows of width bytes. */
static int strings_load(struct db_stmt *st, char *rows, size_t width, size_t max, size_t *n)
{
	int r;

	*n = 0;
	while ((r = db_step(st)) == DB_ROW && *n < max) {
		db_column_copy(st, 0, rows + *n * width, width);
		(*n)++;
	}
	db_reset(st);
	return r < 0 ? -EIO : 0;
}

static int strings_save(struct store *s, enum stmt del, enum stmt add, const char *owner,
			const char *rows, size_t width, size_t n)
{
	int r = db_run(stmt_name(s, del, owner));

	for (size_t i = 0; r == 0 && i < n; i++) {
		struct db_stmt *st = stmt_name(s, add, owner);

		db_bind_int64(st, 2, (int64_t)i);
		db_bind_text(st, 3, rows + i * width, width);
		r = db_run(st);
	}
	return r;
}

/* A row of ST_PROFILE_GET or ST_PROFILE_LIST into p (its name is set). */
static int profile_from_row(struct db_stmt *st, struct profile *p)
{
	if (profile_kind_parse(db_column_text(st, 0), &p->kind) < 0 ||
	    local_method_parse(db_column_text(st, 2), &p->local) < 0)
		return -EIO;
	db_column_copy(st, 1, p->description, sizeof(p->description));
	db_column_copy(st, 3, p->kernel, sizeof(p->kernel));
	db_column_copy(st, 4, p->cmdline, sizeof(p->cmdline));
	db_column_copy(st, 5, p->chain, sizeof(p->chain));
	db_column_copy(st, 6, p->default_item, sizeof(p->default_item));
	p->timeout = (unsigned)db_column_int64(st, 7);
	if (!db_column_is_null(st, 8)) {
		p->template = strdup(db_column_text(st, 8));
		if (!p->template)
			abort();
	}
	return 0;
}

static int profile_lists_load(struct store *s, struct profile *p)
{
	if (strings_load(stmt_name(s, ST_INITRDS_GET, p->name), p->initrds[0],
			 sizeof(p->initrds[0]), POLICY_INITRDS_MAX, &p->n_initrds) < 0 ||
	    strings_load(stmt_name(s, ST_ITEMS_GET, p->name), p->items[0], sizeof(p->items[0]),
			 POLICY_ITEMS_MAX, &p->n_items) < 0)
		return -EIO;
	return 0;
}

static int profile_read(struct store *s, const char *name, struct profile *out)
{
	struct db_stmt *st = stmt_name(s, ST_PROFILE_GET, name);
	int r = db_step(st);

	memset(out, 0, sizeof(*out));
	if (r == DB_DONE) {
		db_reset(st);
		return -ENOENT;
	}
	snprintf(out->name, sizeof(out->name), "%s", name);
	if (r == DB_ROW)
		r = profile_from_row(st, out);
	db_reset(st);
	if (r == 0)
		r = profile_lists_load(s, out);
	if (r < 0) {
		profile_free(out);
		return db_failed(s, "reading a profile", NULL);
	}
	return 0;
}

/* While the database is away, the copy kept since the profile was last
 * loaded (at start, at another server's change) or saved here.  Not
 * taken at each read: a render reads its profile, 15 KiB, each time. */
int store_profile_get(struct store *s, const char *name, struct profile *out)
{
	int r = profile_read(s, name, out);

	s->away = r == -EIO;
	if (r == -EIO && snapshot_profile(s->snap, name, out))
		return 0;
	return r;
}

int store_profiles_each(struct store *s, int (*fn)(void *ctx, const struct profile *p),
			void *ctx)
{
	struct db_stmt *st = stmt(s, ST_PROFILE_LIST);
	struct profile *p = malloc(sizeof(*p));
	int r = 0, step;

	if (!p)
		abort();
	while (r == 0 && (step = db_step(st)) == DB_ROW) {
		memset(p, 0, sizeof(*p));
		db_column_copy(st, 9, p->name, sizeof(p->name));
		r = profile_from_row(st, p);
		if (r == 0)
			r = profile_lists_load(s, p);
		r = r < 0 ? db_failed(s, "reading the profiles", NULL) : fn(ctx, p);
		profile_free(p);
	}
	if (r == 0 && step < 0)
		r = db_failed(s, "reading the profiles", NULL);
	db_reset(st);
	free(p);
	return r;
}

/* Menu items must name profiles that exist (validation already refused
 * a menu naming itself). */
static int profile_refs_check(struct store *s, const struct profile *p, struct policy_error *err)
{
	char field[32];
	int r = 0;

	for (size_t i = 0; r == 0 && i < p->n_items; i++) {
		snprintf(field, sizeof(field), "items[%zu]", i);
		r = check_ref(s, p->items[i], field, err);
	}
	return r;
}

static int profile_write(struct store *s, const struct profile *p)
{
	struct db_stmt *st = stmt_name(s, ST_PROFILE_PUT, p->name);

	db_bind_text(st, 2, profile_kind_name(p->kind), POLICY_NAME_MAX);
	bind_str(st, 3, p->description);
	db_bind_text(st, 4, local_method_name(p->local), POLICY_NAME_MAX);
	bind_str(st, 5, p->kernel);
	bind_str(st, 6, p->cmdline);
	bind_str(st, 7, p->chain);
	bind_str(st, 8, p->default_item);
	db_bind_int64(st, 9, p->timeout);
	if (p->template)
		db_bind_text(st, 10, p->template, SIZE_MAX);
	else
		db_bind_null(st, 10);
	if (db_run(st) < 0 ||
	    strings_save(s, ST_INITRDS_DELETE, ST_INITRD_ADD, p->name, p->initrds[0],
			 sizeof(p->initrds[0]), p->n_initrds) < 0 ||
	    strings_save(s, ST_ITEMS_DELETE, ST_ITEM_ADD, p->name, p->items[0],
			 sizeof(p->items[0]), p->n_items) < 0)
		return -EIO;
	return 0;
}

static int profile_put_tx(struct store *s, const struct profile *p, bool *created,
			  struct policy_error *err)
{
	int r = profile_refs_check(s, p, err);

	if (r < 0)
		return r;
	if ((r = profile_exists(s, p->name)) < 0)
		return db_failed(s, "looking up a profile", err);
	*created = r == 0;
	if (profile_write(s, p) < 0)
		return db_failed(s, "saving a profile", err);
	return 0;
}

int store_profile_put(struct store *s, const struct profile *p, bool *created,
		      struct policy_error *err)
{
	bool fresh = false;
	int r = profile_validate(p, err);

	if (r < 0 || (r = tx_begin(s, err)) < 0)
		return r;
	r = tx_end(s, profile_put_tx(s, p, &fresh, err), err);
	if (r == 0)
		snapshot_put_profile(s->snap, p);
	if (r == 0 && created)
		*created = fresh;
	return r;
}

/* -EBUSY, err naming the first record that still names profile name. */
static int profile_unused(struct store *s, const char *name, struct policy_error *err)
{
	struct db_stmt *st = stmt_name(s, ST_PROFILE_USER, name);
	char by[POLICY_NAME_MAX + 16];
	const void *mac;
	size_t n;
	int r = db_step(st);

	if (r == DB_ROW) {
		mac = db_column_blob(st, 2, &n);
		if (n == 6) {
			memcpy(by, "machine ", 8);
			policy_mac_format(mac, by + 8);
		} else if (strcmp(db_column_text(st, 0), "default") == 0) {
			snprintf(by, sizeof(by), "the default");
		} else {
			snprintf(by, sizeof(by), "%s %s", db_column_text(st, 0),
				 db_column_text(st, 1));
		}
		fail(err, "", "profile \"%s\" is still named by %s", name, by);
	}
	db_reset(st);
	if (r < 0)
		return db_failed(s, "looking up a profile's users", err);
	return r == DB_ROW ? -EBUSY : 0;
}

static int profile_delete_tx(struct store *s, const char *name, struct policy_error *err)
{
	int r = profile_exists(s, name);

	if (r < 0)
		return db_failed(s, "looking up a profile", err);
	if (r == 0) {
		fail(err, "name", "no profile is named \"%s\"", name);
		return -ENOENT;
	}
	if ((r = profile_unused(s, name, err)) < 0)
		return r;
	if (db_run(stmt_name(s, ST_PROFILE_DELETE, name)) < 0 ||
	    db_run(stmt_name(s, ST_INITRDS_DELETE, name)) < 0 ||
	    db_run(stmt_name(s, ST_ITEMS_DELETE, name)) < 0)
		return db_failed(s, "deleting a profile", err);
	return 0;
}

int store_profile_delete(struct store *s, const char *name, struct policy_error *err)
{
	int r = tx_begin(s, err);

	if (r < 0 || (r = tx_end(s, profile_delete_tx(s, name, err), err)) < 0)
		return r;
	snapshot_forget_profile(s->snap, name);
	return 0;
}

/* ---- machines ------------------------------------------------------------------ */

/* A row of ST_MACHINE_GET or ST_MACHINE_LIST into m, without its labels. */
static int machine_from_row(struct db_stmt *st, struct machine *m)
{
	const void *ip;
	size_t n;

	if (local_method_parse(db_column_text(st, 3), &m->local) < 0)
		return -EIO;
	db_column_copy(st, 0, m->hostname, sizeof(m->hostname));
	db_column_copy(st, 1, m->profile, sizeof(m->profile));
	db_column_copy(st, 2, m->next_boot, sizeof(m->next_boot));
	db_column_copy(st, 4, m->image, sizeof(m->image));
	db_column_copy(st, 5, m->model, sizeof(m->model));
	db_column_copy(st, 6, m->arch, sizeof(m->arch));
	db_column_copy(st, 7, m->uuid, sizeof(m->uuid));
	ip = db_column_blob(st, 8, &n);
	if (n == 4)
		memcpy(&m->ip.s_addr, ip, 4);
	m->first_seen = db_column_int64(st, 9);
	m->last_seen = db_column_int64(st, 10);
	return 0;
}

/* 0, -ENOENT or -EIO; the labels only when with_labels. */
static int machine_load(struct store *s, const uint8_t mac[6], struct machine *out,
			bool with_labels)
{
	struct db_stmt *st = stmt_mac(s, ST_MACHINE_GET, mac);
	int r = db_step(st);

	memset(out, 0, sizeof(*out));
	memcpy(out->mac, mac, 6);
	if (r == DB_ROW)
		r = machine_from_row(st, out);
	else if (r == DB_DONE)
		r = -ENOENT;
	db_reset(st);
	if (r == 0 && with_labels)
		r = labels_load(stmt_mac(s, ST_MLABELS_GET, mac), out->labels, &out->n_labels);
	return r == -ENOENT ? r : r < 0 ? db_failed(s, "reading a machine", NULL) : 0;
}

/* As store_profile_get.  A next boot is spent exactly once, which takes
 * the database: while it is away the machine boots its usual profile,
 * and its next boot waits for the database. */
int store_machine_get(struct store *s, const uint8_t mac[6], struct machine *out)
{
	int r = machine_load(s, mac, out, true);

	s->away = r == -EIO;
	if (r == 0)
		snapshot_put_machine(s->snap, out);
	else if (r == -ENOENT)
		snapshot_forget_machine(s->snap, mac);
	else if (snapshot_machine(s->snap, mac, out)) {
		out->next_boot[0] = '\0';
		return 0;
	}
	return r;
}

bool store_away(const struct store *s)
{
	return s->away;
}

static int machine_put_tx(struct store *s, const struct machine *m, bool *created,
			  struct policy_error *err)
{
	struct db_stmt *st;
	int r;

	if ((r = check_ref(s, m->profile, "profile", err)) < 0 ||
	    (r = check_ref(s, m->next_boot, "next_boot", err)) < 0)
		return r;
	if ((r = has_row(stmt_mac(s, ST_MACHINE_GET, m->mac))) < 0)
		return db_failed(s, "reading a machine", err);
	*created = r == 0;
	st = stmt_mac(s, ST_MACHINE_PUT, m->mac);
	bind_str(st, 2, m->hostname);
	bind_str(st, 3, m->profile);
	bind_str(st, 4, m->next_boot);
	db_bind_text(st, 5, local_method_name(m->local), POLICY_NAME_MAX);
	bind_str(st, 6, m->image);
	db_bind_blob(st, 7, no_ip, sizeof(no_ip));
	if (db_run(st) < 0 || labels_save(s, ST_MLABELS_DELETE, ST_MLABEL_ADD, m->mac, 6,
					   m->labels, m->n_labels) < 0)
		return db_failed(s, "saving a machine", err);
	return 0;
}

int store_machine_put(struct store *s, const struct machine *m, bool *created,
		      struct policy_error *err)
{
	bool fresh = false;
	int r = machine_validate(m, err);

	if (r < 0 || (r = tx_begin(s, err)) < 0)
		return r;
	r = tx_end(s, machine_put_tx(s, m, &fresh, err), err);
	if (r == 0)
		s->n_machines += fresh;
	if (r == 0 && created)
		*created = fresh;
	return r;
}

static int machine_delete_tx(struct store *s, const uint8_t mac[6])
{
	if (db_run(stmt_mac(s, ST_MACHINE_DELETE, mac)) < 0)
		return db_failed(s, "deleting a machine", NULL);
	if (db_changes(s->db) == 0)
		return -ENOENT;
	if (db_run(stmt_mac(s, ST_MLABELS_DELETE, mac)) < 0)
		return db_failed(s, "deleting a machine", NULL);
	return 0;
}

int store_machine_delete(struct store *s, const uint8_t mac[6])
{
	int r = tx_begin(s, NULL);

	if (r < 0 || (r = tx_end(s, machine_delete_tx(s, mac), NULL)) < 0)
		return r;
	s->n_machines--;
	snapshot_forget_machine(s->snap, mac);
	return 0;
}

static int event_from_columns(struct db_stmt *st, int at, struct event *e);

/* The joined event of a ST_MACHINE_LIST row: 1, 0 for none, or -EIO. */
static int last_event_of_row(struct db_stmt *st, struct event *e)
{
	if (db_column_is_null(st, MACHINE_COLUMNS))
		return 0;
	return event_from_columns(st, MACHINE_COLUMNS, e) < 0 ? -EIO : 1;
}

int store_machines_each(struct store *s,
			int (*fn)(void *ctx, const struct machine *m, const struct event *last),
			void *ctx)
{
	struct db_stmt *st = stmt(s, ST_MACHINE_LIST);
	struct machine m;
	struct event last;
	int r = 0, step, has_last = 0;
	const void *mac;
	size_t n;

	while (r == 0 && (step = db_step(st)) == DB_ROW) {
		memset(&m, 0, sizeof(m));
		mac = db_column_blob(st, 11, &n);
		if (n == 6)
			memcpy(m.mac, mac, 6);
		r = machine_from_row(st, &m);
		if (r == 0)
			r = has_last = last_event_of_row(st, &last);
		if (r >= 0)
			r = labels_load(stmt_mac(s, ST_MLABELS_GET, m.mac), m.labels, &m.n_labels);
		r = r < 0 ? db_failed(s, "reading the machines", NULL)
			  : fn(ctx, &m, has_last ? &last : NULL);
	}
	if (r == 0 && step < 0)
		r = db_failed(s, "reading the machines", NULL);
	db_reset(st);
	return r;
}

static int machines_count_rows(struct store *s)
{
	struct db_stmt *st = stmt(s, ST_MACHINE_COUNT);
	int n = db_step(st) == DB_ROW ? (int)db_column_int64(st, 0) : -EIO;

	db_reset(st);
	return n < 0 ? db_failed(s, "counting the machines", NULL) : n;
}

int store_machines_count(struct store *s)
{
	return s->n_machines;
}

int store_machines_recount(struct store *s)
{
	int n = machines_count_rows(s);

	if (n >= 0)
		s->n_machines = n;
	return n;
}

/* Takes into m what seen knows (its non-empty fields); whether any differed. */
static bool seen_merge(struct machine *m, const struct machine *seen)
{
	bool changed = policy_take_seen(m->model, sizeof(m->model), seen->model);

	changed |= policy_take_seen(m->arch, sizeof(m->arch), seen->arch);
	changed |= policy_take_seen(m->uuid, sizeof(m->uuid), seen->uuid);
	if (seen->ip.s_addr && seen->ip.s_addr != m->ip.s_addr) {
		m->ip = seen->ip;
		changed = true;
	}
	return changed;
}

static int machine_seen_write(struct store *s, enum stmt i, const struct machine *m, int64_t now)
{
	struct db_stmt *st = stmt_mac(s, i, m->mac);

	bind_str(st, 2, m->model);
	bind_str(st, 3, m->arch);
	bind_str(st, 4, m->uuid);
	db_bind_blob(st, 5, &m->ip.s_addr, 4);
	db_bind_int64(st, 6, now);
	return db_run(st) < 0 ? db_failed(s, "recording a machine seen", NULL) : 0;
}

/* Room first, under the cap; *evicted says whether a machine went. */
static int machine_register_tx(struct store *s, const struct machine *seen, int64_t now,
			       bool *evicted)
{
	if ((unsigned)s->n_machines >= s->machines_max) {
		if (db_run(stmt(s, ST_MACHINE_EVICT)) < 0)
			return db_failed(s, "making room for a machine", NULL);
		*evicted = db_changes(s->db) > 0;
		if (!*evicted)
			return -ENOSPC;
	}
	return machine_seen_write(s, ST_MACHINE_REGISTER, seen, now);
}

static int machine_register(struct store *s, const struct machine *seen, int64_t now)
{
	bool evicted = false;
	int r = tx_begin(s, NULL);

	if (r < 0 || (r = tx_end(s, machine_register_tx(s, seen, now, &evicted), NULL)) < 0)
		return r;
	s->n_machines += 1 - evicted;
	return 0;
}

int store_machine_seen(struct store *s, const struct machine *seen, int64_t now)
{
	struct machine m;
	int r = machine_load(s, seen->mac, &m, false);

	if (r == -ENOENT)
		return machine_register(s, seen, now);
	if (r < 0)
		return r;
	/* A clock set back makes the stored last_seen be in the future:
	 * write, so that it follows. */
	if (!seen_merge(&m, seen) && now >= m.last_seen && now - m.last_seen < STORE_SEEN_EVERY)
		return 0;
	return machine_seen_write(s, ST_MACHINE_SEEN, &m, now);
}

/* ---- next boot ---------------------------------------------------------------------- */

static int next_boot_set_tx(struct store *s, const uint8_t mac[6], const char *profile,
			    bool *created, struct policy_error *err)
{
	struct db_stmt *st;
	int r = check_ref(s, profile, "profile", err);

	if (r < 0)
		return r;
	if ((r = has_row(stmt_mac(s, ST_MACHINE_GET, mac))) < 0)
		return db_failed(s, "reading a machine", err);
	*created = r == 0;
	st = stmt_mac(s, ST_NEXT_BOOT_SET, mac);
	db_bind_text(st, 2, profile, POLICY_NAME_MAX);
	db_bind_blob(st, 3, no_ip, sizeof(no_ip));
	return db_run(st) < 0 ? db_failed(s, "setting a next boot", err) : 0;
}

int store_next_boot_set(struct store *s, const uint8_t mac[6], const char *profile,
			struct policy_error *err)
{
	bool fresh = false;
	int r = policy_name_valid(profile, err);

	if (r < 0 || (r = tx_begin(s, err)) < 0)
		return r;
	r = tx_end(s, next_boot_set_tx(s, mac, profile, &fresh, err), err);
	if (r == 0)
		s->n_machines += fresh;
	return r;
}

int store_next_boot_clear(struct store *s, const uint8_t mac[6])
{
	if (db_run(stmt_mac(s, ST_NEXT_BOOT_CLEAR, mac)) < 0)
		return db_failed(s, "clearing a next boot", NULL);
	return db_changes(s->db) ? 0 : -ENOENT;
}

/* Two requests finishing the same boot (iPXE retrying a download, or two
 * bsdpd connections) both run the UPDATE; SQLite serializes them, and the
 * second no longer finds the profile, so only one sees a changed row. */
int store_next_boot_consume(struct store *s, const uint8_t mac[6], const char *profile)
{
	struct db_stmt *st;

	if (!profile[0])
		return 0;
	st = stmt_mac(s, ST_NEXT_BOOT_CONSUME, mac);
	db_bind_text(st, 2, profile, POLICY_NAME_MAX);
	if (db_run(st) < 0)
		return db_failed(s, "consuming a next boot", NULL);
	return db_changes(s->db) == 1;
}

/* ---- groups ----------------------------------------------------------------------- */

/* A row of ST_GROUP_LIST into g, with its labels. */
static int group_from_row(struct store *s, struct db_stmt *st, struct policy_group *g)
{
	const void *prefix;
	size_t n;

	memset(g, 0, sizeof(*g));
	if (local_method_parse(db_column_text(st, 6), &g->local) < 0)
		return -EIO;
	db_column_copy(st, 0, g->name, sizeof(g->name));
	prefix = db_column_blob(st, 1, &n);
	if (n > sizeof(g->selector.mac_prefix))
		return -EIO;
	if (n)
		memcpy(g->selector.mac_prefix, prefix, n);
	g->selector.mac_prefix_len = n;
	db_column_copy(st, 2, g->selector.model, sizeof(g->selector.model));
	db_column_copy(st, 3, g->selector.arch, sizeof(g->selector.arch));
	db_column_copy(st, 4, g->profile, sizeof(g->profile));
	g->priority = (int)db_column_int64(st, 5);
	db_column_copy(st, 7, g->image, sizeof(g->image));
	return labels_load(stmt_name(s, ST_GLABELS_GET, g->name), g->selector.labels,
			   &g->selector.n_labels);
}

static int groups_read(struct store *s, struct policy_group **out, size_t *n_out)
{
	struct db_stmt *st = stmt(s, ST_GROUP_LIST);
	struct policy_group *g = NULL;
	size_t n = 0, cap = 0;
	int r;

	while ((r = db_step(st)) == DB_ROW) {
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			g = reallocarray(g, cap, sizeof(*g));
			if (!g)
				abort();
		}
		if ((r = group_from_row(s, st, &g[n++])) < 0)
			break;
	}
	db_reset(st);
	if (r < 0) {
		free(g);
		return -EIO;
	}
	*out = g;
	*n_out = n;
	return 0;
}

/* The cache follows the table; on failure it stays as it was. */
static int groups_reload(struct store *s)
{
	struct policy_group *g;
	size_t n;

	if (groups_read(s, &g, &n) < 0)
		return db_failed(s, "reading the groups", NULL);
	free(s->groups);
	s->groups = g;
	s->n_groups = n;
	return 0;
}

static const struct policy_group *group_find(struct store *s, const char *name)
{
	for (size_t i = 0; i < s->n_groups; i++)
		if (strcmp(s->groups[i].name, name) == 0)
			return &s->groups[i];
	return NULL;
}

static int group_write(struct store *s, const struct policy_group *g)
{
	struct db_stmt *st = stmt_name(s, ST_GROUP_PUT, g->name);

	db_bind_blob(st, 2, g->selector.mac_prefix, g->selector.mac_prefix_len);
	bind_str(st, 3, g->selector.model);
	bind_str(st, 4, g->selector.arch);
	bind_str(st, 5, g->profile);
	db_bind_int64(st, 6, g->priority);
	db_bind_text(st, 7, local_method_name(g->local), POLICY_NAME_MAX);
	bind_str(st, 8, g->image);
	if (db_run(st) < 0 || labels_save(s, ST_GLABELS_DELETE, ST_GLABEL_ADD, g->name, 0,
					   g->selector.labels, g->selector.n_labels) < 0)
		return db_failed(s, "saving a group", NULL);
	return 0;
}

/* The tie is checked against the groups read inside this transaction, so
 * a group saved meanwhile by another connection counts too. */
static int group_put_tx(struct store *s, const struct policy_group *g, bool *created,
			struct policy_error *err)
{
	const struct policy_group *other;
	int r = check_ref(s, g->profile, "profile", err);

	if (r < 0 || (r = groups_reload(s)) < 0)
		return r;
	other = policy_groups_conflict(g, s->groups, s->n_groups);
	if (other) {
		fail(err, "selector", "ties with group \"%s\": as specific, of the same priority, "
		     "and a machine could match both", other->name);
		return -EEXIST;
	}
	*created = !group_find(s, g->name);
	return group_write(s, g) < 0 ? -EIO : announce(s, NULL);
}

int store_group_put(struct store *s, const struct policy_group *g, bool *created,
		    struct policy_error *err)
{
	bool fresh = false;
	int r = group_validate(g, err);

	if (r < 0 || (r = tx_begin(s, err)) < 0)
		return r;
	r = tx_end(s, group_put_tx(s, g, &fresh, err), err);
	if (r == 0 && created)
		*created = fresh;
	return groups_reload(s) < 0 ? -EIO : r;
}

int store_group_get(struct store *s, const char *name, struct policy_group *out)
{
	const struct policy_group *g = group_find(s, name);

	if (!g)
		return -ENOENT;
	*out = *g;
	return 0;
}

static int group_delete_tx(struct store *s, const char *name)
{
	if (db_run(stmt_name(s, ST_GROUP_DELETE, name)) < 0)
		return db_failed(s, "deleting a group", NULL);
	if (db_changes(s->db) == 0)
		return -ENOENT;
	if (db_run(stmt_name(s, ST_GLABELS_DELETE, name)) < 0)
		return db_failed(s, "deleting a group", NULL);
	return announce(s, NULL);
}

int store_group_delete(struct store *s, const char *name)
{
	int r = tx_begin(s, NULL);

	if (r < 0)
		return r;
	r = tx_end(s, group_delete_tx(s, name), NULL);
	return groups_reload(s) < 0 ? -EIO : r;
}

const struct policy_group *store_groups(struct store *s, size_t *n)
{
	*n = s->n_groups;
	return s->groups;
}

/* ---- the default profile ------------------------------------------------------------- */

static int default_load(struct store *s)
{
	struct db_stmt *st = stmt_name(s, ST_SETTING_GET, DEFAULT_KEY);
	int r = db_step(st);

	s->default_profile[0] = '\0';
	if (r == DB_ROW)
		db_column_copy(st, 0, s->default_profile, sizeof(s->default_profile));
	db_reset(st);
	return r < 0 ? db_failed(s, "reading the default profile", NULL) : 0;
}

static int default_set_tx(struct store *s, const char *profile, struct policy_error *err)
{
	struct db_stmt *st;
	int r = check_ref(s, profile, "profile", err);

	if (r < 0)
		return r;
	st = stmt_name(s, ST_SETTING_PUT, DEFAULT_KEY);
	db_bind_text(st, 2, profile, POLICY_NAME_MAX);
	return db_run(st) < 0 ? db_failed(s, "saving the default profile", err)
			      : announce(s, err);
}

/* "" clears the default. */
int store_default_set(struct store *s, const char *profile, struct policy_error *err)
{
	int r = profile[0] ? policy_name_valid(profile, err) : 0;

	if (r < 0 || (r = tx_begin(s, err)) < 0)
		return r;
	r = tx_end(s, default_set_tx(s, profile, err), err);
	if (r == 0)
		snprintf(s->default_profile, sizeof(s->default_profile), "%s", profile);
	return r;
}

const char *store_default(struct store *s)
{
	return s->default_profile;
}

/* ---- events ---------------------------------------------------------------------------- */

static int event_insert(struct store *s, struct event *e)
{
	struct db_stmt *st = stmt(s, ST_EVENT_ADD);

	db_bind_int64(st, 1, e->time_us);
	if (e->has_mac)
		db_bind_blob(st, 2, e->mac, 6);
	else
		db_bind_null(st, 2);
	db_bind_text(st, 3, event_kind_name(e->kind), POLICY_NAME_MAX);
	bind_str(st, 4, e->detail);
	bind_str(st, 5, e->rule);
	db_bind_int64(st, 6, e->bytes > INT64_MAX ? INT64_MAX : (int64_t)e->bytes);
	db_bind_int64(st, 7, e->duration_ms);
	db_bind_int64(st, 8, e->ok);
	if (db_step(st) != DB_ROW) {
		db_reset(st);
		return -EIO;
	}
	e->id = db_column_int64(st, 0);
	return db_step(st) == DB_DONE ? 0 : -EIO;
}

/* AUTOINCREMENT never hands out an id again, so the newest events_max
 * are exactly those above e->id - events_max, and an SSE client's
 * Last-Event-ID always means the same event. */
static int events_trim(struct store *s, const struct event *e)
{
	struct db_stmt *st;

	if (e->id > (int64_t)s->events_max) {
		st = stmt(s, ST_EVENTS_TRIM_COUNT);
		db_bind_int64(st, 1, e->id - (int64_t)s->events_max);
		if (db_run(st) < 0)
			return -EIO;
	}
	if (e->time_us > s->events_max_age_us) {
		st = stmt(s, ST_EVENTS_TRIM_AGE);
		db_bind_int64(st, 1, e->time_us - s->events_max_age_us);
		if (db_run(st) < 0)
			return -EIO;
	}
	return 0;
}

int store_event_add(struct store *s, struct event *e)
{
	int r = tx_begin(s, NULL);

	if (r < 0)
		return r;
	r = event_insert(s, e);
	if (r == 0)
		r = events_trim(s, e);
	if (r < 0)
		r = db_failed(s, "recording an event", NULL);
	return tx_end(s, r, NULL);
}

int store_event_insert(struct store *s, struct event *e)
{
	int r = tx_begin(s, NULL);

	if (r < 0)
		return r;
	if ((r = event_insert(s, e)) < 0)
		r = db_failed(s, "recording an event", NULL);
	return tx_end(s, r, NULL);
}

int store_events_trim(struct store *s, const struct event *newest)
{
	int r = tx_begin(s, NULL);

	if (r < 0)
		return r;
	if ((r = events_trim(s, newest)) < 0)
		r = db_failed(s, "trimming the events", NULL);
	return tx_end(s, r, NULL);
}

/* The EVENT_COLS of a row, from column at on. */
static int event_from_columns(struct db_stmt *st, int at, struct event *e)
{
	const void *mac;
	size_t n;

	memset(e, 0, sizeof(*e));
	if (event_kind_parse(db_column_text(st, at + 3), &e->kind) < 0)
		return -EIO;
	e->id = db_column_int64(st, at);
	e->time_us = db_column_int64(st, at + 1);
	mac = db_column_blob(st, at + 2, &n);
	e->has_mac = n == 6;
	if (e->has_mac)
		memcpy(e->mac, mac, 6);
	db_column_copy(st, at + 4, e->detail, sizeof(e->detail));
	db_column_copy(st, at + 5, e->rule, sizeof(e->rule));
	e->bytes = (uint64_t)db_column_int64(st, at + 6);
	e->duration_ms = (uint32_t)db_column_int64(st, at + 7);
	e->ok = db_column_int64(st, at + 8) != 0;
	return 0;
}

static int event_from_row(struct db_stmt *st, struct event *e)
{
	return event_from_columns(st, 0, e);
}

/* Calls fn for each row of st, bound and ready to step. */
static int events_of(struct store *s, struct db_stmt *st,
		     int (*fn)(void *ctx, const struct event *e), void *ctx)
{
	struct event e;
	int r = 0, step;

	while (r == 0 && (step = db_step(st)) == DB_ROW) {
		r = event_from_row(st, &e);
		r = r < 0 ? db_failed(s, "reading the events", NULL) : fn(ctx, &e);
	}
	if (r == 0 && step < 0)
		r = db_failed(s, "reading the events", NULL);
	db_reset(st);
	return r;
}

int store_events_each(struct store *s, const uint8_t *mac, int64_t since_us, unsigned limit,
		      int (*fn)(void *ctx, const struct event *e), void *ctx)
{
	struct db_stmt *st = stmt(s, mac ? ST_EVENTS_OF_MAC : ST_EVENTS_ALL);

	db_bind_int64(st, 1, since_us);
	db_bind_int64(st, 2, limit ? (int64_t)limit : INT64_MAX);
	if (mac)
		db_bind_blob(st, 3, mac, 6);
	return events_of(s, st, fn, ctx);
}

int store_events_after(struct store *s, int64_t after_id, unsigned limit,
		       int (*fn)(void *ctx, const struct event *e), void *ctx)
{
	struct db_stmt *st = stmt(s, ST_EVENTS_AFTER);

	db_bind_int64(st, 1, after_id);
	db_bind_int64(st, 2, limit ? (int64_t)limit : INT64_MAX);
	return events_of(s, st, fn, ctx);
}

int store_event_last(struct store *s, const uint8_t mac[6], struct event *out)
{
	struct db_stmt *st = stmt_mac(s, ST_EVENT_LAST_OF_MAC, mac);
	int r = db_step(st);

	if (r == DB_ROW)
		r = event_from_row(st, out);
	else if (r == DB_DONE)
		r = -ENOENT;
	db_reset(st);
	return r == -ENOENT || r == 0 ? r : db_failed(s, "reading the events", NULL);
}
