/* SPDX-License-Identifier: MIT */
/*
 * The JSON forms of the boot-policy records (docs/policy.md, the shapes
 * of the /api/v1 routes): a request body into a validated struct
 * profile, machine or group, and a record back out through the JSON
 * writer (json.h).
 *
 * A body is parsed once by the strict parser (lib/json.c) and must be
 * one object; a member this record does not have is refused, so a
 * misspelt field is never silently ignored.  Every error is -EINVAL
 * (-E2BIG for a body over JSON_PARSE_SIZE_MAX, -ENOMEM) with err naming
 * the field ("kernel", "initrds[1]", "selector.mac_prefix"; "" for the
 * body as a whole) and the reason.  Only the record's own fields are
 * checked here; whether a named profile exists is the store's (-ESRCH).
 */
#ifndef BSDPD_POLICY_JSON_H
#define BSDPD_POLICY_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "policy.h"
#include "store.h"

/* The body of PUT /api/v1/profiles/NAME: out (profile_free it, also on
 * failure) named name.  A "name" member, when there, must be name. */
int policy_json_profile(const char *body, size_t n, const char *name, struct profile *out,
			struct policy_error *err);
/* PUT /api/v1/machines/MAC: the admin's fields of machine mac.  The
 * fields bsdpd saw (model, arch ...) and next_boot are not the body's. */
int policy_json_machine(const char *body, size_t n, const uint8_t mac[6], struct machine *out,
			struct policy_error *err);
/* PUT /api/v1/groups/NAME. */
int policy_json_group(const char *body, size_t n, const char *name, struct policy_group *out,
		      struct policy_error *err);
/* {"profile":"NAME"}: PUT /api/v1/default and /api/v1/machines/MAC/next-boot. */
int policy_json_profile_ref(const char *body, size_t n, char out[POLICY_NAME_MAX],
			    struct policy_error *err);

/* The records as the API returns them (each one JSON object). */
void policy_json_write_profile(struct json *j, const struct profile *p);
/* With "last_event": its newest event's kind, time, ok, detail and rule,
 * or null when last is NULL. */
void policy_json_write_machine(struct json *j, const struct machine *m,
			       const struct event *last);
void policy_json_write_group(struct json *j, const struct policy_group *g);
void policy_json_write_event(struct json *j, const struct event *e);
/* RFC 3339 UTC: "2026-12-01T22:00:00Z", or with micros ".123456Z". */
void policy_json_time(int64_t unix_seconds, int micros, char out[32]);
/* The same with micros, from microseconds since the epoch (before it too). */
void policy_json_time_us(int64_t unix_us, char out[32]);

#endif
