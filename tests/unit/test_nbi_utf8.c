/* SPDX-License-Identifier: MIT */
/*
 * The one UTF-8 decoder (lib/utf8.c), at every boundary of RFC 3629 §4 /
 * Unicode Table 3-7, and the JSON writer that relies on it: whatever
 * bytes a string holds, nbi's JSON is valid UTF-8 (RFC 8259 §8.1).
 */
#include "nbi_testlib.h"

#include "utf8.h"

struct utf8_case {
	const char *bytes;
	size_t len;          /* of bytes */
	size_t want;         /* utf8_decode(): 0 = ill-formed */
	uint32_t cp;
};

#define C(s, want, cp) { s, sizeof(s) - 1, want, cp }

static const struct utf8_case cases[] = {
	C("\x00", 1, 0x00), C("\x7f", 1, 0x7f),
	C("\x80", 0, 0), C("\xbf", 0, 0),                       /* lone continuation */
	C("\xc0\x80", 0, 0), C("\xc1\xbf", 0, 0),               /* overlong 2-byte */
	C("\xc2\x80", 2, 0x80), C("\xdf\xbf", 2, 0x7ff),
	C("\xc2", 0, 0), C("\xc2\x7f", 0, 0), C("\xc2\xc0", 0, 0),
	C("\xe0\x9f\xbf", 0, 0),                                /* overlong 3-byte */
	C("\xe0\xa0\x80", 3, 0x800), C("\xec\xbf\xbf", 3, 0xcfff),
	C("\xed\x9f\xbf", 3, 0xd7ff),
	C("\xed\xa0\x80", 0, 0), C("\xed\xbf\xbf", 0, 0),       /* surrogates */
	C("\xee\x80\x80", 3, 0xe000), C("\xef\xbf\xbf", 3, 0xffff),
	C("\xe1\x80", 0, 0), C("\xe1\x80\xc0", 0, 0),           /* truncated, bad 3rd */
	C("\xf0\x8f\xbf\xbf", 0, 0),                            /* overlong 4-byte */
	C("\xf0\x90\x80\x80", 4, 0x10000), C("\xf4\x8f\xbf\xbf", 4, 0x10ffff),
	C("\xf4\x90\x80\x80", 0, 0),                            /* past U+10FFFF */
	C("\xf5\x80\x80\x80", 0, 0), C("\xff", 0, 0), C("\xfe", 0, 0),
	C("\xf0\x90\x80", 0, 0), C("\xf0\x90\x80\x7f", 0, 0),
};

static void decoder_boundaries(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct utf8_case *c = &cases[i];
		uint32_t cp = 0xdeadbeef;
		size_t got = utf8_decode((const uint8_t *)c->bytes, c->len, &cp);

		if (got != c->want || (got && cp != c->cp))
			fail_msg("case %zu: length %zu (want %zu), U+%04X (want U+%04X)", i, got,
				 c->want, cp, c->cp);
		assert_int_equal(utf8_valid(c->bytes, c->len), c->want == c->len);
	}
	assert_int_equal(utf8_decode((const uint8_t *)"a", 0, NULL), 0);
}

/* A 4-byte sequence cut by the length given, though the bytes are there. */
static void decoder_respects_the_length(void **state)
{
	(void)state;
	assert_int_equal(utf8_decode((const uint8_t *)"\xf0\x90\x80\x80", 3, NULL), 0);
	assert_int_equal(utf8_decode((const uint8_t *)"\xc2\x80", 1, NULL), 0);
}

static void prefix_never_splits(void **state)
{
	const char *s = "a\xc3\xbc\xe2\x82\xac";   /* a, ü, € */

	(void)state;
	assert_int_equal(utf8_prefix(s, 6, 6), 6);
	assert_int_equal(utf8_prefix(s, 6, 5), 3);
	assert_int_equal(utf8_prefix(s, 6, 4), 3);
	assert_int_equal(utf8_prefix(s, 6, 2), 1);
	assert_int_equal(utf8_prefix(s, 6, 0), 0);
}

/* The JSON writer: ill-formed bytes become U+FFFD, one per byte. */
static void json_never_passes_ill_formed_bytes(void **state)
{
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);
	struct json j;

	(void)state;
	assert_non_null(f);
	json_init(&j, f, JSON_PRETTY);
	json_string(&j, "s\xed\xa0\x80|\xc0\xaf|\xf4\x90\x80\x80|\xe2\x82\xac");
	fclose(f);
	assert_string_equal(out, "\"s\\ufffd\\ufffd\\ufffd|\\ufffd\\ufffd|"
				 "\\ufffd\\ufffd\\ufffd\\ufffd|\xe2\x82\xac\"");
	assert_true(utf8_valid(out, n));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(decoder_boundaries),
		cmocka_unit_test(decoder_respects_the_length),
		cmocka_unit_test(prefix_never_splits),
		cmocka_unit_test(json_never_passes_ill_formed_bytes),
	};

	return cmocka_run_group_tests_name("utf8", tests, NULL, NULL);
}
