/* SPDX-License-Identifier: MIT */
/*
 * The store's last good copy (bsdpd/snapshot.c): a machine comes back
 * whole with only its labels kept, replaced and forgotten by MAC; the cap
 * keeps the machines already there; a profile's copy owns its template.
 * (That the store answers from it while PostgreSQL is down is
 * test_pg_campus.sh's.)
 */
#include "testlib.h"

#include "snapshot.h"

static struct machine machine(unsigned i, size_t n_labels)
{
	struct machine m = { .mac = { 0x52, 0x54, 0x00, (uint8_t)(i >> 16), (uint8_t)(i >> 8),
				      (uint8_t)i },
			     .n_labels = n_labels, .last_seen = 1700000000 + i };

	snprintf(m.profile, sizeof(m.profile), "p%u", i);
	snprintf(m.hostname, sizeof(m.hostname), "lab-%u", i);
	for (size_t l = 0; l < n_labels; l++) {
		snprintf(m.labels[l].key, sizeof(m.labels[l].key), "k%zu", l);
		snprintf(m.labels[l].value, sizeof(m.labels[l].value), "v%zu", l);
	}
	return m;
}

static void machines_come_back_whole(void **state)
{
	struct snapshot *sn = snapshot_new();
	struct machine m = machine(1, 3), got, other = machine(2, 0);

	(void)state;
	assert_false(snapshot_machine(sn, m.mac, &got));
	snapshot_put_machine(sn, &m);
	snapshot_put_machine(sn, &other);
	assert_true(snapshot_machine(sn, m.mac, &got));
	assert_memory_equal(&got, &m, sizeof(m));
	snprintf(m.profile, sizeof(m.profile), "changed");
	m.n_labels = 1;
	snapshot_put_machine(sn, &m);
	assert_true(snapshot_machine(sn, m.mac, &got));
	assert_string_equal(got.profile, "changed");
	assert_int_equal(got.n_labels, 1);
	assert_string_equal(got.labels[1].key, ""); /* nothing past the labels kept */
	snapshot_forget_machine(sn, m.mac);
	assert_false(snapshot_machine(sn, m.mac, &got));
	assert_true(snapshot_machine(sn, other.mac, &got));
	snapshot_free(sn);
}

static void the_cap_keeps_what_is_there(void **state)
{
	struct snapshot *sn = snapshot_new();
	struct machine m, got;

	(void)state;
	for (unsigned i = 0; i < SNAPSHOT_MACHINES_MAX + 1; i++) {
		m = machine(i, 0);
		snapshot_put_machine(sn, &m);
	}
	assert_false(snapshot_machine(sn, m.mac, &got));
	m = machine(0, 2);
	snapshot_put_machine(sn, &m); /* a known one is still replaced */
	assert_true(snapshot_machine(sn, m.mac, &got));
	assert_int_equal(got.n_labels, 2);
	snapshot_free(sn);
}

static void profiles_own_their_template(void **state)
{
	struct snapshot *sn = snapshot_new();
	struct profile p = { .name = "custom", .kind = PROFILE_SCRIPT }, got;

	(void)state;
	p.template = strdup("#!ipxe\necho {{hostname}}\n");
	snapshot_put_profile(sn, &p);
	profile_free(&p);
	assert_true(snapshot_profile(sn, "custom", &got));
	assert_string_equal(got.template, "#!ipxe\necho {{hostname}}\n");
	assert_int_equal(got.kind, PROFILE_SCRIPT);
	profile_free(&got);
	assert_false(snapshot_profile(sn, "custo", &got));
	snapshot_forget_profile(sn, "custom");
	assert_false(snapshot_profile(sn, "custom", &got));
	snapshot_free(sn);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(machines_come_back_whole),
		cmocka_unit_test(the_cap_keeps_what_is_there),
		cmocka_unit_test(profiles_own_their_template),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
