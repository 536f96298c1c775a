/* SPDX-License-Identifier: MIT */
/*
 * DHCP and BSDP codecs: boundaries, overload areas, class ids, builders
 * that fail instead of overrunning, and the BSDP payloads others published
 * (../shared/fixtures/bsdp-published/, reproduced here as bytes).
 */
#include "testlib.h"

static uint8_t pkt[1024];

/* A minimal DHCP header + cookie; options are appended by the test. */
static size_t base_packet(void)
{
	memset(pkt, 0, sizeof(pkt));
	pkt[0] = BOOTREQUEST;
	pkt[1] = 1;
	pkt[2] = 6;
	memcpy(pkt + DHCP_HEADER_LEN, "\x63\x82\x53\x63", 4);
	return DHCP_OPTIONS_OFFSET;
}

static size_t append(size_t at, const void *bytes, size_t n)
{
	memcpy(pkt + at, bytes, n);
	return at + n;
}

static void short_and_cookieless_packets_are_rejected(void **state)
{
	struct dhcp_view *v = malloc(sizeof(*v));
	size_t n = base_packet();

	(void)state;
	for (size_t len = 0; len < DHCP_OPTIONS_OFFSET; len++)
		assert_int_equal(dhcp_parse(v, pkt, len), -EBADMSG);
	assert_int_equal(dhcp_parse(v, pkt, n), 0);
	pkt[DHCP_HEADER_LEN] = 0;
	assert_int_equal(dhcp_parse(v, pkt, n), -EBADMSG);
	free(v);
}

/* An option whose length runs past the datagram is malformed; a missing
 * END is tolerated (firmware omits it). */
static void truncated_option(void **state)
{
	struct dhcp_view *v = malloc(sizeof(*v));
	size_t n = base_packet();

	(void)state;
	n = append(n, "\x35\x01\x08\x3c\x09" "AAPLBSDPC", 14);
	assert_int_equal(dhcp_parse(v, pkt, n), 0);
	assert_int_equal(v->message_type, DHCP_INFORM);
	assert_int_equal(dhcp_parse(v, pkt, n - 1), -EBADMSG); /* 60 declares 9, has 8 */
	assert_int_equal(dhcp_parse(v, pkt, n - 9), -EBADMSG); /* only code and length */
	assert_int_equal(dhcp_parse(v, pkt, n - 10), -EBADMSG); /* code without length */
	free(v);
}

static void bad_message_type(void **state)
{
	struct dhcp_view *v = malloc(sizeof(*v));
	size_t n = base_packet();

	(void)state;
	append(n, "\x35\x02\x08\x00\xff", 5);
	assert_int_equal(dhcp_parse(v, pkt, n + 5), -EBADMSG);
	append(n, "\x35\x01\x09\xff", 4);
	assert_int_equal(dhcp_parse(v, pkt, n + 4), -EBADMSG);
	free(v);
}

/* RFC 2131 §4.1: option 52 moves options into file (1), sname (2), both (3). */
static void overload_areas(void **state)
{
	struct dhcp_view *v = malloc(sizeof(*v));
	size_t n = base_packet();

	(void)state;
	n = append(n, "\x34\x01\x03\x35\x01\x08\xff", 7);
	memcpy(pkt + 108, "\x3c\x09" "AAPLBSDPC\xff", 12);
	memcpy(pkt + 44, "\x2b\x03\x01\x01\x01\xff", 6);
	assert_int_equal(dhcp_parse(v, pkt, n), 0);
	assert_non_null(dhcp_option_get(v, DHCP_OPT_CLASS_ID));
	assert_non_null(dhcp_option_get(v, DHCP_OPT_VENDOR));
	assert_string_equal(v->hdr.file, "");
	assert_string_equal(v->hdr.sname, "");
	pkt[108 + 1] = 200; /* an option overrunning the file area */
	assert_int_equal(dhcp_parse(v, pkt, n), -EBADMSG);
	free(v);
}

/* Several option-43 instances stay apart, in wire order. */
static void repeated_options_are_kept_apart(void **state)
{
	struct dhcp_view *v = malloc(sizeof(*v));
	size_t n = base_packet();

	(void)state;
	n = append(n, "\x2b\x01\xaa\x2b\x02\xbb\xcc\xff", 8);
	assert_int_equal(dhcp_parse(v, pkt, n), 0);
	assert_int_equal(dhcp_option_nth(v, 43, 0)->len, 1);
	assert_int_equal(dhcp_option_nth(v, 43, 1)->len, 2);
	assert_null(dhcp_option_nth(v, 43, 2));
	free(v);
}

