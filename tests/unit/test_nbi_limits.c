/* SPDX-License-Identifier: MIT */
/*
 * The shape limits of NBImageInfo.plist (nbimage.h), checked before
 * libplist decodes a file: libplist 2.2 recursed once per level and ran
 * out of stack on 100 000 nested arrays (bsdpd --check and nbi validate
 * died with SIGSEGV after ~20 s), and copied shared objects once per
 * reference.  Binary plists are built here byte by byte (CFBinaryPList.c
 * layout), so the tests need no file from outside.
 */
#include "testlib.h"

#include <plist/plist.h>

#include "bplist.h"
#include "nbimage.h"

struct bp {
	uint8_t *b;
	size_t n, cap;
	uint64_t *off;
	size_t n_obj, off_cap;
};

static void bp_put(struct bp *p, const void *data, size_t n)
{
	if (n > p->cap - p->n) {
		p->cap = (p->cap + n) * 2;
		p->b = realloc(p->b, p->cap);
		assert_non_null(p->b);
	}
	memcpy(p->b + p->n, data, n);
	p->n += n;
}

static void bp_be(struct bp *p, uint64_t v, unsigned n)
{
	for (unsigned i = n; i-- > 0;) {
		uint8_t c = (uint8_t)(v >> (8 * i));

		bp_put(p, &c, 1);
	}
}

/* Starts object number n_obj at the current end. */
static void bp_object(struct bp *p)
{
	if (p->n_obj == p->off_cap) {
		p->off_cap = (p->off_cap + 1) * 2;
		p->off = realloc(p->off, p->off_cap * sizeof(*p->off));
		assert_non_null(p->off);
	}
	p->off[p->n_obj++] = p->n;
}

/* An array of refs (4 bytes each). */
static void bp_array(struct bp *p, const uint32_t *refs, uint8_t n)
{
	uint8_t m = (uint8_t)(0xa0 | n);

	bp_object(p);
	bp_put(p, &m, 1);
	for (uint8_t i = 0; i < n; i++)
		bp_be(p, refs[i], 4);
}

/* The offset table and trailer: offsets and refs of 4 bytes, top object 0. */
static void bp_finish(struct bp *p)
{
	uint64_t table = p->n;
	static const uint8_t sizes[] = { 0, 0, 0, 0, 0, 0, 4, 4 };

	for (size_t i = 0; i < p->n_obj; i++)
		bp_be(p, p->off[i], 4);
	bp_put(p, sizes, sizeof(sizes));
	bp_be(p, p->n_obj, 8);
	bp_be(p, 0, 8);
	bp_be(p, table, 8);
	free(p->off);
}

/* depth levels: a dict {"Name": array > array > ... > []}, the dict at 1. */
static struct bp deep_plist(uint32_t depth)
{
	struct bp p = { 0 };
	static const uint8_t dict[] = { 0xd1, 0, 0, 0, 1, 0, 0, 0, 2 };

	bp_put(&p, "bplist00", 8);
	bp_object(&p);
	bp_put(&p, dict, sizeof(dict));
	bp_object(&p);
	bp_put(&p, "\x54Name", 5);
	for (uint32_t level = 2; level <= depth; level++) {
		uint32_t next = level + 1;

		bp_array(&p, &next, level == depth ? 0 : 1);
	}
	bp_finish(&p);
	return p;
}

/* nb_image_parse() fails with an error naming the file and saying reason. */
static void assert_refused(const void *data, size_t len, const char *reason)
{
	struct nb_problems p = { 0 };
	struct nb_image img;
	bool found = false;

	assert_int_equal(nb_image_parse(data, len, "x/NBImageInfo.plist", NULL, &img, &p), -EINVAL);
	for (size_t i = 0; i < p.n; i++)
		found |= p.v[i].severity == NB_ERROR && strstr(p.v[i].message, reason) &&
			 strcmp(p.v[i].path, "x/NBImageInfo.plist") == 0;
	if (!found)
		fail_msg("no error says '%s' (first: '%s')", reason, p.n ? p.v[0].message : "");
	nb_problems_free(&p);
}

