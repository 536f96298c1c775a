/* SPDX-License-Identifier: MIT */
/*
 * `nbi validate` on real-world shaped bundles (tests/fixtures/nbi/): the
 * loader bsdpd serves from decides what is an error, nbi adds what other
 * servers and Mac firmware would trip over.
 */
#include "nbi_testlib.h"

#include <plist/plist.h>

#define FIXTURES "tests/fixtures/nbi"

static char *root;

static int setup(void **state)
{
	(void)state;
	root = make_root();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	remove_root(root);
	return 0;
}

static uint8_t *fixture(const char *name, size_t *len)
{
	char path[PATH_MAX];
	uint8_t *data = NULL;

	PATHF(path, "%s/%s", FIXTURES, name);
	if (nbi_read_file(path, 1u << 20, &data, len) < 0)
		fail_msg("cannot read %s (run the tests from the top of the tree)", path);
	return data;
}

/* root/<name>.nbi with the plist bytes, an x86-64 EFI booter (or the
 * given boot file bytes) and, for NFS images, NetInstall.dmg. */
static void put_bundle(const char *name, const void *plist, size_t len, const void *booter,
		       size_t booter_len)
{
	struct pe_spec x64 = PE_X64;
	uint8_t pe[0x800];
	char path[PATH_MAX];

	PATHF(path, "%s/%s.nbi", root, name);
	assert_int_equal(mkdir(path, 0755), 0);
	PATHF(path, "%s/%s.nbi/i386", root, name);
	assert_int_equal(mkdir(path, 0755), 0);
	PATHF(path, "%s/%s.nbi/i386/booter", root, name);
	if (!booter) {
		booter = pe;
		booter_len = pe_make(pe, &x64);
	}
	write_file(path, booter, booter_len);
	PATHF(path, "%s/%s.nbi/NetInstall.dmg", root, name);
	write_file(path, "dmg", 3);
	PATHF(path, "%s/%s.nbi/NBImageInfo.plist", root, name);
	write_file(path, plist, len);
}

static void put_fixture(const char *name, const char *fixture_name)
{
	size_t len;
	uint8_t *data = fixture(fixture_name, &len);

	put_bundle(name, data, len, NULL, 0);
	free(data);
}

static void inspect(const char *name, struct nbi_report *r)
{
	char dir[PATH_MAX];

	PATHF(dir, "%s/%s.nbi", root, name);
	nbi_inspect_bundle(dir, r);
}

/* System Image Utility / AutoNBI: valid for Apple and bsdpd, but BSDPy
 * would hide it from the 77 models it lists as "disabled". */
static void siu_netinstall(void **state)
{
	struct nbi_report r;

	(void)state;
	put_fixture("NetInstall", "siu-netinstall.plist");
	inspect("NetInstall", &r);
	assert_true(r.valid);
	assert_int_equal(nb_problems_count(&r.load, NB_ERROR), 0);
	assert_int_equal(r.id, 0x81001388);
	assert_int_equal(r.img.type, NB_TYPE_NFS);
	assert_int_equal(r.img.disabled_models.n, 77);
	assert_problem(&r.extra, NB_WARNING, "DisabledSystemIdentifiers lists 77 models");
	assert_int_equal(nb_problems_count(&r.extra, NB_ERROR), 0);
	assert_int_equal(r.n_booters, 1);
	assert_int_equal(r.booters[0].verdict, 0);
	assert_int_equal(r.entries.n, 20);
	assert_string_equal(r.entries.v[19].key, "osVersion");
	nbi_report_clear(&r);
}

static uint8_t *to_binary(const uint8_t *xml, size_t len, size_t *out_len)
{
	plist_t p = NULL;
	char *bin = NULL;
	uint32_t n = 0;
	uint8_t *copy;

	plist_from_xml((const char *)xml, (uint32_t)len, &p);
	assert_non_null(p);
	plist_to_bin(p, &bin, &n);
	plist_free(p);
	assert_non_null(bin);
	copy = malloc(n);
	assert_non_null(copy);
	memcpy(copy, bin, n);
	plist_to_bin_free(bin);
	*out_len = n;
	return copy;
}

/* The same NetInstall as a binary plist: Apple reads it, BSDPy cannot. */
static void siu_binary_plist(void **state)
{
	struct nbi_report r;
	size_t len, bin_len;
	uint8_t *xml = fixture("siu-netinstall.plist", &len), *bin = to_binary(xml, len, &bin_len);

	(void)state;
	put_bundle("Binary", bin, bin_len, NULL, 0);
	inspect("Binary", &r);
	assert_true(r.valid);
	assert_int_equal(r.img.format, NB_FORMAT_BINARY);
	assert_int_equal(r.entries.format, NB_FORMAT_BINARY);
	assert_problem(&r.extra, NB_WARNING, "a binary plist: BSDPy reads it with Python's "
		       "plistlib.readPlist");
	assert_problem(&r.extra, NB_WARNING, "DisabledSystemIdentifiers lists 77 models");
	nbi_report_clear(&r);
	free(xml);
	free(bin);
}

