/* SPDX-License-Identifier: MIT */
/*
 * The writing half of the NBImageInfo model (nbimage.c, nbi section):
 * what nb_image_render() writes, nb_image_parse() reads back unchanged, in
 * XML and binary; nb_plist_entries() shows every key with its type.
 */
#include "nbi_testlib.h"

#include <plist/plist.h>

static char *dup_str(const char *s)
{
	char *d = strdup(s);

	assert_non_null(d);
	return d;
}

static void push(struct nb_strv *sv, const char *s)
{
	sv->v = realloc(sv->v, (sv->n + 1) * sizeof(*sv->v));
	assert_non_null(sv->v);
	sv->v[sv->n++] = dup_str(s);
}

static void push_mac(struct nb_macv *mv, const char *s)
{
	mv->v = realloc(mv->v, (mv->n + 1) * sizeof(*mv->v));
	assert_non_null(mv->v);
	assert_int_equal(nb_parse_mac(s, mv->v[mv->n++].b), 0);
}

/* Every field the model has, away from its default. */
static void full_image(struct nb_image *img)
{
	*img = (struct nb_image){ .index = 4242, .kind = 3, .install = true, .enabled = false,
				  .is_default = true, .filter_only = false, .type = NB_TYPE_HTTP,
				  .has_load_balance = true };
	img->name = dup_str("Diagnostics & <more> \"quoted\" – ünïcode");
	img->description = dup_str("line one\nline two\twith a tab");
	img->boot_file = dup_str("booter");
	img->root_path = dup_str("http://192.0.2.7/images/AHT.dmg");
	img->id = bsdp_image_id(true, 3, 4242);
	push(&img->archs, "i386");
	push(&img->archs, "ppc");
	push(&img->enabled_models, "MacPro6,1");
	push(&img->disabled_models, "MacBook1,1");
	push_mac(&img->enabled_macs, "00:1b:63:84:45:e6");
	push_mac(&img->disabled_macs, "a4:5e:60:d1:22:33");
	assert_int_equal(inet_pton(AF_INET, "192.0.2.8", &img->load_balance), 1);
}

static void assert_strv_equal(const struct nb_strv *a, const struct nb_strv *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++)
		assert_string_equal(a->v[i], b->v[i]);
}

static void assert_same_image(const struct nb_image *a, const struct nb_image *b)
{
	assert_string_equal(a->name, b->name);
	assert_string_equal(a->description, b->description);
	assert_int_equal(a->id, b->id);
	assert_int_equal(a->enabled, b->enabled);
	assert_int_equal(a->is_default, b->is_default);
	assert_int_equal(a->filter_only, b->filter_only);
	assert_int_equal(a->type, b->type);
	assert_string_equal(a->boot_file, b->boot_file);
	assert_string_equal(a->root_path, b->root_path);
	assert_strv_equal(&a->archs, &b->archs);
	assert_strv_equal(&a->enabled_models, &b->enabled_models);
	assert_strv_equal(&a->disabled_models, &b->disabled_models);
	assert_int_equal(a->enabled_macs.n, b->enabled_macs.n);
	assert_memory_equal(a->enabled_macs.v, b->enabled_macs.v, 6 * a->enabled_macs.n);
	assert_memory_equal(a->disabled_macs.v, b->disabled_macs.v, 6 * a->disabled_macs.n);
	assert_int_equal(a->has_load_balance, b->has_load_balance);
	assert_int_equal(a->load_balance.s_addr, b->load_balance.s_addr);
}

static void round_trip(enum nb_format format)
{
	struct nb_problems p = { 0 };
	struct nb_image img, back;
	char *out = NULL;
	size_t len = 0;

	full_image(&img);
	assert_int_equal(nb_image_render(&img, format, "t.plist", &out, &len, &p), 0);
	assert_int_equal(nb_image_parse(out, len, "t.plist", NULL, &back, &p), 0);
	assert_int_equal(nb_problems_count(&p, NB_ERROR), 0);
	assert_int_equal(back.format, format);
	assert_same_image(&img, &back);
	nb_image_clear(&back);
	nb_image_clear(&img);
	nb_problems_free(&p);
	free(out);
}

static void render_round_trips_xml(void **state)
{
	(void)state;
	round_trip(NB_FORMAT_XML);
}

