/* SPDX-License-Identifier: MIT */
/*
 * `nbi create` (nbi/bundle.c): the bundle it writes is the one bsdpd's
 * catalog loads, with Apple's keys and defaults; the index is chosen so
 * that no ID is ever shared; and a failure at any step leaves neither the
 * target nor the temporary directory behind.
 */
#include "nbi_testlib.h"

struct fixture {
	char *root;         /* the image root the bundles go into */
	char *src;          /* where the boot files come from */
	char *x64, *ia32;
	char target[PATH_MAX];
	struct nbi_create c;
	struct nb_problems problems;
	struct nb_image made;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct pe_spec x64 = PE_X64, ia32 = PE_IA32;

	assert_non_null(f);
	f->root = make_root();
	f->src = make_root();
	f->x64 = write_pe(f->src, "snponly.efi", &x64);
	f->ia32 = write_pe(f->src, "snponly-ia32.efi", &ia32);
	PATHF(f->target, "%s/iPXE.nbi", f->root);
	f->c = (struct nbi_create){ .booter = f->x64, .output = f->target, .kind = -1,
				    .type = NB_TYPE_BOOTFILE_ONLY };
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	nb_image_clear(&f->made);
	nb_problems_free(&f->problems);
	remove_root(f->root);
	remove_root(f->src);
	free(f->x64);
	free(f->ia32);
	free(f);
	return 0;
}

static int create(struct fixture *f)
{
	nb_image_clear(&f->made);
	nb_problems_free(&f->problems);
	return nbi_create_bundle(&f->c, &f->made, &f->problems);
}

static void create_ok(struct fixture *f)
{
	int r = create(f);

	for (size_t i = 0; r < 0 && i < f->problems.n; i++)
		print_message("%s: %s\n", f->problems.v[i].path, f->problems.v[i].message);
	assert_int_equal(r, 0);
}

static void load_catalog(struct fixture *f, struct nb_catalog *cat)
{
	assert_int_equal(nb_catalog_load(f->root, cat), 0);
	for (size_t i = 0; i < cat->problems.n; i++)
		print_message("%s: %s\n", cat->problems.v[i].path, cat->problems.v[i].message);
}

/* What the catalog bsdpd serves from makes of a default bundle. */
static void defaults_load_in_the_catalog(void **state)
{
	struct fixture *f = *state;
	struct nb_catalog cat;
	const struct nb_image *img;

	create_ok(f);
	load_catalog(f, &cat);
	assert_int_equal(cat.problems.n, 0);
	assert_int_equal(cat.n_images, 1);
	img = &cat.images[0];
	assert_string_equal(img->bundle, "iPXE.nbi");
	assert_string_equal(img->name, "iPXE");
	assert_string_equal(img->description, "iPXE");
	assert_int_equal(img->id, 0x01000001);
	assert_int_equal(img->format, NB_FORMAT_XML);
	assert_int_equal(img->type, NB_TYPE_BOOTFILE_ONLY);
	assert_int_equal(img->archs.n, 1);
	assert_string_equal(img->archs.v[0], "i386");
	assert_string_equal(img->boot_file, "booter");
	assert_true(img->enabled);
	assert_false(img->is_default);
	assert_false(img->install);
	assert_int_equal(img->enabled_models.n + img->disabled_models.n, 0);
	assert_string_equal(f->made.name, "iPXE");
	nb_catalog_clear(&cat);
}

/* The boot file is the input, byte for byte. */
static void booter_is_copied(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX];
	size_t a, b;
	uint8_t *in, *out;

	create_ok(f);
	PATHF(path, "%s/i386/booter", f->target);
	in = slurp(f->x64, &a);
	out = slurp(path, &b);
	assert_int_equal(a, b);
	assert_memory_equal(in, out, a);
	free(in);
	free(out);
}

