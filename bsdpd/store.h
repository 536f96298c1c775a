/* SPDX-License-Identifier: MIT */
/*
 * The policy store: profiles, machines, groups, the default profile and
 * boot events, in the same database as the BSDP bindings (bindings.h)
 * under --state-dir, or in the PostgreSQL database of --database that
 * several bsdpd share.  This header is the interface; bsdpd/store.c keeps
 * it in SQL through bsdpd/db.h.
 *
 * Owned by the loop thread, like everything else in bsdpd: libmicrohttpd
 * runs there too (bsdpd/http.c), so no call here takes a lock.
 *
 * Every write is one transaction: it is saved whole or not at all.
 * Errors: -ENOENT (no such record: 404), -ESRCH (it names a profile that
 * does not exist: 422, err->field says which), -EBUSY (the record is
 * still named by another: 409, err says by what), -EEXIST (a group that
 * would tie with another: 409, err names it), -EINVAL (invalid: 400,
 * err), -EIO (the database failed; logged).
 */
#ifndef BSDPD_STORE_H
#define BSDPD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

#define STORE_EVENTS_DEFAULT_MAX 100000
#define STORE_EVENTS_DEFAULT_AGE_DAYS 30
/* Anyone on the LAN can make bsdpd see a new MAC, so the machines that
 * registered themselves are bounded, like the bindings (bindings.h). */
#define STORE_MACHINES_DEFAULT_MAX 100000

struct bindings;
struct store;

struct store_options {
	unsigned events_max;      /* events kept; 0: the default */
	int64_t events_max_age;   /* seconds; 0: the default */
	/* Machines kept; 0: the default.  At the cap, a new machine seen on
	 * the wire evicts the least recently seen one that has no field set
	 * by the admin, or is not registered (-ENOSPC) when there is none. */
	unsigned machines_max;
};

/* Opens the policy tables in the database of b (bindings_open creates or
 * upgrades them); NULL and *err (to free) on failure.  The store shares
 * b's connection: close it before b. */
struct store *store_open(struct bindings *b, const struct store_options *opt, char **err);
void store_close(struct store *s);

/* Picks up what another bsdpd sharing the database changed (db.h
 * db_changed): the groups, the default and the machine count kept in
 * memory are read again.  Costs nothing when nothing changed, and nothing
 * on SQLite, where bsdpd is the only writer.  Called at the start of each
 * boot's resolution and API request, before store_groups or
 * store_default; a failed read is logged, and the old copies stay. */
void store_sync(struct store *s);

/* Groups the writes that follow into one transaction until
 * store_batch_end, each still whole or not at all: bsdpd opens one per
 * step of its loop in which a boot wrote something (registration, events,
 * a next boot spent), so a boot storm costs a commit per step, not per
 * request.  The in-memory copies (groups, the default, the machine count)
 * assume the batch commits; a failed commit is logged. */
int store_batch_begin(struct store *s);
int store_batch_end(struct store *s);

/* ---- profiles ------------------------------------------------------------- */
/* Validates and saves p (created or replaced): menu items must name
 * existing profiles (-ESRCH).  *created tells which. */
int store_profile_put(struct store *s, const struct profile *p, bool *created,
		      struct policy_error *err);
/* 0 and *out (profile_free it), or -ENOENT. */
int store_profile_get(struct store *s, const char *name, struct profile *out);
/* -EBUSY while a machine, group, menu or the default names it. */
int store_profile_delete(struct store *s, const char *name, struct policy_error *err);
/* Calls fn for each profile in name order; stops at and returns fn's
 * non-zero result.  The profile is valid during the call only. */
int store_profiles_each(struct store *s, int (*fn)(void *ctx, const struct profile *p),
			void *ctx);

/* ---- machines ------------------------------------------------------------- */
/* Saves the admin's fields of m (hostname, labels, profile, next_boot,
 * local, image), keeping what was seen of it. */
int store_machine_put(struct store *s, const struct machine *m, bool *created,
		      struct policy_error *err);
/* While the database cannot be read, this and store_profile_get answer
 * with the store's last copy (snapshot.h): 0 then, and store_away is true
 * until a read succeeds again.  The copy holds every machine read since
 * start, and every profile as loaded or saved.  A machine's copy has no
 * next boot: spending one needs the database. */