/* The file that crashed libplist: refused in well under a second. */
static void deep_binary_is_refused(void **state)
{
	struct bp p = deep_plist(100000);

	(void)state;
	assert_refused(p.b, p.n, "nested deeper than 32 levels");
	free(p.b);
}

/* 32 levels pass the scan (libplist then reads Name as an array); 33 do not. */
static void binary_depth_boundary(void **state)
{
	struct bplist_shape s;
	struct bp ok = deep_plist(NB_PLIST_DEPTH_MAX), deep = deep_plist(NB_PLIST_DEPTH_MAX + 1);

	(void)state;
	assert_int_equal(bplist_scan(ok.b, ok.n, NB_PLIST_DEPTH_MAX, 100, &s), 0);
	assert_int_equal(s.depth, NB_PLIST_DEPTH_MAX);
	assert_int_equal(s.visits, NB_PLIST_DEPTH_MAX + 1);
	assert_refused(ok.b, ok.n, "Name is <array>");
	assert_int_equal(bplist_scan(deep.b, deep.n, NB_PLIST_DEPTH_MAX, 100, &s), -ELOOP);
	assert_refused(deep.b, deep.n, "nested deeper than 32 levels");
	free(ok.b);
	free(deep.b);
}

static void cycle_is_refused(void **state)
{
	struct bp p = { 0 };
	uint32_t self = 0;

	(void)state;
	bp_put(&p, "bplist00", 8);
	bp_array(&p, &self, 1);
	bp_finish(&p);
	assert_refused(p.b, p.n, "or a reference cycle");
	free(p.b);
}

/* 24 objects that each hold the next twice: 2^24 visits for a tree walk. */
static void dag_is_refused(void **state)
{
	struct bp p = { 0 };
	struct bplist_shape s;

	(void)state;
	bp_put(&p, "bplist00", 8);
	for (uint32_t i = 0; i < 24; i++) {
		uint32_t two[2] = { i + 1, i + 1 };

		bp_array(&p, two, i == 23 ? 0 : 2);
	}
	bp_finish(&p);
	assert_int_equal(bplist_scan(p.b, p.n, NB_PLIST_DEPTH_MAX, NB_PLIST_NODES_MAX, &s), -E2BIG);
	assert_int_equal(s.visits, NB_PLIST_NODES_MAX);
	assert_refused(p.b, p.n, "more than 65536 values");
	free(p.b);
}

/* Trailers and references that point outside the file. */
static void corrupt_layout_is_refused(void **state)
{
	struct bp p = deep_plist(3);
	struct bplist_shape s;
	uint8_t *t;

	(void)state;
	t = p.b + p.n - 32;
	assert_int_equal(bplist_scan(p.b, 39, 32, 100, &s), -EBADMSG);
	t[7] = 9;                                   /* ref size */
	assert_int_equal(bplist_scan(p.b, p.n, 32, 100, &s), -EBADMSG);
	t[7] = 4;
	t[15] = 0xff;                               /* n_objects past the table */
	assert_int_equal(bplist_scan(p.b, p.n, 32, 100, &s), -EBADMSG);
	t[15] = 4;
	t[23] = 4;                                  /* top object */
	assert_int_equal(bplist_scan(p.b, p.n, 32, 100, &s), -EBADMSG);
	t[23] = 0;
	p.b[12] = 9;                                /* a dict value ref past the objects */
	assert_int_equal(bplist_scan(p.b, p.n, 32, 100, &s), -EBADMSG);
	assert_refused(p.b, p.n, "a reference names no object");
	p.b[12] = 2;
	p.b[8] = 0xdf;                              /* count 0xf, then no integer */
	assert_int_equal(bplist_scan(p.b, p.n, 32, 100, &s), -EBADMSG);
	free(p.b);
}

