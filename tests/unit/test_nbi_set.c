/* SPDX-License-Identifier: MIT */
/*
 * `nbi set` (nbi/bundle.c over nb_plist_set in nbimage.c): each key takes
 * only its type and range, the file keeps its format and mode, and a
 * change that would stop bsdpd from serving the bundle is refused with the
 * file left byte for byte as it was.
 */
#include "nbi_testlib.h"

#include <plist/plist.h>

static char *root;
static char bundle[PATH_MAX], plist[PATH_MAX];
static struct nb_problems problems;
static struct nbi_change change;

static int setup(void **state)
{
	(void)state;
	root = make_root();
	add_bundle(root, "iPXE", IPXE_BODY(101, "iPXE", "<key>Description</key><string>d</string>\n"));
	PATHF(bundle, "%s/iPXE.nbi", root);
	PATHF(plist, "%s/NBImageInfo.plist", bundle);
	memset(&problems, 0, sizeof(problems));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	nb_problems_free(&problems);
	nbi_change_clear(&change);
	remove_root(root);
	return 0;
}

static int set(const char *key, size_t n, ...)
{
	const char *values[8];
	va_list ap;

	assert_true(n <= 8);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		values[i] = va_arg(ap, const char *);
	va_end(ap);
	nbi_change_clear(&change);
	nb_problems_free(&problems);
	return nbi_set_key(bundle, key, values, n, &change, &problems);
}

static void load(struct nb_image *img)
{
	struct nb_problems p = { 0 };

	assert_int_equal(nb_image_load(bundle, img, &p), 0);
	nb_problems_free(&p);
}

static void each_type_is_written(void **state)
{
	struct nb_image img;

	(void)state;
	assert_int_equal(set("Name", 1, "iPXE (lab)"), 0);
	assert_string_equal(change.before, "iPXE");
	assert_string_equal(change.after, "iPXE (lab)");
	assert_int_equal(change.format, NB_FORMAT_XML);
	assert_int_equal(set("Index", 1, "4242"), 0);
	assert_int_equal(set("IsEnabled", 1, "no"), 0);
	assert_int_equal(set("IsDefault", 1, "TRUE"), 0);
	assert_int_equal(set("EnabledSystemIdentifiers", 2, "MacPro6,1 iMac14,2", "MacBook8,1"), 0);
	assert_string_equal(change.after, "MacPro6,1, iMac14,2, MacBook8,1");
	assert_int_equal(set("EnabledMACAddresses", 1, "00:1B:63:84:45:E6"), 0);
	assert_string_equal(change.after, "00:1b:63:84:45:e6");
	assert_int_equal(set("Language", 1, "Default"), 0);
	assert_null(change.before);
	load(&img);
	assert_string_equal(img.name, "iPXE (lab)");
	assert_int_equal(img.id, 0x01001092);
	assert_false(img.enabled);
	assert_true(img.is_default);
	assert_int_equal(img.enabled_models.n, 3);
	assert_int_equal(img.enabled_macs.n, 1);
	nb_image_clear(&img);
	assert_int_equal(set("EnabledSystemIdentifiers", 1, ""), 0);
	load(&img);
	assert_int_equal(img.enabled_models.n, 0);
	nb_image_clear(&img);
}

/* A refused change leaves the file exactly as it was. */
static void expect_refused(int want, const char *part, const char *key, const char *value)
{
	size_t n0, n1;
	uint8_t *before = slurp(plist, &n0), *after;

	assert_int_equal(set(key, 1, value), want);
	assert_problem(&problems, NB_ERROR, part);
	after = slurp(plist, &n1);
	assert_int_equal(n0, n1);
	assert_memory_equal(before, after, n0);
	assert_int_equal(hidden_entries(bundle), 0);
	free(before);
	free(after);
}

static void wrong_values_are_refused(void **state)
{
	(void)state;
	expect_refused(-EINVAL, "Index must be an integer from 1 to 65535, not \"12a\"", "Index", "12a");
	expect_refused(-EINVAL, "not \"0\"", "Index", "0");
	expect_refused(-EINVAL, "not \"65536\"", "Index", "65536");
	expect_refused(-EINVAL, "not \"-1\"", "Kind", "-1");
	expect_refused(-EINVAL, "not \"128\"", "Kind", "128");
	expect_refused(-EINVAL, "IsEnabled must be true or false, not \"maybe\"", "IsEnabled", "maybe");
	expect_refused(-EINVAL, "Type must be BootFileOnly, HTTP or NFS", "Type", "Classic");
	expect_refused(-EINVAL, "Name must be 1-246 bytes", "Name", "");
	expect_refused(-EINVAL, "LoadBalanceServer must be an IPv4 address", "LoadBalanceServer",
		       "netboot.example.com");
	expect_refused(-EINVAL, "is not a MAC address", "DisabledMACAddresses", "00:1b");
	expect_refused(-EINVAL, "Architectures item \"i386/x\" is not valid", "Architectures",
		       "i386/x");
	expect_refused(-ENOENT, "Indx is not a key nbi can set", "Indx", "1");
	assert_int_equal(set("Name", 2, "a", "b"), -EINVAL);
	assert_problem(&problems, NB_ERROR, "Name takes exactly one value");
}

