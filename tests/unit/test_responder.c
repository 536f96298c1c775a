/* SPDX-License-Identifier: MIT */
/*
 * The BSDP responder, request bytes in and reply bytes out, against a
 * scratch image root and an in-memory bindings database.  Each test names
 * the Apple behaviour (docs/bsdp.md) it pins down.
 */
#include "bindings.h"
#include "responder.h"
#include "testlib.h"

static int teardown(void **state)
{
	env_free(*state);
	return 0;
}

static int setup_one(void **state)
{
	struct env *e = env_new();

	add_bundle(e->root, "iPXE", IPXE_BODY(101, "iPXE", "<key>IsDefault</key><true/>\n"));
	env_load(e);
	*state = e;
	return 0;
}

static const struct dhcp_option *opt(struct env *e, uint8_t code)
{
	const struct dhcp_option *o = dhcp_option_get(&e->rp.view, code);

	assert_non_null(o);
	return o;
}

static void assert_addr(struct in_addr a, const char *want)
{
	assert_int_equal(a.s_addr, ip(want).s_addr);
}

static const struct req list_req = { .bsdp_type = BSDP_LIST };
static const struct req select_req = { .bsdp_type = BSDP_SELECT, .server_id = TEST_SERVER,
				       .has_selected = true, .selected = 0x01000065 };

/* ---- ACK[LIST] ------------------------------------------------------------- */

/* SPEC table 6 / bsdpd.c: 54 and siaddr are the interface address, 60 is
 * exactly "AAPLBSDPC", yiaddr 0, header copied; hops/secs 0 come from
 * dhcpd.c make_dhcp_reply (table 6 itself copies them). */
static void list_reply_header(void **state)
{
	struct env *e = *state;
	const struct dhcp_option *o;

	assert_int_equal(send_req(e, &list_req), BSDP_REPLY);
	assert_int_equal(e->rp.view.hdr.op, BOOTREPLY);
	assert_int_equal(e->rp.view.message_type, DHCP_ACK);
	assert_int_equal(e->rp.view.hdr.xid, 0x32a98af5);
	assert_int_equal(e->rp.view.hdr.yiaddr.s_addr, 0);
	assert_int_equal(e->rp.view.hdr.hops, 0);
	assert_addr(e->rp.view.hdr.siaddr, TEST_SERVER);
	assert_addr(e->rp.view.hdr.ciaddr, TEST_CLIENT);
	o = opt(e, DHCP_OPT_SERVER_ID);
	assert_int_equal(o->len, 4);
	assert_memory_equal(o->data, "\xc6\x12\x00\x01", 4);
	o = opt(e, DHCP_OPT_CLASS_ID);
	assert_int_equal(o->len, 9);
	assert_memory_equal(o->data, "AAPLBSDPC", 9);
	assert_true(e->tx.len >= BOOTP_MIN_LEN);
}

/* Sub-options in Apple's order: 1, 4, 7, 9 (8 only when bound). */
static void list_reply_suboptions(void **state)
{
	struct env *e = *state;
	static const uint8_t want[] = {
		1, 1, 1,                      /* LIST */
		4, 2, 0x80, 0x00,             /* priority 32768 */
		7, 4, 0x01, 0x00, 0x00, 0x65, /* default 0x01000065 */
		9, 9, 0x01, 0x00, 0x00, 0x65, 4, 'i', 'P', 'X', 'E',
	};
	const struct dhcp_option *o;

	assert_int_equal(send_req(e, &list_req), BSDP_REPLY);
	o = opt(e, DHCP_OPT_VENDOR);
	assert_int_equal(o->len, sizeof(want));
	assert_memory_equal(o->data, want, sizeof(want));
	assert_null(dhcp_option_nth(&e->rp.view, DHCP_OPT_VENDOR, 1));
	assert_string_equal(e->ev.reply, "ACK[LIST]");
}

/* The whole reply, byte for byte, so that any drift in framing shows. */
static void list_reply_bytes(void **state)
{
	struct env *e = *state;
	static const uint8_t options[] = {
		99, 130, 83, 99, 53, 1, 5, 54, 4, 198, 18, 0, 1,
		60, 9, 'A', 'A', 'P', 'L', 'B', 'S', 'D', 'P', 'C',
		43, 24, 1, 1, 1, 4, 2, 0x80, 0x00, 7, 4, 0x01, 0x00, 0x00, 0x65,
		9, 9, 0x01, 0x00, 0x00, 0x65, 4, 'i', 'P', 'X', 'E', 255,
	};

	assert_int_equal(send_req(e, &list_req), BSDP_REPLY);
	assert_int_equal(e->tx.len, BOOTP_MIN_LEN);
	assert_memory_equal(e->tx.buf + DHCP_HEADER_LEN, options, sizeof(options));
	for (size_t i = DHCP_HEADER_LEN + sizeof(options); i < e->tx.len; i++)
		assert_int_equal(e->tx.buf[i], 0);
}