static void every_option_lands_in_the_plist(void **state)
{
	struct fixture *f = *state;
	char m1[] = "MacPro6,1", m2[] = "iMac14,2", m3[] = "MacBook1,1";
	char a1[] = "00:1B:63:84:45:E6", a2[] = "0:1b:63:84:45:7";
	char *models[] = { m1, m2 }, *off[] = { m3 }, *macs[] = { a1 }, *deny[] = { a2 };

	f->c.name = "iPXE (lab)";
	f->c.description = "chains to http://boot/menu.ipxe";
	f->c.index = 4242;
	f->c.kind = 2;
	f->c.install = f->c.is_default = f->c.disabled = true;
	f->c.enable_models = (struct nb_strv){ models, 2 };
	f->c.disable_models = (struct nb_strv){ off, 1 };
	f->c.enable_macs = (struct nb_strv){ macs, 1 };
	f->c.disable_macs = (struct nb_strv){ deny, 1 };
	create_ok(f);
	assert_string_equal(f->made.name, "iPXE (lab)");
	assert_string_equal(f->made.description, "chains to http://boot/menu.ipxe");
	assert_int_equal(f->made.id, 0x82001092);
	assert_true(f->made.is_default);
	assert_false(f->made.enabled);
	assert_int_equal(f->made.enabled_models.n, 2);
	assert_string_equal(f->made.enabled_models.v[1], "iMac14,2");
	assert_string_equal(f->made.disabled_models.v[0], "MacBook1,1");
	assert_memory_equal(f->made.enabled_macs.v[0].b, "\x00\x1b\x63\x84\x45\xe6", 6);
	assert_memory_equal(f->made.disabled_macs.v[0].b, "\x00\x1b\x63\x84\x45\x07", 6);
}

/* The lowest index no bundle uses, counting a broken bundle's index too:
 * it will claim it again once fixed. */
static void auto_index_skips_used_ones(void **state)
{
	struct fixture *f = *state;

	add_bundle(f->root, "One", IPXE_BODY(1, "One", ""));
	add_bundle(f->root, "Two", IPXE_BODY(2, "Two", "") "<key>IsInstall</key><true/>\n");
	add_bundle(f->root, "Broken", IPXE_BODY(3, "", ""));
	create_ok(f);
	assert_int_equal(f->made.index, 4);
	assert_int_equal(f->made.id, 0x01000004);
}

static void explicit_index_collision_is_refused(void **state)
{
	struct fixture *f = *state;

	add_bundle(f->root, "Other", IPXE_BODY(7, "Other", ""));
	f->c.index = 7;
	assert_int_equal(create(f), -EINVAL);
	assert_problem(&f->problems, NB_ERROR, "image ID 0x01000007 (Index 7) is already used by");
	assert_problem(&f->problems, NB_ERROR, "Other.nbi");
	assert_false(path_exists(f->target));
	assert_int_equal(hidden_entries(f->root), 0);
	/* The same index as an install image is another 32-bit ID (SPEC §3.4.2). */
	f->c.install = true;
	create_ok(f);
	assert_int_equal(f->made.id, 0x81000007);
}

static void existing_target_needs_force(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX];

	f->c.index = 12;
	create_ok(f);
	f->c.index = 0;
	f->c.name = "iPXE 2";
	assert_int_equal(create(f), -EINVAL);
	assert_problem(&f->problems, NB_ERROR, "exists; give --force to replace it");
	f->c.force = true;
	create_ok(f);
	assert_string_equal(f->made.name, "iPXE 2");
	assert_int_equal(f->made.index, 12);    /* kept: bound Macs still find it */
	assert_int_equal(hidden_entries(f->root), 0);
	/* --force never deletes what is not a bundle. */
	PATHF(path, "%s/notes.nbi", f->root);
	assert_int_equal(mkdir(path, 0755), 0);
	PATHF(path, "%s/notes.nbi/todo.txt", f->root);
	write_file(path, "keep", 4);
	PATHF(f->target, "%s/notes.nbi", f->root);
	assert_int_equal(create(f), -EINVAL);
	assert_problem(&f->problems, NB_ERROR, "holds no NBImageInfo.plist; not replacing it");
	assert_true(path_exists(path));
}

