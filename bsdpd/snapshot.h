/* SPDX-License-Identifier: MIT */
/*
 * The policy store's last good copy (store.c): every machine it reads and
 * every profile it loads or saves is kept here, so that while the
 * database cannot be reached (a PostgreSQL server down or restarting) a
 * boot is still answered with what the policy said before, not with the
 * template alone.  Issue 12: "each server keeps answering from its last
 * good snapshot".
 *
 * Owned by the loop thread, like the store.  Bounded: SNAPSHOT_MACHINES_MAX
 * machines (the first read since start, each about 0.8 KiB with its
 * labels), every profile.
 */
#ifndef BSDPD_SNAPSHOT_H
#define BSDPD_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>

#include "policy.h"

#define SNAPSHOT_MACHINES_MAX 20000

struct snapshot;

struct snapshot *snapshot_new(void);
void snapshot_free(struct snapshot *sn);

/* Keeps a copy of m (replacing the one of its MAC), unless the cap is
 * reached and m is new. */
void snapshot_put_machine(struct snapshot *sn, const struct machine *m);
/* Whether there is a copy of mac's record; it is copied into out. */
bool snapshot_machine(const struct snapshot *sn, const uint8_t mac[6], struct machine *out);
void snapshot_forget_machine(struct snapshot *sn, const uint8_t mac[6]);

/* The same for profiles, by name; out is profile_free'd by the caller. */
void snapshot_put_profile(struct snapshot *sn, const struct profile *p);
bool snapshot_profile(const struct snapshot *sn, const char *name, struct profile *out);
void snapshot_forget_profile(struct snapshot *sn, const char *name);

#endif