static void render_round_trips_binary(void **state)
{
	(void)state;
	round_trip(NB_FORMAT_BINARY);
}

/* Sorted as CFPropertyList writes, with the keys other servers need. */
static void render_writes_apple_keys_in_order(void **state)
{
	static const char *const keys[] = { "Architectures", "BootFile", "Description",
		"DisabledMACAddresses", "DisabledSystemIdentifiers", "EnabledMACAddresses",
		"EnabledSystemIdentifiers", "FilterOnly", "Index", "IsDefault", "IsEnabled",
		"IsInstall", "Kind", "LoadBalanceServer", "Name", "RootPath", "Type" };
	struct nb_problems p = { 0 };
	struct nb_entries e;
	struct nb_image img;
	char *out = NULL;
	size_t len = 0;

	(void)state;
	full_image(&img);
	assert_int_equal(nb_image_render(&img, NB_FORMAT_XML, "t", &out, &len, &p), 0);
	assert_int_equal(nb_plist_entries(out, len, &e), 0);
	assert_int_equal(e.n, sizeof(keys) / sizeof(keys[0]));
	for (size_t i = 0; i < e.n; i++)
		assert_string_equal(e.v[i].key, keys[i]);
	assert_int_equal(e.v[8].value.type, NB_VALUE_INTEGER);
	assert_string_equal(e.v[8].value.text, "4242");
	assert_int_equal(e.v[9].value.type, NB_VALUE_BOOL);
	assert_int_equal(e.v[0].value.type, NB_VALUE_ARRAY);
	assert_int_equal(e.v[0].n_items, 2);
	assert_string_equal(e.v[3].items[0].text, "a4:5e:60:d1:22:33");
	nb_entries_clear(&e);
	nb_image_clear(&img);
	free(out);
}

/* XML cannot carry most control characters, and turns CR into LF. */
static void render_refuses_what_xml_cannot_carry(void **state)
{
	static const char *const bad[] = { "bell\a", "cr\r", "nul-less \x01", "\xff",
					   "\xed\xa0\x80 (a surrogate)", "\xef\xbf\xbf" };
	struct nb_problems p = { 0 };
	struct nb_image img;
	char *out = NULL;
	size_t len = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		full_image(&img);
		free(img.description);
		img.description = dup_str(bad[i]);
		assert_int_equal(nb_image_render(&img, NB_FORMAT_XML, "t", &out, &len, &p),
				 -EINVAL);
		assert_problem(&p, NB_ERROR, "Description holds a control character or invalid "
			       "UTF-8");
		nb_image_clear(&img);
		nb_problems_free(&p);
	}
}