/* Apple sends no ACK[LIST] when no image applies (no default found). */
static void list_silent_when_nothing_applies(void **state)
{
	struct env *e = *state;
	struct req r = list_req;

	r.cls = "AAPLBSDPC/ppc/PowerMac3,1";
	assert_int_equal(send_req(e, &r), BSDP_SILENT);
	assert_int_equal(e->ev.drop, BSDP_DROP_NO_IMAGE);
	assert_string_equal(e->ev.cls.model, "PowerMac3,1");
}

/* Version 1.0 clients get no image list; 1.1 and 0.0 do (bsdpd.c). */
static void list_versions(void **state)
{
	struct env *e = *state;
	struct req r = list_req;

	r.version = BSDP_VERSION_1_0;
	assert_int_equal(send_req(e, &r), BSDP_REPLY);
	assert_null(find_sub(&e->rp, BSDP_TAG_IMAGE_LIST));
	assert_int_equal(sub_u32(&e->rp, BSDP_TAG_DEFAULT_IMAGE), 0x01000065);
	r.version = BSDP_VERSION_NETBOOT_1;
	assert_int_equal(send_req(e, &r), BSDP_REPLY);
	assert_non_null(find_sub(&e->rp, BSDP_TAG_IMAGE_LIST));
	r.version = 0x0200; /* is_bsdp_packet: "unsupported BSDP version" */
	assert_int_equal(send_req(e, &r), BSDP_SILENT);
	assert_int_equal(e->ev.drop, BSDP_DROP_VERSION);
	r.version = NO_VERSION;
	assert_int_equal(send_req(e, &r), BSDP_SILENT);
	assert_int_equal(e->ev.drop, BSDP_DROP_MALFORMED);
}

/* ---- addressing ------------------------------------------------------------- */

static void reply_goes_to_ciaddr_port_68(void **state)
{
	struct env *e = *state;

	assert_int_equal(send_req(e, &list_req), BSDP_REPLY);
	assert_addr(e->tx.dst, TEST_CLIENT);
	assert_int_equal(e->tx.dst_port, 68);
}

/* Startup Disk binds a privileged ephemeral port and names it in
 * sub-option 5; ports >= 1024 make Apple drop the request. */
static void reply_port(void **state)
{
	struct env *e = *state;
	struct req r = list_req;

	r.reply_port = 1023;
	assert_int_equal(send_req(e, &r), BSDP_REPLY);
	assert_int_equal(e->tx.dst_port, 1023);
	r.reply_port = 1024;
	assert_int_equal(send_req(e, &r), BSDP_SILENT);
	assert_int_equal(e->ev.drop, BSDP_DROP_REPLY_PORT);
	r = select_req;
	r.reply_port = 900;
	assert_int_equal(send_req(e, &r), BSDP_REPLY);
	assert_int_equal(e->tx.dst_port, 900);
}

static void inform_without_ciaddr_is_ignored(void **state)
{
	struct env *e = *state;
	struct req r = list_req;

	r.ciaddr = "0.0.0.0";
	assert_int_equal(send_req(e, &r), BSDP_SILENT);
	assert_int_equal(e->ev.drop, BSDP_DROP_NO_CIADDR);
}

/* A ciaddr no host can hold, or one off the receiving link without a
 * relay: the reply would go, unauthenticated and up to 13 times larger
 * than the request, to many hosts or to ourselves.  Silence, and no
 * binding changes (a refused SELECT records nothing). */
