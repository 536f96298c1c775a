/* SPDX-License-Identifier: MIT */
/*
 * The database the store's and bindings' tests run on: SQLite, or the
 * PostgreSQL server named by $BSDPD_TEST_DATABASE, which
 * tests/unit/run-pg.sh sets when it runs them a second time against a
 * throwaway cluster of its own.
 */
#ifndef BSDPD_TEST_DB_H
#define BSDPD_TEST_DB_H

#include "testlib.h"

#include "db.h"

/* The PostgreSQL URL, or NULL for SQLite. */
static inline const char *test_pg_url(void)
{
	const char *url = getenv("BSDPD_TEST_DATABASE");

	return url && url[0] ? url : NULL;
}

/* What bindings_open takes as its database: NULL on SQLite (the state
 * directory or memory decides), else the URL, its tables dropped first
 * when fresh, so that a test starts from nothing as a new file does. */
static inline const char *test_db(bool fresh)
{
	const char *url = test_pg_url();
	struct db *db;

	if (!url || !fresh)
		return url;
	assert_int_equal(db_open_postgres(url, &db, NULL), 0);
	assert_int_equal(db_exec(db, "DROP SCHEMA public CASCADE; CREATE SCHEMA public"), 0);
	db_close(db);
	return url;
}

/* For the tests of SQLite files written by older bsdpd. */
#define SKIP_ON_POSTGRES()                                                                   \
	do {                                                                                 \
		if (test_pg_url())                                                           \
			skip();                                                              \
	} while (0)

#endif
