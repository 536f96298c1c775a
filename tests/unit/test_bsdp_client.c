/* SPDX-License-Identifier: MIT */
/*
 * The BSDP client codec (lib/bsdp_client.c): requests byte for byte as
 * Apple's BSDPClient.c lays them out, and replies from the daemon's own
 * responder fed back through the client's acceptance rules, so that one
 * round trip pins both sides.
 */
#include "bindings.h"
#include "bsdp_client.h"
#include "responder.h"
#include "testlib.h"

#define CLASS_ID "AAPLBSDPC/i386/MacBookPro11,3"
#define XID 0x32a98af5

static struct bsdp_client_id test_id(void)
{
	struct bsdp_client_id id = { .ip = ip(TEST_CLIENT), .xid = XID, .class_id = CLASS_ID,
				     .class_len = strlen(CLASS_ID), .dhcp_max_size = 1500 };

	memcpy(id.mac, (uint8_t[]){ 0x00, 0x1b, 0x63, 0x84, 0x45, 0x01 }, 6);
	return id;
}

static const struct bsdp_client_request list_rq = { .message = BSDP_LIST,
						    .version = BSDP_VERSION_1_1 };

static struct bsdp_client_request select_rq(uint32_t image)
{
	return (struct bsdp_client_request){ .message = BSDP_SELECT, .version = BSDP_VERSION_1_1,
					     .server = ip(TEST_SERVER), .image = image };
}

static size_t build(uint8_t *buf, size_t cap, const struct bsdp_client_request *rq)
{
	struct bsdp_client_id id = test_id();
	int n = bsdp_client_build(buf, cap, &id, rq);

	assert_true(n > 0);
	return (size_t)n;
}

/* The option-43 payload of a request the client built. */
static const struct dhcp_option *vendor_of(const uint8_t *pkt, size_t len, struct dhcp_view *v)
{
	const struct dhcp_option *o;

	assert_int_equal(dhcp_parse(v, pkt, len), 0);
	o = dhcp_option_get(v, DHCP_OPT_VENDOR);
	assert_non_null(o);
	return o;
}

/* ---- requests -------------------------------------------------------------- */

/* The whole INFORM[LIST] equals the Mac-like request of testlib.h, and
 * its options are exactly 53, 55 = 1,3,67,43,60, 57 = 1500, 60, 43. */
static void list_bytes(void **state)
{
	static const uint8_t options[] = {
		99, 130, 83, 99, 53, 1, 8, 55, 5, 1, 3, 67, 43, 60, 57, 2, 0x05, 0xdc,
		60, 29, 'A', 'A', 'P', 'L', 'B', 'S', 'D', 'P', 'C', '/', 'i', '3', '8', '6', '/',
		'M', 'a', 'c', 'B', 'o', 'o', 'k', 'P', 'r', 'o', '1', '1', ',', '3',
		43, 7, 1, 1, 1, 2, 2, 0x01, 0x01, 255,
	};
	uint8_t got[1024], want[1024];
	size_t n = build(got, sizeof(got), &list_rq);
	size_t m = build_request(want, sizeof(want),
				 &(struct req){ .bsdp_type = BSDP_LIST, .dhcp_max = 1500,
						.mac_last = 1 });

	(void)state;
	assert_int_equal(n, BOOTP_MIN_LEN);
	assert_int_equal(n, m);
	assert_memory_equal(got, want, n);
	assert_int_equal(got[0], BOOTREQUEST);
	assert_memory_equal(got + 12, "\xc6\x12\x00\x02", 4); /* ciaddr */
	assert_memory_equal(got + DHCP_HEADER_LEN, options, sizeof(options));
}

/* BSDPClientSendListRequest's order with every optional sub-option:
 * 1, 2, 5, 12, 11. */
static void list_optional_suboptions(void **state)
{
	static const uint16_t filter[] = { 0x0100, 0x0300 };
	static const uint8_t want[] = {
		1, 1, 1, 2, 2, 0x01, 0x00, 5, 2, 0x03, 0x84, 12, 2, 0x20, 0x00,
		11, 4, 0x01, 0x00, 0x03, 0x00,
	};
	struct bsdp_client_request rq = { .message = BSDP_LIST, .version = BSDP_VERSION_1_0,
					  .has_reply_port = true, .reply_port = 900,
					  .has_max_size = true, .max_size = 8192,
					  .n_filter = 2, .filter = filter };
	static struct dhcp_view v;
	uint8_t pkt[1024];
	size_t n = build(pkt, sizeof(pkt), &rq);
	const struct dhcp_option *o = vendor_of(pkt, n, &v);

	(void)state;
	assert_int_equal(o->len, sizeof(want));
	assert_memory_equal(o->data, want, sizeof(want));
}

