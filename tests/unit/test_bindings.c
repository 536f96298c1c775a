/* SPDX-License-Identifier: MIT */
/*
 * The bindings store: machine numbers, the cap and its eviction order,
 * expiry, and the schema migration from the tables bsdpd 0.1.0 made.
 * The test writes old databases with SQLite directly, as 0.1.0 did.
 * Run on SQLite, then on PostgreSQL (test_db.h), but for the old files.
 */
#include "testlib.h"

#include <sqlite3.h>

#include "bindings.h"
#include "test_db.h"

#define HOUR 3600

struct pruned_log {
	unsigned expired;
	unsigned evicted;
};

static void note_pruned(void *ctx, unsigned n, const char *why)
{
	struct pruned_log *log = ctx;

	if (strstr(why, "expiry"))
		log->expired += n;
	else
		log->evicted += n;
}

static struct binding client(uint8_t last, int64_t now)
{
	return (struct binding){ .mac = { 2, 0, 0, 0, 0, last }, .image_id = 0x01000065,
				 .arch = "i386", .model = "MacBookPro11,3", .updated = now };
}

static void put(struct bindings *b, uint8_t last, int64_t now, unsigned number)
{
	struct binding bd = client(last, now);

	assert_int_equal(bindings_put(b, &bd), 0);
	assert_int_equal(bd.number, number);
}

static bool bound(struct bindings *b, uint8_t last)
{
	struct binding bd, want = client(last, 0);

	return bindings_get(b, want.mac, &bd) == 0;
}

/* A server's own clients set its BSDP priority: every binding in a
 * database of its own; on a shared one (PostgreSQL), only those it made,
 * read again once a second. */
static void each_server_counts_its_own(void **state)
{
	char *dir = make_root();
	struct bindings *b = bindings_open(test_db(true), dir, NULL, NULL);
	const struct in_addr x = { htonl(0xc6120001) }, y = { htonl(0xc6120101) };
	const int64_t now = 1700000000;
	bool shared = test_pg_url() != NULL;

	(void)state;
	assert_non_null(b);
	for (uint8_t i = 1; i <= 5; i++) {
		struct binding bd = client(i, now);

		bd.server = i <= 3 ? x : y;
		assert_int_equal(bindings_put(b, &bd), 0);
	}
	assert_int_equal(bindings_count_of(b, x, now), shared ? 3 : 5);
	assert_int_equal(bindings_count_of(b, y, now), shared ? 2 : 5);
	assert_int_equal(bindings_release(b, client(1, now).mac, x), 0);
	/* Within the second, the count read is kept; after it, read again. */
	assert_int_equal(bindings_count_of(b, x, now), shared ? 3 : 4);
	assert_int_equal(bindings_count_of(b, x, now + BINDINGS_COUNT_OF_EVERY), shared ? 2 : 4);
	/* Another server's SELECT does not drop y's binding from x. */
	assert_int_equal(bindings_release(b, client(4, now).mac, x), 0);
	assert_true(bound(b, 4));
	bindings_close(b);
	remove_root(dir);
}

/* Apple's S_client_create: deleting or evicting the newest binding does
 * not hand its machine name out again, not even after a restart. */
static void numbers_are_never_reused(void **state)
{
	char *dir = make_root();
	struct bindings_policy p = { .max = 2 };
	struct bindings *b = bindings_open(test_db(true), dir, &p, NULL);
	struct binding gone = client(2, 0);

	(void)state;
	assert_non_null(b);
	put(b, 1, 100, 1);
	put(b, 2, 200, 2);
	assert_int_equal(bindings_release(b, gone.mac, (struct in_addr){ 0 }), 0);
	put(b, 3, 300, 3);
	put(b, 4, 400, 4); /* evicts 1 */
	put(b, 4, 500, 4); /* a rewrite keeps its number */
	bindings_close(b);
	b = bindings_open(test_db(false), dir, &p, NULL);
	assert_non_null(b);
	put(b, 1, 600, 5);
	assert_int_equal(bindings_count(b), 2);
	bindings_close(b);
	remove_root(dir);
}