static const struct {
	const char *ciaddr;
	const char *giaddr;
	enum bsdp_drop why;
} refused_ciaddrs[] = {
	{ "255.255.255.255", NULL, BSDP_DROP_CIADDR_BROADCAST },
	{ "255.255.255.255", "198.19.7.1", BSDP_DROP_CIADDR_BROADCAST },
	{ "224.0.0.1", NULL, BSDP_DROP_CIADDR_MULTICAST },
	{ "239.255.255.250", "198.19.7.1", BSDP_DROP_CIADDR_MULTICAST },
	{ "240.0.0.1", NULL, BSDP_DROP_CIADDR_RESERVED },
	{ "254.1.2.3", "198.19.7.1", BSDP_DROP_CIADDR_RESERVED },
	{ "127.0.0.1", NULL, BSDP_DROP_CIADDR_LOOPBACK },
	{ "127.1.2.3", "198.19.7.1", BSDP_DROP_CIADDR_LOOPBACK },
	{ "0.1.2.3", NULL, BSDP_DROP_CIADDR_THIS_NETWORK },
	{ "0.0.0.1", "198.19.7.1", BSDP_DROP_CIADDR_THIS_NETWORK },
	{ TEST_SERVER, NULL, BSDP_DROP_CIADDR_SERVER },
	{ TEST_SERVER, "198.19.7.1", BSDP_DROP_CIADDR_SERVER },
	{ "198.18.0.255", NULL, BSDP_DROP_CIADDR_SUBNET_BROADCAST },
	{ "198.18.0.0", NULL, BSDP_DROP_CIADDR_SUBNET_NETWORK },
	{ "198.18.1.2", NULL, BSDP_DROP_CIADDR_OFF_SUBNET },
	{ "10.0.0.2", NULL, BSDP_DROP_CIADDR_OFF_SUBNET },
};

static void refused_ciaddr_is_silent(void **state)
{
	struct env *e = *state;
	uint8_t mac[6] = { 0x00, 0x1b, 0x63, 0x84, 0x45, 0x00 };
	struct binding bd;

	for (size_t i = 0; i < sizeof(refused_ciaddrs) / sizeof(refused_ciaddrs[0]); i++) {
		struct req r = list_req;

		r.ciaddr = refused_ciaddrs[i].ciaddr;
		r.giaddr = refused_ciaddrs[i].giaddr;
		assert_int_equal(send_req(e, &r), BSDP_SILENT);
		assert_int_equal(e->ev.drop, refused_ciaddrs[i].why);
		assert_int_equal(e->tx.len, 0);
		r.bsdp_type = BSDP_SELECT;
		r.server_id = TEST_SERVER;
		assert_int_equal(send_req(e, &r), BSDP_SILENT);
		assert_int_equal(e->ev.drop, refused_ciaddrs[i].why);
		assert_int_equal(bindings_get(e->bindings, mac, &bd), -ENOENT);
	}
}

/* The same request, from the very byte layout a Mac sends: only ciaddr
 * (offset 12) differs between the answered and the refused case. */
static void ciaddr_fixture_bytes(void **state)
{
	struct env *e = *state;
	size_t n = build_request(e->pkt, sizeof(e->pkt), &list_req);
	static const uint8_t subnet_bcast[4] = { 198, 18, 0, 255 };
	static const uint8_t mdns[4] = { 224, 0, 0, 251 };

	assert_memory_equal(e->pkt + 12, "\xc6\x12\x00\x02", 4);
	assert_int_equal(bsdp_respond(&e->rs, e->pkt, n, &e->rx, &e->tx, &e->ev), BSDP_REPLY);
	memcpy(e->pkt + 12, subnet_bcast, 4);
	assert_int_equal(bsdp_respond(&e->rs, e->pkt, n, &e->rx, &e->tx, &e->ev), BSDP_SILENT);
	assert_int_equal(e->ev.drop, BSDP_DROP_CIADDR_SUBNET_BROADCAST);
	memcpy(e->pkt + 12, mdns, 4);
	assert_int_equal(bsdp_respond(&e->rs, e->pkt, n, &e->rx, &e->tx, &e->ev), BSDP_SILENT);
	assert_int_equal(e->ev.drop, BSDP_DROP_CIADDR_MULTICAST);
}

/* Any host of the link's subnet is answered: the edges of a /24, and of a
 * /31 (RFC 3021: both addresses are hosts). */
static void on_subnet_ciaddr_is_answered(void **state)
{
	struct env *e = *state;
	struct req r = list_req;

	r.ciaddr = "198.18.0.254";
	assert_int_equal(send_req(e, &r), BSDP_REPLY);
	assert_addr(e->tx.dst, "198.18.0.254");
	r.ciaddr = "198.18.0.1";
	e->rx.if_addr = ip("198.18.0.2");
	assert_int_equal(send_req(e, &r), BSDP_REPLY);
	e->rx = (struct bsdp_rx){ .if_addr = ip("198.18.0.4"),
				  .if_netmask = ip("255.255.255.254") };
	r.ciaddr = "198.18.0.5";
	r.server_id = "198.18.0.4";
	assert_int_equal(send_req(e, &r), BSDP_REPLY);
	assert_addr(e->tx.dst, "198.18.0.5");
	e->rx.if_netmask.s_addr = 0; /* unknown mask: nothing is known to be on-link */
	assert_int_equal(send_req(e, &r), BSDP_SILENT);
	assert_int_equal(e->ev.drop, BSDP_DROP_CIADDR_OFF_SUBNET);
}