/* INFORM[SELECT]: the same as testlib's, sub-options 1, 2, 3, 8. */
static void select_bytes(void **state)
{
	static const uint8_t want43[] = { 1, 1, 2, 2, 2, 0x01, 0x01, 3, 4, 198, 18, 0, 1,
					  8, 4, 0x01, 0x00, 0x00, 0x65 };
	struct bsdp_client_request rq = select_rq(0x01000065);
	static struct dhcp_view v;
	uint8_t got[1024], want[1024];
	size_t n = build(got, sizeof(got), &rq);
	size_t m = build_request(want, sizeof(want),
				 &(struct req){ .bsdp_type = BSDP_SELECT, .dhcp_max = 1500,
						.server_id = TEST_SERVER, .has_selected = true,
						.selected = 0x01000065, .mac_last = 1 });
	const struct dhcp_option *o = vendor_of(got, n, &v);

	(void)state;
	assert_int_equal(n, m);
	assert_memory_equal(got, want, n);
	assert_int_equal(o->len, sizeof(want43));
	assert_memory_equal(o->data, want43, sizeof(want43));
}

/* BSDPClientSendSelectRequest puts the reply port before 3 and 8. */
static void select_with_reply_port(void **state)
{
	static const uint8_t want[] = { 1, 1, 2, 2, 2, 0x01, 0x01, 5, 2, 0x03, 0x84,
					3, 4, 198, 18, 0, 1, 8, 4, 0x81, 0x00, 0x10, 0x00 };
	struct bsdp_client_request rq = select_rq(0x81001000);
	static struct dhcp_view v;
	uint8_t pkt[1024];
	const struct dhcp_option *o;

	(void)state;
	rq.has_reply_port = true;
	rq.reply_port = 900;
	rq.has_max_size = true; /* LIST only: not sent in a SELECT */
	rq.max_size = 8192;
	o = vendor_of(pkt, build(pkt, sizeof(pkt), &rq), &v);
	assert_int_equal(o->len, sizeof(want));
	assert_memory_equal(o->data, want, sizeof(want));
}

/* With no request, a plain DHCPINFORM: 53, 55, 57 and nothing of BSDP. */
static void plain_inform(void **state)
{
	static const uint8_t options[] = { 99, 130, 83, 99, 53, 1, 8, 55, 5, 1, 3, 67, 43, 60,
					   57, 2, 0x05, 0xdc, 255 };
	uint8_t pkt[1024];
	size_t n = build(pkt, sizeof(pkt), NULL);

	(void)state;
	assert_int_equal(n, BOOTP_MIN_LEN);
	assert_memory_equal(pkt + DHCP_HEADER_LEN, options, sizeof(options));
}

static void builders_fail_rather_than_overrun(void **state)
{
	uint16_t filter[BSDP_MAX_FILTERS + 1] = { 0 };
	struct bsdp_client_request rq = { .message = BSDP_LIST, .version = BSDP_VERSION_1_1,
					  .n_filter = BSDP_MAX_FILTERS + 1, .filter = filter };
	struct bsdp_client_id id = test_id();
	char cls[BSDP_CLIENT_CLASS_MAX + 2], model[300];
	uint8_t pkt[1024];

	(void)state;
	assert_int_equal(bsdp_client_build(pkt, sizeof(pkt), &id, &rq), -EMSGSIZE);
	rq.n_filter = BSDP_MAX_FILTERS;
	assert_true(bsdp_client_build(pkt, sizeof(pkt), &id, &rq) > 0);
	/* The LIST needs 55 option bytes after the header and cookie, END included. */
	assert_int_equal(bsdp_client_build(pkt, DHCP_OPTIONS_OFFSET + 54, &id, &list_rq), -ENOSPC);
	assert_int_equal(bsdp_client_build(pkt, DHCP_OPTIONS_OFFSET + 55, &id, &list_rq),
			 DHCP_OPTIONS_OFFSET + 55);
	assert_int_equal(bsdp_client_build(pkt, DHCP_HEADER_LEN, &id, NULL), -ENOSPC);
	rq.message = BSDP_FAILED;
	assert_int_equal(bsdp_client_build(pkt, sizeof(pkt), &id, &rq), -EMSGSIZE);
	/* Option 60 is one option: 255 bytes pass, 256 do not. */
	memset(model, 'M', sizeof(model));
	model[240] = '\0';
	assert_int_equal(bsdp_client_class_id(cls, sizeof(cls), "i386", model), 255);
	model[240] = 'M';
	model[241] = '\0';
	assert_int_equal(bsdp_client_class_id(cls, sizeof(cls), "i386", model), -ENOSPC);
	assert_int_equal(bsdp_client_class_id(cls, 8, "i386", "Mac"), -ENOSPC);
}