static void too_many_options(void **state)
{
	struct dhcp_view *v = malloc(sizeof(*v));
	uint8_t *big = calloc(1, DHCP_OPTIONS_OFFSET + 2 * (DHCP_MAX_INSTANCES + 1));
	size_t n = base_packet();

	(void)state;
	memcpy(big, pkt, n);
	for (size_t i = 0; i <= DHCP_MAX_INSTANCES; i++, n += 2)
		big[n] = 77, big[n + 1] = 0; /* zero-length option 77 */
	assert_int_equal(dhcp_parse(v, big, n), -EBADMSG);
	assert_int_equal(dhcp_parse(v, big, n - 2), 0);
	free(big);
	free(v);
}

/* ---- class ids ---------------------------------------------------------------- */

static void class_ids(void **state)
{
	struct bsdp_class c;

	(void)state;
	assert_int_equal(bsdp_parse_class((const uint8_t *)"AAPLBSDPC/i386/iMac12,1", 23, &c), 0);
	assert_string_equal(c.arch, "i386");
	assert_string_equal(c.model, "iMac12,1");
	assert_int_equal(bsdp_parse_class((const uint8_t *)"AAPLBSDPC/ppc/", 14, &c), 0);
	assert_string_equal(c.model, "");
	assert_int_equal(bsdp_parse_class((const uint8_t *)"", 0, &c), -EBADMSG);
	assert_int_equal(bsdp_parse_class((const uint8_t *)"AAPLBSDPC", 9, &c), -EBADMSG);
	assert_int_equal(bsdp_parse_class((const uint8_t *)"AAPLBSDPC/i386", 14, &c), -EBADMSG);
	assert_int_equal(bsdp_parse_class((const uint8_t *)"AAPLBSDPc/i386/x", 16, &c), -EBADMSG);
	assert_int_equal(bsdp_parse_class((const uint8_t *)"AAPLBSDPC/i3\n6/x", 16, &c), -EBADMSG);
	assert_int_equal(bsdp_parse_class((const uint8_t *)"AAPLBSDPC/i386/x\0y", 18, &c), -EBADMSG);
	assert_int_equal(bsdp_parse_class((const uint8_t *)"PXEClient:Arch:00007", 20, &c),
			 -EBADMSG);
}

/* A zero-length option 60 is not a class id; the request is not BSDP. */
static void zero_length_vendor_class(void **state)
{
	struct dhcp_view *v = malloc(sizeof(*v));
	struct bsdp_request rq;
	size_t n = base_packet();

	(void)state;
	n = append(n, "\x35\x01\x08\x3c\x00\x2b\x07\x01\x01\x01\x02\x02\x01\x01\xff", 15);
	assert_int_equal(dhcp_parse(v, pkt, n), 0);
	assert_int_equal(bsdp_parse_request(v, &rq), -EBADMSG);
	free(v);
}

/* ---- builders ------------------------------------------------------------------ */

static void builder_respects_capacity(void **state)
{
	uint8_t buf[400];
	struct dhcp_header h = { .op = BOOTREPLY };
	struct dhcp_builder b;
	uint8_t data[255] = { 0 };

	(void)state;
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(dhcp_build_init(&b, buf, DHCP_OPTIONS_OFFSET, &h), -ENOSPC);
	assert_int_equal(dhcp_build_init(&b, buf, 300, &h), 0);
	/* 300 - 240 = 60 bytes: 57 of data plus code, length and END. */
	assert_int_equal(dhcp_build_option(&b, 43, data, 58), -ENOSPC);
	assert_int_equal(dhcp_build_option(&b, 43, data, 57), 0);
	assert_int_equal(dhcp_build_option(&b, 44, data, 0), -ENOSPC);
	assert_int_equal(dhcp_build_finish(&b), 300);
	for (size_t i = 300; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0xee);
	assert_int_equal(dhcp_build_init(&b, buf, sizeof(buf), &h), 0);
	assert_int_equal(dhcp_build_option(&b, 43, data, 256), -ENOSPC);
}