int store_machine_get(struct store *s, const uint8_t mac[6], struct machine *out);
bool store_away(const struct store *s);
int store_machine_delete(struct store *s, const uint8_t mac[6]);
/* Each machine in MAC order, with its newest event (NULL: none), read in
 * one statement. */
struct event;
int store_machines_each(struct store *s,
			int (*fn)(void *ctx, const struct machine *m, const struct event *last),
			void *ctx);
int store_machines_count(struct store *s);
/* A machine seen again within this many seconds, unchanged, costs no
 * write: a booting machine is seen by BSDP, proxyDHCP and HTTP in turn. */
#define STORE_SEEN_EVERY 60
/* Counts the rows again, for what another connection added or deleted
 * (the count above follows only this one's writes): the count, or -EIO. */
int store_machines_recount(struct store *s);
/* A machine seen on the wire: registers it the first time (under the
 * cap of store_options), else updates model, arch, uuid, ip (those of
 * seen that are non-empty) and last_seen.  Writes at most once a minute
 * per machine unless something changed. */
int store_machine_seen(struct store *s, const struct machine *seen, int64_t now);
/* Next boot: set (-ESRCH for a missing profile), clear, and consume: the
 * consume clears it only when it still is `profile`, exactly once even
 * when two requests race; 1 when this call consumed it, 0 when not. */
int store_next_boot_set(struct store *s, const uint8_t mac[6], const char *profile,
			struct policy_error *err);
int store_next_boot_clear(struct store *s, const uint8_t mac[6]);
int store_next_boot_consume(struct store *s, const uint8_t mac[6], const char *profile);

/* ---- groups and the default ------------------------------------------------ */
/* -EEXIST when it would tie with another (policy_groups_conflict). */
int store_group_put(struct store *s, const struct policy_group *g, bool *created,
		    struct policy_error *err);
int store_group_get(struct store *s, const char *name, struct policy_group *out);
int store_group_delete(struct store *s, const char *name);
/* All groups, in name order; valid until the next write to the store.
 * Kept in memory, so a boot's resolution does not read the database. */
const struct policy_group *store_groups(struct store *s, size_t *n);
int store_default_set(struct store *s, const char *profile, struct policy_error *err);
/* The default profile's name; "" when none is set. */
const char *store_default(struct store *s);

/* ---- boot events ---------------------------------------------------------------- */
enum event_kind {
	EVENT_BSDP_LIST, EVENT_BSDP_SELECT, EVENT_TFTP, EVENT_PROXY_OFFER, EVENT_SCRIPT,
	EVENT_HTTP_FILE, EVENT_NEXT_BOOT_CONSUMED, EVENT_KIND_COUNT
};

struct event {
	int64_t id;                /* set by store_event_add */
	int64_t time_us;           /* Unix time in microseconds */
	uint8_t mac[6];
	bool has_mac;
	enum event_kind kind;
	char detail[POLICY_PATH_MAX]; /* file path, profile name, image...; sanitized */
	char rule[POLICY_NAME_MAX];   /* EVENT_SCRIPT: policy_rule_name; EVENT_PROXY_OFFER: "pxe"/"ipxe" */
	uint64_t bytes;
	uint32_t duration_ms;
	bool ok;                   /* the outcome: complete, or broken off / failed */
};
const char *event_kind_name(enum event_kind k);  /* "bsdp-list", "tftp" ... */
int event_kind_parse(const char *s, enum event_kind *k);
/* Records e (e->id is set) and drops the oldest beyond the cap and age. */
int store_event_add(struct store *s, struct event *e);
/* The same in two: many inserts, then one trim after the newest of them
 * (the recorder's batches: a trim per event was a third of its work). */
int store_event_insert(struct store *s, struct event *e);
int store_events_trim(struct store *s, const struct event *newest);
/* Events after since_us (and of mac when not NULL), oldest first, at
 * most limit; fn as in store_profiles_each. */
int store_events_each(struct store *s, const uint8_t *mac, int64_t since_us, unsigned limit,
		      int (*fn)(void *ctx, const struct event *e), void *ctx);
/* Events with an id above after_id, in id order, at most limit (an event
 * stream's Last-Event-ID). */
int store_events_after(struct store *s, int64_t after_id, unsigned limit,
		       int (*fn)(void *ctx, const struct event *e), void *ctx);
/* The machine's newest event: 0 and *out, -ENOENT when it has none, -EIO. */
int store_event_last(struct store *s, const uint8_t mac[6], struct event *out);

#endif
