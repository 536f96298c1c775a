/* SPDX-License-Identifier: MIT */
/*
 * The catalog under Apple's NBImageInfo rules (nbimages.c
 * NBImageEntry_create; docs/bsdp.md §3.1): each bad bundle is skipped with
 * a problem naming its file, and never hides the good ones.
 */
#include "testlib.h"

#include <plist/plist.h>

#include "nbimage.h"

static char *root;
static struct nb_catalog cat;

static int setup(void **state)
{
	(void)state;
	root = make_root();
	memset(&cat, 0, sizeof(cat));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	nb_catalog_clear(&cat);
	remove_root(root);
	return 0;
}

static void in_root(char *buf, size_t cap, const char *rel)
{
	assert_true(snprintf(buf, cap, "%s/%s", root, rel) < (int)cap);
}

static void load(void)
{
	assert_int_equal(nb_catalog_load(root, &cat), 0);
}

/* The one problem recorded for a path ending in suffix, with its text. */
static const char *problem_for(const char *bundle, enum nb_severity sev)
{
	for (size_t i = 0; i < cat.problems.n; i++)
		if (cat.problems.v[i].severity == sev && strstr(cat.problems.v[i].path, bundle))
			return cat.problems.v[i].message;
	return NULL;
}

static void assert_rejected(const char *bundle, const char *reason_part)
{
	const char *msg = problem_for(bundle, NB_ERROR);

	assert_non_null(msg);
	if (!strstr(msg, reason_part))
		fail_msg("%s: '%s' does not say '%s'", bundle, msg, reason_part);
}

static void good_bundle_loads(void **state)
{
	const struct nb_image *img;

	(void)state;
	add_bundle(root, "Good", IPXE_BODY(7, "Good", "<key>Description</key><string>d</string>\n"));
	load();
	assert_int_equal(cat.n_images, 1);
	assert_int_equal(cat.problems.n, 0);
	img = &cat.images[0];
	assert_string_equal(img->bundle, "Good.nbi");
	assert_int_equal(img->id, 0x01000007);
	assert_true(img->enabled);
	assert_false(img->is_default);
	assert_int_equal(img->type, NB_TYPE_BOOTFILE_ONLY);
	assert_int_equal(img->format, NB_FORMAT_XML);
	assert_string_equal(img->description, "d");
}

/* Every rejection names the reason, and the good bundle keeps serving. */
static void bad_bundles_are_skipped_alone(void **state)
{
	(void)state;
	add_bundle(root, "Good", IPXE_BODY(1, "Good", ""));
	add_bundle(root, "Index0", IPXE_BODY(0, "Zero", ""));
	add_bundle(root, "IndexBig", IPXE_BODY(65536, "Big", ""));
	add_bundle(root, "IndexString",
		   "<key>Architectures</key><array><string>i386</string></array>\n"
		   "<key>BootFile</key><string>booter</string>\n"
		   "<key>Index</key><string>12</string>\n<key>Kind</key><integer>1</integer>\n"
		   "<key>Name</key><string>S</string>\n<key>Type</key><string>BootFileOnly</string>\n");
	add_bundle(root, "NoName",
		   "<key>Architectures</key><array><string>i386</string></array>\n"
		   "<key>BootFile</key><string>booter</string>\n<key>Index</key><integer>3</integer>\n"
		   "<key>Kind</key><integer>1</integer>\n<key>Type</key><string>BootFileOnly</string>\n");
	add_bundle(root, "NoKind",
		   "<key>Architectures</key><array><string>i386</string></array>\n"
		   "<key>BootFile</key><string>booter</string>\n<key>Index</key><integer>4</integer>\n"
		   "<key>Name</key><string>K</string>\n<key>Type</key><string>BootFileOnly</string>\n");
	add_bundle(root, "NoBooter", IPXE_BODY(5, "B", "")
		   "<key>Architectures</key><array><string>x86_64</string></array>\n");
	add_bundle(root, "Classic", IPXE_BODY(6, "C", "") "<key>Type</key><string>Classic</string>\n");
	add_bundle(root, "NoRoot",
		   "<key>Architectures</key><array><string>i386</string></array>\n"
		   "<key>BootFile</key><string>booter</string>\n<key>Index</key><integer>8</integer>\n"
		   "<key>Name</key><string>R</string>\n<key>Type</key><string>NFS</string>\n");
	add_bundle(root, "EscapeBoot", IPXE_BODY(9, "E", "")
		   "<key>BootFile</key><string>../../etc/passwd</string>\n");
	add_bundle(root, "BadMAC", IPXE_BODY(10, "M", "")
		   "<key>EnabledMACAddresses</key><array><string>00:11:22</string></array>\n");
	load();
	assert_int_equal(cat.n_images, 1);
	assert_string_equal(cat.images[0].bundle, "Good.nbi");
	assert_rejected("Index0.nbi", "out of range 1-65535");
	assert_rejected("IndexBig.nbi", "out of range 1-65535");
	assert_rejected("IndexString.nbi", "Index is the string \"12\"");
	assert_rejected("NoName.nbi", "Name is missing");
	assert_rejected("NoKind.nbi", "Kind is required for Type BootFileOnly");
	assert_rejected("NoBooter.nbi", "x86_64/booter is not a regular file");
	assert_rejected("Classic.nbi", "Classic");
	assert_rejected("NoRoot.nbi", "RootPath is required");
	assert_rejected("EscapeBoot.nbi", "must be a path inside");
	assert_rejected("BadMAC.nbi", "not a MAC address");
}