/* ---- round trips through the responder -------------------------------------- */

static int setup_two(void **state)
{
	struct env *e = env_new();

	add_bundle(e->root, "iPXE", IPXE_BODY(101, "iPXE", "<key>IsDefault</key><true/>\n"));
	add_bundle(e->root, "Diag", IPXE_BODY(102, "Diag \xc3\xa9", ""));
	env_load(e);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	env_free(*state);
	return 0;
}

static struct bsdp_ack *ack_new(void)
{
	struct bsdp_ack *a = calloc(1, sizeof(*a));

	assert_non_null(a);
	return a;
}

/* Client request -> bsdp_respond -> client parser; returns why it was refused. */
static const char *round_trip(struct env *e, const struct bsdp_client_request *rq,
			      struct bsdp_ack *a)
{
	struct bsdp_client_id id = test_id();
	int n = bsdp_client_build(e->pkt, sizeof(e->pkt), &id, rq);

	assert_true(n > 0);
	assert_int_equal(bsdp_respond(&e->rs, e->pkt, (size_t)n, &e->rx, &e->tx, &e->ev),
			 BSDP_REPLY);
	return bsdp_ack_parse(a, e->tx.buf, e->tx.len, &id);
}

static void list_round_trip(void **state)
{
	struct env *e = *state;
	struct bsdp_ack *a = ack_new();
	struct bsdp_image_iter it;
	struct bsdp_image_desc d;
	uint16_t prio;
	uint32_t def;

	assert_null(round_trip(e, &list_rq, a));
	assert_int_equal(a->message, BSDP_LIST);
	assert_int_equal(a->server.s_addr, ip(TEST_SERVER).s_addr);
	assert_true(bsdp_ack_u16(a, BSDP_TAG_SERVER_PRIORITY, &prio));
	assert_int_equal(prio, BSDP_PRIORITY_BASE);
	assert_true(bsdp_ack_u32(a, BSDP_TAG_DEFAULT_IMAGE, &def));
	assert_int_equal(def, 0x01000065);
	assert_false(bsdp_ack_u32(a, BSDP_TAG_SELECTED_IMAGE, &def));
	bsdp_image_iter_init(&it, a->list, a->list_len, NULL, 0);
	assert_int_equal(bsdp_image_iter_next(&it, &d), 1);
	assert_int_equal(d.id, 0x01000065);
	assert_int_equal(d.name_len, 4);
	assert_memory_equal(d.name, "iPXE", 4);
	assert_int_equal(bsdp_image_iter_next(&it, &d), 1);
	assert_int_equal(d.id, 0x01000066);
	assert_int_equal(d.name_len, 7);
	assert_memory_equal(d.name, "Diag \xc3\xa9", 7);
	assert_int_equal(bsdp_image_iter_next(&it, &d), 0);
	free(a);
}

