/* SPDX-License-Identifier: MIT */
/*
 * Image lists, message-size limits, filters and image types: the parts of
 * the responder where other servers went wrong (docs/bsdp.md §2.5, §2.6, §4).
 */
#include "bindings.h"
#include "responder.h"
#include "testlib.h"

static int setup(void **state)
{
	*state = env_new();
	return 0;
}

static int teardown(void **state)
{
	env_free(*state);
	return 0;
}

static void load(struct env *e)
{
	env_load(e);
	assert_int_equal(nb_problems_count(&e->cat.problems, NB_ERROR), 0);
}

/* Bundles Img000..Img<n-1> whose names are name_len bytes long. */
static void add_images(struct env *e, size_t n, size_t name_len)
{
	for (size_t i = 0; i < n; i++) {
		char dir[32], body[1024], name[256];

		assert_true(name_len >= 6 && name_len < sizeof(name));
		snprintf(dir, sizeof(dir), "Img%03zu", i);
		memset(name, 'x', name_len);
		memcpy(name, dir, 6);
		name[name_len] = '\0';
		snprintf(body, sizeof(body),
			 "<key>Architectures</key><array><string>i386</string></array>\n"
			 "<key>BootFile</key><string>booter</string>\n"
			 "<key>Index</key><integer>%zu</integer>\n"
			 "<key>Kind</key><integer>1</integer>\n"
			 "<key>Name</key><string>%s</string>\n"
			 "<key>Type</key><string>BootFileOnly</string>\n", i + 1, name);
		add_bundle(e->root, dir, body);
	}
}

/* Every option-43 instance is at most 255 bytes and holds whole
 * sub-options (decode_reply fails otherwise); no description is split. */
static void assert_self_contained(const struct reply *rp)
{
	for (size_t i = 0; i < rp->n_sub; i++) {
		const struct subopt *s = &rp->sub[i];

		if (s->tag != BSDP_TAG_IMAGE_LIST)
			continue;
		for (size_t off = 0; off < s->len; off += 5 + s->data[off + 4])
			assert_true(s->len - off >= 5 && s->len - off - 5 >= s->data[off + 4]);
	}
}

static const struct req list_req = { .bsdp_type = BSDP_LIST };
static const struct req big_list_req = { .bsdp_type = BSDP_LIST, .dhcp_max = 1500 };

/* Startup Disk sends 57 = 1500 and BSDP 12 = 8192: 200 images must fit. */
static void two_hundred_images_with_8192(void **state)
{
	struct env *e = *state;
	struct req r = list_req;

	add_images(e, 200, 20);
	load(e);
	r.dhcp_max = 1500;
	r.max_size = 8192;
	assert_int_equal(send_req(e, &r), BSDP_REPLY);
	assert_int_equal(count_images(&e->rp), 200);
	assert_true(e->rp.n_instances >= 2);
	assert_self_contained(&e->rp);
	assert_true(e->tx.len <= 8192 - BSDP_IP_UDP_OVERHEAD);
	assert_int_equal(e->ev.images_listed, 200);
	assert_int_equal(e->ev.images_applicable, 200);
}

/* Without 57/12 the reply is held to 548 - 28 bytes and the list is cut
 * (Apple logs "image list truncated to first N images"). */
static void default_limit_truncates(void **state)
{
	struct env *e = *state;

	add_images(e, 40, 20);
	load(e);
	assert_int_equal(send_req(e, &list_req), BSDP_REPLY);
	assert_true(e->tx.len <= 520);
	assert_self_contained(&e->rp);
	assert_int_equal(count_images(&e->rp), e->ev.images_listed);
	assert_true(e->ev.images_listed < 40);
	assert_true(e->ev.images_listed >= 9); /* 520 bytes hold about a dozen */
	assert_int_equal(e->ev.images_applicable, 40);
}

/* 57 alone is used when above 548; a valid 12 wins even when smaller;
 * values at or below 548 mean 548; everything is capped at 8192. */
static void message_size_rules(void **state)
{
	struct env *e = *state;
	struct dhcp_view v;
	struct bsdp_request rq = { 0 };

	(void)e;
	memset(&v, 0, sizeof(v));
	assert_int_equal(bsdp_reply_limit(&v, &rq), 520);
	v.options[0] = (struct dhcp_option){ DHCP_OPT_MAX_MESSAGE_SIZE, 2,
					     (const uint8_t *)"\x05\xdc" };
	v.n_options = 1;
	assert_int_equal(bsdp_reply_limit(&v, &rq), 1472);
	rq.has_max_message_size = true;
	rq.max_message_size = 600;
	assert_int_equal(bsdp_reply_limit(&v, &rq), 572);
	rq.max_message_size = 500;
	assert_int_equal(bsdp_reply_limit(&v, &rq), 520);
	rq.max_message_size = 65535;
	assert_int_equal(bsdp_reply_limit(&v, &rq), 8164);
}