static void vendor_builder_caps_at_255(void **state)
{
	struct bsdp_vendor v;
	uint8_t data[253] = { 0 };

	(void)state;
	bsdp_vendor_init(&v);
	assert_int_equal(bsdp_vendor_put(&v, 9, data, 253), 0);
	assert_int_equal(v.w.len, 255);
	assert_int_equal(bsdp_vendor_u8(&v, 1, 1), -ENOSPC);
	bsdp_vendor_init(&v);
	assert_int_equal(bsdp_vendor_put(&v, 9, data, 254 - 1), 0);
}

/* ---- published payloads ---------------------------------------------------------- */

struct walk {
	uint8_t tags[64];
	size_t n;
};

static int collect(uint8_t tag, const uint8_t *data, uint8_t len, void *ctx)
{
	struct walk *w = ctx;

	(void)data;
	(void)len;
	w->tags[w->n++] = tag;
	return 0;
}

static int walk_vendor(const uint8_t *o43, size_t len, struct walk *w)
{
	struct dhcp_view *v = malloc(sizeof(*v));
	size_t n = base_packet();
	int r;

	pkt[n++] = 43;
	pkt[n++] = (uint8_t)len;
	n = append(n, o43, len);
	pkt[n++] = 255;
	assert_int_equal(dhcp_parse(v, pkt, n), 0);
	memset(w, 0, sizeof(*w));
	r = bsdp_foreach_suboption(v, collect, w);
	free(v);
	return r;
}

/* 02_jamf-NetSUS_dhcpd.conf.txt: ACK[LIST] 1, 4, 7, 8, 9 "Faux NetBoot". */
static void netsus_ack_list(void **state)
{
	static const uint8_t o43[] = {
		0x01, 0x01, 0x01, 0x04, 0x02, 0xFF, 0xFF, 0x07, 0x04, 0x01, 0x00, 0x02, 0x0E,
		0x08, 0x04, 0x01, 0x00, 0x02, 0x0E, 0x09, 0x11, 0x01, 0x00, 0x02, 0x0E, 0x0C,
		0x46, 0x61, 0x75, 0x78, 0x20, 0x4E, 0x65, 0x74, 0x42, 0x6F, 0x6F, 0x74,
	};
	struct walk w;

	(void)state;
	assert_int_equal(walk_vendor(o43, sizeof(o43), &w), 0);
	assert_int_equal(w.n, 5);
	assert_memory_equal(w.tags, "\x01\x04\x07\x08\x09", 5);
}

/* The same file's ACK[SELECT] declares 36 bytes for a 43-byte string, so a
 * strict parser must reject it rather than mis-align (fixture NOTE). */
static void netsus_ack_select_is_inconsistent(void **state)
{
	static const uint8_t o43[] = {
		0x01, 0x01, 0x02, 0x08, 0x04, 0x01, 0x00, 0x02, 0x0E, 0x80, 0x24,
		'a', 'f', 'p', ':', '/', '/', 'a', 'f', 'p', 'u', 's', 'e', 'r', ':', 'a', 'f',
		'p', 'u', 's', 'e', 'r', '1', '@', '1', '0', '.', '1', '0', '.', '1', '2', '.',
		'1', '3', '1', '/', 'N', 'e', 't', 'B', 'o', 'o', 't', 0x81, 0x11,
		'N', 'e', 't', 'B', 'o', 'o', 't', '0', '0', '1', '/', 'S', 'h', 'a', 'd', 'o', 'w',
	};
	struct walk w;

	(void)state;
	assert_int_equal(walk_vendor(o43, sizeof(o43), &w), -EBADMSG);
}

/* 09_clonedeploy: LIST with server id, priority, default, two images. */
static void clonedeploy_list(void **state)
{
	static const uint8_t o43[] = {
		0x01, 0x01, 0x01, 0x03, 0x04, 0xA2, 0x33, 0x4B, 0xA0, 0x04, 0x02, 0xFF, 0xFF,
		0x07, 0x04, 0x01, 0x00, 0x00, 0x89, 0x09, 0x11, 0x01, 0x00, 0x00, 0x89, 0x03,
		0x6E, 0x65, 0x74, 0x01, 0x00, 0x00, 0x88, 0x04, 0x62, 0x6F, 0x6F, 0x74,
	};
	struct walk w;

	(void)state;
	assert_int_equal(walk_vendor(o43, sizeof(o43), &w), 0);
	assert_memory_equal(w.tags, "\x01\x03\x04\x07\x09", 5);
}

