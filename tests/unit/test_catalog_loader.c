/* SPDX-License-Identifier: MIT */
/*
 * The catalog loader: loads run on a thread of their own and come back
 * through an eventfd; requests during a load queue exactly one more; a
 * failed load hands back no catalog; freeing never waits for a load that
 * is stuck (a FIFO where a plist should be, which blocks open() unless
 * the nbi loader refuses special files before opening them).
 */
#include <poll.h>
#include <sys/stat.h>

#include "catalog_loader.h"
#include "testlib.h"

/* Waits up to 10 s for the loader's eventfd, then collects. */
static int collect(struct catalog_loader *ld, struct catalog_snap **out, bool *queued)
{
	struct pollfd p = { .fd = catalog_loader_fd(ld), .events = POLLIN };

	assert_int_equal(poll(&p, 1, 10000), 1);
	return catalog_loader_collect(ld, out, queued);
}

static void request(struct catalog_loader *ld, enum catalog_request want)
{
	enum catalog_request how;

	assert_int_equal(catalog_loader_request(ld, NULL, &how), 0);
	assert_int_equal(how, want);
}

static void loads_on_its_thread(void **state)
{
	char *root = make_root();
	struct catalog_loader *ld = catalog_loader_new(root);
	struct catalog_snap *snap, *none;
	bool queued;

	(void)state;
	assert_non_null(ld);
	add_bundle(root, "iPXE", IPXE_BODY(101, "iPXE", ""));
	assert_int_equal(catalog_loader_collect(ld, &none, &queued), -EAGAIN);
	request(ld, CATALOG_LOAD_STARTED);
	assert_int_equal(collect(ld, &snap, &queued), 0);
	assert_false(queued);
	assert_int_equal(snap->cat.n_images, 1);
	assert_string_equal(snap->cat.images[0].name, "iPXE");
	assert_int_equal(catalog_loader_collect(ld, &none, &queued), -EAGAIN);
	assert_null(none);
	catalog_snap_unref(snap);
	catalog_loader_free(ld);
	remove_root(root);
}

/* Several SIGHUPs during one load: one more load after it, not several.
 * The load counts as running until collected, so this holds however fast
 * the thread is. */
static void requests_during_a_load_queue_one(void **state)
{
	char *root = make_root();
	struct catalog_loader *ld = catalog_loader_new(root);
	struct catalog_snap *first, *second;
	bool queued;

	(void)state;
	request(ld, CATALOG_LOAD_STARTED);
	request(ld, CATALOG_LOAD_QUEUED);
	request(ld, CATALOG_LOAD_QUEUED);
	assert_int_equal(collect(ld, &first, &queued), 0);
	assert_true(queued);
	add_bundle(root, "iPXE", IPXE_BODY(101, "iPXE", ""));
	request(ld, CATALOG_LOAD_STARTED);
	assert_int_equal(collect(ld, &second, &queued), 0);
	assert_false(queued);
	assert_int_equal(first->cat.n_images, 0);
	assert_int_equal(second->cat.n_images, 1);
	catalog_snap_unref(first);
	catalog_snap_unref(second);
	catalog_loader_free(ld);
	remove_root(root);
}

/* An unreadable root yields an error and no snapshot: the caller keeps
 * serving the one it has. */
static void failed_load_returns_no_catalog(void **state)
{
	struct catalog_loader *ld = catalog_loader_new("/nonexistent/bsdpd-test-root");
	struct catalog_snap *snap;
	bool queued;

	(void)state;
	request(ld, CATALOG_LOAD_STARTED);
	assert_int_equal(collect(ld, &snap, &queued), -ENOENT);
	assert_null(snap);
	catalog_loader_free(ld);
}

/* A reload hands the served catalog to the thread, so the bundle that
 * holds an image ID keeps it against a newcomer that would win on a cold
 * start (here: one that claims it in the served snapshot). */
static void reload_keeps_the_served_holder(void **state)
{
	char *root = make_root();
	struct catalog_loader *ld = catalog_loader_new(root);
	struct catalog_snap *served, *fresh;
	enum catalog_request how;
	bool queued;

	(void)state;
	add_bundle(root, "Alpha", IPXE_BODY(9, "Alpha", ""));
	add_bundle(root, "Old", IPXE_BODY(9, "Old", ""));
	assert_int_equal(catalog_snap_load(root, NULL, &served), 0);
	assert_string_equal(served->cat.images[0].bundle, "Alpha.nbi");
	free(served->cat.images[0].bundle);
	served->cat.images[0].bundle = strdup("Old.nbi");
	assert_int_equal(catalog_loader_request(ld, served, &how), 0);
	catalog_snap_unref(served);     /* the thread holds its own reference */
	assert_int_equal(collect(ld, &fresh, &queued), 0);
	assert_int_equal(fresh->cat.n_images, 1);
	assert_string_equal(fresh->cat.images[0].bundle, "Old.nbi");
	catalog_snap_unref(fresh);
	catalog_loader_free(ld);
	remove_root(root);
}

/* A holder's reference keeps a snapshot alive past the loop's unref. */
static void references_outlive_the_loop(void **state)
{
	char *root = make_root();
	struct catalog_snap *snap, *reader;

	(void)state;
	add_bundle(root, "iPXE", IPXE_BODY(101, "iPXE", ""));
	assert_int_equal(catalog_snap_load(root, NULL, &snap), 0);
	reader = catalog_snap_ref(snap);
	catalog_snap_unref(snap);
	assert_string_equal(reader->cat.images[0].name, "iPXE");
	catalog_snap_unref(reader);
	assert_int_equal(catalog_snap_load("/nonexistent/bsdpd-test-root", NULL, &snap), -ENOENT);
	assert_null(snap);
	remove_root(root);
}

/* Freeing the loader with a load in flight returns at once, whether the
 * load is stuck or not: this test would hang otherwise.  The thread frees
 * what is left when it ends; a thread still stuck in open() of the
 * (by then unlinked) FIFO ends with the process. */
static void free_does_not_wait_for_a_stuck_load(void **state)
{
	char *root = make_root();
	char path[PATH_MAX];
	struct catalog_loader *ld = catalog_loader_new(root);

	(void)state;
	snprintf(path, sizeof(path), "%s/Stuck.nbi", root);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/Stuck.nbi/NBImageInfo.plist", root);
	assert_int_equal(mkfifo(path, 0644), 0);
	request(ld, CATALOG_LOAD_STARTED);
	catalog_loader_free(ld);
	remove_root(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(loads_on_its_thread),
		cmocka_unit_test(reload_keeps_the_served_holder),
		cmocka_unit_test(requests_during_a_load_queue_one),
		cmocka_unit_test(failed_load_returns_no_catalog),
		cmocka_unit_test(references_outlive_the_loop),
		cmocka_unit_test(free_does_not_wait_for_a_stuck_load),
	};

	nb_init();
	return cmocka_run_group_tests_name("catalog_loader", tests, NULL, NULL);
}