/* At the cap, a new client evicts the binding seen least recently, where
 * a LIST (bindings_seen) counts as seeing it. */
static void cap_evicts_least_recently_seen(void **state)
{
	struct pruned_log log = { 0 };
	struct bindings_policy p = { .max = 3, .pruned = note_pruned, .ctx = &log };
	struct bindings *b = bindings_open(test_db(true), NULL, &p, NULL);
	struct binding bd, a = client(1, 0);

	(void)state;
	put(b, 1, 100, 1);
	put(b, 2, 200, 2);
	put(b, 3, 300, 3);
	assert_int_equal(bindings_get(b, a.mac, &bd), 0);
	assert_int_equal(bindings_seen(b, &bd, 100 + 2 * HOUR), 0);
	put(b, 4, 100 + 3 * HOUR, 4);
	assert_false(bound(b, 2));
	assert_true(bound(b, 1) && bound(b, 3) && bound(b, 4));
	put(b, 5, 100 + 4 * HOUR, 5);
	assert_false(bound(b, 3));
	assert_int_equal(bindings_count(b), 3);
	assert_int_equal(log.evicted, 2);
	assert_int_equal(log.expired, 0);
	bindings_close(b);
}

/* A LIST writes last_seen at most once an hour, so a booting lab costs no
 * write per LIST. */
static void seen_writes_at_most_hourly(void **state)
{
	struct bindings *b = bindings_open(test_db(true), NULL, NULL, NULL);
	struct binding bd, a = client(1, 0);

	(void)state;
	put(b, 1, 1000, 1);
	assert_int_equal(bindings_get(b, a.mac, &bd), 0);
	assert_int_equal(bindings_seen(b, &bd, 1000 + HOUR - 1), 0);
	assert_int_equal(bindings_get(b, a.mac, &bd), 0);
	assert_int_equal(bd.last_seen, 1000);
	assert_int_equal(bindings_seen(b, &bd, 1000 + HOUR), 0);
	assert_int_equal(bindings_get(b, a.mac, &bd), 0);
	assert_int_equal(bd.last_seen, 1000 + HOUR);
	assert_int_equal(bd.updated, 1000);
	bindings_close(b);
}

/* Expiry at start-up (bindings_prune) and with each new binding; the
 * in-memory count follows. */
static void unseen_bindings_expire(void **state)
{
	struct pruned_log log = { 0 };
	struct bindings_policy p = { .max = 100, .expiry = 10 * HOUR, .pruned = note_pruned,
				     .ctx = &log };
	struct bindings *b = bindings_open(test_db(true), NULL, &p, NULL);

	(void)state;
	put(b, 1, 100 * HOUR, 1);
	put(b, 2, 105 * HOUR, 2);
	put(b, 3, 108 * HOUR, 3);
	assert_int_equal(bindings_prune(b, 110 * HOUR), 0);
	assert_int_equal(bindings_count(b), 3);
	assert_int_equal(bindings_prune(b, 111 * HOUR), 0);
	assert_false(bound(b, 1));
	assert_int_equal(bindings_count(b), 2);
	put(b, 4, 117 * HOUR, 4); /* 2 goes; 3 was seen within 10 hours */
	assert_false(bound(b, 2));
	assert_true(bound(b, 3) && bound(b, 4));
	assert_int_equal(bindings_count(b), 2);
	assert_int_equal(log.expired, 2);
	assert_int_equal(log.evicted, 0);
	bindings_close(b);
}

/* A cap lowered between runs applies at start-up. */
static void lowered_cap_applies_at_start(void **state)
{
	char *dir = make_root();
	struct bindings_policy p = { .max = 10 };
	struct bindings *b = bindings_open(test_db(true), dir, &p, NULL);

	(void)state;
	for (uint8_t i = 1; i <= 5; i++)
		put(b, i, 100 * i, i);
	bindings_close(b);
	p.max = 2;
	b = bindings_open(test_db(false), dir, &p, NULL);
	assert_int_equal(bindings_count(b), 5);
	assert_int_equal(bindings_prune(b, 1000), 0);
	assert_int_equal(bindings_count(b), 2);
	assert_true(bound(b, 4) && bound(b, 5));
	bindings_close(b);
	remove_root(dir);
}

