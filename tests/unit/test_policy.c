/* SPDX-License-Identifier: MIT */
/*
 * The boot-policy model: validation naming the field, MAC parsing,
 * group specificity and conflicts, resolution order, and every profile
 * kind rendered for EFI and BIOS, with hostile names, labels and values.
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

#include "policy.h"

#define H "http://192.0.2.1:8080"
#define Q "?mac=${mac:hexhyp}"

/* The built-in menu every render falls back to, parsed once (group setup). */
static struct ipxe_template *fallback;

static int parse_fallback(void **state)
{
	(void)state;
	fallback = policy_fallback_new();
	return fallback ? 0 : -1;
}

static int free_fallback(void **state)
{
	(void)state;
	ipxe_template_free(fallback);
	return 0;
}

static struct profile prof(const char *name, enum profile_kind k)
{
	struct profile p = { .kind = k };

	snprintf(p.name, sizeof(p.name), "%s", name);
	return p;
}

static void invalid(const struct profile *p, const char *field, const char *msg)
{
	struct policy_error e = { 0 };

	assert_int_equal(profile_validate(p, &e), -EINVAL);
	assert_string_equal(e.field, field);
	if (!strstr(e.msg, msg))
		fail_msg("message \"%s\" lacks \"%s\"", e.msg, msg);
}

static void valid(const struct profile *p)
{
	struct policy_error e = { 0 };

	if (profile_validate(p, &e) != 0)
		fail_msg("%s: %s", e.field, e.msg);
}

