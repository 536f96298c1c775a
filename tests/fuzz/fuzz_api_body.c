/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for what an API client's body becomes: the first byte
 * picks the record ('p' profile, 'm' machine, 'g' group, anything else
 * {"profile":NAME}), the rest is the body.  Besides the sanitizers it
 * checks:
 *   - a body is refused with -EINVAL or -E2BIG and a message, or gives a
 *     record that its validator (policy.c) accepts;
 *   - a profile or group written back as JSON reads back to the same
 *     record (writing it again gives the same text), and a machine
 *     written out parses.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_json.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t MAC[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

struct text {
	char *s;
	size_t n;
};

static struct text write_profile(const struct profile *p)
{
	struct text t = { 0 };
	FILE *f = open_memstream(&t.s, &t.n);
	struct json j;

	CHECK(f);
	json_init(&j, f, JSON_COMPACT);
	policy_json_write_profile(&j, p);
	CHECK(fclose(f) == 0);
	return t;
}

static struct text write_group(const struct policy_group *g)
{
	struct text t = { 0 };
	FILE *f = open_memstream(&t.s, &t.n);
	struct json j;

	CHECK(f);
	json_init(&j, f, JSON_COMPACT);
	policy_json_write_group(&j, g);
	CHECK(fclose(f) == 0);
	return t;
}

static void check_refusal(int rc, const struct policy_error *err)
{
	CHECK(rc == -EINVAL || rc == -E2BIG);
	CHECK(err->msg[0] != '\0');
}

static void profile_round_trip(const char *body, size_t n)
{
	struct profile p, q;
	struct policy_error err;
	struct text a, b;
	int rc = policy_json_profile(body, n, "fuzz", &p, &err);

	if (rc < 0) {
		check_refusal(rc, &err);
		profile_free(&p);
		return;
	}
	CHECK(profile_validate(&p, NULL) == 0);
	a = write_profile(&p);
	CHECK(policy_json_profile(a.s, a.n, "fuzz", &q, &err) == 0);
	b = write_profile(&q);
	CHECK(a.n == b.n && memcmp(a.s, b.s, a.n) == 0);
	free(a.s);
	free(b.s);
	profile_free(&p);
	profile_free(&q);
}

static void group_round_trip(const char *body, size_t n)
{
	struct policy_group g, h;
	struct policy_error err;
	struct text a, b;
	int rc = policy_json_group(body, n, "fuzz", &g, &err);

	if (rc < 0) {
		check_refusal(rc, &err);
		return;
	}
	CHECK(group_validate(&g, NULL) == 0);
	a = write_group(&g);
	CHECK(policy_json_group(a.s, a.n, "fuzz", &h, &err) == 0);
	b = write_group(&h);
	CHECK(a.n == b.n && memcmp(a.s, b.s, a.n) == 0);
	free(a.s);
	free(b.s);
}

static void machine_written(const char *body, size_t n)
{
	struct machine m;
	struct policy_error err;
	struct json_doc doc;
	struct json_parse_error pe;
	char *s = NULL;
	size_t len = 0;
	FILE *f;
	struct json j;
	int rc = policy_json_machine(body, n, MAC, &m, &err);

	if (rc < 0) {
		check_refusal(rc, &err);
		return;
	}
	CHECK(machine_validate(&m, NULL) == 0);
	f = open_memstream(&s, &len);
	CHECK(f);
	json_init(&j, f, JSON_COMPACT);
	policy_json_write_machine(&j, &m, NULL);
	CHECK(fclose(f) == 0);
	CHECK(json_parse(s, len, &doc, &pe) == 0);
	json_doc_free(&doc);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data + 1;
	char name[POLICY_NAME_MAX];
	struct policy_error err;
	int rc;

	if (size == 0)
		return 0;
	switch (data[0]) {
	case 'p': profile_round_trip(body, size - 1); break;
	case 'g': group_round_trip(body, size - 1); break;
	case 'm': machine_written(body, size - 1); break;
	default:
		rc = policy_json_profile_ref(body, size - 1, name, &err);
		if (rc < 0)
			check_refusal(rc, &err);
		else
			CHECK(policy_name_valid(name, NULL) == 0);
	}
	return 0;
}