/* 06_wikipedia and 01_isc-dhcp-users: SELECT replies with machine name 130. */
static void published_select_replies(void **state)
{
	static const uint8_t wiki[] = {
		0x01, 0x01, 0x02, 0x08, 0x04, 0x81, 0x00, 0x07, 0xe5, 0x82, 0x0a,
		'N', 'e', 't', 'B', 'o', 'o', 't', '0', '0', '1',
	};
	static const uint8_t barrows[] = {
		0x01, 0x01, 0x02, 0x03, 0x04, 0xAC, 0x14, 0x00, 0x01, 0x08, 0x04, 0x81, 0x00,
		0x00, 0xB5, 0x82, 0x0A, 'N', 'e', 't', 'B', 'o', 'o', 't', '0', '0', '1',
	};
	struct walk w;

	(void)state;
	assert_int_equal(walk_vendor(wiki, sizeof(wiki), &w), 0);
	assert_memory_equal(w.tags, "\x01\x08\x82", 3);
	assert_int_equal(walk_vendor(barrows, sizeof(barrows), &w), 0);
	assert_memory_equal(w.tags, "\x01\x03\x08\x82", 4);
}

/* 07_insomniacslk: INFORM[LIST] from a Go client on macOS parses as BSDP. */
static void insomniacslk_inform_list(void **state)
{
	struct dhcp_view *v = malloc(sizeof(*v));
	struct bsdp_request rq;
	size_t n = base_packet();

	(void)state;
	memcpy(pkt + 12, "\xc0\xa8\x00\x2a", 4); /* ciaddr 192.168.0.42 */
	n = append(n, "\x35\x01\x08" "\x2b\x07\x01\x01\x01\x02\x02\x01\x01"
		      "\x37\x02\x2b\x3c" "\x39\x02\x05\xdc"
		      "\x3c\x19" "AAPLBSDPC/i386/Macmini7,1" "\xff", 3 + 9 + 4 + 4 + 27 + 1);
	assert_int_equal(dhcp_parse(v, pkt, n), 0);
	assert_int_equal(bsdp_parse_request(v, &rq), 0);
	assert_int_equal(rq.message, BSDP_LIST);
	assert_int_equal(rq.version, 0x0101);
	assert_string_equal(rq.cls.model, "Macmini7,1");
	free(v);
}

/* 01_isc-dhcp-users: the client SELECT as published (server id 0.0.0.0). */
static void barrows_client_select(void **state)
{
	struct dhcp_view *v = malloc(sizeof(*v));
	struct bsdp_request rq;
	size_t n = base_packet();

	(void)state;
	n = append(n, "\x35\x01\x08\x3c\x1c" "AAPLBSDPC/i386/MacBookPro8,3"
		      "\x2b\x13\x01\x01\x02\x02\x02\x01\x01\x03\x04\x00\x00\x00\x00"
		      "\x08\x04\x00\x00\x00\x00\xff", 3 + 2 + 28 + 21 + 1);
	assert_int_equal(dhcp_parse(v, pkt, n), 0);
	assert_int_equal(bsdp_parse_request(v, &rq), 0);
	assert_int_equal(rq.message, BSDP_SELECT);
	assert_true(rq.has_server_id);
	assert_int_equal(rq.server_id.s_addr, 0);
	assert_true(rq.has_selected);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(short_and_cookieless_packets_are_rejected),
		cmocka_unit_test(truncated_option),
		cmocka_unit_test(bad_message_type),
		cmocka_unit_test(overload_areas),
		cmocka_unit_test(repeated_options_are_kept_apart),
		cmocka_unit_test(too_many_options),
		cmocka_unit_test(class_ids),
		cmocka_unit_test(zero_length_vendor_class),
		cmocka_unit_test(builder_respects_capacity),
		cmocka_unit_test(vendor_builder_caps_at_255),
		cmocka_unit_test(netsus_ack_list),
		cmocka_unit_test(netsus_ack_select_is_inconsistent),
		cmocka_unit_test(clonedeploy_list),
		cmocka_unit_test(published_select_replies),
		cmocka_unit_test(insomniacslk_inform_list),
		cmocka_unit_test(barrows_client_select),
	};

	return cmocka_run_group_tests_name("codec", tests, NULL, NULL);
}
