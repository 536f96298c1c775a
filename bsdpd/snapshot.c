/* SPDX-License-Identifier: MIT */
/*
 * The policy store's last good copy (see snapshot.h): two chained hash
 * tables, machines by MAC and profiles by name.
 */
#include "snapshot.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define BUCKETS 4096 /* a power of two */

struct entry {
	struct entry *next;
	uint8_t key[POLICY_NAME_MAX]; /* a MAC's 6 bytes, or a name and its NUL */
	size_t key_len;
	void *value;                  /* a struct machine's used part, a struct profile */
};

struct table {
	struct entry *bucket[BUCKETS];
	size_t n;
};

struct snapshot {
	struct table machines, profiles;
};

/* FNV-1a: the keys are a MAC or a profile's name, not chosen to collide
 * (a MAC anyone may send only fills the machines' cap, see snapshot.h). */
static size_t hash(const uint8_t *key, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ key[i]) * 16777619u;
	return h & (BUCKETS - 1);
}

static bool is_key(const struct entry *e, const void *key, size_t n)
{
	return e->key_len == n && memcmp(e->key, key, n) == 0;
}

/* Where key's entry is linked from, or where it would be. */
static struct entry **slot(struct table *t, const void *key, size_t n)
{
	struct entry **e = &t->bucket[hash(key, n)];

	while (*e && !is_key(*e, key, n))
		e = &(*e)->next;
	return e;
}

static const struct entry *find(const struct table *t, const void *key, size_t n)
{
	const struct entry *e = t->bucket[hash(key, n)];

	while (e && !is_key(e, key, n))
		e = e->next;
	return e;
}

static void profile_value_free(void *p)
{
	profile_free(p);
	free(p);
}

/* Puts value under key, freeing the old one; false (value not taken)
 * when a new key would pass max. */
static bool put(struct table *t, const void *key, size_t n, void *value, size_t max,
		void (*value_free)(void *))
{
	struct entry **e = slot(t, key, n);

	if (*e) {
		value_free((*e)->value);
		(*e)->value = value;
		return true;
	}
	if (t->n >= max || !(*e = calloc(1, sizeof(**e))))
		return false;
	memcpy((*e)->key, key, n);
	(*e)->key_len = n;
	(*e)->value = value;
	t->n++;
	return true;
}

static void forget(struct table *t, const void *key, size_t n, void (*value_free)(void *))
{
	struct entry **e = slot(t, key, n), *gone = *e;

	if (!gone)
		return;
	*e = gone->next;
	value_free(gone->value);
	free(gone);
	t->n--;
}

static void table_free(struct table *t, void (*value_free)(void *))
{
	for (size_t b = 0; b < BUCKETS; b++) {
		for (struct entry *e = t->bucket[b], *next; e; e = next) {
			next = e->next;
			value_free(e->value);
			free(e);
		}
	}
}

struct snapshot *snapshot_new(void)
{
	return calloc(1, sizeof(struct snapshot));
}

void snapshot_free(struct snapshot *sn)
{
	if (!sn)
		return;
	table_free(&sn->machines, free);
	table_free(&sn->profiles, profile_value_free);
	free(sn);
}

/* ---- machines ------------------------------------------------------------------ */

static size_t machine_used(const struct machine *m)
{
	return offsetof(struct machine, labels) + m->n_labels * sizeof(m->labels[0]);
}

void snapshot_put_machine(struct snapshot *sn, const struct machine *m)
{
	size_t n = machine_used(m);
	struct machine *copy = malloc(n);

	if (!copy)
		return;
	memcpy(copy, m, n);
	if (!put(&sn->machines, m->mac, 6, copy, SNAPSHOT_MACHINES_MAX, free))
		free(copy);
}

bool snapshot_machine(const struct snapshot *sn, const uint8_t mac[6], struct machine *out)
{
	const struct entry *e = find(&sn->machines, mac, 6);
	const struct machine *m = e ? e->value : NULL;

	if (!m)
		return false;
	memset(out, 0, sizeof(*out));
	memcpy(out, m, machine_used(m));
	return true;
}

void snapshot_forget_machine(struct snapshot *sn, const uint8_t mac[6])
{
	forget(&sn->machines, mac, 6, free);
}

/* ---- profiles -------------------------------------------------------------------- */

/* A copy that owns its template. */
static bool profile_copy(const struct profile *p, struct profile *out)
{
	*out = *p;
	out->template = NULL;
	return !p->template || (out->template = strdup(p->template));
}

void snapshot_put_profile(struct snapshot *sn, const struct profile *p)
{
	size_t n = strnlen(p->name, sizeof(p->name) - 1) + 1;
	struct profile *copy = malloc(sizeof(*copy));

	if (!copy || !profile_copy(p, copy)) {
		free(copy);
		return;
	}
	if (!put(&sn->profiles, p->name, n, copy, SIZE_MAX, profile_value_free))
		profile_value_free(copy);
}

bool snapshot_profile(const struct snapshot *sn, const char *name, struct profile *out)
{
	const struct entry *e = find(&sn->profiles, name, strnlen(name, POLICY_NAME_MAX - 1) + 1);

	memset(out, 0, sizeof(*out));
	return e && profile_copy(e->value, out);
}

void snapshot_forget_profile(struct snapshot *sn, const char *name)
{
	forget(&sn->profiles, name, strnlen(name, POLICY_NAME_MAX - 1) + 1, profile_value_free);
}