/* ACK[SELECT] carries the boot file; after it ACK[LIST] names the choice in 8. */
static void select_round_trip(void **state)
{
	struct env *e = *state;
	struct bsdp_client_request rq = select_rq(0x01000066);
	struct bsdp_ack *a = ack_new();
	uint32_t sel;

	assert_null(round_trip(e, &rq, a));
	assert_int_equal(a->message, BSDP_SELECT);
	assert_true(bsdp_ack_u32(a, BSDP_TAG_SELECTED_IMAGE, &sel));
	assert_int_equal(sel, 0x01000066);
	assert_string_equal(a->view.hdr.file, "Diag.nbi/i386/booter");
	assert_int_equal(a->view.hdr.siaddr.s_addr, ip(TEST_SERVER).s_addr);
	assert_null(round_trip(e, &list_rq, a));
	assert_true(bsdp_ack_u32(a, BSDP_TAG_SELECTED_IMAGE, &sel));
	assert_int_equal(sel, 0x01000066);
	free(a);
}

static void failed_round_trip(void **state)
{
	struct env *e = *state;
	struct bsdp_client_request rq = select_rq(0x01000999);
	struct bsdp_ack *a = ack_new();

	assert_null(round_trip(e, &rq, a));
	assert_int_equal(a->message, BSDP_FAILED);
	assert_string_equal(a->view.hdr.file, "");
	free(a);
}

/* With sub-option 12 = 8192, 60 images fill several option-43 instances;
 * the client concatenates their sub-option 9 payloads and reads all 60,
 * and the attribute filter keeps only the words asked for. */
static void long_list_spans_instances(void **state)
{
	struct env *e = env_new();
	struct bsdp_client_request rq = list_rq;
	static const uint16_t other[] = { 0x0300 };
	struct bsdp_ack *a = ack_new();
	struct bsdp_image_iter it;
	struct bsdp_image_desc d;
	size_t n = 0;

	(void)state;
	for (int i = 0; i < 60; i++) {
		char dir[16], body[1024];

		snprintf(dir, sizeof(dir), "Image%02d", i);
		snprintf(body, sizeof(body), IPXE_BODY(%d, "%s with a long enough name", "%s"),
			 i + 1, dir, i == 0 ? "<key>IsDefault</key><true/>\n" : "");
		add_bundle(e->root, dir, body);
	}
	env_load(e);
	rq.has_max_size = true;
	rq.max_size = 8192;
	assert_null(round_trip(e, &rq, a));
	assert_non_null(dhcp_option_nth(&a->view, DHCP_OPT_VENDOR, 2));
	bsdp_image_iter_init(&it, a->list, a->list_len, NULL, 0);
	while (bsdp_image_iter_next(&it, &d) == 1)
		n++;
	assert_int_equal(n, 60);
	bsdp_image_iter_init(&it, a->list, a->list_len, other, 1);
	assert_int_equal(bsdp_image_iter_next(&it, &d), 0);
	free(a);
	env_free(e);
}

/* ---- acceptance rules (BSDPClientProcess) ----------------------------------- */

/* A reply from the responder with one of our identity fields changed. */
static void reply_for_someone_else(void **state)
{
	struct env *e = *state;
	struct bsdp_ack *a = ack_new();
	struct bsdp_client_id id = test_id();

	assert_null(round_trip(e, &list_rq, a));
	id.xid++;
	assert_string_equal(bsdp_ack_parse(a, e->tx.buf, e->tx.len, &id),
			    "another transaction (xid)");
	id = test_id();
	id.mac[5] = 2;
	assert_string_equal(bsdp_ack_parse(a, e->tx.buf, e->tx.len, &id),
			    "another client (chaddr)");
	id = test_id();
	id.ip = ip("198.18.0.3");
	assert_string_equal(bsdp_ack_parse(a, e->tx.buf, e->tx.len, &id),
			    "another client (ciaddr)");
	id = test_id();
	e->tx.buf[0] = BOOTREQUEST;
	assert_string_equal(bsdp_ack_parse(a, e->tx.buf, e->tx.len, &id), "not a BOOTREPLY");
	assert_string_equal(bsdp_ack_parse(a, e->tx.buf, 100, &id),
			    "not a well-formed DHCP packet");
	free(a);
}

struct fake_ack {
	uint8_t dhcp_type;        /* DHCP_ACK unless set */
	const char *cls;          /* option 60; NULL for "AAPLBSDPC" */
	size_t sid_len;           /* option 54 length; 4 unless set */
	const uint8_t *v43[3];    /* option-43 instances */
	size_t v43_len[3];
};

/* A reply written by hand, addressed to test_id(), for what no sane
 * server sends. */