/* A bundle inside another is never served (AutoCasperNBI#91). */
static void nested_target_is_refused(void **state)
{
	struct fixture *f = *state;
	char outer[PATH_MAX];

	PATHF(outer, "%s/Outer.nbi", f->root);
	assert_int_equal(mkdir(outer, 0755), 0);
	PATHF(f->target, "%s/Inner.nbi", outer);
	assert_int_equal(create(f), -EINVAL);
	assert_problem(&f->problems, NB_ERROR, "inside another bundle");
	PATHF(f->target, "%s/iPXE", f->root);
	assert_int_equal(create(f), -EINVAL);
	assert_problem(&f->problems, NB_ERROR, "must be named NAME.nbi");
}

static void fat_binary_from_two_booters(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX];
	struct fat_view v;
	char why[120];
	size_t n, n64, n32;
	uint8_t *fat, *x64 = slurp(f->x64, &n64), *ia32 = slurp(f->ia32, &n32);

	f->c.booter_ia32 = f->ia32;
	create_ok(f);
	PATHF(path, "%s/i386/booter", f->target);
	fat = slurp(path, &n);
	assert_int_equal(fat_parse(fat, n, &v, why, sizeof(why)), 0);
	assert_int_equal(v.n, 2);
	assert_int_equal(v.m[0].cputype, FAT_CPU_X86);
	assert_int_equal(v.m[0].offset, 48);
	assert_int_equal(v.m[0].size, n32);
	assert_memory_equal(fat + v.m[0].offset, ia32, n32);
	assert_int_equal(v.m[1].cputype, FAT_CPU_X86_64);
	assert_int_equal(v.m[1].offset, 48 + n32);
	assert_memory_equal(fat + v.m[1].offset, x64, n64);
	assert_int_equal(n, 48 + n32 + n64);
	free(fat);
	free(x64);
	free(ia32);
}

static void booter_pairs_must_match(void **state)
{
	struct fixture *f = *state;

	f->c.booter = f->ia32;
	f->c.booter_ia32 = f->ia32;
	assert_int_equal(create(f), -EINVAL);
	assert_problem(&f->problems, NB_ERROR, "with --booter-ia32 it must be an x86-64");
	f->c.booter = f->x64;
	f->c.booter_ia32 = f->x64;
	assert_int_equal(create(f), -EINVAL);
	assert_problem(&f->problems, NB_ERROR, "--booter-ia32: a PE32+ EFI application for "
		       "x86-64; it must be an IA-32");
	assert_false(path_exists(f->target));
}

static void bad_booters_are_refused_before_writing(void **state)
{
	struct fixture *f = *state;
	struct pe_spec arm = PE_X64;
	char *path;

	arm.machine = PE_MACHINE_ARM64;
	path = write_pe(f->src, "arm64.efi", &arm);
	f->c.booter = path;
	assert_int_equal(create(f), -EINVAL);
	assert_problem(&f->problems, NB_ERROR, "--booter: an EFI application for ARM64");
	assert_false(path_exists(f->target));
	assert_int_equal(hidden_entries(f->root), 0);
	free(path);
}

static void root_path_forms(void **state)
{
	struct fixture *f = *state;
	char dmg[PATH_MAX], copy[PATH_MAX];

	f->c.type = NB_TYPE_HTTP;
	assert_int_equal(create(f), -EINVAL);
	assert_problem(&f->problems, NB_ERROR, "--type HTTP needs --root-path");
	PATHF(dmg, "%s/NetBoot.dmg", f->src);
	write_file(dmg, "dmg", 3);
	f->c.root_path = dmg;
	create_ok(f);
	assert_string_equal(f->made.root_path, "NetBoot.dmg");
	PATHF(copy, "%s/NetBoot.dmg", f->target);
	assert_true(path_exists(copy));
	f->c.force = true;
	f->c.type = NB_TYPE_NFS;
	f->c.root_path = "192.0.2.10:/exports/netboot:NetBoot.dmg";
	create_ok(f);
	assert_string_equal(f->made.root_path, f->c.root_path);
	f->c.root_path = "nfs.example.com:/exports";
	assert_int_equal(create(f), -EINVAL);
	assert_problem(&f->problems, NB_ERROR, "must name its host by IPv4 address");
	f->c.type = NB_TYPE_BOOTFILE_ONLY;
	assert_int_equal(create(f), -EINVAL);
	assert_problem(&f->problems, NB_ERROR, "--root-path needs --type HTTP or NFS");
}