static void entries_name_every_type(void **state)
{
	static const char xml[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\"><dict>"
		"<key>s</key><string>x</string><key>i</key><integer>7</integer>"
		"<key>b</key><false/><key>r</key><real>1.5</real>"
		"<key>d</key><date>2013-10-22T17:00:00Z</date><key>x</key><data>AAEC</data>"
		"<key>a</key><array><string>p</string><integer>2</integer></array>"
		"<key>h</key><dict><key>k</key><string>v</string></dict></dict></plist>";
	static const char *const want[][3] = {
		{ "s", "string", "x" }, { "i", "integer", "7" }, { "b", "boolean", "false" },
		{ "r", "real", "1.5" }, { "d", "date", "2013-10-22T17:00:00Z" },
		{ "x", "data", "3 bytes" }, { "a", "array", NULL }, { "h", "dict", "1 keys" } };
	struct nb_entries e;

	(void)state;
	assert_int_equal(nb_plist_entries(xml, strlen(xml), &e), 0);
	assert_int_equal(e.n, 8);
	for (size_t i = 0; i < 8; i++) {
		assert_string_equal(e.v[i].key, want[i][0]);
		assert_string_equal(nb_value_type_name(e.v[i].value.type), want[i][1]);
		if (want[i][2])
			assert_string_equal(e.v[i].value.text, want[i][2]);
	}
	assert_int_equal(e.v[6].n_items, 2);
	assert_int_equal(e.v[6].items[1].type, NB_VALUE_INTEGER);
	nb_entries_clear(&e);
	assert_int_equal(nb_plist_entries("<plist><array/></plist>", 23, &e), -EINVAL);
	assert_int_equal(nb_plist_entries("", 0, &e), -EINVAL);
}

/* An ID is claimed even by a bundle with other errors. */
static void peek_reads_a_broken_bundle(void **state)
{
	char *root = make_root(), dir[PATH_MAX];
	uint16_t index = 0;
	uint32_t id = 0;

	(void)state;
	add_bundle(root, "NoName", "<key>Index</key><integer>77</integer>\n"
		   "<key>IsInstall</key><true/><key>Type</key><string>NFS</string>\n");
	add_bundle(root, "StrIndex", "<key>Index</key><string>77</string>\n");
	PATHF(dir, "%s/NoName.nbi", root);
	assert_int_equal(nb_image_peek(dir, &index, &id), 0);
	assert_int_equal(index, 77);
	assert_int_equal(id, 0x8100004d);
	PATHF(dir, "%s/StrIndex.nbi", root);
	assert_int_equal(nb_image_peek(dir, &index, &id), -EINVAL);
	PATHF(dir, "%s/Nothing.nbi", root);
	assert_int_equal(nb_image_peek(dir, &index, &id), -ENOENT);
	remove_root(root);
}

static void key_specs_cover_the_writer(void **state)
{
	size_t n;
	const struct nb_key_spec *k = nb_key_specs(&n);
	struct nb_problems p = { 0 };
	struct nb_entries e;
	struct nb_image img;
	char *out = NULL;
	size_t len = 0;

	(void)state;
	full_image(&img);
	assert_int_equal(nb_image_render(&img, NB_FORMAT_XML, "t", &out, &len, &p), 0);
	assert_int_equal(nb_plist_entries(out, len, &e), 0);
	for (size_t i = 0; i < e.n; i++) {
		bool known = false;

		for (size_t j = 0; j < n; j++)
			known |= strcmp(k[j].key, e.v[i].key) == 0;
		if (!known)
			fail_msg("nbi set cannot change %s", e.v[i].key);
	}
	nb_entries_clear(&e);
	nb_image_clear(&img);
	free(out);
}

/* A binary plist of { key: "ü" } with every UTF-16 U+00FC turned into
 * U+0000: a string that libplist 2.2 aborts on when read the usual way. */
static char *nul_plist(const char *key, size_t *len)
{
	plist_t d = plist_new_dict();
	char *bin = NULL, *copy;
	uint32_t n = 0;

	plist_dict_set_item(d, key, plist_new_string("\xc3\xbc"));
	plist_to_bin(d, &bin, &n);
	plist_free(d);
	assert_non_null(bin);
	copy = malloc(n);
	assert_non_null(copy);
	memcpy(copy, bin, n);
	plist_to_bin_free(bin);
	for (uint32_t i = 0; i + 1 < n; i++)
		if (copy[i] == 0x00 && (uint8_t)copy[i + 1] == 0xfc)
			copy[i + 1] = 0x00;
	*len = n;
	return copy;
}

/* Found by fuzz_nbimage (tests/corpus/fuzz_nbimage/crash-binary-utf16-nul-in-string). */
static void nul_in_binary_strings_is_an_error(void **state)
{
	struct nb_problems p = { 0 };
	struct nb_entries e;
	struct nb_image img;
	size_t len;
	char *data = nul_plist("Name", &len);

	(void)state;
	assert_int_equal(nb_image_parse(data, len, "nul.plist", NULL, &img, &p), -EINVAL);
	assert_problem(&p, NB_ERROR, "Name holds a NUL character");
	nb_image_compat(data, len, "nul.plist", &p);
	/* XML cannot carry U+0000 either, so the keys are not listed, but
	 * nothing aborts. */
	assert_int_equal(nb_plist_entries(data, len, &e), -EINVAL);
	free(data);
	data = nul_plist("\xc3\xbc", &len);     /* the key itself */
	if (nb_plist_entries(data, len, &e) == 0)
		nb_entries_clear(&e);
	nb_problems_free(&p);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(render_round_trips_xml),
		cmocka_unit_test(render_round_trips_binary),
		cmocka_unit_test(render_writes_apple_keys_in_order),
		cmocka_unit_test(render_refuses_what_xml_cannot_carry),
		cmocka_unit_test(entries_name_every_type),
		cmocka_unit_test(peek_reads_a_broken_bundle),
		cmocka_unit_test(key_specs_cover_the_writer),
		cmocka_unit_test(nul_in_binary_strings_is_an_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
