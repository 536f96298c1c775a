/* SPDX-License-Identifier: MIT */
/*
 * Client bindings: which image each Mac selected, kept in SQLite under
 * --state-dir so it survives restarts (Apple kept the same record in
 * /var/db/bsdpd_clients; docs/bsdp.md §2.7).  The database also holds
 * the boot policy (store.h); bindings_open creates and upgrades the schema
 * of both, through bsdpd/db.h: in that SQLite file, or in a PostgreSQL
 * database several bsdpd share (--database).
 *
 * Anyone on the LAN can add a binding (a SELECT from a new MAC), so the
 * table is bounded: a cap, with the least recently seen binding evicted
 * first, and expiry of bindings not seen for a long time.
 */
#ifndef BSDPD_BINDINGS_H
#define BSDPD_BINDINGS_H

#include <netinet/in.h>
#include <stdint.h>

#include "bsdp.h"

/* Far above any NetBoot lab, small enough to keep the file a few MB. */
#define BINDINGS_DEFAULT_MAX 50000
#define BINDINGS_DEFAULT_EXPIRY_DAYS 90
/* A LIST or DISCOVER of a bound client refreshes its last_seen at most
 * this often, so that a lab booting all day costs no write per LIST. */
#define BINDINGS_SEEN_EVERY 3600

/* The files SQLite keeps in the state directory for the database: the
 * database, its write-ahead log and its shared-memory index; NULL ends it. */
extern const char *const bindings_files[];

struct binding {
	uint8_t mac[6];
	uint32_t image_id;
	char arch[BSDP_ARCH_MAX];
	char model[BSDP_MODEL_MAX];
	struct in_addr ip;
	unsigned number;       /* the NNN of machine name NetBootNNN */
	struct in_addr server; /* whose ACK[SELECT] made it: sub-option 3's address */
	int64_t updated;       /* Unix time of the last SELECT */
	int64_t last_seen;     /* Unix time of the last SELECT, LIST or DISCOVER */
};

struct bindings_policy {
	unsigned max;          /* bindings kept, at least 1 */
	int64_t expiry;        /* seconds unseen before a binding goes; 0: never */
	/* Told after each commit that removed bindings: how many, and why. */
	void (*pruned)(void *ctx, unsigned n, const char *why);
	void *ctx;
};

struct bindings;
struct db;

/* Opens the database, creating it if needed, and brings an older schema
 * up to date: the PostgreSQL server of database when it is a
 * postgresql:// URL (db_url_is_postgres), else the SQLite file in
 * directory dir, or an in-memory one when dir is NULL (tests).  policy
 * NULL means the defaults, unreported.  On failure returns NULL and,
 * when err is not NULL, a message to free(). */
struct bindings *bindings_open(const char *database, const char *dir,
			       const struct bindings_policy *policy, char **err);
void bindings_close(struct bindings *b);
/* The connection of b, for the policy store (store_open) to share: one
 * database, one schema version, one writer. */
struct db *bindings_db(struct bindings *b);

/* 0 and *out filled, -ENOENT when the MAC has no binding, -EIO on failure. */
int bindings_get(struct bindings *b, const uint8_t mac[6], struct binding *out);
/* Inserts or replaces the binding for bd->mac, at time bd->updated.  A new
 * binding gets the next machine number (never reused), written back into
 * bd->number, and first makes room under the policy. */
int bindings_put(struct bindings *b, struct binding *bd);
/* Notes that the client of bd (from bindings_get) was seen at now; writes
 * only when its last_seen is BINDINGS_SEEN_EVERY old. */
int bindings_seen(struct bindings *b, const struct binding *bd, int64_t now);
/* Removes the bindings the policy no longer allows at time now: expired
 * ones, then the least recently seen beyond the cap.  bsdpd calls it at
 * start-up; bindings_put applies it to each new binding. */
int bindings_prune(struct bindings *b, int64_t now);
/* Records the address a bound client was given by the site's DHCP server. */
int bindings_set_ip(struct bindings *b, const uint8_t mac[6], struct in_addr ip);
/* Removes mac's binding if server made it (or it predates the server
 * column): a SELECT that names another server means the client left this
 * one, and on a shared database another's binding is not ours to drop. */
int bindings_release(struct bindings *b, const uint8_t mac[6], struct in_addr server);
/* The bindings most recently SELECTed first, at most limit: fn for each
 * (stops at and returns its non-zero result), or -EIO. */
int bindings_newest(struct bindings *b, unsigned limit,
		    int (*fn)(void *ctx, const struct binding *bd), void *ctx);
/* Number of bound clients, or -EIO. */
int bindings_count(struct bindings *b);
/* The clients bound to server, for its BSDP priority (Apple: the base
 * minus its bound clients, so that several servers spread the Macs).
 * In a database of its own every binding is this bsdpd's, whichever of
 * its addresses a Mac chose: bindings_count.  In one several share, those
 * that server made, read again at most every BINDINGS_COUNT_OF_EVERY
 * seconds (an ACK[LIST] must not cost a query); -EIO before a first read. */
#define BINDINGS_COUNT_OF_EVERY 1
/* Whether bd is server's to act on: in a database of bsdpd's own every
 * binding is (whichever of its addresses the Mac chose); in a shared one,
 * those server made, and those older than the server column. */
bool bindings_is_ours(const struct bindings *b, const struct binding *bd, struct in_addr server);
int bindings_count_of(struct bindings *b, struct in_addr server, int64_t now);

#endif
