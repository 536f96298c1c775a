/* SPDX-License-Identifier: MIT */
/*
 * The policy store (bsdpd/store.c): round trips of each record, the
 * references a write checks (-ESRCH, -EBUSY, -EEXIST), next boot
 * consumed exactly once (also by two connections racing), the upgrade of
 * a bsdpd 0.2 database (schema version 1) in place, and the event caps.
 * Old databases are written with SQLite directly, as bsdpd 0.2 did.
 * Run on SQLite, then on PostgreSQL (test_db.h), but for the old files.
 */
#include "testlib.h"

#include <pthread.h>
#include <sqlite3.h>

#include "bindings.h"
#include "store.h"
#include "test_db.h"

struct fixture {
	char *dir;
	struct bindings *b;
	struct store *s;
};

static const uint8_t MAC1[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t MAC2[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x02 };

static struct store *open_store(const char *dir, struct bindings **b,
				const struct store_options *opt)
{
	char *err = NULL;
	struct store *s;

	/* A directory is a database opened again: on PostgreSQL, the same. */
	*b = bindings_open(test_db(!dir), dir, NULL, &err);
	assert_non_null(*b);
	s = store_open(*b, opt, &err);
	assert_null(err);
	assert_non_null(s);
	return s;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->s = open_store(NULL, &f->b, NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	store_close(f->s);
	bindings_close(f->b);
	if (f->dir)
		remove_root(f->dir);
	free(f);
	return 0;
}

static void put_profile(struct store *s, const char *name, enum profile_kind kind)
{
	struct profile p = { .kind = kind };
	struct policy_error err = { 0 };
	bool created;

	snprintf(p.name, sizeof(p.name), "%s", name);
	if (kind == PROFILE_LINUX)
		snprintf(p.kernel, sizeof(p.kernel), "vmlinuz");
	if (kind == PROFILE_CHAIN)
		snprintf(p.chain, sizeof(p.chain), "ipxe/other.efi");
	assert_int_equal(store_profile_put(s, &p, &created, &err), 0);
}

static int count_profiles(void *ctx, const struct profile *p)
{
	(void)p;
	++*(int *)ctx;
	return 0;
}

/* ---- round trips ------------------------------------------------------------- */

static void profile_round_trip(void **state)
{
	struct fixture *f = *state;
	struct profile p = { .name = "install", .description = "Debian 12", .kind = PROFILE_LINUX,
			     .kernel = "debian/vmlinuz", .n_initrds = 2,
			     .initrds = { "debian/initrd.gz", "debian/firmware.cpio" },
			     .cmdline = "console=ttyS0 auto=true" };
	struct profile menu = { .name = "menu", .kind = PROFILE_MENU, .n_items = 2,
				.items = { "install", "script" }, .default_item = "script",
				.timeout = 5 };
	struct profile script = { .name = "script", .kind = PROFILE_SCRIPT };
	struct profile out;
	struct policy_error err = { 0 };
	bool created = false;
	int n = 0;

	assert_int_equal(store_profile_put(f->s, &p, &created, &err), 0);
	assert_true(created);
	script.template = strdup("#!ipxe\necho {{hostname}}\n");
	assert_int_equal(store_profile_put(f->s, &script, &created, &err), 0);
	assert_int_equal(store_profile_put(f->s, &menu, &created, &err), 0);
	assert_int_equal(store_profile_get(f->s, "install", &out), 0);
	assert_memory_equal(&out, &p, sizeof(out));
	assert_int_equal(store_profile_get(f->s, "menu", &out), 0);
	assert_memory_equal(&out, &menu, sizeof(out));
	assert_int_equal(store_profile_get(f->s, "script", &out), 0);
	assert_string_equal(out.template, script.template);
	profile_free(&out);
	p.n_initrds = 1; /* a replace drops what the new record lacks */
	assert_int_equal(store_profile_put(f->s, &p, &created, &err), 0);
	assert_false(created);
	assert_int_equal(store_profile_get(f->s, "install", &out), 0);
	assert_int_equal(out.n_initrds, 1);
	assert_int_equal(store_profiles_each(f->s, count_profiles, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(store_profile_get(f->s, "nope", &out), -ENOENT);
	profile_free(&script);
}

static void machine_round_trip(void **state)
{
	struct fixture *f = *state;
	struct machine m = { .hostname = "lab-101", .profile = "install", .local = LOCAL_EXIT,
			     .image = "Install", .n_labels = 2,
			     .labels = { { "rack", "r2" }, { "room", "101" } } };
	struct machine seen = { .model = "MacPro5,1", .arch = "i386" };
	struct machine out;
	struct policy_error err = { 0 };
	bool created = false;

	memcpy(m.mac, MAC1, 6);
	memcpy(seen.mac, MAC1, 6);
	put_profile(f->s, "install", PROFILE_LINUX);
	assert_int_equal(store_machine_seen(f->s, &seen, 1000), 0);
	assert_int_equal(store_machine_put(f->s, &m, &created, &err), 0);
	assert_false(created); /* it registered itself first */
	assert_int_equal(store_machine_get(f->s, MAC1, &out), 0);
	assert_string_equal(out.hostname, "lab-101");
	assert_int_equal(out.n_labels, 2);
	assert_string_equal(out.labels[1].value, "101");
	assert_int_equal(out.local, LOCAL_EXIT);
	assert_string_equal(out.model, "MacPro5,1"); /* what was seen is kept */
	assert_int_equal(out.first_seen, 1000);
	m.n_labels = 0;
	assert_int_equal(store_machine_put(f->s, &m, &created, &err), 0);
	assert_int_equal(store_machine_get(f->s, MAC1, &out), 0);
	assert_int_equal(out.n_labels, 0);
	assert_int_equal(store_machines_count(f->s), 1);
	assert_int_equal(store_machine_delete(f->s, MAC1), 0);
	assert_int_equal(store_machine_delete(f->s, MAC1), -ENOENT);
	assert_int_equal(store_machine_get(f->s, MAC1, &out), -ENOENT);
}

/* Seen on the wire: registered once, then written at most once a minute
 * unless something changed. */
static void machine_seen_writes_sparingly(void **state)
{
	struct fixture *f = *state;
	struct machine seen = { .model = "MacPro5,1", .arch = "i386",
				.ip.s_addr = htonl(0xc6120002) };
	struct machine out;

	memcpy(seen.mac, MAC2, 6);
	assert_int_equal(store_machine_seen(f->s, &seen, 1000), 0);
	assert_int_equal(store_machine_seen(f->s, &seen, 1059), 0);
	assert_int_equal(store_machine_get(f->s, MAC2, &out), 0);
	assert_int_equal(out.last_seen, 1000);
	seen.model[0] = '\0'; /* an empty field keeps what is known */
	snprintf(seen.uuid, sizeof(seen.uuid), "564d0c1a-1111-2222-3333-444455556666");
	assert_int_equal(store_machine_seen(f->s, &seen, 1030), 0);
	assert_int_equal(store_machine_get(f->s, MAC2, &out), 0);
	assert_int_equal(out.last_seen, 1030);
	assert_string_equal(out.model, "MacPro5,1");
	assert_string_equal(out.uuid, seen.uuid);
	assert_int_equal(store_machine_seen(f->s, &seen, 1090), 0);
	assert_int_equal(store_machine_get(f->s, MAC2, &out), 0);
	assert_int_equal(out.last_seen, 1090);
	assert_int_equal(out.first_seen, 1000);
}

static struct machine seen_mac(uint8_t last)
{
	struct machine m = { .mac = { 0x52, 0x54, 0x00, 0x00, 0x01, last }, .arch = "x86_64" };

	return m;
}

/* A flood of new MACs evicts the least recently seen machine that only
 * registered itself, never one the admin set up; with none left to
 * evict, a new one is not registered. */
static void machines_capped_sparing_the_admins(void **state)
{
	struct fixture *f = *state;
	struct store_options opt = { .machines_max = 2 };
	struct machine admin = seen_mac(1), b = seen_mac(2), c = seen_mac(3), d = seen_mac(4);
	struct machine e = seen_mac(5), out;
	struct policy_error err = { 0 };

	store_close(f->s);
	f->s = store_open(f->b, &opt, NULL);
	snprintf(admin.hostname, sizeof(admin.hostname), "lab-1");
	assert_int_equal(store_machine_put(f->s, &admin, NULL, &err), 0);
	assert_int_equal(store_machine_seen(f->s, &b, 100), 0);
	assert_int_equal(store_machines_count(f->s), 2);
	assert_int_equal(store_machine_seen(f->s, &c, 200), 0);
	assert_int_equal(store_machine_get(f->s, b.mac, &out), -ENOENT);
	assert_int_equal(store_machine_seen(f->s, &d, 300), 0);
	assert_int_equal(store_machine_get(f->s, c.mac, &out), -ENOENT);
	assert_int_equal(store_machine_get(f->s, admin.mac, &out), 0);
	d.n_labels = 1;
	snprintf(d.labels[0].key, sizeof(d.labels[0].key), "room");
	assert_int_equal(store_machine_put(f->s, &d, NULL, &err), 0);
	assert_int_equal(store_machine_seen(f->s, &e, 400), -ENOSPC);
	assert_int_equal(store_machine_get(f->s, e.mac, &out), -ENOENT);
	assert_int_equal(store_machines_count(f->s), 2);
	assert_int_equal(store_machine_delete(f->s, d.mac), 0);
	assert_int_equal(store_machines_count(f->s), 1);
	assert_int_equal(store_machine_seen(f->s, &e, 500), 0);
}

static void group_and_default_round_trip(void **state)
{
	struct fixture *f = *state;
	struct policy_group g = { .name = "lab", .profile = "install", .priority = 10,
			   .selector = { .mac_prefix = { 0x52, 0x54, 0x00 }, .mac_prefix_len = 3,
					 .model = "MacPro*", .n_labels = 1,
					 .labels = { { "room", "101" } } } };
	struct policy_error err = { 0 };
	const struct policy_group *all;
	struct policy_group out;
	bool created = false;
	size_t n;

	put_profile(f->s, "install", PROFILE_LINUX);
	assert_int_equal(store_group_put(f->s, &g, &created, &err), 0);
	assert_true(created);
	all = store_groups(f->s, &n);
	assert_int_equal(n, 1);
	assert_memory_equal(&all[0], &g, sizeof(g));
	assert_int_equal(store_group_get(f->s, "lab", &out), 0);
	assert_memory_equal(&out, &g, sizeof(g));
	g.priority = 20;
	assert_int_equal(store_group_put(f->s, &g, &created, &err), 0);
	assert_false(created);
	assert_int_equal(store_groups(f->s, &n)[0].priority, 20);
	assert_string_equal(store_default(f->s), "");
	assert_int_equal(store_default_set(f->s, "install", &err), 0);
	assert_string_equal(store_default(f->s), "install");
	assert_int_equal(store_group_delete(f->s, "lab"), 0);
	assert_int_equal(store_group_delete(f->s, "lab"), -ENOENT);
	store_groups(f->s, &n);
	assert_int_equal(n, 0);
}

/* What is kept in memory comes back from the database after a restart. */
static void records_survive_reopen(void **state)
{
	struct fixture *f = *state;
	struct policy_group g = { .name = "macs", .profile = "install", .selector = { .arch = "i386" } };
	struct policy_error err = { 0 };
	size_t n;

	f->dir = make_root();
	store_close(f->s);
	bindings_close(f->b);
	f->s = open_store(f->dir, &f->b, NULL);
	put_profile(f->s, "install", PROFILE_LINUX);
	assert_int_equal(store_group_put(f->s, &g, NULL, &err), 0);
	assert_int_equal(store_default_set(f->s, "install", &err), 0);
	store_close(f->s);
	bindings_close(f->b);
	f->s = open_store(f->dir, &f->b, NULL);
	assert_string_equal(store_default(f->s), "install");
	assert_string_equal(store_groups(f->s, &n)[0].selector.arch, "i386");
	assert_int_equal(n, 1);
}

/* ---- references ----------------------------------------------------------------- */

static void missing_profile_is_refused(void **state)
{
	struct fixture *f = *state;
	struct machine m = { .profile = "ghost" };
	struct policy_group g = { .name = "lab", .profile = "ghost" };
	struct profile menu = { .name = "menu", .kind = PROFILE_MENU, .n_items = 2,
				.items = { "install", "ghost" } };
	struct policy_error err = { 0 };
	struct machine out;
	size_t n;

	memcpy(m.mac, MAC1, 6);
	put_profile(f->s, "install", PROFILE_LINUX);
	assert_int_equal(store_machine_put(f->s, &m, NULL, &err), -ESRCH);
	assert_string_equal(err.field, "profile");
	assert_int_equal(store_machine_get(f->s, MAC1, &out), -ENOENT); /* nothing half-saved */
	snprintf(m.profile, sizeof(m.profile), "install");
	snprintf(m.next_boot, sizeof(m.next_boot), "ghost");
	assert_int_equal(store_machine_put(f->s, &m, NULL, &err), -ESRCH);
	assert_string_equal(err.field, "next_boot");
	assert_int_equal(store_group_put(f->s, &g, NULL, &err), -ESRCH);
	assert_string_equal(err.field, "profile");
	store_groups(f->s, &n);
	assert_int_equal(n, 0);
	assert_int_equal(store_profile_put(f->s, &menu, NULL, &err), -ESRCH);
	assert_string_equal(err.field, "items[1]");
	assert_int_equal(store_profile_get(f->s, "menu", &(struct profile){ 0 }), -ENOENT);
	assert_int_equal(store_default_set(f->s, "ghost", &err), -ESRCH);
	assert_string_equal(store_default(f->s), "");
	assert_int_equal(store_next_boot_set(f->s, MAC1, "ghost", &err), -ESRCH);
}

/* Each kind of record that names a profile keeps it from being deleted. */
static void profile_in_use_is_busy(void **state)
{
	struct fixture *f = *state;
	struct machine m = { .profile = "p-machine" };
	struct policy_group g = { .name = "lab", .profile = "p-group" };
	struct profile menu = { .name = "menu", .kind = PROFILE_MENU, .n_items = 1,
				.items = { "p-menu" } };
	struct policy_error err = { 0 };

	memcpy(m.mac, MAC1, 6);
	put_profile(f->s, "p-machine", PROFILE_SHELL);
	put_profile(f->s, "p-next", PROFILE_SHELL);
	put_profile(f->s, "p-group", PROFILE_SHELL);
	put_profile(f->s, "p-menu", PROFILE_SHELL);
	put_profile(f->s, "p-default", PROFILE_SHELL);
	assert_int_equal(store_machine_put(f->s, &m, NULL, &err), 0);
	assert_int_equal(store_next_boot_set(f->s, MAC2, "p-next", &err), 0);
	assert_int_equal(store_group_put(f->s, &g, NULL, &err), 0);
	assert_int_equal(store_profile_put(f->s, &menu, NULL, &err), 0);
	assert_int_equal(store_default_set(f->s, "p-default", &err), 0);
	assert_int_equal(store_profile_delete(f->s, "p-machine", &err), -EBUSY);
	assert_non_null(strstr(err.msg, "machine 52:54:00:00:00:01"));
	assert_int_equal(store_profile_delete(f->s, "p-next", &err), -EBUSY);
	assert_non_null(strstr(err.msg, "machine 52:54:00:00:00:02"));
	assert_int_equal(store_profile_delete(f->s, "p-group", &err), -EBUSY);
	assert_non_null(strstr(err.msg, "group lab"));
	assert_int_equal(store_profile_delete(f->s, "p-menu", &err), -EBUSY);
	assert_non_null(strstr(err.msg, "menu menu"));
	assert_int_equal(store_profile_delete(f->s, "p-default", &err), -EBUSY);
	assert_non_null(strstr(err.msg, "the default"));
	assert_int_equal(store_profile_delete(f->s, "menu", &err), 0);
	assert_int_equal(store_profile_delete(f->s, "p-menu", &err), 0);
	assert_int_equal(store_profile_delete(f->s, "p-menu", &err), -ENOENT);
}

/* Two groups as specific, of one priority, that a machine could match
 * both: the second is refused when it is saved. */
static void tying_group_is_refused(void **state)
{
	struct fixture *f = *state;
	struct policy_group a = { .name = "a", .profile = "install", .priority = 5,
			   .selector = { .arch = "i386" } };
	struct policy_group b = { .name = "b", .profile = "install", .priority = 5,
			   .selector = { .model = "MacPro*" } };
	struct policy_error err = { 0 };
	size_t n;

	put_profile(f->s, "install", PROFILE_LINUX);
	assert_int_equal(store_group_put(f->s, &a, NULL, &err), 0);
	assert_int_equal(store_group_put(f->s, &b, NULL, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "\"a\""));
	store_groups(f->s, &n);
	assert_int_equal(n, 1);
	b.priority = 6;
	assert_int_equal(store_group_put(f->s, &b, NULL, &err), 0);
	assert_int_equal(store_group_put(f->s, &a, NULL, &err), 0); /* a replace of itself */
}

/* ---- next boot ---------------------------------------------------------------------- */

static void next_boot_consumed_once(void **state)
{
	struct fixture *f = *state;
	struct policy_error err = { 0 };
	struct machine out;

	put_profile(f->s, "install", PROFILE_LINUX);
	put_profile(f->s, "rescue", PROFILE_LINUX);
	assert_int_equal(store_next_boot_set(f->s, MAC1, "install", &err), 0);
	assert_int_equal(store_machine_get(f->s, MAC1, &out), 0);
	assert_string_equal(out.next_boot, "install");
	/* a consume for a profile set meanwhile leaves the new one */
	assert_int_equal(store_next_boot_consume(f->s, MAC1, "rescue"), 0);
	assert_int_equal(store_next_boot_consume(f->s, MAC1, "install"), 1);
	assert_int_equal(store_next_boot_consume(f->s, MAC1, "install"), 0);
	assert_int_equal(store_machine_get(f->s, MAC1, &out), 0);
	assert_string_equal(out.next_boot, "");
	assert_int_equal(store_next_boot_consume(f->s, MAC2, "install"), 0);
	assert_int_equal(store_next_boot_set(f->s, MAC1, "rescue", &err), 0);
	assert_int_equal(store_next_boot_clear(f->s, MAC1), 0);
	assert_int_equal(store_next_boot_consume(f->s, MAC1, "rescue"), 0);
	assert_int_equal(store_next_boot_clear(f->s, MAC2), -ENOENT);
}

struct racer {
	const char *dir;
	pthread_barrier_t *go;
	int rounds;
	int won;
	int bad;   /* failures, counted here: cmocka asserts on the main thread only */
};

/* One connection of its own, as a second bsdpd handle would have; it
 * keeps to the barrier even when its open failed, so nobody waits forever. */
static void *race(void *arg)
{
	struct racer *r = arg;
	struct bindings *b = bindings_open(test_db(false), r->dir, NULL, NULL);
	struct store *s = b ? store_open(b, NULL, NULL) : NULL;

	r->bad += !s;
	for (int i = 0; i < r->rounds; i++) {
		pthread_barrier_wait(r->go);
		int c = s ? store_next_boot_consume(s, MAC1, "install") : -EIO;

		r->won += c == 1;
		r->bad += c != 0 && c != 1;
		pthread_barrier_wait(r->go);
	}
	store_close(s);
	bindings_close(b);
	return NULL;
}

static void next_boot_race_has_one_winner(void **state)
{
	struct fixture *f = *state;
	struct policy_error err = { 0 };
	pthread_barrier_t go;
	pthread_t t[2];
	struct racer r[2];
	enum { ROUNDS = 200 };
	int twice = 0;

	f->dir = make_root();
	store_close(f->s);
	bindings_close(f->b);
	f->s = open_store(f->dir, &f->b, NULL);
	put_profile(f->s, "install", PROFILE_LINUX);
	assert_int_equal(pthread_barrier_init(&go, NULL, 3), 0);
	for (int i = 0; i < 2; i++) {
		r[i] = (struct racer){ .dir = f->dir, .go = &go, .rounds = ROUNDS };
		assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
	}
	for (int i = 0; i < ROUNDS; i++) {
		assert_int_equal(store_next_boot_set(f->s, MAC1, "install", &err), 0);
		pthread_barrier_wait(&go); /* both consume */
		pthread_barrier_wait(&go); /* both done */
		twice += r[0].won + r[1].won != i + 1; /* no break: the racers wait */
	}
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&go);
	assert_int_equal(r[0].bad + r[1].bad, 0);
	assert_int_equal(twice, 0);
	assert_int_equal(r[0].won + r[1].won, ROUNDS);
}

/* ---- schema versions ------------------------------------------------------------------ */

static void sql(const char *dir, const char *stmts)
{
	char path[PATH_MAX];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/bindings.sqlite", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, stmts, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* bsdpd 0.2's database, word for word: version 0.1.0's tables migrated
 * to version 1 (bindings.c at the time). */
static const char schema_0_2[] =
	"PRAGMA journal_mode = WAL;"
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
	" number INTEGER NOT NULL);"
	"ALTER TABLE clients ADD COLUMN last_seen INTEGER NOT NULL DEFAULT 0;"
	"UPDATE clients SET last_seen = updated;"
	"CREATE INDEX clients_by_last_seen ON clients (last_seen, number);"
	"INSERT OR REPLACE INTO next_number (id, number) SELECT 1, coalesce(max(number), 0) "
	"FROM (SELECT number FROM clients UNION ALL SELECT number FROM next_number);"
	"PRAGMA user_version = 1;";

static void version_1_database_is_upgraded(void **state)
{
	struct fixture *f = *state;
	struct binding bd = { .mac = { 2, 0, 0, 0, 0, 3 }, .image_id = 1, .arch = "i386",
			      .model = "M", .updated = 20000 };
	struct policy_error err = { 0 };
	struct binding out;

	SKIP_ON_POSTGRES();
	f->dir = make_root();
	sql(f->dir, schema_0_2);
	sql(f->dir, "INSERT INTO clients VALUES (x'020000000001', 16777317, 'i386', 'M', "
		    "x'c6120002', 5, 5000, 7000);"
		    "UPDATE next_number SET number = 12;");
	store_close(f->s);
	bindings_close(f->b);
	f->s = open_store(f->dir, &f->b, NULL);
	assert_int_equal(bindings_count(f->b), 1);
	assert_int_equal(bindings_get(f->b, (const uint8_t[6]){ 2, 0, 0, 0, 0, 1 }, &out), 0);
	assert_int_equal(out.number, 5);
	assert_int_equal(out.last_seen, 7000);
	assert_int_equal(bindings_put(f->b, &bd), 0);
	assert_int_equal(bd.number, 13);
	put_profile(f->s, "install", PROFILE_LINUX);
	assert_int_equal(store_next_boot_set(f->s, MAC1, "install", &err), 0);
}

static void newer_schema_is_refused(void **state)
{
	char *dir;
	char *err = NULL;

	(void)state;
	SKIP_ON_POSTGRES();
	dir = make_root();
	sql(dir, schema_0_2);
	sql(dir, "PRAGMA user_version = 4;");
	assert_null(bindings_open(NULL, dir, NULL, &err));
	assert_non_null(strstr(err, "bindings.sqlite: database schema version 4 is newer "
				    "than this bsdpd supports (3)"));
	free(err);
	remove_root(dir);
}

/* ---- events ---------------------------------------------------------------------------- */

struct seen_events {
	int n;
	int64_t first_id, last_id;
	struct event last;
};

static int note_event(void *ctx, const struct event *e)
{
	struct seen_events *se = ctx;

	if (se->n++ == 0)
		se->first_id = e->id;
	se->last_id = e->id;
	se->last = *e;
	return 0;
}

static struct event ev(int64_t time_s, const uint8_t *mac)
{
	struct event e = { .time_us = time_s * 1000000, .kind = EVENT_HTTP_FILE,
			   .detail = "debian/vmlinuz", .bytes = 123456, .duration_ms = 7, .ok = true };

	if (mac) {
		memcpy(e.mac, mac, 6);
		e.has_mac = true;
	}
	return e;
}

static void events_capped_by_count(void **state)
{
	struct fixture *f = *state;
	struct store_options opt = { .events_max = 10 };
	struct seen_events se = { 0 };
	struct event e;

	store_close(f->s);
	f->s = store_open(f->b, &opt, NULL);
	for (int i = 1; i <= 25; i++) {
		e = ev(1000 + i, MAC1);
		assert_int_equal(store_event_add(f->s, &e), 0);
		assert_int_equal(e.id, i);
	}
	assert_int_equal(store_events_each(f->s, NULL, 0, 0, note_event, &se), 0);
	assert_int_equal(se.n, 10);
	assert_int_equal(se.first_id, 16);
	assert_int_equal(se.last_id, 25);
	assert_int_equal(se.last.bytes, 123456);
	assert_string_equal(se.last.detail, "debian/vmlinuz");
	assert_true(se.last.ok && se.last.has_mac);
	assert_memory_equal(se.last.mac, MAC1, 6);
}

static void events_capped_by_age(void **state)
{
	struct fixture *f = *state;
	struct store_options opt = { .events_max_age = 100 };
	struct seen_events se = { 0 };
	struct event e;

	store_close(f->s);
	f->s = store_open(f->b, &opt, NULL);
	for (int t = 1000; t <= 1200; t += 50) {
		e = ev(t, MAC1);
		assert_int_equal(store_event_add(f->s, &e), 0);
	}
	assert_int_equal(store_events_each(f->s, NULL, 0, 0, note_event, &se), 0);
	assert_int_equal(se.n, 3); /* 1100, 1150, 1200 */
	assert_int_equal(se.first_id, 3);
	store_close(f->s);
	opt.events_max_age = INT64_MAX; /* no overflow: keeps them all */
	f->s = store_open(f->b, &opt, NULL);
	e = ev(INT64_MAX / 1000000, MAC1);
	assert_int_equal(store_event_add(f->s, &e), 0);
	se = (struct seen_events){ 0 };
	assert_int_equal(store_events_each(f->s, NULL, 0, 0, note_event, &se), 0);
	assert_int_equal(se.n, 4);
}

static void events_filtered_by_mac_and_since(void **state)
{
	struct fixture *f = *state;
	struct seen_events se = { 0 };
	struct event e;

	for (int i = 0; i < 10; i++) {
		e = ev(1000 + i, i % 2 ? MAC1 : MAC2);
		assert_int_equal(store_event_add(f->s, &e), 0);
	}
	e = ev(2000, NULL);
	e.kind = EVENT_PROXY_OFFER;
	assert_int_equal(store_event_add(f->s, &e), 0);
	assert_int_equal(store_events_each(f->s, MAC1, 0, 0, note_event, &se), 0);
	assert_int_equal(se.n, 5);
	se = (struct seen_events){ 0 };
	assert_int_equal(store_events_each(f->s, MAC1, 1005 * 1000000ll, 0, note_event, &se), 0);
	assert_int_equal(se.n, 2); /* 1007, 1009: after since, not at it */
	se = (struct seen_events){ 0 };
	assert_int_equal(store_events_each(f->s, NULL, 0, 4, note_event, &se), 0);
	assert_int_equal(se.n, 4);
	assert_int_equal(se.last_id, 4);
	se = (struct seen_events){ 0 };
	assert_int_equal(store_events_each(f->s, NULL, 1500 * 1000000ll, 0, note_event, &se), 0);
	assert_int_equal(se.n, 1);
	assert_false(se.last.has_mac);
	assert_int_equal(se.last.kind, EVENT_PROXY_OFFER);
}

static void event_kind_names_round_trip(void **state)
{
	enum event_kind k;

	(void)state;
	for (int i = 0; i < EVENT_KIND_COUNT; i++) {
		assert_int_equal(event_kind_parse(event_kind_name((enum event_kind)i), &k), 0);
		assert_int_equal(k, i);
	}
	assert_int_equal(event_kind_parse("dhcp", &k), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(profile_round_trip),
		T(machine_round_trip),
		T(machine_seen_writes_sparingly),
		T(machines_capped_sparing_the_admins),
		T(group_and_default_round_trip),
		T(records_survive_reopen),
		T(missing_profile_is_refused),
		T(profile_in_use_is_busy),
		T(tying_group_is_refused),
		T(next_boot_consumed_once),
		T(next_boot_race_has_one_winner),
		T(version_1_database_is_upgraded),
		cmocka_unit_test(newer_schema_is_refused),
		T(events_capped_by_count),
		T(events_capped_by_age),
		T(events_filtered_by_mac_and_since),
		cmocka_unit_test(event_kind_names_round_trip),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