/* A relayed DISCOVER's OFFER goes to giaddr, which must be unicast too;
 * the OFFER to a client on the link is the one broadcast bsdpd sends. */
static void offer_to_broadcast_giaddr_is_silent(void **state)
{
	struct env *e = *state;
	struct req r = { .dhcp_type = DHCP_DISCOVER, .ciaddr = "0.0.0.0",
			 .giaddr = "255.255.255.255" };

	assert_int_equal(send_req(e, &select_req), BSDP_REPLY);
	assert_int_equal(send_req(e, &r), BSDP_SILENT);
	assert_int_equal(e->ev.drop, BSDP_DROP_GIADDR);
	r.giaddr = "224.0.0.2";
	assert_int_equal(send_req(e, &r), BSDP_SILENT);
	assert_int_equal(e->ev.drop, BSDP_DROP_GIADDR);
	r.giaddr = TEST_SERVER; /* found by fuzz_bsdp: an OFFER to ourselves */
	assert_int_equal(send_req(e, &r), BSDP_SILENT);
	assert_int_equal(e->ev.drop, BSDP_DROP_GIADDR);
	r.giaddr = NULL;
	assert_int_equal(send_req(e, &r), BSDP_REPLY);
	assert_int_equal(e->tx.dst.s_addr, INADDR_BROADCAST);
}

/* Relayed INFORMs are still answered by unicast to ciaddr, not to giaddr. */
static void relayed_inform_unicast_to_ciaddr(void **state)
{
	struct env *e = *state;
	struct req r = list_req;

	r.giaddr = "198.19.7.1";
	r.ciaddr = "198.19.7.20";
	assert_int_equal(send_req(e, &r), BSDP_REPLY);
	assert_addr(e->tx.dst, "198.19.7.20");
	assert_int_equal(e->tx.dst_port, 68);
	assert_addr(e->rp.view.hdr.giaddr, "198.19.7.1");
	r.giaddr = NULL; /* the same off-link client, not relayed */
	assert_int_equal(send_req(e, &r), BSDP_SILENT);
	assert_int_equal(e->ev.drop, BSDP_DROP_CIADDR_OFF_SUBNET);
}

/* ---- ACK[SELECT], ACK[FAILED] ----------------------------------------------- */

static void select_bootfile_only(void **state)
{
	struct env *e = *state;
	static const uint8_t want43[] = { 1, 1, 2, 8, 4, 0x01, 0x00, 0x00, 0x65 };
	const struct dhcp_option *o;

	assert_int_equal(send_req(e, &select_req), BSDP_REPLY);
	assert_int_equal(e->rp.view.message_type, DHCP_ACK);
	assert_string_equal(e->rp.view.hdr.file, "iPXE.nbi/i386/booter");
	assert_string_equal(e->rp.view.hdr.sname, "netboot");
	assert_addr(e->rp.view.hdr.siaddr, TEST_SERVER);
	assert_null(dhcp_option_get(&e->rp.view, DHCP_OPT_ROOT_PATH));
	o = opt(e, DHCP_OPT_VENDOR);
	assert_int_equal(o->len, sizeof(want43));
	assert_memory_equal(o->data, want43, sizeof(want43));
	assert_string_equal(e->ev.reply, "ACK[SELECT]");
}

static void select_unknown_image_fails(void **state)
{
	struct env *e = *state;
	struct req r = select_req;
	static const uint8_t want43[] = { 1, 1, 3 };
	const struct dhcp_option *o;

	r.selected = 0x01000066;
	assert_int_equal(send_req(e, &r), BSDP_REPLY);
	o = opt(e, DHCP_OPT_VENDOR);
	assert_int_equal(o->len, sizeof(want43));
	assert_memory_equal(o->data, want43, sizeof(want43));
	assert_int_equal(opt(e, DHCP_OPT_CLASS_ID)->len, 9);
	assert_non_null(dhcp_option_get(&e->rp.view, DHCP_OPT_SERVER_ID));
	assert_string_equal(e->rp.view.hdr.file, "");
	assert_string_equal(e->ev.reply, "ACK[FAILED]");
	assert_addr(e->tx.dst, TEST_CLIENT);
}

/* Without sub-option 8 the default image is selected (bsdpd.c). */
static void select_without_image_takes_default(void **state)
{
	struct env *e = *state;
	struct req r = select_req;

	r.has_selected = false;
	assert_int_equal(send_req(e, &r), BSDP_REPLY);
	assert_int_equal(sub_u32(&e->rp, BSDP_TAG_SELECTED_IMAGE), 0x01000065);
}