/* The boundary where sub-option 9 no longer fits one option-43 instance.
 * The first instance carries 1, 4 and 7 (13 bytes) and the 9 header, so
 * 240 bytes of descriptions fit and 241 need a second instance.  The
 * client allows 1500 bytes, as Macs do: at Apple's 520-byte default a
 * second instance of this size would not fit the packet. */
static void list_size_boundary(size_t total, size_t want_instances)
{
	struct env *e;
	void *state;

	setup(&state);
	e = state;
	/* Two images: descriptions of 5 + name bytes each. */
	{
		size_t first = 120 - 5, second = total - 120 - 5;
		char body[1024], name[256];

		for (int i = 0; i < 2; i++) {
			size_t len = i ? second : first;

			memset(name, 'n', len);
			name[len] = '\0';
			snprintf(body, sizeof(body),
				 "<key>Architectures</key><array><string>i386</string></array>\n"
				 "<key>BootFile</key><string>booter</string>\n"
				 "<key>Index</key><integer>%d</integer>\n"
				 "<key>Kind</key><integer>1</integer>\n"
				 "<key>Name</key><string>%s</string>\n"
				 "<key>Type</key><string>BootFileOnly</string>\n", i + 1, name);
			add_bundle(e->root, i ? "B" : "A", body);
		}
	}
	load(e);
	assert_int_equal(send_req(e, &big_list_req), BSDP_REPLY);
	assert_int_equal(e->rp.images_len, total);
	assert_int_equal(count_images(&e->rp), 2);
	assert_int_equal(e->rp.n_instances, want_instances);
	assert_self_contained(&e->rp);
	teardown(&state);
}

static void list_of_240_bytes_fits_one_instance(void **state)
{
	(void)state;
	list_size_boundary(240, 1);
}

static void list_of_255_and_256_bytes_split(void **state)
{
	(void)state;
	list_size_boundary(241, 2);
	list_size_boundary(255, 2);
	list_size_boundary(256, 2);
}

/* One image, and a list whose applicable set is empty (no reply). */
static void list_of_one_and_zero(void **state)
{
	struct env *e = *state;
	struct req r = list_req;

	add_images(e, 1, 6);
	load(e);
	assert_int_equal(send_req(e, &r), BSDP_REPLY);
	assert_int_equal(count_images(&e->rp), 1);
	r.cls = "AAPLBSDPC/arm/Mac14,2";
	assert_int_equal(send_req(e, &r), BSDP_SILENT);
}

/* Names over 246 bytes are cut to Apple's BSDP_IMAGE_NAME_MAX. */
static void long_name_is_cut_to_246(void **state)
{
	struct env *e = *state;

	add_images(e, 1, 250);
	assert_int_equal(nb_catalog_load(e->root, &e->cat), 0);
	assert_int_equal(nb_problems_count(&e->cat.problems, NB_WARNING), 1);
	e->rs = (struct bsdp_responder){ .catalog = &e->cat, .bindings = e->bindings };
	assert_int_equal(send_req(e, &big_list_req), BSDP_REPLY);
	assert_int_equal(count_images(&e->rp), 1);
	assert_int_equal(e->rp.images[4], 246);
}

/* ---- filters ------------------------------------------------------------------ */

#define ARCH_I386 "<key>Architectures</key><array><string>i386</string></array>\n"

static void add_typed(struct env *e, const char *dir, int index, int kind, const char *extra)
{
	char body[2048];

	snprintf(body, sizeof(body),
		 ARCH_I386 "<key>BootFile</key><string>booter</string>\n"
			   "<key>Index</key><integer>%d</integer>\n"
			   "<key>Kind</key><integer>%d</integer>\n"
			   "<key>Name</key><string>%s</string>\n"
			   "<key>Type</key><string>BootFileOnly</string>\n%s",
		 index, kind, dir, extra);
	add_bundle(e->root, dir, body);
}

/* Diagnostics (Kind 3) are FilterOnly (nbimages.c NBImageEntry_create);
 * per SPEC §3.4.15 a client asking for attribute 0x0300 gets only them,
 * and a client asking nothing never sees them. */