static void bad_values_are_refused(void **state)
{
	struct fixture *f = *state;
	char bad[] = "00:1b:63", *macs[] = { bad };
	char name[300];

	f->c.enable_macs = (struct nb_strv){ macs, 1 };
	assert_int_equal(create(f), -EINVAL);
	assert_problem(&f->problems, NB_ERROR, "--enable-mac: not a MAC address");
	f->c.enable_macs = (struct nb_strv){ 0 };
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	f->c.name = name;
	assert_int_equal(create(f), -EINVAL);
	assert_problem(&f->problems, NB_ERROR, "--name must be 1-246 bytes");
	f->c.name = "tab\there, bell\a";
	assert_int_equal(create(f), -EINVAL);
	assert_problem(&f->problems, NB_ERROR, "Name holds a control character");
	assert_false(path_exists(f->target));
	assert_int_equal(hidden_entries(f->root), 0);
}

/* ---- atomicity -------------------------------------------------------------- */

struct injection {
	enum nbi_step at;
	unsigned calls;
};

static int fail_at(enum nbi_step step, void *ctx)
{
	struct injection *in = ctx;

	in->calls++;
	return step == in->at ? -1 : 0;
}

/* A failure after each step leaves no target and no temporary directory. */
static void failure_at_any_step_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	char dmg[PATH_MAX];

	PATHF(dmg, "%s/NetBoot.dmg", f->src);
	write_file(dmg, "dmg", 3);
	f->c.type = NB_TYPE_HTTP;
	f->c.root_path = dmg;
	for (enum nbi_step s = 0; s < NBI_STEP_COUNT; s++) {
		struct injection in = { .at = s };

		f->c.after_step = fail_at;
		f->c.step_ctx = &in;
		assert_int_equal(create(f), -EIO);
		assert_int_equal(in.calls, s + 1);
		assert_problem(&f->problems, NB_ERROR, nbi_step_name(s));
		assert_false(path_exists(f->target));
		assert_int_equal(hidden_entries(f->root), 0);
	}
	f->c.after_step = NULL;
	create_ok(f);
}

/* With --force, a failure leaves the old bundle exactly as it was. */
static void failed_replace_keeps_the_old_bundle(void **state)
{
	struct fixture *f = *state;
	char plist[PATH_MAX];
	size_t n0, n1;
	uint8_t *before, *after;

	f->c.name = "Old";
	create_ok(f);
	PATHF(plist, "%s/NBImageInfo.plist", f->target);
	before = slurp(plist, &n0);
	f->c.force = true;
	f->c.name = "New";
	for (enum nbi_step s = 0; s < NBI_STEP_COUNT; s++) {
		struct injection in = { .at = s };

		f->c.after_step = fail_at;
		f->c.step_ctx = &in;
		assert_int_equal(create(f), -EIO);
		after = slurp(plist, &n1);
		assert_int_equal(n0, n1);
		assert_memory_equal(before, after, n0);
		assert_int_equal(hidden_entries(f->root), 0);
		free(after);
	}
	free(before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(defaults_load_in_the_catalog, setup, teardown),
		cmocka_unit_test_setup_teardown(booter_is_copied, setup, teardown),
		cmocka_unit_test_setup_teardown(every_option_lands_in_the_plist, setup, teardown),
		cmocka_unit_test_setup_teardown(auto_index_skips_used_ones, setup, teardown),
		cmocka_unit_test_setup_teardown(explicit_index_collision_is_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(existing_target_needs_force, setup, teardown),
		cmocka_unit_test_setup_teardown(nested_target_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(fat_binary_from_two_booters, setup, teardown),
		cmocka_unit_test_setup_teardown(booter_pairs_must_match, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_booters_are_refused_before_writing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(root_path_forms, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_values_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(failure_at_any_step_leaves_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(failed_replace_keeps_the_old_bundle, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