/* The boot policy's pin (boot_policy.h): the image a Mac's record or group
 * names is its default in ACK[LIST] and for a SELECT without an image, by
 * image name or bundle name; a pin that does not apply to the Mac, or
 * names nothing, leaves Apple's rule. */
static char pinned[32];

static const char *pin_to(void *ctx, const struct nb_client *c)
{
	(void)ctx;
	(void)c;
	return pinned;
}

static void policy_pins_the_default_image(void **state)
{
	struct env *e = env_new();
	struct req r = select_req;

	(void)state;
	add_bundle(e->root, "iPXE", IPXE_BODY(101, "iPXE", "<key>IsDefault</key><true/>\n"));
	add_bundle(e->root, "Install", IPXE_BODY(102, "Installer", ""));
	env_load(e);
	e->rs.pinned_image = pin_to;
	snprintf(pinned, sizeof(pinned), "Installer");
	assert_int_equal(send_req(e, &list_req), BSDP_REPLY);
	assert_int_equal(sub_u32(&e->rp, BSDP_TAG_DEFAULT_IMAGE), 0x01000066);
	r.has_selected = false;
	assert_int_equal(send_req(e, &r), BSDP_REPLY);
	assert_int_equal(sub_u32(&e->rp, BSDP_TAG_SELECTED_IMAGE), 0x01000066);
	snprintf(pinned, sizeof(pinned), "Install"); /* the bundle's name */
	assert_int_equal(send_req(e, &list_req), BSDP_REPLY);
	assert_int_equal(sub_u32(&e->rp, BSDP_TAG_DEFAULT_IMAGE), 0x01000066);
	snprintf(pinned, sizeof(pinned), "Gone");
	assert_int_equal(send_req(e, &list_req), BSDP_REPLY);
	assert_int_equal(sub_u32(&e->rp, BSDP_TAG_DEFAULT_IMAGE), 0x01000065);
	env_free(e);
}

static void select_without_server_id_is_ignored(void **state)
{
	struct env *e = *state;
	struct req r = select_req;

	r.server_id = NULL;
	assert_int_equal(send_req(e, &r), BSDP_SILENT);
	assert_int_equal(e->ev.drop, BSDP_DROP_NO_SERVER_ID);
}

/* A SELECT naming another server: no reply, and our binding is dropped. */
static void select_for_other_server_drops_binding(void **state)
{
	struct env *e = *state;
	struct req r = select_req;
	struct binding bd;
	uint8_t mac[6] = { 0x00, 0x1b, 0x63, 0x84, 0x45, 0x00 };

	assert_int_equal(send_req(e, &r), BSDP_REPLY);
	assert_int_equal(bindings_get(e->bindings, mac, &bd), 0);
	r.server_id = "198.18.0.99";
	assert_int_equal(send_req(e, &r), BSDP_SILENT);
	assert_int_equal(e->ev.drop, BSDP_DROP_OTHER_SERVER);
	assert_int_equal(bindings_get(e->bindings, mac, &bd), -ENOENT);
}

/* On a database several servers share, the binding another server made
 * is the campus's: its SELECT, seen here too, does not drop it.  (That
 * the client's DISCOVER is then that server's to answer needs a shared
 * database: test_pg_campus.sh.) */
static void another_servers_binding_is_kept(void **state)
{
	struct env *e = *state;
	struct req r = select_req;
	struct binding bd = { .mac = { 0x00, 0x1b, 0x63, 0x84, 0x45, 0x00 }, .image_id = 0x01000065,
			      .server = ip("198.18.0.99") };
	struct binding got;

	assert_int_equal(bindings_put(e->bindings, &bd), 0);
	r.server_id = "198.18.0.99";
	assert_int_equal(send_req(e, &r), BSDP_SILENT);
	assert_int_equal(e->ev.drop, BSDP_DROP_OTHER_SERVER);
	assert_int_equal(bindings_get(e->bindings, bd.mac, &got), 0);
	assert_int_equal(got.server.s_addr, ip("198.18.0.99").s_addr);
	/* The client comes to us: the binding becomes ours. */
	assert_int_equal(send_req(e, &select_req), BSDP_REPLY);
	assert_int_equal(bindings_get(e->bindings, bd.mac, &got), 0);
	assert_int_equal(got.server.s_addr, ip(TEST_SERVER).s_addr);
}

/* ---- bindings ---------------------------------------------------------------- */