static size_t fake_reply(uint8_t *buf, size_t cap, const struct fake_ack *f)
{
	struct dhcp_header h = { .op = BOOTREPLY, .htype = 1, .hlen = 6, .xid = XID,
				 .ciaddr = ip(TEST_CLIENT) };
	const char *cls = f->cls ? f->cls : BSDP_CLASS;
	struct bsdp_client_id id = test_id();
	struct dhcp_builder b;
	int n;

	memcpy(h.chaddr, id.mac, 6);
	assert_int_equal(dhcp_build_init(&b, buf, cap, &h), 0);
	assert_int_equal(dhcp_build_u8(&b, DHCP_OPT_MESSAGE_TYPE,
				       f->dhcp_type ? f->dhcp_type : DHCP_ACK), 0);
	assert_int_equal(dhcp_build_option(&b, DHCP_OPT_SERVER_ID, "\xc6\x12\x00\x01\x00",
					   f->sid_len ? f->sid_len : 4), 0);
	assert_int_equal(dhcp_build_option(&b, DHCP_OPT_CLASS_ID, cls, strlen(cls)), 0);
	for (size_t i = 0; i < 3 && f->v43[i]; i++)
		assert_int_equal(dhcp_build_option(&b, DHCP_OPT_VENDOR, f->v43[i],
						   f->v43_len[i]), 0);
	n = dhcp_build_finish(&b);
	assert_true(n > 0);
	return (size_t)n;
}

static const char *parse_fake(const struct fake_ack *f, struct bsdp_ack *a)
{
	uint8_t pkt[1024];
	size_t n = fake_reply(pkt, sizeof(pkt), f);
	struct bsdp_client_id id = test_id();
	static uint8_t keep[1024];

	/* Pointers in *a stay valid after return. */
	memcpy(keep, pkt, n);
	return bsdp_ack_parse(a, keep, n, &id);
}

static const uint8_t list43[] = { 1, 1, 1 };

#define ONE_43(arr) .v43 = { arr }, .v43_len = { sizeof(arr) }

/* Each test of BSDPClientProcess, in its order, on an otherwise good ACK. */
static void option_rules(void **state)
{
	static const uint8_t no_type[] = { 2, 2, 1, 1 };
	static const uint8_t type_of_two[] = { 1, 2, 1, 1 };
	static const uint8_t overrun[] = { 1, 1, 1, 9, 10, 0 };
	struct bsdp_ack *a = ack_new();

	(void)state;
	assert_null(parse_fake(&(struct fake_ack){ ONE_43(list43) }, a));
	assert_int_equal(a->message, BSDP_LIST);
	assert_int_equal(a->server.s_addr, ip(TEST_SERVER).s_addr);
	assert_string_equal(parse_fake(&(struct fake_ack){ .dhcp_type = DHCP_OFFER,
							   ONE_43(list43) }, a),
			    "not a DHCP ACK");
	assert_string_equal(parse_fake(&(struct fake_ack){ .cls = "AAPLBSDPC/i386/x",
							   ONE_43(list43) }, a),
			    "option 60 is not \"AAPLBSDPC\"");
	assert_string_equal(parse_fake(&(struct fake_ack){ .cls = "AAPLBSDP",
							   ONE_43(list43) }, a),
			    "option 60 is not \"AAPLBSDPC\"");
	assert_string_equal(parse_fake(&(struct fake_ack){ .sid_len = 5, ONE_43(list43) }, a),
			    "no server identifier (option 54)");
	assert_string_equal(parse_fake(&(struct fake_ack){ ONE_43(overrun) }, a),
			    "malformed option 43");
	assert_string_equal(parse_fake(&(struct fake_ack){ ONE_43(no_type) }, a),
			    "no BSDP message type");
	assert_string_equal(parse_fake(&(struct fake_ack){ ONE_43(type_of_two) }, a),
			    "no BSDP message type");
	assert_string_equal(parse_fake(&(struct fake_ack){ 0 }, a), "no BSDP message type");
	free(a);
}

/* dhcpol_find: the first instance of a tag wins, even when its size is
 * wrong; every instance's sub-option 9 joins the list; and a sub-option
 * that runs past its own instance is malformed even if the next one
 * would complete it (dhcpol_parse_vendor). */