/* Apple's parser assumes ["ppc"]: an Intel bundle without Architectures
 * is rejected for want of ppc/booter, and the message says why. */
static void missing_architectures_means_ppc(void **state)
{
	(void)state;
	add_bundle(root, "NoArch",
		   "<key>BootFile</key><string>booter</string>\n<key>Index</key><integer>3</integer>\n"
		   "<key>Kind</key><integer>1</integer>\n<key>Name</key><string>A</string>\n"
		   "<key>Type</key><string>BootFileOnly</string>\n");
	load();
	assert_int_equal(cat.n_images, 0);
	assert_non_null(strstr(problem_for("NoArch.nbi", NB_WARNING), "means [\"ppc\"]"));
	assert_rejected("NoArch.nbi", "ppc/booter");
}

/* Flags of the wrong type fall back to Apple's default, with a warning. */
static void wrong_flag_type_warns(void **state)
{
	(void)state;
	add_bundle(root, "StrFlag", IPXE_BODY(3, "F", "<key>IsEnabled</key><string>false</string>\n"));
	load();
	assert_int_equal(cat.n_images, 1);
	assert_true(cat.images[0].enabled);
	assert_non_null(strstr(problem_for("StrFlag.nbi", NB_WARNING), "IsEnabled is <string>"));
}

/* The full 32-bit id must be unique; the first bundle by name keeps it.
 * The same Index with another Kind is a different image (SPEC 1.0.5). */
static void duplicate_ids(void **state)
{
	(void)state;
	add_bundle(root, "A", IPXE_BODY(9, "A", ""));
	add_bundle(root, "B", IPXE_BODY(9, "B", ""));
	add_bundle(root, "C", IPXE_BODY(9, "C", "") "<key>IsInstall</key><true/>\n");
	add_bundle(root, "D", IPXE_BODY(9, "D", "") "<key>IsEnabled</key><false/>\n");
	load();
	assert_int_equal(cat.n_images, 3);
	assert_rejected("B.nbi", "already used by A.nbi");
	assert_null(problem_for("D.nbi", NB_ERROR));
}

/* Messages say what the admin wrote: libplist 2.2 reads <integer>-1 as
 * 2^64-1, and an unknown Type implies no RootPath rule. */
static void messages_say_what_was_written(void **state)
{
	(void)state;
	add_bundle(root, "Neg", IPXE_BODY(-1, "Neg", ""));
	add_bundle(root, "NegKind", IPXE_BODY(2, "NegKind", "") "<key>Kind</key><integer>-3</integer>\n");
	add_bundle(root, "Bogus", IPXE_BODY(3, "Bogus", "") "<key>Type</key><string>Bogus</string>\n");
	load();
	assert_rejected("Neg.nbi", "Index -1 is out of range 1-65535");
	assert_non_null(strstr(problem_for("NegKind.nbi", NB_WARNING), "Kind -3 is out of range"));
	assert_rejected("Bogus.nbi", "Type \"Bogus\" is unknown");
	for (size_t i = 0; i < cat.problems.n; i++)
		if (strstr(cat.problems.v[i].path, "Bogus.nbi"))
			assert_null(strstr(cat.problems.v[i].message, "RootPath"));
}

/* A new duplicate that sorts first by name does not take the ID from the
 * bundle that was there first, and the error names the newcomer. */
static void first_bundle_keeps_its_id(void **state)
{
	(void)state;
	add_bundle(root, "Zulu", IPXE_BODY(9, "Zulu", ""));
	usleep(20000);          /* ctime granularity, where there is no btime */
	add_bundle(root, "Alpha", IPXE_BODY(9, "Alpha", ""));
	load();
	assert_int_equal(cat.n_images, 1);
	assert_string_equal(cat.images[0].bundle, "Zulu.nbi");
	assert_rejected("Alpha.nbi", "already used by Zulu.nbi, which was there first");
	assert_null(problem_for("Zulu.nbi", NB_ERROR));
}

/* On reload the holder in the previous catalog keeps the ID, whatever
 * the times say. */
