/* SPDX-License-Identifier: MIT */
/*
 * Client bindings: which image each Mac selected, kept in SQLite under
 * --state-dir so it survives restarts (Apple kept the same record in
 * /var/db/bsdpd_clients; docs/bsdp.md §2.7).  The only file that includes
 * sqlite3.h.
 */
#ifndef BSDPD_BINDINGS_H
#define BSDPD_BINDINGS_H

#include <netinet/in.h>
#include <stdint.h>

#include "bsdp.h"

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
	int64_t updated;       /* Unix time of the last SELECT */
};

struct bindings;

/* Opens (creating if needed) the database in directory dir, or an
 * in-memory one when dir is NULL (tests).  On failure returns NULL and,
 * when err is not NULL, a message to free(). */
struct bindings *bindings_open(const char *dir, char **err);
void bindings_close(struct bindings *b);

/* 0 and *out filled, -ENOENT when the MAC has no binding, -EIO on failure. */
int bindings_get(struct bindings *b, const uint8_t mac[6], struct binding *out);
/* Inserts or replaces the binding for bd->mac.  A new binding gets the next
 * machine number (never reused), written back into bd->number. */
int bindings_put(struct bindings *b, struct binding *bd);
/* Records the address a bound client was given by the site's DHCP server. */
int bindings_set_ip(struct bindings *b, const uint8_t mac[6], struct in_addr ip);
int bindings_delete(struct bindings *b, const uint8_t mac[6]);
/* Number of bound clients, or -EIO. */
int bindings_count(struct bindings *b);

#endif