static void instances_kept_apart(void **state)
{
	static const uint8_t first[] = { 1, 1, 1, 7, 2, 0x00, 0x01, 9, 5, 0, 0, 0, 0, 0 };
	static const uint8_t second[] = { 1, 1, 2, 7, 4, 0x01, 0x00, 0x00, 0x65,
					  9, 6, 0x01, 0x00, 0x00, 0x66, 1, 'B' };
	static const uint8_t straddle[] = { 1, 1, 1, 9, 6, 0x01, 0x00, 0x00, 0x66, 1 };
	static const uint8_t rest[] = { 'B' };
	struct fake_ack f = { .v43 = { first, second }, .v43_len = { sizeof(first), sizeof(second) } };
	struct bsdp_ack *a = ack_new();
	struct bsdp_image_iter it;
	struct bsdp_image_desc d;
	uint32_t def;

	(void)state;
	assert_null(parse_fake(&f, a));
	assert_int_equal(a->message, BSDP_LIST);
	assert_false(bsdp_ack_u32(a, BSDP_TAG_DEFAULT_IMAGE, &def));
	assert_int_equal(a->list_len, 11);
	bsdp_image_iter_init(&it, a->list, a->list_len, NULL, 0);
	assert_int_equal(bsdp_image_iter_next(&it, &d), 1); /* the null id is skipped */
	assert_int_equal(d.id, 0x01000066);
	assert_memory_equal(d.name, "B", 1);
	assert_int_equal(bsdp_image_iter_next(&it, &d), 0);
	f = (struct fake_ack){ .v43 = { straddle, rest },
			       .v43_len = { sizeof(straddle), sizeof(rest) } };
	assert_string_equal(parse_fake(&f, a), "malformed option 43");
	free(a);
}

/* BSDPClientCreateImageList: it walks while more than 5 bytes remain,
 * drops the whole list on a short entry, and filters on the attribute word. */
static void image_list_rules(void **state)
{
	static const uint8_t tail[] = { 0x01, 0, 0, 1, 1, 'A', 0x01, 0, 0, 2, 0 };
	static const uint8_t shortl[] = { 0x01, 0, 0, 1, 1, 'A', 0x01, 0, 0, 2, 9, 'x' };
	static const uint8_t mixed[] = { 0x01, 0, 0, 1, 1, 'A', 0x03, 0, 0, 2, 1, 'D' };
	static const uint16_t diag[] = { 0x0300 };
	struct bsdp_image_iter it;
	struct bsdp_image_desc d;

	(void)state;
	bsdp_image_iter_init(&it, tail, sizeof(tail), NULL, 0);
	assert_int_equal(bsdp_image_iter_next(&it, &d), 1);
	assert_int_equal(d.id, 0x01000001);
	assert_int_equal(bsdp_image_iter_next(&it, &d), 0);
	bsdp_image_iter_init(&it, shortl, sizeof(shortl), NULL, 0);
	assert_int_equal(bsdp_image_iter_next(&it, &d), 1);
	assert_int_equal(bsdp_image_iter_next(&it, &d), -EBADMSG);
	bsdp_image_iter_init(&it, mixed, sizeof(mixed), diag, 1);
	assert_int_equal(bsdp_image_iter_next(&it, &d), 1);
	assert_int_equal(d.id, 0x03000002);
	assert_int_equal(bsdp_image_iter_next(&it, &d), 0);
	assert_true(bsdp_filter_matches(NULL, 0, 0x81000001));
	assert_false(bsdp_filter_matches(diag, 1, 0x81000001));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(list_bytes),
		cmocka_unit_test(list_optional_suboptions),
		cmocka_unit_test(select_bytes),
		cmocka_unit_test(select_with_reply_port),
		cmocka_unit_test(plain_inform),
		cmocka_unit_test(builders_fail_rather_than_overrun),
		cmocka_unit_test_setup_teardown(list_round_trip, setup_two, teardown),
		cmocka_unit_test_setup_teardown(select_round_trip, setup_two, teardown),
		cmocka_unit_test_setup_teardown(failed_round_trip, setup_two, teardown),
		cmocka_unit_test(long_list_spans_instances),
		cmocka_unit_test_setup_teardown(reply_for_someone_else, setup_two, teardown),
		cmocka_unit_test(option_rules),
		cmocka_unit_test(instances_kept_apart),
		cmocka_unit_test(image_list_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