/* What libplist writes passes the scan, counts included. */
static void real_plist_passes(void **state)
{
	plist_t d = plist_new_dict(), macs = plist_new_array();
	struct bplist_shape s;
	char *bin = NULL;
	uint32_t len = 0;

	(void)state;
	for (int i = 0; i < 20; i++)
		plist_array_append_item(macs, plist_new_string("00:1b:63:84:45:e6"));
	plist_dict_set_item(d, "EnabledMACAddresses", macs);
	plist_dict_set_item(d, "Name", plist_new_string("n"));
	plist_to_bin(d, &bin, &len);
	assert_int_equal(bplist_scan((uint8_t *)bin, len, NB_PLIST_DEPTH_MAX, NB_PLIST_NODES_MAX,
				     &s), 0);
	assert_int_equal(s.depth, 3);
	assert_int_equal(s.visits, 1 + 2 + 2 + 20);
	plist_to_bin_free(bin);
	plist_free(d);
}

static char *xml_nested(unsigned arrays)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	assert_non_null(f);
	fputs("<?xml version=\"1.0\"?>\n<plist version=\"1.0\">\n<dict><key>Name</key>", f);
	for (unsigned i = 0; i < arrays; i++)
		fputs("<array>", f);
	for (unsigned i = 0; i < arrays; i++)
		fputs("</array>", f);
	fputs("</dict></plist>\n", f);
	fclose(f);
	return s;
}

/* Counted as in binary: the top <dict> is level 1, <plist> is none. */
static void xml_depth_boundary(void **state)
{
	char *ok = xml_nested(NB_PLIST_DEPTH_MAX - 1), *deep = xml_nested(NB_PLIST_DEPTH_MAX);

	(void)state;
	assert_refused(ok, strlen(ok), "Name is <array>");
	assert_refused(deep, strlen(deep), "nested deeper than 32 levels");
	free(ok);
	free(deep);
}

static void xml_value_count_is_bounded(void **state)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	(void)state;
	assert_non_null(f);
	fputs("<?xml version=\"1.0\"?>\n<plist version=\"1.0\">\n<dict><key>M</key><array>", f);
	for (unsigned i = 0; i < NB_PLIST_NODES_MAX; i++)
		fputs("<true/>", f);
	fputs("</array></dict></plist>\n", f);
	fclose(f);
	assert_refused(s, n, "more than 65536 values");
	free(s);
}

static void size_is_bounded(void **state)
{
	char *big = calloc(1, NB_PLIST_MAX + 1);

	(void)state;
	assert_non_null(big);
	memcpy(big, "bplist00", 8);
	assert_refused(big, NB_PLIST_MAX + 1, "larger than 1048576 bytes");
	free(big);
}

/* Through the catalog: the deep bundle is named, the good one still served. */
static void catalog_keeps_the_good_bundle(void **state)
{
	char *root = make_root(), path[PATH_MAX];
	struct bp p = deep_plist(100000);
	struct nb_catalog cat;

	(void)state;
	add_bundle(root, "Good", IPXE_BODY(1, "Good", ""));
	add_bundle(root, "Deep", IPXE_BODY(2, "Deep", ""));
	snprintf(path, sizeof(path), "%s/Deep.nbi/NBImageInfo.plist", root);
	write_file(path, p.b, p.n);
	assert_int_equal(nb_catalog_load(root, &cat), 0);
	assert_int_equal(cat.n_images, 1);
	assert_string_equal(cat.images[0].bundle, "Good.nbi");
	assert_int_equal(cat.problems.n, 1);
	assert_string_equal(cat.problems.v[0].path, path);
	nb_catalog_clear(&cat);
	free(p.b);
	remove_root(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(deep_binary_is_refused),
		cmocka_unit_test(binary_depth_boundary),
		cmocka_unit_test(cycle_is_refused),
		cmocka_unit_test(dag_is_refused),
		cmocka_unit_test(corrupt_layout_is_refused),
		cmocka_unit_test(real_plist_passes),
		cmocka_unit_test(xml_depth_boundary),
		cmocka_unit_test(xml_value_count_is_bounded),
		cmocka_unit_test(size_is_bounded),
		cmocka_unit_test(catalog_keeps_the_good_bundle),
	};

	return cmocka_run_group_tests_name("plist limits", tests, NULL, NULL);
}