static void reload_keeps_the_previous_holder(void **state)
{
	struct nb_catalog before, after;

	(void)state;
	add_bundle(root, "Alpha", IPXE_BODY(9, "Alpha", ""));
	assert_int_equal(nb_catalog_load(root, &before), 0);
	usleep(20000);
	add_bundle(root, "Old", IPXE_BODY(9, "Old", ""));
	assert_int_equal(nb_catalog_reload(root, &before, &after), 0);
	assert_int_equal(after.n_images, 1);
	assert_string_equal(after.images[0].bundle, "Alpha.nbi");
	nb_catalog_clear(&before);
	/* Had Old held it (renamed in the previous catalog to say so), Old
	 * would keep it although it is younger. */
	assert_int_equal(nb_catalog_load(root, &before), 0);
	nb_catalog_clear(&after);
	free(before.images[0].bundle);
	before.images[0].bundle = strdup("Old.nbi");
	assert_int_equal(nb_catalog_reload(root, &before, &after), 0);
	assert_int_equal(after.n_images, 1);
	assert_string_equal(after.images[0].bundle, "Old.nbi");
	nb_catalog_clear(&before);
	nb_catalog_clear(&after);
}

/* libxml2 reports where an XML file breaks. */
static void malformed_xml_has_line_and_column(void **state)
{
	char p[PATH_MAX];
	const char *msg;

	(void)state;
	add_bundle(root, "Broken", IPXE_BODY(1, "B", ""));
	snprintf(p, sizeof(p), "%s/Broken.nbi/NBImageInfo.plist", root);
	static const char xml[] = "<?xml version=\"1.0\"?>\n<plist version=\"1.0\">\n<dict>\n"
				  "<key>Name</key><string>x</strin>\n</dict></plist>\n";
	write_file(p, xml, strlen(xml));
	load();
	msg = problem_for("Broken.nbi/NBImageInfo.plist", NB_ERROR);
	assert_non_null(msg);
	assert_non_null(strstr(msg, "line 4, column 33"));
}

static void binary_plist_is_read(void **state)
{
	plist_t d = plist_new_dict();
	plist_t archs = plist_new_array();
	char *bin = NULL, p[PATH_MAX];
	uint32_t len = 0;

	(void)state;
	add_bundle(root, "Bin", IPXE_BODY(1, "x", ""));
	plist_array_append_item(archs, plist_new_string("i386"));
	plist_dict_set_item(d, "Architectures", archs);
	plist_dict_set_item(d, "BootFile", plist_new_string("booter"));
	plist_dict_set_item(d, "Index", plist_new_uint(4000));
	plist_dict_set_item(d, "Kind", plist_new_uint(1));
	plist_dict_set_item(d, "IsInstall", plist_new_bool(1));
	plist_dict_set_item(d, "Name", plist_new_string("Binary"));
	plist_dict_set_item(d, "Type", plist_new_string("BootFileOnly"));
	plist_to_bin(d, &bin, &len);
	snprintf(p, sizeof(p), "%s/Bin.nbi/NBImageInfo.plist", root);
	write_file(p, bin, len);
	plist_to_bin_free(bin);
	plist_free(d);
	load();
	assert_int_equal(cat.n_images, 1);
	assert_int_equal(cat.images[0].format, NB_FORMAT_BINARY);
	assert_int_equal(cat.images[0].id, 0x81000fa0);
	assert_string_equal(cat.images[0].name, "Binary");
}

/* A bundle nested one folder too deep is not served, but reported. */
static void nested_bundle_is_reported(void **state)
{
	char p[PATH_MAX];

	(void)state;
	snprintf(p, sizeof(p), "%s/Lab", root);
	assert_int_equal(mkdir(p, 0755), 0);
	add_bundle(p, "Deep", IPXE_BODY(1, "Deep", ""));
	load();
	assert_int_equal(cat.n_images, 0);
	assert_non_null(strstr(problem_for("/Lab", NB_WARNING), "Deep.nbi, which is not served"));
}


/* What the TFTP server would refuse is not offered (beneath.h): the Mac
 * would select it, get a binding, and fail to fetch the boot file. */
