/* SPDX-License-Identifier: MIT */
/*
 * lib/json.c: the writer's escaping and styles, and the strict parser —
 * RFC 8259's grammar, strict UTF-8, duplicate keys, the limits, and the
 * typed accessors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "utf8.h"

static int parse(const char *text, struct json_doc *doc)
{
	struct json_parse_error err;

	return json_parse(text, strlen(text), doc, &err);
}

static int parse_rc(const char *text)
{
	struct json_doc doc;
	int rc = parse(text, &doc);

	json_doc_free(&doc);
	return rc;
}

static void accepts_rfc8259_values(void **state)
{
	static const char *const ok[] = {
		"null", "true", "false", "0", "-0", "12", "-1.5e+3", "0.25E-2", "\"\"",
		"[]", "{}", " \t\r\n[1, [2], {\"a\": {}}] ", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
		"\"\\u00e9\\ud83d\\ude00\"", "\"\xc3\xa9\xf0\x9f\x98\x80\"",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (parse_rc(ok[i]) != 0)
			fail_msg("refused %s", ok[i]);
	}
}

static void refuses_what_rfc8259_does_not_allow(void **state)
{
	static const char *const bad[] = {
		"", " ", "nul", "True", "01", "-", "1.", ".5", "1e", "+1", "0x10", "NaN",
		"[1,]", "{\"a\":1,}", "[1 2]", "{\"a\"}", "{a:1}", "{'a':1}", "\"abc",
		"\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"",
		"\"a\tb\"", "1 2", "[] x", "/* c */ 1", "\xef\xbb\xbf{}", "\"\xc0\xaf\"",
		"\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xe2\x82\"", "\xa0",
		"{\"a\":1,\"a\":2}", "{\"a\":1,\"\\u0061\":2}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse_rc(bad[i]) != -EINVAL)
			fail_msg("accepted or misjudged #%zu: %s", i, bad[i]);
	}
}

static void refuses_a_nul_byte_outside_strings(void **state)
{
	struct json_doc doc;
	struct json_parse_error err;

	(void)state;
	assert_int_equal(json_parse("[1]\0", 4, &doc, &err), -EINVAL);
	assert_int_equal(err.offset, 3);
	json_doc_free(&doc);
	assert_int_equal(json_parse("\"a\0b\"", 5, &doc, &err), -EINVAL);
	json_doc_free(&doc);
}

static char *nested(size_t depth)
{
	char *s = malloc(2 * depth + 1);

	assert_non_null(s);
	memset(s, '[', depth);
	memset(s + depth, ']', depth);
	s[2 * depth] = '\0';
	return s;
}

static void limits_depth_size_and_values(void **state)
{
	char *s = nested(JSON_PARSE_DEPTH_MAX);
	struct json_doc doc;
	struct json_parse_error err;
	size_t n;

	(void)state;
	assert_int_equal(parse_rc(s), 0);
	free(s);
	s = nested(JSON_PARSE_DEPTH_MAX + 1);
	assert_int_equal(parse_rc(s), -E2BIG);
	free(s);

	s = malloc(JSON_PARSE_SIZE_MAX + 2);
	assert_non_null(s);
	memset(s, ' ', JSON_PARSE_SIZE_MAX + 1);
	s[0] = '0';
	assert_int_equal(json_parse(s, JSON_PARSE_SIZE_MAX, &doc, &err), 0);
	json_doc_free(&doc);
	assert_int_equal(json_parse(s, JSON_PARSE_SIZE_MAX + 1, &doc, &err), -E2BIG);
	json_doc_free(&doc);

	/* [0,0,...]: the array and JSON_PARSE_VALUES_MAX zeros is one too many */
	n = 0;
	s[n++] = '[';
	for (size_t i = 0; i < JSON_PARSE_VALUES_MAX; i++)
		n += (size_t)sprintf(s + n, i ? ",0" : "0");
	s[n++] = ']';
	assert_int_equal(json_parse(s, n, &doc, &err), -E2BIG);
	assert_string_equal(err.msg, "too many values");
	json_doc_free(&doc);
	assert_int_equal(json_parse(s + 2, n - 2, &doc, &err), -EINVAL); /* ",0,...]" */
	json_doc_free(&doc);
	free(s);
}

/* bsdpctl reads the server's lists, past a body's bounds, with its own. */
static void limits_of_the_callers_choice(void **state)
{
	const struct json_limits wide = { .size_max = 4 * JSON_PARSE_SIZE_MAX,
					  .values_max = 4 * JSON_PARSE_VALUES_MAX };
	const struct json_limits narrow = { .size_max = 8, .values_max = 2 };
	struct json_parse_error err;
	struct json_doc doc;
	size_t n = 0;
	char *s = malloc(4 * JSON_PARSE_SIZE_MAX);

	(void)state;
	assert_non_null(s);
	s[n++] = '[';
	for (size_t i = 0; i < 2 * JSON_PARSE_VALUES_MAX; i++)
		n += (size_t)sprintf(s + n, i ? ",\"abcdefghijklmno\"" : "0");
	s[n++] = ']';
	assert_true(n > JSON_PARSE_SIZE_MAX);
	assert_int_equal(json_parse(s, n, &doc, &err), -E2BIG);
	json_doc_free(&doc);
	assert_int_equal(json_parse_limited(s, n, &wide, &doc, &err), 0);
	assert_int_equal(json_root(&doc)->count, 2 * JSON_PARSE_VALUES_MAX);
	json_doc_free(&doc);
	assert_int_equal(json_parse_limited("[0,0]", 5, &narrow, &doc, &err), -E2BIG);
	assert_string_equal(err.msg, "too many values");
	json_doc_free(&doc);
	assert_int_equal(json_parse_limited("[0]      ", 9, &narrow, &doc, &err), -E2BIG);
	assert_string_equal(err.msg, "larger than 8 bytes");
	json_doc_free(&doc);
	free(s);
}