/* Type-correct, but bsdpd would stop serving the bundle. */
static void changes_that_break_the_bundle_are_refused(void **state)
{
	(void)state;
	expect_refused(-EINVAL, "BootFile i386/ipxe.efi is not a regular file in the bundle; "
		       "not changed", "BootFile", "ipxe.efi");
	expect_refused(-EINVAL, "RootPath is required for Type HTTP", "Type", "HTTP");
	expect_refused(-EINVAL, "x86_64/booter", "Architectures", "i386 x86_64");
}

static void id_of_a_neighbour_is_refused(void **state)
{
	(void)state;
	add_bundle(root, "Other", IPXE_BODY(7, "Other", ""));
	expect_refused(-EINVAL, "image ID 0x01000007 is already used by", "Index", "7");
	/* The same index as an install image is another ID. */
	assert_int_equal(set("IsInstall", 1, "true"), 0);
	assert_int_equal(set("Index", 1, "7"), 0);
}

static void binary_stays_binary(void **state)
{
	plist_t p = NULL;
	char *bin = NULL;
	uint32_t n = 0;
	size_t len;
	uint8_t *xml = slurp(plist, &len), *out;
	struct nb_image img;
	struct stat st;

	(void)state;
	plist_from_xml((const char *)xml, (uint32_t)len, &p);
	plist_to_bin(p, &bin, &n);
	unlink(plist);
	write_file(plist, bin, n);
	assert_int_equal(chmod(plist, 0640), 0);
	plist_to_bin_free(bin);
	plist_free(p);
	free(xml);
	assert_int_equal(set("Index", 1, "202"), 0);
	assert_int_equal(change.format, NB_FORMAT_BINARY);
	out = slurp(plist, &len);
	assert_memory_equal(out, "bplist00", 8);
	free(out);
	assert_int_equal(stat(plist, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	load(&img);
	assert_int_equal(img.index, 202);
	assert_int_equal(img.format, NB_FORMAT_BINARY);
	nb_image_clear(&img);
}

/* A bundle that already fails can be fixed one key at a time. */
static void broken_bundle_can_be_fixed(void **state)
{
	struct nb_image img;

	(void)state;
	add_bundle(root, "Hand", "<key>Architectures</key><array><string>i386</string></array>\n"
		   "<key>BootFile</key><string>booter</string>\n"
		   "<key>Index</key><string>12</string>\n<key>Name</key><string>S</string>\n"
		   "<key>Type</key><string>BootFileOnly</string>\n");
	PATHF(bundle, "%s/Hand.nbi", root);
	PATHF(plist, "%s/NBImageInfo.plist", bundle);
	assert_int_equal(set("Index", 1, "12"), 0);
	assert_problem(&problems, NB_WARNING, "still: Kind is required for Type BootFileOnly");
	assert_string_equal(change.before, "12");
	assert_int_equal(set("Kind", 1, "1"), 0);
	assert_int_equal(problems.n, 0);
	load(&img);
	assert_int_equal(img.id, 0x0100000c);
	nb_image_clear(&img);
}

static void malformed_plist_is_reported(void **state)
{
	static const char bad[] = "<?xml version=\"1.0\"?>\n<plist>\n<dict>\n<key>Name</key>\n"
				  "<string>x</strin>\n</dict>\n</plist>\n";

	(void)state;
	unlink(plist);
	write_file(plist, bad, strlen(bad));
	expect_refused(-EINVAL, "line 5, column 18", "Name", "y");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(each_type_is_written, setup, teardown),
		cmocka_unit_test_setup_teardown(wrong_values_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(changes_that_break_the_bundle_are_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(id_of_a_neighbour_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(binary_stays_binary, setup, teardown),
		cmocka_unit_test_setup_teardown(broken_bundle_can_be_fixed, setup, teardown),
		cmocka_unit_test_setup_teardown(malformed_plist_is_reported, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