static void select_records_binding(void **state)
{
	struct env *e = *state;
	struct binding bd;
	uint8_t mac[6] = { 0x00, 0x1b, 0x63, 0x84, 0x45, 0x00 };

	assert_int_equal(send_req(e, &select_req), BSDP_REPLY);
	assert_int_equal(bindings_get(e->bindings, mac, &bd), 0);
	assert_int_equal(bd.image_id, 0x01000065);
	assert_string_equal(bd.model, "MacBookPro11,3");
	assert_string_equal(bd.arch, "i386");
	assert_addr(bd.ip, TEST_CLIENT);
	assert_int_equal(bd.number, 1);
	assert_int_equal(bd.updated, 1700000000);
}

/* A bound client's LIST carries sub-option 8; priority drops per binding. */
static void list_after_select_carries_selected(void **state)
{
	struct env *e = *state;
	const struct subopt *s;

	assert_int_equal(send_req(e, &select_req), BSDP_REPLY);
	assert_int_equal(send_req(e, &list_req), BSDP_REPLY);
	assert_int_equal(sub_u32(&e->rp, BSDP_TAG_SELECTED_IMAGE), 0x01000065);
	s = find_sub(&e->rp, BSDP_TAG_SERVER_PRIORITY);
	assert_non_null(s);
	assert_int_equal(be16_get(s->data), BSDP_PRIORITY_BASE - 1);
}

static void priority_floors_at_zero(void **state)
{
	struct env *e = *state;
	const struct subopt *s;

	e->rs.priority = 1;
	for (uint8_t m = 1; m <= 3; m++) {
		struct req r = select_req;

		r.mac_last = m;
		assert_int_equal(send_req(e, &r), BSDP_REPLY);
	}
	assert_int_equal(send_req(e, &list_req), BSDP_REPLY);
	s = find_sub(&e->rp, BSDP_TAG_SERVER_PRIORITY);
	assert_int_equal(be16_get(s->data), 0);
}

/* Machine names count up and are never reused (bsdpd.c S_client_create);
 * the bound-client count follows inserts and deletes, not rewrites. */
static void machine_numbers_are_not_reused(void **state)
{
	struct env *e = *state;
	struct binding bd = { .mac = { 1, 2, 3, 4, 5, 6 }, .image_id = 1 };
	struct binding bd2 = { .mac = { 1, 2, 3, 4, 5, 7 }, .image_id = 1 };

	assert_int_equal(bindings_put(e->bindings, &bd), 0);
	assert_int_equal(bd.number, 1);
	assert_int_equal(bindings_count(e->bindings), 1);
	assert_int_equal(bindings_release(e->bindings, bd.mac, bd.server), 0);
	assert_int_equal(bindings_release(e->bindings, bd.mac, bd.server), 0);
	assert_int_equal(bindings_count(e->bindings), 0);
	assert_int_equal(bindings_put(e->bindings, &bd2), 0);
	assert_int_equal(bd2.number, 2);
	assert_int_equal(bindings_put(e->bindings, &bd2), 0);
	assert_int_equal(bd2.number, 2);
	assert_int_equal(bindings_count(e->bindings), 1);
}

/* SPEC §3.3: a bound client's DISCOVER gets the BSDP OFFER, yiaddr 0. */
static void discover_from_bound_client_gets_offer(void **state)
{
	struct env *e = *state;
	struct req r = { .dhcp_type = DHCP_DISCOVER, .ciaddr = "0.0.0.0" };
	static const uint8_t want43[] = { 8, 4, 0x01, 0x00, 0x00, 0x65 };
	const struct dhcp_option *o;

	assert_int_equal(send_req(e, &r), BSDP_SILENT);
	assert_int_equal(e->ev.drop, BSDP_DROP_NOT_BOUND);
	assert_int_equal(send_req(e, &select_req), BSDP_REPLY);
	assert_int_equal(send_req(e, &r), BSDP_REPLY);
	assert_int_equal(e->ev.drop, BSDP_DROP_NONE);
	assert_int_equal(e->rp.view.message_type, DHCP_OFFER);
	assert_int_equal(e->rp.view.hdr.yiaddr.s_addr, 0);
	assert_int_equal(e->rp.view.hdr.ciaddr.s_addr, 0);
	assert_string_equal(e->rp.view.hdr.file, "iPXE.nbi/i386/booter");
	o = opt(e, DHCP_OPT_VENDOR);
	assert_int_equal(o->len, sizeof(want43));
	assert_memory_equal(o->data, want43, sizeof(want43));
	assert_int_equal(e->tx.dst.s_addr, INADDR_BROADCAST);
	assert_int_equal(e->tx.dst_port, 68);
	r.giaddr = "198.19.7.1";
	assert_int_equal(send_req(e, &r), BSDP_REPLY);
	assert_addr(e->tx.dst, "198.19.7.1");
	assert_int_equal(e->tx.dst_port, 67);
}