static void mac_parsing(void **state)
{
	uint8_t m[6];
	size_t n;
	char s[18];

	(void)state;
	assert_int_equal(policy_mac_parse("52:54:00:AB:cd:ef", m), 0);
	policy_mac_format(m, s);
	assert_string_equal(s, "52:54:00:ab:cd:ef");
	assert_int_equal(policy_mac_parse("52-54-00-ab-cd-ef", m), 0);
	assert_int_equal(policy_mac_parse("52:54-00:ab:cd:ef", m), -EINVAL);
	assert_int_equal(policy_mac_parse("52:54:00:ab:cd", m), -EINVAL);
	assert_int_equal(policy_mac_parse("52:54:00:ab:cd:ef:01", m), -EINVAL);
	assert_int_equal(policy_mac_parse("5:54:00:ab:cd:ef", m), -EINVAL);
	assert_int_equal(policy_mac_parse("52:54:00:ab:cd:eg", m), -EINVAL);
	assert_int_equal(policy_mac_parse("", m), -EINVAL);
	assert_int_equal(policy_mac_prefix_parse("52:54:00", m, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(m[2], 0);
	assert_int_equal(policy_mac_prefix_parse("52", m, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(policy_mac_prefix_parse("52:", m, &n), -EINVAL);
}

static void enum_names_round_trip(void **state)
{
	enum profile_kind k;
	enum local_method l;

	(void)state;
	for (int i = 0; i < PROFILE_KIND_COUNT; i++) {
		assert_int_equal(profile_kind_parse(profile_kind_name((enum profile_kind)i), &k), 0);
		assert_int_equal(k, i);
	}
	for (int i = 0; i < LOCAL_METHOD_COUNT; i++) {
		assert_int_equal(local_method_parse(local_method_name((enum local_method)i), &l), 0);
		assert_int_equal(l, i);
	}
	assert_int_equal(profile_kind_parse("Linux", &k), -EINVAL);
	assert_string_equal(policy_rule_name(RULE_NEXT_BOOT), "next-boot");
}

static void paths_are_validated(void **state)
{
	struct profile p = prof("inst", PROFILE_LINUX);
	static const struct { const char *path, *msg; } bad[] = {
		{ "", "is required" },
		{ "/vmlinuz", "leading '/'" },
		{ "../etc/passwd", "\"..\"" },
		{ "a/../../b", "\"..\"" },
		{ "a/..", "\"..\"" },
		{ "vmlinuz initrd=x", "blank" },
		{ "vm${x}", "expand" },
		{ "vm\nshell", "control byte 0x0a" },
		{ "vm;reboot", "command separator" },
		{ "vm||reboot", "command separator" },
		{ "vm\"x", "quoting" },
		{ "vm\\x", "quoting" },
		{ "vm#x", "'#'" },
		{ "http://", "without a host" },
		{ "https:///x", "without a host" },
		{ "http://h/\xc3\xa9", "not ASCII" },
	};

	(void)state;
	strcpy(p.kernel, "boot/vmlinuz");
	valid(&p);
	strcpy(p.kernel, "https://mirror.example/deb/linux");
	valid(&p);
	strcpy(p.kernel, "a/..b/c..");
	valid(&p);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(p.kernel, sizeof(p.kernel), "%s", bad[i].path);
		invalid(&p, "kernel", bad[i].msg);
	}
	strcpy(p.kernel, "vmlinuz");
	p.n_initrds = 2;
	strcpy(p.initrds[0], "initrd.img");
	strcpy(p.initrds[1], "/abs");
	invalid(&p, "initrds[1]", "leading '/'");
}

static void cmdline_and_text_are_inert(void **state)
{
	struct profile p = prof("inst", PROFILE_LINUX);

	(void)state;
	strcpy(p.kernel, "vmlinuz");
	strcpy(p.cmdline, "console=ttyS0,115200n8 -- quiet ip=dhcp");
	valid(&p);
	strcpy(p.cmdline, "root=${root}");
	invalid(&p, "cmdline", "iPXE would expand ${...}");
	strcpy(p.cmdline, "quiet; reboot");
	invalid(&p, "cmdline", "command separator");
	strcpy(p.cmdline, "a\nshell");
	invalid(&p, "cmdline", "not printable");
	strcpy(p.cmdline, "x=\"a b\"");
	invalid(&p, "cmdline", "quoting");
	p.cmdline[0] = '\0';
	strcpy(p.description, "Install ${x}");
	invalid(&p, "description", "expand");
	strcpy(p.description, "Install Debian 12 (lab)");
	valid(&p);
	strcpy(p.name, "bad name");
	invalid(&p, "name", "[A-Za-z0-9._-]");
	strcpy(p.name, "..");
	invalid(&p, "name", "not a usable name");
	memset(p.name, 'a', sizeof(p.name));
	invalid(&p, "name", "longer than 63");
}

static void fields_of_other_kinds_are_refused(void **state)
{
	struct profile p = prof("l", PROFILE_LOCAL);

	(void)state;
	valid(&p);
	strcpy(p.kernel, "vmlinuz");
	invalid(&p, "kernel", "a local profile does not use it");
	p = prof("s", PROFILE_SHELL);
	p.local = LOCAL_EXIT;
	invalid(&p, "local", "a shell profile");
	p = prof("l", PROFILE_LOCAL);
	p.local = LOCAL_METHOD_COUNT;
	invalid(&p, "local", "not a local-boot method");
	p.kind = PROFILE_KIND_COUNT;
	invalid(&p, "kind", "not a profile kind");
}

static void menus_are_validated(void **state)
{
	struct profile p = prof("m", PROFILE_MENU);

	(void)state;
	invalid(&p, "items", "1 to 32");
	p.n_items = 2;
	strcpy(p.items[0], "a");
	strcpy(p.items[1], "b");
	strcpy(p.default_item, "c");
	invalid(&p, "default", "not one of the items");
	strcpy(p.default_item, "b");
	valid(&p);
	p.timeout = POLICY_MENU_TIMEOUT_MAX + 1;
	invalid(&p, "timeout", "at most 3600");
	p.timeout = 5;
	strcpy(p.items[1], "m");
	invalid(&p, "items[1]", "may not name itself");
	strcpy(p.items[1], "a");
	invalid(&p, "items[1]", "already items[0]");
	strcpy(p.items[1], "x y");
	invalid(&p, "items[1]", "[A-Za-z0-9._-]");
}

static void templates_are_validated_with_line_and_column(void **state)
{
	struct profile p = prof("s", PROFILE_SCRIPT);
	char text[] = "#!ipxe\necho {{nope}}\n";

	(void)state;
	invalid(&p, "template", "needs a template");
	p.template = text;
	invalid(&p, "template", "line 2, column 8: unknown placeholder {{nope}}");
	p.template = (char *)(uintptr_t)"echo hi\n";
	invalid(&p, "template", "line 1, column 1");
	p.template = (char *)(uintptr_t)"#!ipxe\necho {{hostname}}\n";
	valid(&p);
}

static struct policy_group grp(const char *name, const char *profile, int prio)
{
	struct policy_group g = { .priority = prio };

	snprintf(g.name, sizeof(g.name), "%s", name);
	snprintf(g.profile, sizeof(g.profile), "%s", profile);
	return g;
}

static void groups_and_machines_are_validated(void **state)
{
	struct policy_group g = grp("lab", "inst", 10);
	struct machine m = { .n_labels = 1 };
	struct policy_error e = { 0 };

	(void)state;
	assert_int_equal(group_validate(&g, &e), 0);
	g.selector.mac_prefix_len = 7;
	assert_int_equal(group_validate(&g, &e), -EINVAL);
	assert_string_equal(e.field, "selector.mac_prefix");
	g.selector.mac_prefix_len = 3;
	strcpy(g.selector.model, "Mac Pro*");
	assert_int_equal(group_validate(&g, &e), -EINVAL);
	assert_string_equal(e.field, "selector.model");
	strcpy(g.selector.model, "MacPro[0-9],*");
	strcpy(g.selector.arch, "X86");
	assert_int_equal(group_validate(&g, &e), -EINVAL);
	assert_string_equal(e.field, "selector.arch");
	g.selector.arch[0] = '\0';
	g.selector.n_labels = 1;
	strcpy(g.selector.labels[0].key, "room");
	strcpy(g.selector.labels[0].value, "1 01");
	assert_int_equal(group_validate(&g, &e), -EINVAL);
	assert_string_equal(e.field, "selector.labels.room");
	strcpy(g.selector.labels[0].value, "101");
	g.profile[0] = '\0';
	assert_int_equal(group_validate(&g, &e), -EINVAL);
	assert_string_equal(e.field, "profile");

	/* The admin's hostname and labels: everything iPXE reads is refused. */
	strcpy(m.labels[0].key, "room");
	strcpy(m.labels[0].value, "101");
	assert_int_equal(machine_validate(&m, &e), 0);
	static const char *const hostnames[] = {
		"lab\nshell", "lab${x}", "lab\"", "lab;reboot", "-lab", "lab 1", "lab..x", "lab-",
	};
	for (size_t i = 0; i < sizeof(hostnames) / sizeof(hostnames[0]); i++) {
		snprintf(m.hostname, sizeof(m.hostname), "%s", hostnames[i]);
		assert_int_equal(machine_validate(&m, &e), -EINVAL);
		assert_string_equal(e.field, "hostname");
	}
	strcpy(m.hostname, "lab-101.example");
	assert_int_equal(machine_validate(&m, &e), 0);
	strcpy(m.labels[0].value, "${x}");
	assert_int_equal(machine_validate(&m, &e), -EINVAL);
	assert_string_equal(e.field, "labels.room");
	strcpy(m.labels[0].value, "a\nb");
	assert_int_equal(machine_validate(&m, &e), -EINVAL);
	strcpy(m.labels[0].key, "Room");
	assert_int_equal(machine_validate(&m, &e), -EINVAL);
	assert_string_equal(e.field, "labels");
	strcpy(m.labels[0].key, "room");
	strcpy(m.labels[0].value, "101");
	m.n_labels = 2;
	m.labels[1] = m.labels[0];
	assert_int_equal(machine_validate(&m, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "twice"));
}

static void selectors_match_and_score(void **state)
{
	struct machine m = { .mac = { 0x52, 0x54, 0x00, 1, 2, 3 }, .model = "MacPro6,1",
			     .arch = "x86_64", .n_labels = 1 };
	struct selector s = { 0 };

	(void)state;
	strcpy(m.labels[0].key, "room");
	strcpy(m.labels[0].value, "101");
	assert_true(selector_matches(&s, &m));
	assert_int_equal(selector_specificity(&s), 0);
	s.mac_prefix_len = 3;
	memcpy(s.mac_prefix, m.mac, 3);
	assert_true(selector_matches(&s, &m));
	assert_int_equal(selector_specificity(&s), 1);
	s.mac_prefix[2] = 1;
	assert_false(selector_matches(&s, &m));
	s.mac_prefix[2] = 0;
	strcpy(s.model, "MacPro*");
	assert_true(selector_matches(&s, &m));
	assert_int_equal(selector_specificity(&s), 2);
	strcpy(s.model, "MacPro6,1");
	assert_int_equal(selector_specificity(&s), 3);
	strcpy(s.model, "iMac*");
	assert_false(selector_matches(&s, &m));
	s.model[0] = '\0';
	strcpy(s.arch, "arm64");
	assert_false(selector_matches(&s, &m));
	strcpy(s.arch, "x86_64");
	s.n_labels = 1;
	strcpy(s.labels[0].key, "room");
	strcpy(s.labels[0].value, "102");
	assert_false(selector_matches(&s, &m));
	strcpy(s.labels[0].value, "101");
	assert_true(selector_matches(&s, &m));
	assert_int_equal(selector_specificity(&s), 3);
	s.mac_prefix_len = 6;
	memcpy(s.mac_prefix, m.mac, 6);
	assert_int_equal(selector_specificity(&s), 4);
}

static void overlap_is_conservative(void **state)
{
	struct selector a = { 0 }, b = { 0 };

	(void)state;
	assert_true(selectors_overlap(&a, &b));
	strcpy(a.model, "MacPro*");
	strcpy(b.model, "Mac*");
	assert_true(selectors_overlap(&a, &b)); /* two globs */
	strcpy(b.model, "iMac14,2");
	assert_false(selectors_overlap(&a, &b));
	strcpy(b.model, "MacPro6,1");
	assert_true(selectors_overlap(&a, &b));
	strcpy(a.model, "MacPro5,1");
	assert_false(selectors_overlap(&a, &b));
	a.model[0] = b.model[0] = '\0';
	a.mac_prefix_len = 3;
	memcpy(a.mac_prefix, "\x52\x54\x00", 3);
	b.mac_prefix_len = 2;
	memcpy(b.mac_prefix, "\x52\x55", 2);
	assert_false(selectors_overlap(&a, &b));
	b.mac_prefix[1] = 0x54;
	assert_true(selectors_overlap(&a, &b));
	strcpy(a.arch, "x86_64");
	strcpy(b.arch, "arm64");
	assert_false(selectors_overlap(&a, &b));
	b.arch[0] = '\0';
	a.n_labels = b.n_labels = 1;
	strcpy(a.labels[0].key, "room");
	strcpy(b.labels[0].key, "room");
	strcpy(a.labels[0].value, "101");
	strcpy(b.labels[0].value, "102");
	assert_false(selectors_overlap(&a, &b));
	strcpy(b.labels[0].key, "row");
	assert_true(selectors_overlap(&a, &b));
}

static void equal_groups_conflict(void **state)
{
	struct policy_group gs[3] = { grp("a", "p", 10), grp("b", "p", 10), grp("c", "p", 20) };
	struct policy_group g = grp("new", "p", 10);

	(void)state;
	strcpy(gs[0].selector.arch, "x86_64");
	strcpy(gs[1].selector.arch, "arm64");
	strcpy(gs[2].selector.arch, "i386");
	strcpy(g.selector.model, "MacPro*");
	assert_ptr_equal(policy_groups_conflict(&g, gs, 3), &gs[0]); /* same score, may overlap */
	strcpy(g.name, "a");
	assert_ptr_equal(policy_groups_conflict(&g, gs, 3), &gs[1]); /* itself is skipped */
	g.priority = 11;
	assert_null(policy_groups_conflict(&g, gs, 3));
	g.priority = 20;
	assert_null(policy_groups_conflict(&g, gs, 2));
	strcpy(g.selector.model, "MacPro6,1"); /* more specific */
	g.priority = 10;
	assert_null(policy_groups_conflict(&g, gs, 3));
}

static void resolution_order(void **state)
{
	struct policy_group gs[3] = { grp("any", "g-any", 0), grp("room", "g-room", 0),
			       grp("hi", "g-hi", 5) };
	struct machine m = { .mac = { 0x52, 0x54, 0, 1, 2, 3 }, .n_labels = 1 };
	struct resolution r;

	(void)state;
	strcpy(m.labels[0].key, "room");
	strcpy(m.labels[0].value, "101");
	gs[1].selector.n_labels = 1;
	gs[1].selector.labels[0] = m.labels[0];
	gs[1].local = LOCAL_REBOOT;
	strcpy(gs[1].image, "Install");
	strcpy(gs[2].selector.arch, "arm64");

	policy_resolve(&m, gs, 0, NULL, &r);
	assert_int_equal(r.rule, RULE_NONE);
	assert_string_equal(r.profile, "");
	policy_resolve(&m, gs, 0, "dflt", &r);
	assert_int_equal(r.rule, RULE_DEFAULT);
	assert_string_equal(r.profile, "dflt");
	policy_resolve(&m, gs, 1, "dflt", &r);
	assert_int_equal(r.rule, RULE_GROUP);
	assert_string_equal(r.group, "any");
	policy_resolve(&m, gs, 3, "dflt", &r); /* the labelled group is more specific */
	assert_int_equal(r.rule, RULE_GROUP);
	assert_string_equal(r.group, "room");
	assert_string_equal(r.profile, "g-room");
	assert_int_equal(r.local, LOCAL_REBOOT);
	assert_string_equal(r.image, "Install");
	strcpy(m.arch, "arm64"); /* same specificity: the higher priority */
	policy_resolve(&m, gs, 3, "dflt", &r);
	assert_string_equal(r.group, "hi");
	assert_int_equal(r.local, LOCAL_AUTO);
	m.arch[0] = '\0';
	strcpy(m.profile, "mine");
	m.local = LOCAL_EXIT;
	policy_resolve(&m, gs, 3, "dflt", &r);
	assert_int_equal(r.rule, RULE_MACHINE);
	assert_string_equal(r.profile, "mine");
	assert_string_equal(r.group, "");
	assert_int_equal(r.local, LOCAL_EXIT); /* the machine's, over the group's */
	assert_string_equal(r.image, "Install");  /* the best group's */
	strcpy(m.image, "Mine");
	strcpy(m.next_boot, "once");
	policy_resolve(&m, gs, 3, "dflt", &r);
	assert_int_equal(r.rule, RULE_NEXT_BOOT);
	assert_string_equal(r.profile, "once");
	assert_string_equal(r.image, "Mine");
}

static void ties_do_not_depend_on_order(void **state)
{
	struct policy_group gs[2] = { grp("zeta", "z", 0), grp("alpha", "a", 0) };
	struct machine m = { 0 };
	struct resolution r;

	(void)state;
	policy_resolve(&m, gs, 2, NULL, &r);
	assert_string_equal(r.group, "alpha");
	struct policy_group rev[2] = { gs[1], gs[0] };
	policy_resolve(&m, rev, 2, NULL, &r);
	assert_string_equal(r.group, "alpha");
}

/* ---- rendering --------------------------------------------------------------- */

static const char *missing_path;

static bool exists(void *ctx, const char *path)
{
	(void)ctx;
	return !missing_path || strcmp(path, missing_path) != 0;
}

static char out[65536];

static const char *render(const struct profile *p, bool efi, enum policy_rule rule,
			  const struct profile *const *items, const struct ipxe_values *vals)
{
	struct resolution res = { .rule = rule };
	struct policy_render_ctx ctx = { .efi = efi, .http_base = H, .res = &res, .fallback = fallback, .items = items,
					 .values = vals, .file_exists = exists };

	if (rule == RULE_GROUP)
		strcpy(res.group, "lab");
	assert_true(policy_render(p, &ctx, out, sizeof(out)) > 0);
	return out;
}

static void local_per_firmware(void **state)
{
	struct profile p = prof("disk", PROFILE_LOCAL);
	struct resolution res = { .rule = RULE_MACHINE, .local = LOCAL_REBOOT };
	struct policy_render_ctx ctx = { .efi = true, .http_base = H, .res = &res, .fallback = fallback };

	(void)state;
	assert_string_equal(render(&p, true, RULE_MACHINE, NULL, NULL),
			    "#!ipxe\n# bsdpd: profile disk (rule machine)\nexit 1\n");
	assert_string_equal(render(&p, false, RULE_GROUP, NULL, NULL),
			    "#!ipxe\n# bsdpd: profile disk (rule group group lab)\n"
			    "sanboot --no-describe --drive 0x80 || exit 1\n");
	p.local = LOCAL_REFUSE;
	assert_string_equal(render(&p, false, RULE_DEFAULT, NULL, NULL),
			    "#!ipxe\n# bsdpd: profile disk (rule default)\nexit 1\n");
	p.local = LOCAL_SANBOOT;
	assert_string_equal(render(&p, true, RULE_NEXT_BOOT, NULL, NULL),
			    "#!ipxe\n# bsdpd: profile disk (rule next-boot)\n"
			    "sanboot --no-describe --drive 0x80 || exit 1\n");
	p.local = LOCAL_EXIT;
	assert_string_equal(render(&p, false, RULE_MACHINE, NULL, NULL),
			    "#!ipxe\n# bsdpd: profile disk (rule machine)\nexit 1\n");
	/* The machine's method wins over the profile's. */
	assert_true(policy_render(&p, &ctx, out, sizeof(out)) > 0);
	assert_string_equal(out, "#!ipxe\n# bsdpd: profile disk (rule machine)\nreboot\n");
}

static void linux_per_firmware(void **state)
{
	struct profile p = prof("inst", PROFILE_LINUX);
	const char *s;

	(void)state;
	strcpy(p.kernel, "debian/vmlinuz");
	strcpy(p.initrds[0], "debian/initrd.gz");
	strcpy(p.initrds[1], "https://m.example/fw.cpio");
	p.n_initrds = 2;
	strcpy(p.cmdline, "console=ttyS0 priority=low");
	s = render(&p, true, RULE_NEXT_BOOT, NULL, NULL);
	assert_non_null(strstr(s, "#!ipxe\n# bsdpd: profile inst (rule next-boot)\n"
			       "kernel " H "/debian/vmlinuz" Q " initrd=initrd0 initrd=initrd1 "
			       "console=ttyS0 priority=low || goto failed\n"
			       "initrd --name initrd0 " H "/debian/initrd.gz" Q " || goto failed\n"
			       "initrd --name initrd1 https://m.example/fw.cpio || goto failed\n"
			       "boot || goto failed\n"
			       ":failed\n"
			       "echo bsdpd: profile inst: the boot failed, the built-in menu follows\n"
			       "sleep 5\n"
			       "menu bsdpd " H "\n"));
	assert_null(strstr(s, "#!ipxe\nmenu")); /* the menu's own magic line is dropped */
	assert_int_equal(strstr(s, "#!ipxe") - s, 0);
	assert_null(strstr(s + 1, "#!ipxe"));
	s = render(&p, false, RULE_MACHINE, NULL, NULL);
	assert_non_null(strstr(s, "kernel " H "/debian/vmlinuz" Q
			       " console=ttyS0 priority=low || goto failed\n"));
	assert_non_null(strstr(s, "sanboot --no-describe --drive 0x80 || exit 1\n"));
	assert_string_equal(profile_last_file(&p), "debian/initrd.gz");
	/* The next boot is spent by the last file in full, and only by it. */
	assert_true(profile_boot_done(&p, "debian/initrd.gz", true));
	assert_false(profile_boot_done(&p, "debian/initrd.gz", false)); /* broken off */
	assert_false(profile_boot_done(&p, "debian/vmlinuz", true));
	assert_false(profile_boot_done(&p, "other/initrd.gz", true));
	/* Each file's stage, for the http-file events (docs/api.md). */
	assert_string_equal(profile_file_stage(&p, "debian/vmlinuz"), "kernel");
	assert_string_equal(profile_file_stage(&p, "debian/initrd.gz"), "initrd");
	assert_string_equal(profile_file_stage(&p, "debian/other"), "");
	assert_string_equal(profile_file_stage(&p, "/debian/vmlinuz"), "");
	p.n_initrds = 0;
	p.cmdline[0] = '\0';
	assert_non_null(strstr(render(&p, true, RULE_MACHINE, NULL, NULL),
			       "kernel " H "/debian/vmlinuz" Q " || goto failed\nboot || goto failed\n"));
	assert_string_equal(profile_last_file(&p), "debian/vmlinuz");
}

static void chain_shell_and_script(void **state)
{
	struct profile p = prof("other", PROFILE_CHAIN);
	struct ipxe_values v = { .v = { [IPXE_VAR_HOSTNAME] = "lab-1\nreboot",
					[IPXE_VAR_MODEL] = "${x};shell", [IPXE_VAR_UUID] = "-x \"y\"" } };
	char tmpl[] = "#!ipxe\necho {{hostname}} {{model}} {{uuid}}\n";

	(void)state;
	strcpy(p.chain, "ipxe/snp.efi");
	for (int efi = 0; efi < 2; efi++)
		assert_non_null(strstr(render(&p, efi, RULE_MACHINE, NULL, NULL),
				       "# bsdpd: profile other (rule machine)\n"
				       "chain " H "/ipxe/snp.efi" Q " || goto failed\n:failed\n"));
	assert_string_equal(profile_last_file(&p), "ipxe/snp.efi");
	assert_string_equal(profile_file_stage(&p, "ipxe/snp.efi"), "chain");
	assert_string_equal(profile_file_stage(&p, "ipxe/other.efi"), "");
	strcpy(p.chain, "http://other.example/x.ipxe");
	assert_non_null(strstr(render(&p, true, RULE_MACHINE, NULL, NULL),
			       "chain http://other.example/x.ipxe || goto failed\n"));
	assert_null(profile_last_file(&p));
	assert_false(profile_boot_done(&p, "x.ipxe", true)); /* spent when its script is */

	p = prof("sh", PROFILE_SHELL);
	for (int efi = 0; efi < 2; efi++)
		assert_string_equal(render(&p, efi, RULE_DEFAULT, NULL, NULL),
				    "#!ipxe\n# bsdpd: profile sh (rule default)\nshell\n");
	assert_null(profile_last_file(&p));
	assert_string_equal(profile_file_stage(&p, "ipxe/snp.efi"), "");

	/* Values from the wire are neutralized in the admin's template. */
	p = prof("tpl", PROFILE_SCRIPT);
	p.template = tmpl;
	for (int efi = 0; efi < 2; efi++)
		assert_string_equal(render(&p, efi, RULE_MACHINE, NULL, &v),
				    "#!ipxe\n# bsdpd: profile tpl (rule machine)\n"
				    "echo lab-1_reboot __x__shell _x__y_\n");
}

static void menus_render_each_item(void **state)
{
	struct profile m = prof("pick", PROFILE_MENU), a = prof("inst", PROFILE_LINUX),
		       d = prof("disk", PROFILE_LOCAL), n = prof("sub", PROFILE_MENU);
	const struct profile *items[4] = { &a, &d, NULL, &n };
	const char *s;

	(void)state;
	strcpy(m.description, "Lab -x menu");
	m.n_items = 4;
	strcpy(m.items[0], "inst");
	strcpy(m.items[1], "disk");
	strcpy(m.items[2], "gone");
	strcpy(m.items[3], "sub");
	strcpy(m.default_item, "disk");
	m.timeout = 5;
	strcpy(a.description, "Install \"Debian\"");
	strcpy(a.kernel, "vmlinuz");
	s = render(&m, true, RULE_MACHINE, items, NULL);
	assert_string_equal(s,
			    "#!ipxe\n# bsdpd: profile pick (rule machine)\n"
			    ":bsdpd-menu\n"
			    "menu Lab _x menu\n"
			    "item item-inst Install _Debian_\n"
			    "item item-disk disk\n"
			    "item --gap gone (no such profile)\n"
			    "item --gap sub (a menu inside a menu is not shown)\n"
			    "choose --timeout 5000 --default item-disk target && goto ${target}\n"
			    "shell\ngoto bsdpd-menu\n"
			    ":item-inst\n"
			    "kernel " H "/vmlinuz" Q " || goto item-inst-failed\n"
			    "boot || goto item-inst-failed\n"
			    ":item-inst-failed\n"
			    "echo bsdpd: profile inst: the boot failed, the bsdpd menu follows\n"
			    "sleep 3\ngoto bsdpd-menu\n"
			    "goto bsdpd-menu\n"
			    ":item-disk\nexit 1\ngoto bsdpd-menu\n");
	m.timeout = 0;
	s = render(&m, false, RULE_MACHINE, items, NULL);
	assert_non_null(strstr(s, "choose --default item-disk target && goto ${target}\n"));
	assert_non_null(strstr(s, ":item-disk\nsanboot --no-describe --drive 0x80 || exit 1\n"));
	/* A missing file inside a menu returns to the menu. */
	missing_path = "vmlinuz";
	s = render(&m, true, RULE_MACHINE, items, NULL);
	missing_path = NULL;
	assert_non_null(strstr(s, ":item-inst\n"
			       "echo bsdpd: profile inst: vmlinuz is missing under the HTTP root\n"
			       "sleep 3\ngoto bsdpd-menu\n"));
}

static void a_missing_file_falls_back(void **state)
{
	struct profile p = prof("inst", PROFILE_LINUX);
	const char *s;

	(void)state;
	strcpy(p.kernel, "vmlinuz");
	strcpy(p.initrds[0], "gone/in itrd");
	p.n_initrds = 1;
	missing_path = p.initrds[0];
	s = render(&p, true, RULE_GROUP, NULL, NULL);
	missing_path = NULL;
	assert_non_null(strstr(s, "#!ipxe\n# bsdpd: profile inst (rule group group lab)\n"
			       "echo bsdpd: profile inst: gone/in_itrd is missing under the HTTP root\n"
			       "sleep 5\n"
			       "menu bsdpd " H "\n"));
	assert_non_null(strstr(s, ":local-efi\nexit 1\n"));
	assert_null(strstr(s, "kernel "));
}

static void urls_are_encoded(void **state)
{
	char url[128];

	(void)state;
	assert_int_equal(policy_file_url(H, "a b/%c~_.-/\xc3\xa9?x", url, sizeof(url)),
			 (int)strlen(H "/a%20b/%25c~_.-/%C3%A9%3Fx" Q));
	assert_string_equal(url, H "/a%20b/%25c~_.-/%C3%A9%3Fx" Q);
	for (size_t cap = 0; cap <= strlen(H "/vmlinuz" Q); cap++)
		assert_int_equal(policy_file_url(H, "vmlinuz", url, cap), -ENOSPC);
	assert_int_equal(policy_file_url(H, "vmlinuz", url, strlen(H "/vmlinuz" Q) + 1),
			 (int)strlen(H "/vmlinuz" Q));
	assert_int_equal(policy_file_url(H, "https://x/y", url, sizeof(url)), 11);
	assert_string_equal(url, "https://x/y");
}

static void hostile_names_stay_inert_in_the_script(void **state)
{
	/* Records that skipped validation (or a future bug there) still
	 * cannot add a command: names are sanitized into the script. */
	struct profile p = prof("x\nreboot", PROFILE_SHELL);
	struct resolution res = { .rule = RULE_GROUP, .group = "g ${x};shell" };
	struct policy_render_ctx ctx = { .http_base = H, .res = &res, .fallback = fallback };

	(void)state;
	assert_true(policy_render(&p, &ctx, out, sizeof(out)) > 0);
	assert_string_equal(out, "#!ipxe\n# bsdpd: profile x_reboot (rule group group g___x__shell)\n"
				 "shell\n");
	strcpy(p.name, "-x");
	assert_true(policy_render(&p, &ctx, out, sizeof(out)) > 0);
	assert_non_null(strstr(out, "profile _x "));
}

static void rendering_fails_at_short_capacity(void **state)
{
	struct profile p = prof("inst", PROFILE_LINUX);
	struct resolution res = { .rule = RULE_MACHINE };
	struct policy_render_ctx ctx = { .efi = true, .http_base = H, .res = &res, .fallback = fallback };
	ssize_t need;

	(void)state;
	strcpy(p.kernel, "vmlinuz");
	need = policy_render(&p, &ctx, out, sizeof(out));
	assert_true(need > 0);
	for (size_t cap = 0; cap <= (size_t)need; cap++)
		assert_int_equal(policy_render(&p, &ctx, out, cap), -ENOSPC);
	assert_int_equal(policy_render(&p, &ctx, out, (size_t)need + 1), need);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mac_parsing),
		cmocka_unit_test(enum_names_round_trip),
		cmocka_unit_test(paths_are_validated),
		cmocka_unit_test(cmdline_and_text_are_inert),
		cmocka_unit_test(fields_of_other_kinds_are_refused),
		cmocka_unit_test(menus_are_validated),
		cmocka_unit_test(templates_are_validated_with_line_and_column),
		cmocka_unit_test(groups_and_machines_are_validated),
		cmocka_unit_test(selectors_match_and_score),
		cmocka_unit_test(overlap_is_conservative),
		cmocka_unit_test(equal_groups_conflict),
		cmocka_unit_test(resolution_order),
		cmocka_unit_test(ties_do_not_depend_on_order),
		cmocka_unit_test(local_per_firmware),
		cmocka_unit_test(linux_per_firmware),
		cmocka_unit_test(chain_shell_and_script),
		cmocka_unit_test(menus_render_each_item),
		cmocka_unit_test(a_missing_file_falls_back),
		cmocka_unit_test(urls_are_encoded),
		cmocka_unit_test(hostile_names_stay_inert_in_the_script),
		cmocka_unit_test(rendering_fails_at_short_capacity),
	};

	return cmocka_run_group_tests_name("policy", tests, parse_fallback, free_fallback);
}