static void attribute_filter(void **state)
{
	struct env *e = *state;
	struct req r = list_req;
	static const uint16_t diag[] = { 0x0300 };

	add_typed(e, "Diags", 7, 3, "");
	add_typed(e, "Linux", 8, 1, "");
	load(e);
	assert_int_equal(send_req(e, &r), BSDP_REPLY);
	assert_int_equal(count_images(&e->rp), 1);
	assert_int_equal(sub_u32(&e->rp, BSDP_TAG_DEFAULT_IMAGE), 0x01000008);
	r.filter = diag;
	r.n_filter = 1;
	assert_int_equal(send_req(e, &r), BSDP_REPLY);
	assert_int_equal(count_images(&e->rp), 1);
	assert_int_equal(sub_u32(&e->rp, BSDP_TAG_DEFAULT_IMAGE), 0x03000007);
	static const uint16_t install[] = { 0x8100 };
	r.filter = install;
	assert_int_equal(send_req(e, &r), BSDP_SILENT); /* nothing matches: no reply */
}

static void model_and_mac_filters(void **state)
{
	struct env *e = *state;
	struct req r = list_req;

	add_typed(e, "OnlyMini", 10, 1,
		  "<key>EnabledSystemIdentifiers</key><array><string>Macmini7,1</string></array>\n");
	add_typed(e, "NotThisMac", 11, 1,
		  "<key>DisabledMACAddresses</key><array><string>0:1b:63:84:45:0</string></array>\n");
	add_typed(e, "OnlyThatMac", 12, 1,
		  "<key>EnabledMACAddresses</key><array><string>00:1B:63:84:45:09</string></array>\n");
	add_typed(e, "Everyone", 13, 1,
		  "<key>EnabledMACAddresses</key><array/>\n"
		  "<key>DisabledSystemIdentifiers</key><array><string>MacBookPro11,3</string></array>\n");
	load(e);
	assert_int_equal(send_req(e, &r), BSDP_REPLY);
	assert_int_equal(count_images(&e->rp), 1); /* Everyone: Disabled models are ignored */
	r.cls = "AAPLBSDPC/i386/Macmini7,1";
	r.mac_last = 9;
	assert_int_equal(send_req(e, &r), BSDP_REPLY);
	assert_int_equal(count_images(&e->rp), 4);
}

static void arch_filter(void **state)
{
	struct env *e = *state;
	struct req r = list_req;

	add_bundle(e->root, "NoArch", "<key>BootFile</key><string>booter</string>\n"
				      "<key>Index</key><integer>3</integer>\n"
				      "<key>Name</key><string>ppc only</string>\n"
				      "<key>Type</key><string>NFS</string>\n"
				      "<key>RootPath</key><string>i386/booter</string>\n");
	/* Architectures defaults to ppc: the boot file must be at ppc/ or top. */
	write_file("/dev/null", "", 0);
	{
		char p[PATH_MAX];

		snprintf(p, sizeof(p), "%s/NoArch.nbi/booter", e->root);
		write_file(p, "x", 1);
	}
	add_typed(e, "Intel", 4, 1, "");
	load(e);
	assert_int_equal(send_req(e, &r), BSDP_REPLY);
	assert_int_equal(count_images(&e->rp), 1);
	r.cls = "AAPLBSDPC/ppc/PowerMac7,3";
	assert_int_equal(send_req(e, &r), BSDP_REPLY);
	assert_int_equal(count_images(&e->rp), 1);
	assert_int_equal(sub_u32(&e->rp, BSDP_TAG_DEFAULT_IMAGE), 0x01000003);
}

/* IsDefault images come first; without one the first image is default. */
static void default_image_choice(void **state)
{
	struct env *e = *state;

	add_typed(e, "A", 1, 1, "");
	add_typed(e, "B", 2, 1, "<key>IsDefault</key><true/>\n");
	add_typed(e, "C", 3, 1, "<key>IsEnabled</key><false/>\n");
	load(e);
	assert_int_equal(send_req(e, &list_req), BSDP_REPLY);
	assert_int_equal(sub_u32(&e->rp, BSDP_TAG_DEFAULT_IMAGE), 0x01000002);
	assert_int_equal(count_images(&e->rp), 2);
}

/* ---- image types in ACK[SELECT] -------------------------------------------- */

static const struct req select_req = { .bsdp_type = BSDP_SELECT, .server_id = TEST_SERVER,
				       .has_selected = true, .selected = 0x81000005 };