/* A plain DHCP REQUEST from a bound client updates its address silently. */
static void request_updates_bound_address(void **state)
{
	struct env *e = *state;
	struct binding bd;
	uint8_t mac[6] = { 0x00, 0x1b, 0x63, 0x84, 0x45, 0x00 };
	struct dhcp_header h = { .op = BOOTREQUEST, .htype = 1, .hlen = 6 };
	struct dhcp_builder b;
	uint8_t req_ip[4] = { 198, 18, 0, 77 };
	int n;

	assert_int_equal(send_req(e, &select_req), BSDP_REPLY);
	memcpy(h.chaddr, mac, 6);
	assert_int_equal(dhcp_build_init(&b, e->pkt, sizeof(e->pkt), &h), 0);
	assert_int_equal(dhcp_build_u8(&b, DHCP_OPT_MESSAGE_TYPE, DHCP_REQUEST), 0);
	assert_int_equal(dhcp_build_option(&b, DHCP_OPT_REQUESTED_IP, req_ip, 4), 0);
	n = dhcp_build_finish(&b);
	assert_int_equal(bsdp_respond(&e->rs, e->pkt, (size_t)n, &e->rx, &e->tx, &e->ev),
			 BSDP_SILENT);
	assert_int_equal(bindings_get(e->bindings, mac, &bd), 0);
	assert_addr(bd.ip, "198.18.0.77");
}

/* The binding is in SQLite: a new process sees it and lists it as 8. */
static void binding_survives_restart(void **state)
{
	struct env *e = *state;

	bindings_close(e->bindings);
	e->rs.bindings = e->bindings = bindings_open(NULL, e->root, NULL, NULL);
	assert_int_equal(send_req(e, &select_req), BSDP_REPLY);
	bindings_close(e->bindings);
	e->rs.bindings = e->bindings = bindings_open(NULL, e->root, NULL, NULL);
	assert_non_null(e->bindings);
	assert_int_equal(send_req(e, &list_req), BSDP_REPLY);
	assert_int_equal(sub_u32(&e->rp, BSDP_TAG_SELECTED_IMAGE), 0x01000065);
}

/* ---- silence ------------------------------------------------------------------ */

static void plain_dhcp_is_ignored(void **state)
{
	struct env *e = *state;
	struct dhcp_header h = { .op = BOOTREQUEST, .htype = 1, .hlen = 6, .xid = 7 };
	struct dhcp_builder b;
	const char *classes[] = { NULL, "PXEClient:Arch:00007:UNDI:003016", "MSFT 5.0",
				  "AAPLBSDPC" };
	int n;

	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		for (uint8_t t = DHCP_DISCOVER; t <= DHCP_INFORM; t++) {
			h.ciaddr = ip(TEST_CLIENT);
			assert_int_equal(dhcp_build_init(&b, e->pkt, sizeof(e->pkt), &h), 0);
			assert_int_equal(dhcp_build_u8(&b, DHCP_OPT_MESSAGE_TYPE, t), 0);
			if (classes[i])
				assert_int_equal(dhcp_build_option(&b, DHCP_OPT_CLASS_ID, classes[i],
								   strlen(classes[i])), 0);
			n = dhcp_build_finish(&b);
			assert_int_equal(bsdp_respond(&e->rs, e->pkt, (size_t)n, &e->rx, &e->tx,
						      &e->ev), BSDP_SILENT);
			/* Not BSDP: no reason, so not a line in the log. */
			assert_int_equal(e->ev.drop, BSDP_DROP_NONE);
		}
	}
}

/* A Mac's LIST without option 43 or with a bad sub-option is not BSDP. */
static void malformed_bsdp_is_ignored(void **state)
{
	struct env *e = *state;
	size_t n = build_request(e->pkt, sizeof(e->pkt), &list_req);
	uint8_t *o43 = memmem(e->pkt, n, "\x2b\x07\x01\x01\x01\x02\x02", 7);

	assert_non_null(o43);
	o43[6] = 3; /* version declares 3 bytes: overruns its option-43 instance */
	assert_int_equal(bsdp_respond(&e->rs, e->pkt, n, &e->rx, &e->tx, &e->ev), BSDP_SILENT);
	assert_int_equal(e->ev.drop, BSDP_DROP_MALFORMED);
	o43[6] = 2;
	o43[0] = 44; /* no option 43 at all */
	assert_int_equal(bsdp_respond(&e->rs, e->pkt, n, &e->rx, &e->tx, &e->ev), BSDP_SILENT);
	assert_int_equal(e->ev.drop, BSDP_DROP_MALFORMED);
	o43[0] = 43;
	for (size_t cut = 0; cut < n; cut += 7) /* every truncation: silent or sane */
		(void)bsdp_respond(&e->rs, e->pkt, cut, &e->rx, &e->tx, &e->ev);
	assert_int_equal(bsdp_respond(&e->rs, e->pkt, n, &e->rx, &e->tx, &e->ev), BSDP_REPLY);
}