static void catalog_applies_the_file_servers_rules(void **state)
{
	char out[PATH_MAX], p[PATH_MAX], q[PATH_MAX];

	(void)state;
	in_root(out, sizeof(out), "outside");
	assert_int_equal(mkdir(out, 0755), 0);
	add_bundle(root, "Good", IPXE_BODY(1, "Good", ""));
	add_bundle(out, "Away", IPXE_BODY(2, "Away", ""));
	in_root(p, sizeof(p), "outside/Away.nbi");
	in_root(q, sizeof(q), "Linked.nbi");
	assert_int_equal(symlink(p, q), 0);
	add_bundle(root, "LinkBoot", IPXE_BODY(3, "LinkBoot", ""));
	in_root(p, sizeof(p), "outside/Away.nbi/i386/booter");
	in_root(q, sizeof(q), "LinkBoot.nbi/i386/booter");
	assert_int_equal(unlink(q), 0);
	assert_int_equal(symlink(p, q), 0);
	add_bundle(root, "Private", IPXE_BODY(4, "Private", ""));
	in_root(p, sizeof(p), "Private.nbi/i386/booter");
	assert_int_equal(chmod(p, 0600), 0);
	add_bundle(root, "Fifo", IPXE_BODY(5, "Fifo", ""));
	in_root(p, sizeof(p), "Fifo.nbi/i386/booter");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(mkfifo(p, 0644), 0);
	load();
	assert_int_equal(cat.n_images, 1);
	assert_string_equal(cat.images[0].bundle, "Good.nbi");
	assert_rejected("/Linked.nbi", "leaves the image root");
	assert_rejected("LinkBoot.nbi", "BootFile i386/booter leaves the image root");
	assert_rejected("Private.nbi", "BootFile i386/booter is not readable by every user "
		       "(mode 0600)");
	assert_rejected("Fifo.nbi", "BootFile i386/booter is a FIFO");
}

/* A FIFO or a device where the plist should be is named, never opened:
 * opening the FIFO used to block the load for ever. */
static void special_plist_is_named_not_opened(void **state)
{
	char p[PATH_MAX];

	(void)state;
	add_bundle(root, "Good", IPXE_BODY(1, "Good", ""));
	add_bundle(root, "Fifo", IPXE_BODY(2, "Fifo", ""));
	add_bundle(root, "Zero", IPXE_BODY(3, "Zero", ""));
	in_root(p, sizeof(p), "Fifo.nbi/NBImageInfo.plist");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(mkfifo(p, 0644), 0);
	in_root(p, sizeof(p), "Zero.nbi/NBImageInfo.plist");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink("/dev/zero", p), 0);
	alarm(20);      /* the old code blocks in open(): fail, do not hang */
	load();
	alarm(0);
	assert_int_equal(cat.n_images, 1);
	assert_rejected("Fifo.nbi/NBImageInfo.plist", "is a FIFO, not a regular file");
	assert_rejected("Zero.nbi/NBImageInfo.plist", "is a character device, not a regular file");
}

/* An entry named like a bundle that is not a folder is said, not skipped. */
static void plain_file_named_nbi_is_reported(void **state)
{
	char p[PATH_MAX];
	const char *msg;

	(void)state;
	in_root(p, sizeof(p), "x.nbi");
	write_file(p, "hi", 2);
	load();
	assert_int_equal(cat.n_images, 0);
	msg = problem_for("/x.nbi", NB_WARNING);
	assert_non_null(msg);
	assert_non_null(strstr(msg, "is a regular file, not a bundle folder"));
}

static void unreadable_root(void **state)
{
	struct nb_catalog c;

	(void)state;
	assert_int_equal(nb_catalog_load("/nonexistent/bsdpd", &c), -ENOENT);
	nb_catalog_clear(&c);
}

static void mac_strings(void **state)
{
	uint8_t m[6];

	(void)state;
	assert_int_equal(nb_parse_mac("00:1b:63:84:45:e6", m), 0);
	assert_memory_equal(m, "\x00\x1b\x63\x84\x45\xe6", 6);
	assert_int_equal(nb_parse_mac("0:1B:63:84:45:E6", m), 0);
	assert_memory_equal(m, "\x00\x1b\x63\x84\x45\xe6", 6);
	assert_int_equal(nb_parse_mac("00-1b-63-84-45-e6", m), 0);
	assert_int_equal(nb_parse_mac("00:1b:63:84:45", m), -EINVAL);
	assert_int_equal(nb_parse_mac("00:1b:63:84:45:e6:", m), -EINVAL);
	assert_int_equal(nb_parse_mac("001:b:63:84:45:e6", m), -EINVAL);
	assert_int_equal(nb_parse_mac("", m), -EINVAL);
	assert_int_equal(nb_parse_mac("g0:1b:63:84:45:e6", m), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(good_bundle_loads),
		T(bad_bundles_are_skipped_alone),
		T(missing_architectures_means_ppc),
		T(wrong_flag_type_warns),
		T(duplicate_ids),
		T(messages_say_what_was_written),
		T(first_bundle_keeps_its_id),
		T(reload_keeps_the_previous_holder),
		T(malformed_xml_has_line_and_column),
		T(binary_plist_is_read),
		T(nested_bundle_is_reported),
		T(catalog_applies_the_file_servers_rules),
		T(special_plist_is_named_not_opened),
		T(plain_file_named_nbi_is_reported),
		T(unreadable_root),
		T(mac_strings),
#undef T
	};

	return cmocka_run_group_tests_name("catalog", tests, NULL, NULL);
}