/* ---- schema versions ------------------------------------------------------ */

static void sql(const char *dir, const char *stmts)
{
	char path[PATH_MAX];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/bindings.sqlite", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, stmts, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* bsdpd 0.1.0's tables, word for word; version 0 (user_version unset). */
static const char schema_0_1_0[] =
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
	" number INTEGER NOT NULL);";

/* Two clients, numbers 5 and 9, and 12 handed out last (its client since
 * deleted): the upgrade keeps them, takes last_seen from updated, and the
 * next client is 13. */
static void version_0_database_is_upgraded(void **state)
{
	char *dir;
	struct bindings *b;
	struct binding bd, a = client(1, 0);

	(void)state;
	SKIP_ON_POSTGRES();
	dir = make_root();
	sql(dir, schema_0_1_0);
	sql(dir, "INSERT INTO clients VALUES (x'020000000001', 16777317, 'i386', 'M', "
		 "x'c6120002', 5, 5000);"
		 "INSERT INTO clients VALUES (x'020000000002', 16777317, 'i386', 'M', "
		 "x'c6120003', 9, 9000);"
		 "INSERT INTO next_number VALUES (1, 12);");
	b = bindings_open(NULL, dir, NULL, NULL);
	assert_non_null(b);
	assert_int_equal(bindings_count(b), 2);
	assert_int_equal(bindings_get(b, a.mac, &bd), 0);
	assert_int_equal(bd.number, 5);
	assert_int_equal(bd.last_seen, 5000);
	assert_int_equal(bd.ip.s_addr, inet_addr("198.18.0.2"));
	put(b, 3, 10000, 13);
	bindings_close(b);
	b = bindings_open(NULL, dir, NULL, NULL); /* now the current version: opened as is */
	assert_non_null(b);
	put(b, 4, 10001, 14);
	bindings_close(b);
	remove_root(dir);
}

/* Without a next_number row (no client ever deleted), the highest stored
 * number counts. */
static void version_0_without_counter_row(void **state)
{
	char *dir;
	struct bindings *b;

	(void)state;
	SKIP_ON_POSTGRES();
	dir = make_root();
	sql(dir, schema_0_1_0);
	sql(dir, "INSERT INTO clients VALUES (x'020000000001', 1, 'i386', 'M', "
		 "x'00000000', 7, 5000);");
	b = bindings_open(NULL, dir, NULL, NULL);
	assert_non_null(b);
	put(b, 2, 6000, 8);
	bindings_close(b);
	remove_root(dir);
}

/* A database from a later bsdpd is left alone, with a message that says
 * why. */
static void newer_schema_is_refused(void **state)
{
	char *dir;
	char *err = NULL;

	(void)state;
	SKIP_ON_POSTGRES();
	dir = make_root();
	sql(dir, schema_0_1_0);
	sql(dir, "PRAGMA user_version = 4;");
	assert_null(bindings_open(NULL, dir, NULL, &err));
	assert_non_null(err);
	assert_non_null(strstr(err, "bindings.sqlite: database schema version 4 is newer "
				    "than this bsdpd supports (3)"));
	free(err);
	remove_root(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(numbers_are_never_reused),
		cmocka_unit_test(each_server_counts_its_own),
		cmocka_unit_test(cap_evicts_least_recently_seen),
		cmocka_unit_test(seen_writes_at_most_hourly),
		cmocka_unit_test(unseen_bindings_expire),
		cmocka_unit_test(lowered_cap_applies_at_start),
		cmocka_unit_test(version_0_database_is_upgraded),
		cmocka_unit_test(version_0_without_counter_row),
		cmocka_unit_test(newer_schema_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