/* bootpd.c S_dispatch_request: siaddr or sname naming another server. */
static void request_for_other_server_is_ignored(void **state)
{
	struct env *e = *state;
	size_t n = build_request(e->pkt, sizeof(e->pkt), &list_req);

	e->pkt[20] = 198, e->pkt[21] = 18, e->pkt[22] = 0, e->pkt[23] = 9; /* siaddr */
	assert_int_equal(bsdp_respond(&e->rs, e->pkt, n, &e->rx, &e->tx, &e->ev), BSDP_SILENT);
	assert_int_equal(e->ev.drop, BSDP_DROP_ADDRESSED_ELSEWHERE);
	memset(e->pkt + 20, 0, 4);
	memcpy(e->pkt + 44, "elsewhere", 9); /* sname */
	assert_int_equal(bsdp_respond(&e->rs, e->pkt, n, &e->rx, &e->tx, &e->ev), BSDP_SILENT);
	assert_int_equal(e->ev.drop, BSDP_DROP_ADDRESSED_ELSEWHERE);
	memcpy(e->pkt + 44, "netboot\0\0", 9);
	assert_int_equal(bsdp_respond(&e->rs, e->pkt, n, &e->rx, &e->tx, &e->ev), BSDP_REPLY);
}

/* BSDP that is neither an INFORM[LIST/SELECT] nor a DISCOVER: a Mac's
 * RELEASE after a failed LIST (SPEC §4.5), an INFORM[FAILED]. */
static void unanswered_messages_have_reasons(void **state)
{
	struct env *e = *state;
	struct req r = { .dhcp_type = DHCP_RELEASE, .bsdp_type = BSDP_LIST };

	assert_int_equal(send_req(e, &r), BSDP_SILENT);
	assert_int_equal(e->ev.drop, BSDP_DROP_DHCP_MESSAGE);
	r = (struct req){ .bsdp_type = BSDP_FAILED };
	assert_int_equal(send_req(e, &r), BSDP_SILENT);
	assert_int_equal(e->ev.drop, BSDP_DROP_BSDP_MESSAGE);
	assert_int_equal(e->ev.bsdp_message, BSDP_FAILED);
}

/* Every reason has its own text for the log line. */
static void drop_reasons_are_distinct(void **state)
{
	(void)state;
	for (int a = BSDP_DROP_NONE; a <= BSDP_DROP_REPLY_TOO_BIG; a++) {
		assert_string_not_equal(bsdp_drop_reason((enum bsdp_drop)a), "unknown");
		for (int b = BSDP_DROP_NONE; b < a; b++)
			assert_string_not_equal(bsdp_drop_reason((enum bsdp_drop)a),
						bsdp_drop_reason((enum bsdp_drop)b));
	}
	assert_string_equal(bsdp_drop_reason((enum bsdp_drop)(BSDP_DROP_REPLY_TOO_BIG + 1)),
			    "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup_one, teardown)
		T(list_reply_header),
		T(list_reply_suboptions),
		T(list_reply_bytes),
		T(list_silent_when_nothing_applies),
		T(list_versions),
		T(reply_goes_to_ciaddr_port_68),
		T(reply_port),
		T(inform_without_ciaddr_is_ignored),
		T(refused_ciaddr_is_silent),
		T(ciaddr_fixture_bytes),
		T(on_subnet_ciaddr_is_answered),
		T(offer_to_broadcast_giaddr_is_silent),
		T(relayed_inform_unicast_to_ciaddr),
		T(select_bootfile_only),
		T(select_unknown_image_fails),
		T(select_without_image_takes_default),
		T(policy_pins_the_default_image),
		T(select_without_server_id_is_ignored),
		T(select_for_other_server_drops_binding),
		T(another_servers_binding_is_kept),
		T(select_records_binding),
		T(list_after_select_carries_selected),
		T(priority_floors_at_zero),
		T(machine_numbers_are_not_reused),
		T(discover_from_bound_client_gets_offer),
		T(request_updates_bound_address),
		T(binding_survives_restart),
		T(plain_dhcp_is_ignored),
		T(malformed_bsdp_is_ignored),
		T(request_for_other_server_is_ignored),
		T(unanswered_messages_have_reasons),
		T(drop_reasons_are_distinct),
#undef T
	};

	return cmocka_run_group_tests_name("responder", tests, NULL, NULL);
}