static void select_http_image(void **state)
{
	struct env *e = *state;
	const struct dhcp_option *o;
	char p[PATH_MAX];

	add_typed(e, "Net Install", 5, 1, "");
	snprintf(p, sizeof(p), "%s/Net Install.nbi/NBImageInfo.plist", e->root);
	add_bundle(e->root, "Restore", ARCH_I386
		   "<key>BootFile</key><string>booter</string>\n"
		   "<key>Index</key><integer>5</integer>\n"
		   "<key>IsInstall</key><true/>\n"
		   "<key>Name</key><string>Restore</string>\n"
		   "<key>Type</key><string>HTTP</string>\n"
		   "<key>RootPath</key><string>Net Install.dmg</string>\n");
	snprintf(p, sizeof(p), "%s/Restore.nbi/Net Install.dmg", e->root);
	write_file(p, "dmg", 3);
	load(e);
	assert_int_equal(send_req(e, &select_req), BSDP_REPLY);
	o = dhcp_option_get(&e->rp.view, DHCP_OPT_ROOT_PATH);
	assert_non_null(o);
	assert_int_equal(o->len, strlen("http://198.18.0.1/Restore.nbi/Net%20Install.dmg"));
	assert_memory_equal(o->data, "http://198.18.0.1/Restore.nbi/Net%20Install.dmg", o->len);
	assert_string_equal(e->rp.view.hdr.file, "Restore.nbi/i386/booter");
	{
		const struct subopt *name = find_sub(&e->rp, BSDP_TAG_MACHINE_NAME);

		assert_non_null(name);
		assert_int_equal(name->len, 10);
		assert_memory_equal(name->data, "NetBoot001", 10);
	}
}

static void select_nfs_image_with_load_balancer(void **state)
{
	struct env *e = *state;
	const struct dhcp_option *o;
	char p[PATH_MAX], want[PATH_MAX];

	add_bundle(e->root, "NFS", ARCH_I386
		   "<key>BootFile</key><string>booter</string>\n"
		   "<key>Index</key><integer>5</integer>\n"
		   "<key>IsInstall</key><true/>\n"
		   "<key>Name</key><string>NFS</string>\n"
		   "<key>Type</key><string>NFS</string>\n"
		   "<key>LoadBalanceServer</key><string>198.18.0.7</string>\n"
		   "<key>RootPath</key><string>NetBoot.dmg</string>\n");
	snprintf(p, sizeof(p), "%s/NFS.nbi/NetBoot.dmg", e->root);
	write_file(p, "dmg", 3);
	load(e);
	assert_int_equal(send_req(e, &select_req), BSDP_REPLY);
	assert_int_equal(e->rp.view.hdr.siaddr.s_addr, ip("198.18.0.7").s_addr);
	assert_string_equal(e->rp.view.hdr.sname, ""); /* not named when load-balanced */
	o = dhcp_option_get(&e->rp.view, DHCP_OPT_ROOT_PATH);
	assert_non_null(o);
	snprintf(want, sizeof(want), "nfs:198.18.0.7:%s:NFS.nbi/NetBoot.dmg", e->root);
	assert_int_equal(o->len, strlen(want));
	assert_memory_equal(o->data, want, o->len);
}

/* A named image that does not suit the Mac's model gets ACK[FAILED]. */
static void select_forbidden_image_fails(void **state)
{
	struct env *e = *state;
	struct req r = select_req;

	add_typed(e, "MiniOnly", 5, 1,
		  "<key>EnabledSystemIdentifiers</key><array><string>Macmini7,1</string></array>\n");
	load(e);
	r.selected = 0x01000005;
	assert_int_equal(send_req(e, &r), BSDP_REPLY);
	assert_string_equal(e->ev.reply, "ACK[FAILED]");
	r.cls = "AAPLBSDPC/i386/Macmini7,1";
	assert_int_equal(send_req(e, &r), BSDP_REPLY);
	assert_string_equal(e->ev.reply, "ACK[SELECT]");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(two_hundred_images_with_8192),
		T(default_limit_truncates),
		T(message_size_rules),
		cmocka_unit_test(list_of_240_bytes_fits_one_instance),
		cmocka_unit_test(list_of_255_and_256_bytes_split),
		T(list_of_one_and_zero),
		T(long_name_is_cut_to_246),
		T(attribute_filter),
		T(model_and_mac_filters),
		T(arch_filter),
		T(default_image_choice),
		T(select_http_image),
		T(select_nfs_image_with_load_balancer),
		T(select_forbidden_image_fails),
#undef T
	};

	return cmocka_run_group_tests_name("lists", tests, NULL, NULL);
}