static void accessors_read_the_tree(void **state)
{
	const char *text = "{\"s\":\"a\\u0000b\",\"n\":-9223372036854775808,\"big\":"
			   "9223372036854775808,\"f\":1.5,\"e\":1e3,\"b\":true,\"z\":null,"
			   "\"a\":[10,\"x\",{}]}";
	struct json_doc doc;
	const struct json_node *r, *a;
	const char *s;
	size_t len;
	int64_t v;
	bool b;

	(void)state;
	assert_int_equal(parse(text, &doc), 0);
	r = json_root(&doc);
	assert_int_equal(json_string_get(json_get(&doc, r, "s"), &s, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(s, "a\0b", 4);
	assert_int_equal(json_int64(json_get(&doc, r, "n"), &v), 0);
	assert_true(v == INT64_MIN);
	assert_int_equal(json_int64(json_get(&doc, r, "big"), &v), -ERANGE);
	assert_int_equal(json_int64(json_get(&doc, r, "f"), &v), -EINVAL);
	assert_int_equal(json_int64(json_get(&doc, r, "e"), &v), -EINVAL);
	assert_int_equal(json_bool_get(json_get(&doc, r, "b"), &b), 0);
	assert_true(b);
	assert_true(json_is_null(json_get(&doc, r, "z")));
	assert_null(json_get(&doc, r, "missing"));
	assert_int_equal(json_string_get(json_get(&doc, r, "missing"), &s, &len), -EINVAL);
	a = json_get(&doc, r, "a");
	assert_int_equal(a->count, 3);
	assert_int_equal(json_int64(json_at(&doc, a, 0), &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(json_string_get(json_at(&doc, a, 1), &s, &len), 0);
	assert_string_equal(s, "x");
	assert_int_equal(json_at(&doc, a, 2)->type, JSON_OBJECT);
	assert_null(json_at(&doc, a, 3));
	assert_null(json_get(&doc, a, "s"));            /* not an object */
	assert_int_equal(json_int64(json_get(&doc, r, "s"), &v), -EINVAL);
	json_doc_free(&doc);
}

static char *written(void (*fn)(struct json *), enum json_style style)
{
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);
	struct json j;

	assert_non_null(f);
	json_init(&j, f, style);
	fn(&j);
	assert_int_equal(fclose(f), 0);
	return out;
}

static void write_sample(struct json *j)
{
	json_begin(j, '{');
	json_key(j, "a");
	json_string_n(j, "x\0\n\x7f\"", 5);
	json_key(j, "n");
	json_int(j, -3);
	json_key(j, "d");
	json_double(j, 0.5, 3);
	json_key(j, "nan");
	json_double(j, NAN, 2);
	json_key(j, "l");
	json_begin(j, '[');
	json_bool(j, true);
	json_null(j);
	json_end(j, ']');
	json_key(j, "e");
	json_begin(j, '{');
	json_end(j, '}');
	json_end(j, '}');
}

/* What the writer writes, the parser reads back: the round trip the API
 * and bsdpctl rely on. */
static void writer_output_parses(void **state)
{
	char *compact = written(write_sample, JSON_COMPACT);
	char *pretty = written(write_sample, JSON_PRETTY);
	struct json_doc doc;
	const char *s;
	size_t len;

	(void)state;
	assert_string_equal(compact, "{\"a\":\"x\\u0000\\n\\u007f\\\"\",\"n\":-3,"
				     "\"d\":0.500,\"nan\":null,\"l\":[true,null],\"e\":{}}");
	assert_non_null(strchr(pretty, '\n'));
	assert_int_equal(parse(pretty, &doc), 0);
	assert_int_equal(json_string_get(json_get(&doc, json_root(&doc), "a"), &s, &len), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(s, "x\0\n\x7f\"", 5);
	json_doc_free(&doc);
	free(compact);
	free(pretty);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(accepts_rfc8259_values),
		cmocka_unit_test(refuses_what_rfc8259_does_not_allow),
		cmocka_unit_test(refuses_a_nul_byte_outside_strings),
		cmocka_unit_test(limits_depth_size_and_values),
		cmocka_unit_test(limits_of_the_callers_choice),
		cmocka_unit_test(accessors_read_the_tree),
		cmocka_unit_test(writer_output_parses),
	};

	return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