static void missing_architectures(void **state)
{
	struct nbi_report r;

	(void)state;
	put_fixture("NoArch", "no-architectures.plist");
	inspect("NoArch", &r);
	assert_false(r.valid);
	assert_problem(&r.load, NB_WARNING, "Architectures is missing, so it means [\"ppc\"]");
	assert_problem(&r.load, NB_ERROR, "BootFile ppc/booter is not a regular file");
	assert_true(r.has_id);          /* its Index still counts as taken */
	assert_int_equal(r.index, 101);
	nbi_report_clear(&r);
}

static void string_index(void **state)
{
	struct nbi_report r;

	(void)state;
	put_fixture("StringIndex", "string-index.plist");
	inspect("StringIndex", &r);
	assert_false(r.valid);
	assert_false(r.has_id);
	assert_problem(&r.load, NB_ERROR,
		       "Index is the string \"1234\"; write it as <integer>1234</integer>");
	/* The boot file is still judged from what the plist says. */
	assert_int_equal(r.n_booters, 1);
	assert_true(r.booters[0].inspected);
	nbi_report_clear(&r);
}

/* libxml2 names the line and column; an editor can jump straight there. */
static void malformed_xml(void **state)
{
	struct nbi_report r;
	const struct nb_problem *p;

	(void)state;
	put_fixture("Broken", "malformed.plist");
	inspect("Broken", &r);
	assert_false(r.valid);
	assert_false(r.has_entries);
	p = find_problem(&r.load, NB_ERROR, "line 10, column 24: Opening and ending tag "
			 "mismatch: string line 10 and strin");
	assert_non_null(p);
	assert_non_null(strstr(p->path, "Broken.nbi/NBImageInfo.plist"));
	nbi_report_clear(&r);
}

/* Two bundles, one 32-bit ID: the catalog keeps the first by name; a
 * bundle checked on its own is told about its neighbour. */
static void duplicate_ids_across_bundles(void **state)
{
	struct nb_catalog cat;
	struct nbi_report r;

	(void)state;
	put_fixture("A-iPXE", "ipxe.plist");
	put_fixture("B-iPXE", "ipxe.plist");
	assert_int_equal(nb_catalog_load(root, &cat), 0);
	assert_int_equal(cat.n_images, 1);
	assert_string_equal(cat.images[0].bundle, "A-iPXE.nbi");
	assert_problem(&cat.problems, NB_ERROR, "image ID 0x01000065 (Index 101) is already used "
		       "by A-iPXE.nbi");
	nb_catalog_clear(&cat);
	inspect("B-iPXE", &r);
	nbi_check_siblings(&r);
	assert_problem(&r.extra, NB_WARNING, "image ID 0x01000065 is also claimed by");
	assert_problem(&r.extra, NB_WARNING, "A-iPXE.nbi");
	nbi_report_clear(&r);
}

static void bsdpy_compatibility(void **state)
{
	struct nbi_report r;

	(void)state;
	put_fixture("TwoMacs", "bsdpy-unfriendly.plist");
	inspect("TwoMacs", &r);
	assert_true(r.valid);
	assert_problem(&r.extra, NB_WARNING, "Description is missing");
	assert_problem(&r.extra, NB_WARNING, "DisabledSystemIdentifiers is missing");
	assert_problem(&r.extra, NB_WARNING, "item \"00:1b:63:84:45:e6\" has a byte below 0x10");
	assert_problem(&r.extra, NB_WARNING, "DisabledMACAddresses is ignored by BSDPy");
	assert_null(find_problem(&r.extra, NB_WARNING, "a4:5e:60:d1:22:33"));
	assert_int_equal(nb_problems_count(&r.extra, NB_ERROR), 0);
	nbi_report_clear(&r);
}

/* The loader accepts any file as boot file; nbi says when firmware can't run it. */
static void booter_must_be_efi(void **state)
{
	static const char kpxe[] = "\xea\x05\x00\xc0\x07 PXENV+ !PXE";
	struct nbi_report r;
	size_t len;
	uint8_t *plist = fixture("ipxe.plist", &len);

	(void)state;
	put_bundle("Kpxe", plist, len, kpxe, sizeof(kpxe));
	inspect("Kpxe", &r);
	assert_true(r.valid);
	assert_problem(&r.extra, NB_ERROR, "the boot file is a BIOS PXE boot program");
	assert_int_equal(r.booters[0].verdict, -EINVAL);
	nbi_report_clear(&r);
	free(plist);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(siu_netinstall, setup, teardown),
		cmocka_unit_test_setup_teardown(siu_binary_plist, setup, teardown),
		cmocka_unit_test_setup_teardown(missing_architectures, setup, teardown),
		cmocka_unit_test_setup_teardown(string_index, setup, teardown),
		cmocka_unit_test_setup_teardown(malformed_xml, setup, teardown),
		cmocka_unit_test_setup_teardown(duplicate_ids_across_bundles, setup, teardown),
		cmocka_unit_test_setup_teardown(bsdpy_compatibility, setup, teardown),
		cmocka_unit_test_setup_teardown(booter_must_be_efi, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
